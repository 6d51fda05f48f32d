import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../nn/parameter.ts';
import { fusedUpdate } from './fused.ts';
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

  step(): void {
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const grad = p.grad;
        if (!grad) return;
        const keep = 1 - this.beta;
        if (this.momentum === 0) {
          const [fused] = fusedUpdate('sgd', { p: p.value, g: grad }, { keep, lr: this.lr }) ?? [];
          p.value.assign(fused ?? tf.sub(this.decayed(p), tf.mul(grad, this.lr)));
          return;
        }
        const v = this.velocity[i] as tf.Variable;
        const fused = fusedUpdate('momentum', { p: p.value, g: grad, v }, { keep, lr: this.lr, m: this.momentum });
        if (fused) {
          v.assign(fused[1] as tf.Tensor);
          p.value.assign(fused[0] as tf.Tensor);
          return;
        }
        v.assign(tf.sub(tf.mul(v, this.momentum), tf.mul(grad, this.lr)));
        p.value.assign(tf.add(this.decayed(p), v));
      });
    });
  }

  /** (1 − beta)·p; with no decay, p itself (1·p is p exactly, as the fused kernel computes it). */
  private decayed(p: Parameter): tf.Tensor {
    return this.beta === 0 ? p.value : tf.mul(p.value, 1 - this.beta);
  }

  dispose(): void {
    tf.dispose(this.velocity);
  }
}
