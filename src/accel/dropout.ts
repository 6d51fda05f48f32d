import * as tf from '@tensorflow/tfjs-core';
import { applyInvertedDropout, maskKey } from '../nn/dropout.ts';
import { setFaster } from '../op.ts';
import { HASH32_WGSL } from '../random.ts';
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

/** applyInvertedDropout(h, keep, seed) in one kernel where the backend has it, else null. */
function fusedDropout(h: tf.Tensor2D, keep: number, seed: number): { output: tf.Tensor2D; mask: tf.Tensor2D } | null {
  if (!(keep > 0 && keep <= 1)) return null;
  const key = maskKey(seed);
  const result = runFused(KERNEL, { h }, { keyHigh: key >>> 16, keyLow: key & 0xffff, keep, scale: 1 / keep });
  return result ? { output: result[0] as tf.Tensor2D, mask: result[1] as tf.Tensor2D } : null;
}

/** Registers the dropout kernel on webgpu, and the fused version of applyInvertedDropout. */
export function installDropoutKernel(): void {
  registerWgslKernel(KERNEL, DROPOUT);
  setFaster(applyInvertedDropout, fusedDropout);
}
