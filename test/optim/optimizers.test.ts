import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Parameter } from '../../src/nn/parameter.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { adam64, normals, relativeError, rmsprop64, sgd64 } from '../helpers/reference64.ts';

const TOLERANCE = 1e-5;
const STEPS = 4;
// Three parameters of different shapes (a matrix, a vector, a scalar) and a different gradient at every step.
const SHAPES = [[5, 4], [4], []] as const;
const data = normals(99);
const initial = SHAPES.map((shape) => data.matrix(1, shape.reduce((a: number, b: number) => a * b, 1))[0]!);
const gradients = Array.from({ length: STEPS }, () => SHAPES.map((shape) => data.matrix(1, shape.reduce((a: number, b: number) => a * b, 1), 0.8)[0]!));

async function run(make: (params: Parameter[]) => Optimizer): Promise<number[][]> {
  const params = SHAPES.map((shape, i) => new Parameter(`p${i}`, tf.tensor(initial[i]!, [...shape])));
  const optimizer = make(params);
  for (const stepGrads of gradients) {
    params.forEach((p, i) => p.setGrad(tf.tensor(stepGrads[i]!, [...SHAPES[i]!])));
    optimizer.step();
  }
  const result = await Promise.all(params.map((p) => values(p.value)));
  optimizer.dispose();
  params.forEach((p) => p.dispose());
  return result;
}

function expectClose(actual: number[][], expected: number[][]): void {
  actual.forEach((a, i) => expect(relativeError(a, expected[i]!), `parameter ${i}`).toBeLessThan(TOLERANCE));
}

describe.each(BACKENDS_UNDER_TEST)('optimizers on %s, %i steps over three parameters', (backend) => {
  beforeAll(() => useBackend(backend));

  it('SGD: p ← p − lr·grad', async () => {
    expectClose(await run((p) => new SGD(p, { lr: 0.1 })), sgd64(initial, gradients, { lr: 0.1 }));
  });

  it("SGD with the course's weight decay: p ← (1 − beta)·p − lr·grad", async () => {
    expectClose(await run((p) => new SGD(p, { lr: 0.1, beta: 0.1 })), sgd64(initial, gradients, { lr: 0.1, beta: 0.1 }));
  });

  it('SGD with momentum: V ← m·V − lr·grad, p ← p + V', async () => {
    expectClose(await run((p) => new SGD(p, { lr: 0.1, momentum: 0.9 })), sgd64(initial, gradients, { lr: 0.1, momentum: 0.9 }));
  });

  it('SGD with momentum and weight decay together', async () => {
    const options = { lr: 0.05, momentum: 0.8, beta: 0.01 };
    expectClose(await run((p) => new SGD(p, options)), sgd64(initial, gradients, options));
  });

  it('RMSProp: S ← beta·S + (1 − beta)·grad², p ← p − lr/(eps + √S)·grad', async () => {
    const options = { lr: 0.001, beta: 0.9, epsilon: 1e-8 };
    expectClose(await run((p) => new RMSProp(p, options)), rmsprop64(initial, gradients, options));
  });

  it('Adam with bias correction, the step count advancing once per step for all parameters', async () => {
    const options = { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
    let adam: Adam | undefined;
    const got = await run((p) => (adam = new Adam(p, options)));
    expectClose(got, adam64(initial, gradients, options));
    expect(adam!.steps).toBe(STEPS);
  });

  it('a parameter without a gradient is left alone', async () => {
    const a = new Parameter('a', [1, 2]);
    const b = new Parameter('b', [3, 4]);
    a.setGrad([1, 1]);
    const sgd = new SGD([a, b], { lr: 0.5 });
    sgd.step();
    expect(await values(a.value)).toEqual([0.5, 1.5]);
    expect(await values(b.value)).toEqual([3, 4]);
    [a, b].forEach((p) => p.dispose());
  });

  it('refuses bad hyper-parameters with one clear line', async () => {
    const p = [new Parameter('w', [1])];
    expect(() => new SGD(p, { lr: -1 })).toThrow('SGD: lr must be positive, got -1.');
    expect(() => new SGD(p, { lr: 0.1, momentum: 1 })).toThrow('SGD: momentum must be in [0, 1), got 1.');
    expect(() => new RMSProp(p, { beta: Number.NaN })).toThrow('RMSProp: beta must be in [0, 1), got NaN.');
    expect(() => new Adam(p, { epsilon: 0 })).toThrow('Adam: epsilon must be positive, got 0.');
    expect(() => new Adam([])).toThrow('Adam: no parameters to optimize.');
    expect(() => p[0]!.setGrad([1, 2])).toThrow('Gradient of w has shape [2], expected [1].');
    p[0]!.dispose();
  });
});

describe('what a checkpoint keeps of an optimizer', () => {
  beforeAll(() => useBackend('cpu'));

  it('its state tensors, one per parameter and moment, and a step count it takes back', () => {
    const p = [new Parameter('w', [1, 2]), new Parameter('b', [3])];
    const optimizers = [new SGD(p), new SGD(p, { momentum: 0.9 }), new RMSProp(p), new Adam(p)];
    expect(optimizers.map((o) => o.stateTensors().length)).toEqual([0, 2, 2, 4]);
    const adam = optimizers[3] as Adam;
    expect(adam.stateTensors().map((t) => t.shape)).toEqual([[2], [1], [2], [1]]);
    adam.restoreSteps(120);
    expect(adam.steps).toBe(120);
    expect(() => adam.restoreSteps(-1)).toThrow('Adam: a step count must be a whole number, got -1.');
    for (const o of optimizers) o.dispose();
    for (const parameter of p) parameter.dispose();
  });
});
