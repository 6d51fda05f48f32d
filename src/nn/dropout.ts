import * as tf from '@tensorflow/tfjs-core';
import { hash32 } from '../core/random.ts';
import { op } from '../core/op.ts';

/**
 * Inverted dropout: each unit of each sample is kept with probability `keep` by its own Bernoulli draw, and kept
 * units are scaled by 1/keep, so the expected activation is unchanged and nothing needs rescaling at prediction time.
 * The mask is what the backward pass multiplies by again.
 */

/** The key of a mask's seed (seeds are taken modulo 2^32), for the kit's counter-based draws (maskDraw). */
export const maskKey = (seed: number): number => hash32(seed);

/** Draw i of the mask with key `key`: the index is hashed first, so masks of different seeds are not shifted copies. */
export const maskDraw = (key: number, index: number): number => hash32(hash32(index) ^ key);

/** Whether a draw keeps its unit: its top 24 bits as a fraction of 2^24, below keep rounded to float32. */
export const keeps = (draw: number, keep: number): boolean => (draw >>> 8) / 16777216 < Math.fround(keep);

function checkKeep(keep: number): void {
  if (!(keep > 0 && keep <= 1)) throw new Error(`A keep probability must be in (0, 1], got ${keep}.`);
}

/** An inverted-dropout mask of `shape` for `seed`: values 0 or 1/keep (in float32). */
export function invertedDropoutMask(shape: number[], keep: number, seed: number): tf.Tensor {
  checkKeep(keep);
  // graded 1b: begin
  // Counter-based draws: draw i is a 32-bit hash of i and of the seed, so a mask needs no random stream, is the same
  // on every backend, and a GPU can draw it in the shader that applies it. Any Bernoulli draw of probability keep
  // would do.
  const key = maskKey(seed);
  const scale = Math.fround(1 / keep);
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < values.length; i++) values[i] = keeps(maskDraw(key, i), keep) ? scale : 0;
  return tf.tensor(values, shape, 'float32');
  // graded 1b: end
}

/** `h` with inverted dropout applied, h ⊙ mask, and the mask (the backward pass multiplies by it again). */
export const applyInvertedDropout = op(
  'applyInvertedDropout',
  (h: tf.Tensor2D, keep: number, seed: number): { output: tf.Tensor2D; mask: tf.Tensor2D } => {
    // graded 1b: begin
    const mask = invertedDropoutMask(h.shape, keep, seed) as tf.Tensor2D;
    return { output: tf.mul(h, mask), mask };
    // graded 1b: end
  },
);
