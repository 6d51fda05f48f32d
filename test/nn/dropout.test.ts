import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyInvertedDropout, invertedDropoutMask } from '../../src/nn/dropout.ts';
import { FFNN } from '../../src/nn/ffnn.ts';
import { hash32 } from '../../src/core/random.ts';
import { compiled, settle } from '../../src/core/op.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { normals } from '../helpers/reference64.ts';

/** lowbias32 in BigInt arithmetic, independent of Math.imul and of 32-bit shifts. */
function hashBig(value: number): number {
  const M = 1n << 32n;
  let x = BigInt(value) % M;
  x ^= x >> 16n;
  x = (x * 0x7feb352dn) % M;
  x ^= x >> 15n;
  x = (x * 0x846ca68bn) % M;
  x ^= x >> 16n;
  return Number(x);
}

/** The mask as dropout.ts defines it, written again from its description with the BigInt hash. */
function referenceMask(size: number, keep: number, seed: number): number[] {
  const key = hashBig(seed);
  return Array.from({ length: size }, (_, i) => {
    const draw = hashBig(Number(BigInt(hashBig(i)) ^ BigInt(key)));
    return Math.floor(draw / 256) / 2 ** 24 < Math.fround(keep) ? Math.fround(1 / keep) : 0;
  });
}

describe('the counter-based draws of dropout masks', () => {
  it('hash32 is lowbias32: it agrees with the BigInt version, on small, large and negative inputs', () => {
    const inputs = [0, 1, 2, 3, 255, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 123456789, 4000000000];
    for (let i = 0; i < 2000; i++) inputs.push((i * 2654435761) % 2 ** 32);
    for (const x of inputs) expect(hash32(x), `hash32(${x})`).toBe(hashBig(x));
    // Seeds are taken modulo 2^32.
    expect(hash32(-1)).toBe(hashBig(2 ** 32 - 1));
    expect(hash32(2 ** 32 + 5)).toBe(hashBig(5));
  });
});

