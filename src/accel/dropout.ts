import * as tf from '@tensorflow/tfjs-core';
import { applyInvertedDropout, maskKey } from '../nn/dropout.ts';
import { setFaster } from '../core/op.ts';
import { signedProbe } from './probes.ts';
import { HASH32_WGSL } from '../core/random.ts';
import { runFused } from './kernels.ts';
import { MASK_KERNELS } from './masks-wasm.ts';
import { registerWgslKernel, type WgslKernel } from './wgsl.ts';

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

/** applyInvertedDropout(h, keep, seed), the mask's key being maskKey(seed), in one kernel where the backend has it, else null. */
function fusedDropout(h: tf.Tensor2D, keep: number, key: number): Dropped | null {
  const result = runFused(KERNEL, { h }, { keyHigh: key >>> 16, keyLow: key & 0xffff, keep, scale: 1 / keep });
  return result ? { output: result[0] as tf.Tensor2D, mask: result[1] as tf.Tensor2D } : null;
}

/** masks.wat's function, over a memory of its own. */
interface MaskModule {
  memory: WebAssembly.Memory;
  mask: (out: number, n: number, key: number, threshold: number, scale: number) => void;
}

let maskModule: MaskModule | undefined;

/** invertedDropoutMask(shape, keep, seed)'s values for a mask of `size` units with key `key`, by masks.wat. */
function drawnMask(size: number, keep: number, key: number): Float32Array {
  if (!maskModule) {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const bytes = Buffer.from(MASK_KERNELS.plain, 'base64');
    const { mask } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as Pick<MaskModule, 'mask'>;
    maskModule = { memory, mask };
  }
  const { memory, mask } = maskModule;
  // Whole vectors of four units, in 64 KiB pages; grown to the largest mask yet.
  const pages = Math.ceil((Math.ceil(size / 4) * 16) / 65536) - memory.buffer.byteLength / 65536;
  if (pages > 0) memory.grow(pages);
  // keep·2^24 is exact in float64 for keep rounded to float32: the draws' top 24 bits below it are those below its ceiling.
  mask(0, size, key | 0, Math.ceil(Math.fround(keep) * 16777216), Math.fround(1 / keep));
  return new Float32Array(memory.buffer, 0, size).slice();
}

/**
 * Elsewhere (tensorflow, wasm, cpu) the mask is drawn on the CPU by masks.wat, four units at a time, value for value
 * the mask that invertedDropoutMask draws in JavaScript one unit at a time; its product with h is tfjs's. The 1c
 * dropout run draws 333,000 units a step at batch 200.
 */
function simdDropout(h: tf.Tensor2D, keep: number, key: number): Dropped {
  const mask = tf.tensor2d(drawnMask(h.size, keep, key), h.shape);
  return { output: tf.mul(h, mask), mask };
}

/** Registers the dropout kernel on webgpu, and the faster versions of applyInvertedDropout. */
export function installDropoutKernel(): void {
  registerWgslKernel(KERNEL, DROPOUT);
  setFaster(applyInvertedDropout, (h, keep, seed) => {
    // A keep outside (0, 1] goes to the reference formula, which says what is wrong.
    if (!(keep > 0 && keep <= 1)) return null;
    const key = maskKey(seed);
    return fusedDropout(h, keep, key) ?? simdDropout(h, keep, key);
  }, {
    settings: (_h, keep) => [keep],
    probe: (run, [, keep]) => {
      const dropped = run(signedProbe([6, 20], 9) as tf.Tensor2D, keep, 6204);
      return dropped && [dropped.output, dropped.mask];
    },
    names: () => ({ formula: 'applyInvertedDropout', faster: 'the fused dropout kernel' }),
  });
}
