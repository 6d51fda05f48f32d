// 2a's recorded outputs (questions/init-outputs.json), and its checks naming the mistakes students write.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initChecks } from '../../questions/checks.ts';
import type { Initializer } from '../../src/nn/init.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';
import { recordInitOutputs } from '../helpers/init-outputs64.ts';

const scaledBy = (factor: (nIn: number, nOut: number) => number): Initializer => (nIn, nOut, r) => tf.mul(r as tf.Tensor2D, factor(nIn, nOut));

describe("2a's checks", () => {
  it('questions/init-outputs.json is what the float64 formulas give', () => {
    expect(JSON.parse(readFileSync(new URL('../../questions/init-outputs.json', import.meta.url), 'utf8'))).toEqual(recordInitOutputs());
  });

  beforeAll(() => useBackend(BACKENDS_UNDER_TEST[0]!));

  it("find nothing wrong with the kit's Xavier and He", async () => {
    expect(await initChecks()).toEqual([]);
  });

  it.each([
    ['heInit', "He with Xavier's 1/n_in", scaledBy((nIn) => Math.sqrt(1 / nIn))],
    ['heInit', 'He with n_out in place of n_in', scaledBy((_, nOut) => Math.sqrt(2 / nOut))],
    ['heInit', 'He without the square root, r·(2/n_in)', scaledBy((nIn) => 2 / nIn)],
    ['xavierInit', 'Xavier with n_out in place of n_in', scaledBy((_, nOut) => Math.sqrt(1 / nOut))],
  ] as const)('name %s written as %s', async (piece, name, init) => {
    const lines = await initChecks({ [piece]: init });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^(He|Xavier) of a 3 × 7 draw differs at \\[\\d+, \\d+\\] \\(yours [-\\d.e]+, expected [-\\d.e]+\\): yours matches ${name.replace(/[()·/]/g, '\\$&')}$`));
  });
});