describe.each(BACKENDS_UNDER_TEST)('inverted dropout on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  for (const keep of [0.5, 0.8, 0.9]) {
    it(`keep ${keep}: the share of zeros is within 1% of ${1 - keep} over 100k units, the mean preserved`, async () => {
      const mask = await values(invertedDropoutMask([100, 1000], keep, 42));
      const zeros = mask.filter((v) => v === 0).length / mask.length;
      expect(Math.abs(zeros - (1 - keep))).toBeLessThan(0.01);
      expect(new Set(mask)).toEqual(new Set([0, Math.fround(1 / keep)]));
      const mean = mask.reduce((s, v) => s + v, 0) / mask.length;
      expect(Math.abs(mean - 1)).toBeLessThan(0.01);
    });
  }

  it('a seed gives the mask of the reference formula, value for value', async () => {
    for (const [keep, seed] of [[0.5, 0], [0.8, 7], [0.9, 4294967295]] as const) {
      expect(await values(invertedDropoutMask([40, 50], keep, seed)), `keep ${keep}, seed ${seed}`).toEqual(referenceMask(2000, keep, seed));
    }
  });

  it('masks of neighbouring seeds are independent: they agree on about half the units at keep 0.5', async () => {
    const a = await values(invertedDropoutMask([100, 1000], 0.5, 5));
    const b = await values(invertedDropoutMask([100, 1000], 0.5, 6));
    const agree = a.filter((v, i) => v === b[i]).length / a.length;
    expect(Math.abs(agree - 0.5)).toBeLessThan(0.01);
  });

  it('applyInvertedDropout returns h·mask and the mask of its seed' + (backend === 'webgpu' ? ', in one kernel' : ''), async () => {
    const h = tf.tensor2d(normals(31).matrix(64, 300, 2));
    let result: { output: tf.Tensor2D; mask: tf.Tensor2D } | undefined;
    // Compared with the formula first (src/core/op.ts), on a probe of its own.
    await settle(applyInvertedDropout, h, 0.8, 12345);
    const profile = await tf.profile(() => {
      result = applyInvertedDropout(h, 0.8, 12345);
      return [result.output, result.mask];
    });
    const { output, mask } = result!;
    const expectedMask = referenceMask(64 * 300, 0.8, 12345);
    expect(await values(mask)).toEqual(expectedMask);
    const hValues = await values(h);
    expect(await values(output)).toEqual(hValues.map((v, i) => Math.fround(v * expectedMask[i]!)));
    if (backend === 'webgpu') expect(profile.kernels.map((k) => k.name)).toEqual(['CC6204InvertedDropout']);
    tf.dispose([h, output, mask]);
  });

  it('applyInvertedDropout gives the reference formula\'s masks for sizes that grow and shrink, at keep 1 too', async () => {
    // 130×300 units take more than one 64 KiB page of floats, 3×7 part of a vector of four.
    for (const [rows, columns, keep, seed] of [[3, 7, 0.5, 1], [20, 130, 0.8, 2], [5, 11, 0.9, 3], [130, 300, 1, 4], [130, 300, 0.3, 4], [41, 170, 0.7, 5]] as const) {
      const h = tf.ones([rows, columns]) as tf.Tensor2D;
      const { output, mask } = applyInvertedDropout(h, keep, seed);
      const expected = referenceMask(rows * columns, keep, seed);
      expect(await values(mask), `${rows}×${columns}, keep ${keep}`).toEqual(expected);
      expect(await values(output)).toEqual(expected);
      tf.dispose([h, output, mask]);
    }
  });

  it('masks drawn one after another, none read yet, each keep their own values, in a training step too', async () => {
    // The CPU's masks are drawn into one buffer, which the next draw overwrites; a training step's stretch (a graph on
    // tensorflow) computes with them once it ends. 64×64 floats: a mask that starts 64-byte aligned, which TensorFlow
    // takes without a copy of its own.
    const h = tf.ones([64, 64]) as tf.Tensor2D;
    for (const step of [0, 1, 2]) {
      const drawn = compiled('dropoutTest', () => [11, 12, 13].map((seed) => applyInvertedDropout(h, 0.6, seed + step)));
      for (const [k, { output, mask }] of drawn.entries()) {
        const expected = referenceMask(64 * 64, 0.6, 11 + k + step);
        expect(await values(mask), `step ${step}, mask ${k}`).toEqual(expected);
        expect(await values(output)).toEqual(expected);
        tf.dispose([output, mask]);
      }
    }
    h.dispose();
  });

  it('draws one Bernoulli per unit of each sample, not one per sample', async () => {
    const mask = invertedDropoutMask([200, 50], 0.5, 9);
    const rows = (await mask.array()) as number[][];
    // A per-sample mask zeroes whole rows or none: here nearly every row mixes zeros and kept units.
    const mixed = rows.filter((row) => row.some((v) => v === 0) && row.some((v) => v > 0)).length;
    expect(mixed).toBeGreaterThan(190);
  });

  it('keeps the expected activation of a network layer and applies nothing when predicting', async () => {
    const net = new FFNN(20, [2000], ['sigmoid', 'softmax'], 3, { keepProb: [1, 0.7], seed: 4 });
    const x = tf.ones([50, 20]) as tf.Tensor2D;
    const train = await values(net.forward(x, { outputLayer: 0 }));
    const predict = await values(net.forward(x, { predict: true, outputLayer: 0 }));
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(Math.abs(mean(train) / mean(predict) - 1)).toBeLessThan(0.01);
    expect(predict.some((v) => v === 0)).toBe(false);
    expect(Math.abs(train.filter((v) => v === 0).length / train.length - 0.3)).toBeLessThan(0.01);
    net.dispose();
  });

  it('refuses keep probabilities outside (0, 1]', async () => {
    expect(() => invertedDropoutMask([2, 2], 0, 1)).toThrow(/keep probability must be in \(0, 1\], got 0/);
    const keepAll = invertedDropoutMask([3, 4], 1, 1); // keep 1 is taken: every unit kept, scaled by 1
    expect(await values(keepAll)).toEqual(new Array<number>(12).fill(1));
    keepAll.dispose();
    expect(() => new FFNN(4, [3], ['relu', 'softmax'], 2, { keepProb: [1, 1.5] })).toThrow(/keepProb\[1\] must be in \(0, 1\]/);
  });
});
