import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ActivationName } from '../../src/nn/activations.ts';
import { FFNN } from '../../src/nn/ffnn.ts';
import { verdictsSettled } from '../../src/core/op.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { ACTIVATIONS64, type Matrix, matmul, normals, relativeError, softmaxRows } from '../helpers/reference64.ts';

const HIDDEN = [7, 6, 5, 5, 4];
const ACTS: ActivationName[] = ['relu', 'sigmoid', 'tanh', 'celu', 'swish', 'softmax'];
const BATCH = 8;
const CLASSES = 3;

function oneHotRows(count: number, classes: number): Matrix {
  return Array.from({ length: count }, (_, i) => Array.from({ length: classes }, (_, j) => (j === (i * 2) % classes ? 1 : 0)));
}

describe.each(BACKENDS_UNDER_TEST)('FFNN on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  // The backward pass is checked against tfjs autodiff in test/homework/backward.test.ts.

  it('forward matches a float64 reference network given the same weights', async () => {
    const data = normals(5);
    const sizes = [6, ...HIDDEN, CLASSES];
    const weights = sizes.slice(1).map((nOut, k) => [data.matrix(sizes[k]!, nOut, 0.5), data.matrix(1, nOut, 0.1)[0]!] as const);
    const params = [null, null, null, 0.7, 1.6, null];
    const net = new FFNN(6, HIDDEN, ACTS, CLASSES, {
      initialWeights: weights.map(([w, b]) => [w, b]),
      activationParams: params,
    });
    const input = data.matrix(BATCH, 6);
    let h: Matrix = input;
    weights.forEach(([w, b], k) => {
      const u = matmul(h, w).map((row) => row.map((v, j) => v + b[j]!));
      const name = ACTS[k]!;
      h = name === 'softmax' ? softmaxRows(u) : u.map((row) => row.map((v) => ACTIVATIONS64[name].f(v, params[k] ?? 1)));
    });
    const out = net.forward(tf.tensor2d(input), { predict: true });
    expect(relativeError(await values(out), h.flat())).toBeLessThan(1e-5);
    expect((await values(tf.sum(out, 1))).every((s) => Math.abs(s - 1) < 1e-5)).toBe(true);
    net.dispose();
  });

  it('starts every bias at zero', async () => {
    const net = new FFNN(6, HIDDEN, ACTS, CLASSES, { seed: 1 });
    const biases = net.parameters().filter((p) => p.name.endsWith('bias'));
    expect(biases).toHaveLength(HIDDEN.length + 1);
    for (const bias of biases) expect((await values(bias.value)).every((v) => v === 0), bias.name).toBe(true);
    net.dispose();
  });

  it('outputLayer k returns hidden layer k (after its dropout) and nothing later', async () => {
    const net = new FFNN(6, HIDDEN, ACTS, CLASSES, { seed: 1 });
    const x = tf.tensor2d(normals(2).matrix(3, 6));
    HIDDEN.forEach((size, k) => expect(net.forward(x, { predict: true, outputLayer: k }).shape).toEqual([3, size]));
    const h0 = await values(net.forward(x, { predict: true, outputLayer: 0 }));
    const [w0, b0] = net.parameters();
    const expected = await values(tf.relu(tf.add(tf.matMul(x, w0!.value as tf.Tensor2D), b0!.value)));
    expect(relativeError(h0, expected)).toBeLessThan(1e-6);
    expect(() => net.forward(x, { outputLayer: HIDDEN.length })).toThrow(/outputLayer must be a hidden layer index from 0 to 4/);
    net.dispose();
  });

  it('validates sizes, lengths and shapes with clear errors', async () => {
    expect(() => new FFNN(4, [3], ['relu'], 2)).toThrow(/1 activations for 1 hidden layers; give 2/);
    expect(() => new FFNN(4, [3], ['relu', 'relu'], 2)).toThrow(/output activation must be softmax/);
    expect(() => new FFNN(4, [0], ['relu', 'softmax'], 2)).toThrow(/hidden layer 0 must have a positive integer size/);
    expect(() => new FFNN(4, [3], ['relu', 'softmax'], 2, { activationParams: [1, null] })).toThrow(/relu has no parameter/);
    expect(() => new FFNN(4, [3], ['relu', 'softmax'], 2, { keepProb: [1] })).toThrow(/keepProb has 1 entries; give 2/);
    expect(
      () => new FFNN(4, [3], ['relu', 'softmax'], 2, { initialWeights: [[[[1, 2, 3]], [0, 0, 0]], [[[1, 2]], [0, 0]]] }),
    ).toThrow(/initialWeights\[0\] has shapes \[1, 3\] and \[3\]; expected \[4, 3\] and \[3\]/);
    const net = new FFNN(4, [3], ['relu', 'softmax'], 2);
    expect(() => net.forward(tf.zeros([2, 5]) as tf.Tensor2D)).toThrow(/input has shape \[2, 5\], expected \[batch, 4\]/);
    expect(() => net.backward(tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([2, 2]) as tf.Tensor2D, tf.zeros([2, 2]) as tf.Tensor2D)).toThrow(
      /call forward\(x\) in training mode/,
    );
    net.dispose();
  });

  it('summary lists sizes, activations and parameter counts', async () => {
    const net = new FFNN(784, [512, 1024, 128], ['relu', 'celu', 'swish', 'softmax'], 10, {
      keepProb: [1, 0.8, 0.8, 0.9],
      activationParams: [null, 1, 1, null],
    });
    const text = net.summary();
    expect(text).toContain('hidden 0  784 -> 512  relu  401920 parameters');
    expect(text).toContain('hidden 1  512 -> 1024  celu  trained alpha  525313 parameters  dropout on input keep 0.8');
    expect(text).toContain('total 1059724 trainable parameters');
    net.dispose();
  });
});

// CI installs Mesa's software Vulkan driver, so this runs there too.
describe.runIf(BACKENDS_UNDER_TEST.includes('webgpu'))('FFNN backward on webgpu', () => {
  beforeAll(() => useBackend('webgpu'));

  it('takes the fused kernels: per layer its products and one gradient kernel that also sums the bias gradient, plus one product a dropout mask', async () => {
    const net = new FFNN(6, [7, 6, 5], ['relu', 'celu', 'swish', 'softmax'], CLASSES, { keepProb: [0.9, 0.8, 0.7, 0.6], seed: 4 });
    const x = tf.tensor2d(normals(25).matrix(BATCH, 6, 1));
    const y = tf.tensor2d(oneHotRows(BATCH, CLASSES));
    // A first pass, after which the faster versions have been compared with the formulas (src/core/op.ts).
    const first = net.forward(x);
    net.backward(x, y, first);
    await verdictsSettled();
    const yPred = net.forward(x);
    const profile = await tf.profile(() => net.backward(x, y, yPred));
    const names = profile.kernels.map((k) => k.name).filter((name) => name !== 'Reshape');
    // dH ⊙= mask below each of the three hidden layers' outputs; no bias gradient of its own (no Sum).
    expect(names.filter((name) => name === 'Multiply')).toHaveLength(3);
    expect(names).not.toContain('Sum');
    // Per layer dW = hᵀ·dU, and below the output dH = dU·Wᵀ, the mask and dU of the layer below; the output's dU first.
    expect(names).toHaveLength(1 + 4 + 3 * 3);
    net.dispose();
    tf.dispose([x, y, yPred]);
  });
});
