import * as tf from '@tensorflow/tfjs-core';

/**
 * An inverted-dropout mask of `shape`: each unit of each sample is kept with probability `keep` by its own
 * Bernoulli draw, and kept units are scaled by 1/keep so the expected activation is unchanged and nothing needs
 * rescaling at prediction time. Values are 0 or 1/keep.
 */
export function invertedDropoutMask(shape: number[], keep: number, seed: number): tf.Tensor {
  if (!(keep > 0 && keep <= 1)) throw new Error(`A keep probability must be in (0, 1], got ${keep}.`);
  return tf.tidy(() => {
    const kept = tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed), keep);
    return tf.div(tf.cast(kept, 'float32'), keep);
  });
}
