import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Parameter } from '../../src/nn/parameter.ts';
import { float32Tensor, nestedShape } from '../../src/core/tensors.ts';
import { useBackend } from '../helpers/backends.ts';

beforeAll(() => useBackend('cpu'));

describe('nestedShape', () => {
  it('gives the shape of nested arrays whose rows agree at every depth, typed arrays included', () => {
    expect(nestedShape(3)).toEqual([]);
    expect(nestedShape([])).toEqual([0]);
    expect(nestedShape([[1, 2, 3], [4, 5, 6]])).toEqual([2, 3]);
    expect(nestedShape([[[1], [2]], [[3], [4]]])).toEqual([2, 2, 1]);
    expect(nestedShape([Float32Array.of(1, 2), Float32Array.of(3, 4)])).toEqual([2, 2]);
  });

  it('is undefined for a ragged list, at any depth', () => {
    expect(nestedShape([[1, 2], [3]])).toBeUndefined();
    expect(nestedShape([[1], 2])).toBeUndefined();
    expect(nestedShape([[[1], [2]], [[3], [4, 5]]])).toBeUndefined();
    expect(nestedShape([Float32Array.of(1, 2), [3]])).toBeUndefined();
  });
});

describe('float32Tensor', () => {
  it('makes a float32 tensor of the shape the values have', async () => {
    const t = float32Tensor([[1, 2], [3, 4]], 'x');
    expect([t.dtype, t.shape, await t.array()]).toEqual(['float32', [2, 2], [[1, 2], [3, 4]]]);
    t.dispose();
  });

  it('refuses a ragged list, which tfjs in production mode would take as the first row says', () => {
    expect(() => float32Tensor([[1, 2], [3]], 'The weights')).toThrow('The weights: a ragged list (rows of different lengths), not a tensor.');
  });

  it('guards Parameter values and gradients given as lists', () => {
    expect(() => new Parameter('hidden 0 (weights)', [[1, 2], [3]])).toThrow('The values of hidden 0 (weights): a ragged list');
    const p = new Parameter('bias', [[1, 2], [3, 4]]);
    expect(() => p.setGrad([[1, 2], [3]])).toThrow('The gradient of bias: a ragged list');
    p.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});
