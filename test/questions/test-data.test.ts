import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { asTensor, weightAndGrad } from '../../questions/test-data.ts';
import { useBackend } from '../helpers/backends.ts';

beforeAll(() => useBackend('cpu'));

describe("the server's test data", () => {
  it('becomes float32 tensors of its shape', async () => {
    const [weight, grad] = weightAndGrad([[[1, 2], [3, 4]], [[0.5, 0], [0, -0.5]]], '2b');
    expect([weight.shape, weight.dtype, await weight.array()]).toEqual([[2, 2], 'float32', [[1, 2], [3, 4]]]);
    expect(await grad.array()).toEqual([[0.5, 0], [0, -0.5]]);
    tf.dispose([weight, grad]);
  });

  it.each([
    ['not a list', () => asTensor({ r: 1 }, '2a test 1'), `The server's test data for 2a test 1 is not a list of numbers: {"r":1}`],
    ['a list with a non-number', () => asTensor([[1, '2']], '2a test 1'), 'is not a list of numbers: [[1,"2"]]'],
    ['a list with NaN (null in JSON) in it', () => asTensor([[1, null]], '2a test 1'), 'is not a list of numbers'],
    ['ragged', () => asTensor([[1, 2], [3]], '2a test 1'), `The server's test data for 2a test 1: a ragged list (rows of different lengths), not a tensor.`],
    ['ragged deeper down', () => asTensor([[[1], [2]], [[3], [4, 5]]], '2a test 2'), ': a ragged list (rows of different lengths), not a tensor.'],
    ['not a pair', () => weightAndGrad([[1, 2]], '1a'), `The server's test data for 1a should be [weight, grad]; got [[1,2]]`],
    ['a pair with a bad grad', () => weightAndGrad([[1, 2], 'x'], '2c'), `The server's test data for 2c (grad) is not a list of numbers: "x"`],
    ['a pair of different shapes', () => weightAndGrad([[1, 2], [[1, 2]]], '2d'), 'has weight and grad of different shapes: [2] and [1, 2].'],
  ])('%s is one clear error, and leaves no tensor behind', (_, read, message) => {
    const before = tf.memory().numTensors;
    expect(read).toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  });
});
