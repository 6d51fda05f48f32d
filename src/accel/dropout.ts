import * as tf from '@tensorflow/tfjs-core';
import { applyInvertedDropout, keeps, maskKey } from '../nn/dropout.ts';
import { setFaster } from '../op.ts';
import { hash32, HASH32_WGSL } from '../random.ts';
import { runFused } from './kernels.ts';
import { registerWgslKernel, type WgslKernel } from './webgpu.ts';

/**
 * Inverted dropout in one kernel on webgpu: each unit's mask value comes from the hash of its index and the mask's
 * key, with the integer arithmetic of src/nn/dropout.ts's maskDraw and keeps, so the mask is the one drawn in JavaScript
 * elsewhere, bit for bit; the kernel writes the mask and h·mask. With tfjs operations a mask is a random draw made
 * on the CPU and copied to the GPU, then a comparison, a cast and a division, and the product one more kernel.
 */
const DROPOUT: WgslKernel = {
  inputs: ['h'],
  outputs: ['out', 'mask'],
  // The 32-bit key in two 16-bit halves: constants are float32, exact only up to 2^24.
  constants: ['keyHigh', 'keyLow', 'keep', 'scale'],
  helpers: HASH32_WGSL,
  // 5.9604644775390625e-8 is 2^-24: the top 24 bits of the draw as a fraction, exactly.
  body: `let key = (u32(c.keyHigh) << 16u) | u32(c.keyLow);
    let draw = hash32(hash32(i) ^ key);
    let m = select(0.0, c.scale, f32(draw >> 8u) * 5.9604644775390625e-8 < c.keep);
    mask[i] = m;
    out[i] = h[i] * m;`,
};

const KERNEL = 'CC6204InvertedDropout';

type Dropped = { output: tf.Tensor2D; mask: tf.Tensor2D };

/** applyInvertedDropout(h, keep, seed) in one kernel where the backend has it, else null. */
function fusedDropout(h: tf.Tensor2D, keep: number, seed: number): Dropped | null {
  if (!(keep > 0 && keep <= 1)) return null;
  const key = maskKey(seed);
  const result = runFused(KERNEL, { h }, { keyHigh: key >>> 16, keyLow: key & 0xffff, keep, scale: 1 / keep });
  return result ? { output: result[0] as tf.Tensor2D, mask: result[1] as tf.Tensor2D } : null;
}

/**
 * hash32(i) for i below `size`: the half of every draw, hash32(hash32(i) ^ key), that is the same for every mask.
 * Made once and grown as needed (the largest mask of the 1c network, 200×1024 units, takes 800 KB).
 */
let indexHashes = new Uint32Array(0);
function hashedIndices(size: number): Uint32Array {
  if (indexHashes.length < size) {
    const grown = new Uint32Array(size);
    grown.set(indexHashes);
    for (let i = indexHashes.length; i < size; i++) grown[i] = hash32(i);
    indexHashes = grown;
  }
  return indexHashes;
}

/**
 * Elsewhere the mask is drawn on the CPU as invertedDropoutMask draws it, value for value, with the hashes of the
 * indices made once instead of for every mask: half the hashing. The 1c dropout run draws 333,000 values a step
 * at batch 200.
 */
function cachedDropout(h: tf.Tensor2D, keep: number, seed: number): Dropped | null {
  if (!(keep > 0 && keep <= 1)) return null;
  const key = maskKey(seed);
  const scale = Math.fround(1 / keep);
  const hashes = hashedIndices(h.size);
  const values = new Float32Array(h.size);
  for (let i = 0; i < values.length; i++) values[i] = keeps(hash32((hashes[i] as number) ^ key), keep) ? scale : 0;
  const mask = tf.tensor2d(values, h.shape);
  return { output: tf.mul(h, mask), mask };
}

/** Registers the dropout kernel on webgpu, and the faster versions of applyInvertedDropout. */
export function installDropoutKernel(): void {
  registerWgslKernel(KERNEL, DROPOUT);
  setFaster(applyInvertedDropout, (h, keep, seed) => fusedDropout(h, keep, seed) ?? cachedDropout(h, keep, seed));
}
