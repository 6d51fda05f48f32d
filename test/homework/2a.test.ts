// 2a, Xavier and He initialization (src/nn/init.ts): `npm test -- 2a`.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initChecks } from '../../questions/checks.ts';
import { heInit, heUniformInit, xavierInit, xavierUniformInit } from '../../src/nn/init.ts';
import { Random } from '../../src/core/random.ts';
import { values } from '../helpers/backends.ts';
import { questionPasses } from './check.ts';

questionPasses('2a');

describe('2a: its own checks, as npm run submit 2a runs them', () => {
  it('Xavier and He of a 3 × 7 draw, n_in and n_out apart, are the recorded values', async () => {
    expect(await initChecks()).toEqual([]);
  });
});

// The draws' spread, which the course's tests (a given draw r) do not look at: a weight's variance is 1/nIn for
// Xavier and 2/nIn for He, by a normal draw or a uniform one. 400×300 weights put the sample variance within 3% of
// its value but for odds far below one in a million.
describe('2a: the variance of drawn weights', () => {
  const variance = (xs: number[]) => xs.reduce((s, x) => s + x * x, 0) / xs.length;
  for (const [name, init, perUnit] of [
    ['xavier', xavierInit, 1],
    ['he', heInit, 2],
    ['xavier-uniform', xavierUniformInit, 1],
    ['he-uniform', heUniformInit, 2],
  ] as const) {
    it(`${name}: variance ${perUnit}/nIn, shape [nIn, nOut]`, async () => {
      const w = init(400, 300, new Random(7));
      expect(w.shape).toEqual([400, 300]);
      expect(variance(await values(w)) / (perUnit / 400)).toBeCloseTo(1, 1);
      tf.dispose(w);
    });
  }
});
