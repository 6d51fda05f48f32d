import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileKernels, kernelsModuleText } from '../../src/optim/build-kernels.ts';
import { Parameter } from '../../src/nn/parameter.ts';
import { Adam } from '../../src/optim/adam.ts';
import { fusedUpdate, useFusedKernels } from '../../src/optim/fused.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { readFileSync } from 'node:fs';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';
import { normals, relativeError } from '../helpers/reference64.ts';

// Sizes that are and are not multiples of the SIMD width of 4, so both loops of each kernel run.
const SHAPES = [[37, 29], [64], [3], []] as const;
const data = normals(4);
const flat = (shape: readonly number[], scale: number) => data.matrix(1, shape.reduce((a, b) => a * b, 1), scale)[0]!;
const initial = SHAPES.map((shape) => flat(shape, 1));
const grads = [0, 1, 2].map(() => SHAPES.map((shape) => flat(shape, 0.5)));

/** The parameters after three steps, with the fused kernels on or off, and the names of the kernels that ran. */
async function afterSteps(make: (params: Parameter[]) => Optimizer, fused: boolean): Promise<{ values: Float32Array[]; kernels: string[] }> {
  useFusedKernels(fused);
  const params = SHAPES.map((shape, i) => new Parameter(`p${i}`, tf.tensor(initial[i]!, [...shape])));
  const optimizer = make(params);
  const kernels: string[] = [];
  for (const step of grads) {
    params.forEach((p, i) => p.setGrad(tf.tensor(step[i]!, [...SHAPES[i]!])));
    const profile = await tf.profile(() => optimizer.step());
    kernels.push(...profile.kernels.map((k) => k.name));
  }
  const values = await Promise.all(params.map(async (p) => Float32Array.from(await p.value.data())));
  optimizer.dispose();
  params.forEach((p) => p.dispose());
  return { values, kernels };
}

/** The parameters' bits after three steps, with the fused kernels on or off. */
async function bitsAfterSteps(make: (params: Parameter[]) => Optimizer, fused: boolean): Promise<number[][]> {
  const { values } = await afterSteps(make, fused);
  return values.map((v) => Array.from(new Uint32Array(v.buffer)));
}

const OPTIMIZERS: Record<string, (params: Parameter[]) => Optimizer> = {
  'SGD with weight decay': (p) => new SGD(p, { lr: 0.1, beta: 0.1 }),
  'SGD, plain': (p) => new SGD(p, { lr: 0.1 }),
  'SGD with momentum and weight decay': (p) => new SGD(p, { lr: 0.1, momentum: 0.9, beta: 0.01 }),
  RMSProp: (p) => new RMSProp(p, { lr: 0.001, beta: 0.9, epsilon: 1e-8 }),
  Adam: (p) => new Adam(p, { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }),
};

describe('fused optimizer kernels on wasm', () => {
  beforeAll(() => useBackend('wasm'));
  afterEach(() => useFusedKernels(true));

  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name}: bit for bit the operation-by-operation result`, async () => {
      const fused = await bitsAfterSteps(make, true);
      const unfused = await bitsAfterSteps(make, false);
      expect(fused).toEqual(unfused);
    });
  }

  it('are really used on wasm, and not on cpu', async () => {
    const p = tf.ones([5]);
    const g = tf.ones([5]);
    const out = fusedUpdate('sgd', { p, g }, { keep: 0.5, lr: 0.25 });
    expect(out).not.toBeNull();
    expect(Array.from(await out![0]!.data())).toEqual([0.25, 0.25, 0.25, 0.25, 0.25]);
    await useBackend('cpu');
    expect(fusedUpdate('sgd', { p: tf.ones([5]), g: tf.ones([5]) }, { keep: 0.5, lr: 0.25 })).toBeNull();
    await useBackend('wasm');
  });

  it('the committed binaries are those kernels.wat compiles to', async () => {
    const committed = readFileSync(new URL('../../src/optim/kernels-wasm.ts', import.meta.url), 'utf8');
    expect(committed).toBe(kernelsModuleText(await compileKernels()));
  });
});

// CI installs Mesa's software Vulkan driver, so this runs there too; CC6204_TEST_BACKENDS=webgpu runs it on a GPU.
describe.runIf(BACKENDS_UNDER_TEST.includes('webgpu'))('fused optimizer kernels on webgpu', () => {
  beforeAll(() => useBackend('webgpu'));
  afterEach(() => useFusedKernels(true));

  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name}: one kernel per parameter, agreeing with the operation-by-operation result to float32 rounding`, async () => {
      const fused = await afterSteps(make, true);
      const unfused = await afterSteps(make, false);
      expect(new Set(fused.kernels)).toEqual(new Set([expect.stringMatching(/^CC6204Fused_/)]));
      expect(fused.kernels.length).toBe(grads.length * SHAPES.length);
      expect(unfused.kernels.length).toBeGreaterThan(fused.kernels.length);
      fused.values.forEach((values, i) => {
        expect(relativeError(values, unfused.values[i]!), `parameter ${i}`).toBeLessThan(1e-6);
      });
    });
  }

  it('handle parameters of more elements than one row of workgroups holds', async () => {
    // 65535 workgroups of 256 hold 16776960 elements; this one needs a second row.
    const n = 65535 * 256 + 1000;
    const p = tf.fill([n], 1);
    const g = tf.fill([n], 2);
    const [out] = fusedUpdate('sgd', { p, g }, { keep: 0.5, lr: 0.25 })!;
    const got = await out!.data();
    expect([got[0], got[n - 1000], got[n - 1]]).toEqual([0, 0, 0]);
    expect(got.every((v) => v === 0)).toBe(true);
    tf.dispose([p, g, out!]);
  });
});
