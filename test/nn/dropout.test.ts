import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { invertedDropoutMask } from '../../src/nn/dropout.ts';
import { FFNN } from '../../src/nn/ffnn.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';

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

  it('question 1b: outputLayer 0 really returns the 1000-unit hidden layer after dropout', async () => {
    const net = new FFNN(10, [1000], ['sigmoid', 'softmax'], 1, { keepProb: [1, 0.5], init: 'randn', seed: 0 });
    const hidden = net.forward(tf.randomUniform([1, 10], 0, 1, 'float32', 0) as tf.Tensor2D, { outputLayer: 0 });
    expect(hidden.shape).toEqual([1, 1000]);
    const share = (await values(hidden)).filter((v) => v === 0).length / 1000;
    expect(share).toBeGreaterThan(0.44);
    expect(share).toBeLessThan(0.56);
    net.dispose();
  });

  it('refuses keep probabilities outside (0, 1]', async () => {
    expect(() => invertedDropoutMask([2, 2], 0, 1)).toThrow(/keep probability must be in \(0, 1\], got 0/);
    expect(() => new FFNN(4, [3], ['relu', 'softmax'], 2, { keepProb: [1, 1.5] })).toThrow(/keepProb\[1\] must be in \(0, 1\]/);
  });
});
