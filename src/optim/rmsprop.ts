import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../nn/parameter.ts';
import { Optimizer, checkOption, zerosLike } from './optimizer.ts';

export interface RMSPropOptions {
  lr?: number;
  /** Decay of the moving average of squared gradients. */
  beta?: number;
  /** Keeps the step finite where the average is zero. */
  epsilon?: number;
}

/** RMSProp: S ← beta·S + (1 − beta)·grad²,  p ← p − lr/(epsilon + √S)·grad. */
export class RMSProp extends Optimizer {
  readonly lr: number;
  readonly beta: number;
  readonly epsilon: number;
  /** The moving average S of squared gradients. */
  readonly state: { S: tf.Variable[] };

  constructor(parameters: Iterable<Parameter>, { lr = 0.001, beta = 0.9, epsilon = 1e-8 }: RMSPropOptions = {}) {
    super(parameters);
    checkOption('RMSProp', 'lr', lr, lr > 0, 'positive');
    checkOption('RMSProp', 'beta', beta, beta >= 0 && beta < 1, 'in [0, 1)');
    checkOption('RMSProp', 'epsilon', epsilon, epsilon > 0, 'positive');
    this.lr = lr;
    this.beta = beta;
    this.epsilon = epsilon;
    this.state = { S: zerosLike(this.params) };
  }

  update(p: Parameter, grad: tf.Tensor, i: number): void {
    // graded 2c: begin
    const S = this.state.S[i] as tf.Variable;
    S.assign(tf.add(tf.mul(S, this.beta), tf.mul(tf.mul(grad, grad), 1 - this.beta)));
    const rate = tf.div(this.lr, tf.add(tf.sqrt(S), this.epsilon));
    p.value.assign(tf.sub(p.value, tf.mul(rate, grad)));
    // graded 2c: end
  }

}
