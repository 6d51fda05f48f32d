import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../nn/parameter.ts';
import { Optimizer, checkOption, zerosLike } from './optimizer.ts';

export interface SGDOptions {
  /** Learning rate. */
  lr?: number;
  /** The course's weight decay: each step first shrinks the parameter to (1 − beta)·p. */
  beta?: number;
  /** Momentum m of the velocity V ← m·V − lr·grad. */
  momentum?: number;
}

/**
 * Stochastic gradient descent as the course defines it:
 * without momentum  p ← (1 − beta)·p − lr·grad;
 * with momentum     V ← m·V − lr·grad,  p ← (1 − beta)·p + V.
 */
export class SGD extends Optimizer {
  readonly lr: number;
  readonly beta: number;
  readonly momentum: number;
  /** The velocity V, when there is momentum. */
  readonly state: { V: tf.Variable[] };

  constructor(parameters: Iterable<Parameter>, { lr = 0.001, beta = 0, momentum = 0 }: SGDOptions = {}) {
    super(parameters);
    checkOption('SGD', 'lr', lr, lr > 0, 'positive');
    checkOption('SGD', 'beta', beta, beta >= 0 && beta < 1, 'in [0, 1)');
    checkOption('SGD', 'momentum', momentum, momentum >= 0 && momentum < 1, 'in [0, 1)');
    this.lr = lr;
    this.beta = beta;
    this.momentum = momentum;
    this.state = { V: momentum > 0 ? zerosLike(this.params) : [] };
  }

  update(p: Parameter, grad: tf.Tensor, i: number): void {
    if (this.momentum === 0) {
      // graded 1a: begin
      p.value.assign(tf.sub(this.decayed(p), tf.mul(grad, this.lr)));
      // graded 1a: end
      return;
    }
    // graded 2b: begin
    const V = this.state.V[i] as tf.Variable;
    V.assign(tf.sub(tf.mul(V, this.momentum), tf.mul(grad, this.lr)));
    p.value.assign(tf.add(this.decayed(p), V));
    // graded 2b: end
  }

  /** (1 − beta)·p; with no decay, p itself (1·p is p exactly). */
  private decayed(p: Parameter): tf.Tensor {
    if (this.beta === 0) return p.value;
    // graded 1a: begin
    return tf.mul(p.value, 1 - this.beta);
    // graded 1a: end
  }

}
