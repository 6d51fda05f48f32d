import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../nn/parameter.ts';
import { type FusedStep, Optimizer, checkOption, zerosLike } from './optimizer.ts';

export interface AdamOptions {
  lr?: number;
  /** Decay of the moving average of gradients P. */
  beta1?: number;
  /** Decay of the moving average of squared gradients S. */
  beta2?: number;
  epsilon?: number;
}

/**
 * Adam with bias correction. At step t (counted once per `step()`, however many parameters there are):
 * P ← beta1·P + (1 − beta1)·grad,  S ← beta2·S + (1 − beta2)·grad²,
 * P̂ = P/(1 − beta1^t),  Ŝ = S/(1 − beta2^t),  p ← p − lr/(epsilon + √Ŝ)·P̂.
 */
export class Adam extends Optimizer {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly means: tf.Variable[];
  private readonly squares: tf.Variable[];

  constructor(
    parameters: Iterable<Parameter>,
    { lr = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 }: AdamOptions = {},
  ) {
    super(parameters);
    checkOption('Adam', 'lr', lr, lr > 0, 'positive');
    checkOption('Adam', 'beta1', beta1, beta1 >= 0 && beta1 < 1, 'in [0, 1)');
    checkOption('Adam', 'beta2', beta2, beta2 >= 0 && beta2 < 1, 'in [0, 1)');
    checkOption('Adam', 'epsilon', epsilon, epsilon > 0, 'positive');
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.means = zerosLike(this.params);
    this.squares = zerosLike(this.params);
  }

  /** The bias corrections 1 − beta1^t and 1 − beta2^t of the current step. */
  private corrections(): [number, number] {
    return [1 - this.beta1 ** this.t, 1 - this.beta2 ** this.t];
  }

  protected update(p: Parameter, grad: tf.Tensor, i: number): void {
    const m = this.means[i] as tf.Variable;
    const s = this.squares[i] as tf.Variable;
    const [correction1, correction2] = this.corrections();
    m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(grad, 1 - this.beta1)));
    s.assign(tf.add(tf.mul(s, this.beta2), tf.mul(tf.mul(grad, grad), 1 - this.beta2)));
    const mHat = tf.div(m, correction1);
    const sHat = tf.div(s, correction2);
    const rate = tf.div(this.lr, tf.add(tf.sqrt(sHat), this.epsilon));
    p.value.assign(tf.sub(p.value, tf.mul(rate, mHat)));
  }

  protected override fusedStep(): FusedStep {
    const { beta1: b1, beta2: b2, lr, epsilon: eps } = this;
    const [c1, c2] = this.corrections();
    return { kernel: 'adam', state: [this.means, this.squares], constants: { b1, rest1: 1 - b1, b2, rest2: 1 - b2, c1, c2, lr, eps } };
  }

  dispose(): void {
    tf.dispose([...this.means, ...this.squares]);
  }
}
