// The wasm backend's products with the transposes made first (src/accel/products.ts): the values of the product of
// the transposed matrices, for every way the operands come, and nothing left in the backend's memory.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { type Matrix, matmul, normals, relativeError, transpose } from '../helpers/reference64.ts';

describe.runIf(BACKENDS_UNDER_TEST.includes('wasm'))('matrix products on wasm', () => {
  beforeAll(() => useBackend('wasm'));
  const data = normals(17);

  // [rows of a, inner, columns of b]: small and large on either side, so that both ways of a·bᵀ run.
  const sizes: [number, number, number][] = [
    [5, 7, 3],
    [12, 300, 200],
    [200, 300, 12],
    [1, 9, 1],
  ];
  const cases = sizes.flatMap(([m, k, n]) =>
    [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ].map(([transposeA, transposeB]) => ({ m, k, n, transposeA: transposeA!, transposeB: transposeB! })),
  );

  it.each(cases)('$m×$k by $k×$n, transposeA $transposeA, transposeB $transposeB: the product of the transposed matrices', async ({ m, k, n, transposeA, transposeB }) => {
    const a: Matrix = data.matrix(m, k, 1);
    const b: Matrix = data.matrix(k, n, 1);
    const [givenA, givenB] = [transposeA ? transpose(a) : a, transposeB ? transpose(b) : b];
    const expected = matmul(a, b).flat();
    const ids = tf.backend().numDataIds();
    const product = tf.matMul(tf.tensor2d(givenA), tf.tensor2d(givenB), transposeA, transposeB);
    expect(product.shape).toEqual([m, n]);
    expect(relativeError(await values(product), expected)).toBeLessThan(1e-5);
    const fused = tf.fused.matMul({ a: tf.tensor2d(givenA), b: tf.tensor2d(givenB), transposeA, transposeB, bias: tf.ones([n]), activation: 'relu' });
    expect(relativeError(await values(fused), expected.map((v) => Math.max(v + 1, 0)))).toBeLessThan(1e-5);
    tf.dispose([product, fused]);
    // The operands the test made, and nothing of the transposes.
    expect(tf.backend().numDataIds()).toBe(ids + 5);
  });

  it('in batches: each matrix of a batch by its own, a transposed operand included', async () => {
    const [a1, a2, b1, b2] = [data.matrix(4, 6, 1), data.matrix(4, 6, 1), data.matrix(5, 6, 1), data.matrix(5, 6, 1)];
    const product = tf.matMul(tf.tensor3d([a1, a2]), tf.tensor3d([b1, b2]), false, true);
    expect(relativeError(await values(product), [...matmul(a1, transpose(b1)).flat(), ...matmul(a2, transpose(b2)).flat()])).toBeLessThan(1e-5);
  });
});
