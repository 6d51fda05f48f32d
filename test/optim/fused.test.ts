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
import { useBackend } from '../helpers/backends.ts';
import { normals } from '../helpers/reference64.ts';

// Sizes that are and are not multiples of the SIMD width of 4, so both loops of each kernel run.
const SHAPES = [[37, 29], [64], [3], []] as const;
const data = normals(4);
const flat = (shape: readonly number[], scale: number) => data.matrix(1, shape.reduce((a, b) => a * b, 1), scale)[0]!;
const initial = SHAPES.map((shape) => flat(shape, 1));
const grads = [0, 1, 2].map(() => SHAPES.map((shape) => flat(shape, 0.5)));

/** The parameters' bits after three steps, with the fused kernels on or off. */
function bitsAfterSteps(make: (params: Parameter[]) => Optimizer, fused: boolean): number[][] {
  useFusedKernels(fused);
  const params = SHAPES.map((shape, i) => new Parameter(`p${i}`, tf.tensor(initial[i]!, [...shape])));
  const optimizer = make(params);
  for (const step of grads) {
    params.forEach((p, i) => p.setGrad(tf.tensor(step[i]!, [...SHAPES[i]!])));
    optimizer.step();
  }
  const bits = params.map((p) => Array.from(new Uint32Array(Float32Array.from(p.value.dataSync()).buffer)));
  optimizer.dispose();
  params.forEach((p) => p.dispose());
  return bits;
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
    it(`${name}: bit for bit the operation-by-operation result`, () => {
      const fused = bitsAfterSteps(make, true);
      const unfused = bitsAfterSteps(make, false);
      expect(fused).toEqual(unfused);
    });
  }

  it('are really used on wasm, and not on cpu', async () => {
    const p = tf.ones([5]);
    const g = tf.ones([5]);
    const out = fusedUpdate('sgd', { p, g }, { keep: 0.5, lr: 0.25 });
    expect(out).not.toBeNull();
    expect(Array.from(out![0]!.dataSync())).toEqual([0.25, 0.25, 0.25, 0.25, 0.25]);
    await useBackend('cpu');
    expect(fusedUpdate('sgd', { p: tf.ones([5]), g: tf.ones([5]) }, { keep: 0.5, lr: 0.25 })).toBeNull();
    await useBackend('wasm');
  });

  it('the committed binaries are those kernels.wat compiles to', async () => {
    const committed = readFileSync(new URL('../../src/optim/kernels-wasm.ts', import.meta.url), 'utf8');
    expect(committed).toBe(kernelsModuleText(await compileKernels()));
  });
});
