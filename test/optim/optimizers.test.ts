import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Parameter } from '../../src/nn/parameter.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { adam64, rmsprop64, sgd64 } from '../helpers/optimizers64.ts';
import { normals, relativeError } from '../helpers/reference64.ts';

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

  // The course's settings, and settings where every term weighs: with epsilon 1e-8 beside √S of about 0.5, epsilon's
  // place (outside the square root or in it) and even its presence change nothing a float32 test can see.
  const RMSPROP_SETTINGS = { "the course's": { lr: 0.001, beta: 0.9, epsilon: 1e-8 }, 'every term weighing': { lr: 0.01, beta: 0.7, epsilon: 0.3 } };
  const ADAM_SETTINGS = {
    "the course's": { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    'every term weighing': { lr: 0.01, beta1: 0.6, beta2: 0.8, epsilon: 0.3 },
  };

  it.each(Object.entries(RMSPROP_SETTINGS))('RMSProp: S ← beta·S + (1 − beta)·grad², p ← p − lr/(eps + √S)·grad, %s settings', async (_, options) => {
    expectClose(await run((p) => new RMSProp(p, options)), rmsprop64(initial, gradients, options));
  });

  it.each(Object.entries(ADAM_SETTINGS))('Adam with bias correction, the step count advancing once per step for all parameters, %s settings', async (_, options) => {
    let adam: Adam | undefined;
    const got = await run((p) => (adam = new Adam(p, options)));
    expectClose(got, adam64(initial, gradients, options));
    expect(adam!.steps).toBe(STEPS);
  });

  it('a gradient element of exactly 0 leaves its weight as it is, with no NaN (epsilon keeps 0/0 away)', async () => {
    for (const make of [(p: Parameter[]) => new RMSProp(p), (p: Parameter[]) => new Adam(p)]) {
      const w = new Parameter('w', [1, 2, 3]);
      const optimizer = make([w]);
      for (let step = 0; step < 2; step++) {
        w.setGrad([0, 0.5, -0.5]);
        optimizer.step();
      }
      const got = await values(w.value);
      expect(got[0], optimizer.constructor.name).toBe(1);
      expect(got.every(Number.isFinite), optimizer.constructor.name).toBe(true);
      optimizer.dispose();
      w.dispose();
    }
  });

  it('a parameter without a gradient is left alone, and those around it keep their own state', async () => {
    // Weight decay would shrink a parameter even at gradient 0, and momentum would carry it on: neither may touch b.
    // The fused update runs over the parameters that have a gradient, so a and c must each find their own velocity.
    const options = { lr: 0.1, beta: 0.1, momentum: 0.9 };
    const [a, b, c] = [new Parameter('a', [1, 2]), new Parameter('b', [3, 4]), new Parameter('c', [5, 6, 7])];
    const sgd = new SGD([a, b, c], options);
    const grads = [[[0.5, -1], [1, 2, 3]], [[2, 0.25], [-1, 0, 1]]];
    for (const [ga, gc] of grads) {
      a.setGrad(ga!);
      c.setGrad(gc!);
      sgd.step();
    }
    expectClose([await values(a.value), await values(c.value)], sgd64([[1, 2], [5, 6, 7]], grads, options));
    expect(await values(b.value)).toEqual([3, 4]);
    sgd.dispose();
    [a, b, c].forEach((p) => p.dispose());
  });

  it('refuses bad hyper-parameters with one clear line', async () => {
    const p = [new Parameter('w', [1])];
    const refusals: [() => unknown, string][] = [
      [() => new SGD(p, { lr: -1 }), 'SGD: lr must be positive, got -1.'],
      [() => new SGD(p, { lr: 0 }), 'SGD: lr must be positive, got 0.'],
      [() => new SGD(p, { beta: 1 }), 'SGD: beta must be in [0, 1), got 1.'],
      [() => new SGD(p, { beta: -0.1 }), 'SGD: beta must be in [0, 1), got -0.1.'],
      [() => new SGD(p, { lr: 0.1, momentum: 1 }), 'SGD: momentum must be in [0, 1), got 1.'],
      [() => new RMSProp(p, { lr: Number.POSITIVE_INFINITY }), 'RMSProp: lr must be positive, got Infinity.'],
      [() => new RMSProp(p, { beta: Number.NaN }), 'RMSProp: beta must be in [0, 1), got NaN.'],
      [() => new RMSProp(p, { epsilon: 0 }), 'RMSProp: epsilon must be positive, got 0.'],
      [() => new Adam(p, { lr: 0 }), 'Adam: lr must be positive, got 0.'],
      [() => new Adam(p, { beta1: 1 }), 'Adam: beta1 must be in [0, 1), got 1.'],
      [() => new Adam(p, { beta2: 1 }), 'Adam: beta2 must be in [0, 1), got 1.'],
      [() => new Adam(p, { epsilon: 0 }), 'Adam: epsilon must be positive, got 0.'],
      [() => new Adam([]), 'Adam: no parameters to optimize.'],
      [() => p[0]!.setGrad([1, 2]), 'Gradient of w has shape [2], expected [1].'],
    ];
    for (const [make, message] of refusals) expect(make, message).toThrow(message);
    // The edges of each range are taken.
    const taken = [new SGD(p, { beta: 0, momentum: 0 }), new RMSProp(p, { beta: 0 }), new Adam(p, { beta1: 0, beta2: 0 })];
    for (const optimizer of taken) optimizer.dispose();
    p[0]!.dispose();
  });

  it("defaults to the course's hyper-parameters", () => {
    const p = [new Parameter('w', [1])];
    const optimizers = [new SGD(p), new RMSProp(p), new Adam(p)];
    expect(optimizers[0]).toMatchObject({ lr: 0.001, beta: 0, momentum: 0 });
    expect(optimizers[1]).toMatchObject({ lr: 0.001, beta: 0.9, epsilon: 1e-8 });
    expect(optimizers[2]).toMatchObject({ lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    for (const optimizer of optimizers) optimizer.dispose();
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
    expect(() => adam.restoreSteps(1.5)).toThrow('Adam: a step count must be a whole number, got 1.5.');
    for (const o of optimizers) o.dispose();
    for (const parameter of p) parameter.dispose();
  });
});
