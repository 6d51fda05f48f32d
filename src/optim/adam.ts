import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../nn/parameter.ts';
import { Optimizer, checkOption, zerosLike } from './optimizer.ts';

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
  /** The moving averages P of gradients and S of squared gradients. */
  readonly state: { P: tf.Variable[]; S: tf.Variable[] };

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
    this.state = { P: zerosLike(this.params), S: zerosLike(this.params) };
  }

  /** The bias corrections 1 − beta1^t and 1 − beta2^t of the current step (`this.t`, counted by step()); update uses them. */
  corrections(): [number, number] {
    // graded 2d: begin
    return [1 - this.beta1 ** this.t, 1 - this.beta2 ** this.t];
    // graded 2d: end
  }

  update(p: Parameter, grad: tf.Tensor, i: number): void {
    // graded 2d: begin
    const P = this.state.P[i] as tf.Variable;
    const S = this.state.S[i] as tf.Variable;
    const [correction1, correction2] = this.corrections();
    P.assign(tf.add(tf.mul(P, this.beta1), tf.mul(grad, 1 - this.beta1)));
    S.assign(tf.add(tf.mul(S, this.beta2), tf.mul(tf.mul(grad, grad), 1 - this.beta2)));
    const pHat = tf.div(P, correction1);
    const sHat = tf.div(S, correction2);
    const rate = tf.div(this.lr, tf.add(tf.sqrt(sHat), this.epsilon));
    p.value.assign(tf.sub(p.value, tf.mul(rate, pHat)));
    // graded 2d: end
  }

}
