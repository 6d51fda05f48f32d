import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../nn/parameter.ts';
import { type FusedStep, Optimizer, checkOption, zerosLike } from './optimizer.ts';

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
  private readonly velocity: tf.Variable[];

  constructor(parameters: Iterable<Parameter>, { lr = 0.001, beta = 0, momentum = 0 }: SGDOptions = {}) {
    super(parameters);
    checkOption('SGD', 'lr', lr, lr > 0, 'positive');
    checkOption('SGD', 'beta', beta, beta >= 0 && beta < 1, 'in [0, 1)');
    checkOption('SGD', 'momentum', momentum, momentum >= 0 && momentum < 1, 'in [0, 1)');
    this.lr = lr;
    this.beta = beta;
    this.momentum = momentum;
    this.velocity = momentum > 0 ? zerosLike(this.params) : [];
  }

  protected update(p: Parameter, grad: tf.Tensor, i: number): void {
    if (this.momentum === 0) {
      p.value.assign(tf.sub(this.decayed(p), tf.mul(grad, this.lr)));
      return;
    }
    const v = this.velocity[i] as tf.Variable;
    v.assign(tf.sub(tf.mul(v, this.momentum), tf.mul(grad, this.lr)));
    p.value.assign(tf.add(this.decayed(p), v));
  }

  protected override fusedStep(): FusedStep {
    const keep = 1 - this.beta;
    if (this.momentum === 0) return { kernel: 'sgd', state: [], constants: { keep, lr: this.lr } };
    return { kernel: 'momentum', state: [this.velocity], constants: { keep, lr: this.lr, m: this.momentum } };
  }

  /** (1 − beta)·p; with no decay, p itself (1·p is p exactly, as the fused kernel computes it). */
  private decayed(p: Parameter): tf.Tensor {
    return this.beta === 0 ? p.value : tf.mul(p.value, 1 - this.beta);
  }

  dispose(): void {
    tf.dispose(this.velocity);
  }
}
