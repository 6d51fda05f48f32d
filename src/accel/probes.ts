import * as tf from '@tensorflow/tfjs-core';
import type { Check } from '../core/op.ts';
import { Random } from '../core/random.ts';

/**
 * The small inputs on which a faster version is compared with its formula (src/core/op.ts's checks). Each is made afresh,
 * the same values for the same salt, so that the formula and the faster version see the same numbers. Their values
 * span the magnitudes where formulas that look alike part ways: exact zeros, values small enough that an epsilon
 * added in another place changes the result, values of order one, and values large enough to saturate.
 */

/** A float32 tensor of `shape` whose element i is `value(random, i)`, drawn from a generator seeded with `salt`. */
function probe(shape: number[], salt: number, value: (random: Random, i: number) => number): tf.Tensor {
  const random = new Random(salt);
  return tf.tensor(Float32Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => value(random, i)), shape, 'float32');
}

/** Values in [-range, range], with a zero, and every fourth value (which ones, by the salt) of magnitude 10^-3 to 10^-7. */
export function signedProbe(shape: number[], salt: number, range = 1): tf.Tensor {
  return probe(shape, salt, (random, i) => {
    const sign = random.next() < 0.5 ? -1 : 1;
    return i === 0 ? 0 : (i + salt) % 4 === 1 ? sign * 10 ** -(3 + 4 * random.next()) : sign * range * random.next();
  });
}

/** Values in (0, 1], every third of magnitude 10^-12 to 10^-8: a running average of squares, a velocity's size. */
export function positiveProbe(shape: number[], salt: number): tf.Tensor {
  return probe(shape, salt, (random, i) => (i % 3 === 0 ? 10 ** -(8 + 4 * random.next()) : 1 - random.next()));
}

/**
 * The check of an operation on tensors whose only settings are the backend's (src/core/op.ts adds it): the formula and the
 * faster version on the tensors `inputs` makes, their results compared; the line names them `formula` and `faster`.
 */
export function plainCheck<A extends tf.Tensor[]>(inputs: () => A, formula: string, faster: string): Check<A, tf.Tensor> {
  return {
    settings: () => [],
    probe: (run) => {
      const result = run(...inputs());
      return result && [result];
    },
    names: () => ({ formula, faster }),
  };
}

/** Rows of probabilities (each sums to 1) and one-hot targets, [rows, classes]. */
export function classesProbe(rows: number, classes: number, salt: number): { probs: tf.Tensor2D; targets: tf.Tensor2D } {
  const random = new Random(salt);
  const probs = new Float32Array(rows * classes);
  const targets = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += probs[r * classes + c] = random.next() + 1e-3;
    for (let c = 0; c < classes; c++) probs[r * classes + c] = (probs[r * classes + c] as number) / sum;
    targets[r * classes + Math.floor(random.next() * classes)] = 1;
  }
  return { probs: tf.tensor2d(probs, [rows, classes]), targets: tf.tensor2d(targets, [rows, classes]) };
}
