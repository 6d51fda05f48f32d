// What the fused-kernel tests of each backend share: parameters of awkward sizes, three steps of gradients.
import * as tf from '@tensorflow/tfjs-core';
import { Parameter } from '../../src/nn/parameter.ts';
import { Adam } from '../../src/optim/adam.ts';
import { useFusedKernels, verdictsSettled } from '../../src/core/op.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { normals } from '../helpers/reference64.ts';

// Sizes that are and are not multiples of the SIMD width of 4, so both loops of each kernel run.
export const SHAPES = [[37, 29], [64], [3], []] as const;
const data = normals(4);
const flat = (shape: readonly number[], scale: number) => data.matrix(1, shape.reduce((a, b) => a * b, 1), scale)[0]!;
const initial = SHAPES.map((shape) => flat(shape, 1));
export const grads = [0, 1, 2].map(() => SHAPES.map((shape) => flat(shape, 0.5)));

/** The parameters after three steps, with the fused kernels on or off, and the names of the kernels that ran. */
export async function afterSteps(make: (params: Parameter[]) => Optimizer, fused: boolean): Promise<{ values: Float32Array[]; kernels: string[] }> {
  useFusedKernels(fused);
  await warmUp(make);
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

/**
 * One step of an optimizer like `make`'s on parameters of its own, so that the fused update has been compared with
 * the optimizer's formula (src/core/op.ts) before the steps that count their kernels.
 */
export async function warmUp(make: (params: Parameter[]) => Optimizer): Promise<void> {
  const params = SHAPES.map((shape, i) => new Parameter(`warm-up ${i}`, tf.tensor(initial[i]!, [...shape])));
  const optimizer = make(params);
  params.forEach((p, i) => p.setGrad(tf.tensor(grads[0]![i]!, [...SHAPES[i]!])));
  optimizer.step();
  await verdictsSettled();
  optimizer.dispose();
  params.forEach((p) => p.dispose());
}

// Two parameters, 17 elements before 301 × 300: an update split between threads over the parameters laid end to end
// starts a share inside the second one at an element whose address no vector store may start at.
const LARGE = [[17], [301, 300]];

/** Those two parameters' initial values and their values after three Adam steps, with the fused kernels on or off. */
export async function largeAdamSteps(fused: boolean): Promise<{ initial: number[][]; values: Float32Array[] }> {
  // The same numbers at every call.
  const numbers = normals(45);
  const draw = (scale: number) => LARGE.map((shape) => numbers.matrix(1, shape.reduce((a, b) => a * b, 1), scale)[0]!);
  const [initial, gradient] = [draw(1), draw(0.5)];
  useFusedKernels(fused);
  const params = LARGE.map((shape, k) => new Parameter(`large ${k}`, tf.tensor(initial[k]!, shape)));
  const adam = new Adam(params);
  for (let step = 0; step < 3; step++) {
    params.forEach((p, k) => p.setGrad(tf.tensor(gradient[k]!, LARGE[k])));
    adam.step();
  }
  const values = await Promise.all(params.map(async (p) => Float32Array.from(await p.value.data())));
  adam.dispose();
  params.forEach((p) => p.dispose());
  return { initial, values };
}

/** The parameters' bits after three steps, with the fused kernels on or off. */
export async function bitsAfterSteps(make: (params: Parameter[]) => Optimizer, fused: boolean): Promise<number[][]> {
  const { values } = await afterSteps(make, fused);
  return values.map((v) => Array.from(new Uint32Array(v.buffer)));
}

export const OPTIMIZERS: Record<string, (params: Parameter[]) => Optimizer> = {
  'SGD with weight decay': (p) => new SGD(p, { lr: 0.1, beta: 0.1 }),
  'SGD, plain': (p) => new SGD(p, { lr: 0.1 }),
  'SGD with momentum and weight decay': (p) => new SGD(p, { lr: 0.1, momentum: 0.9, beta: 0.01 }),
  RMSProp: (p) => new RMSProp(p, { lr: 0.001, beta: 0.9, epsilon: 1e-8 }),
  Adam: (p) => new Adam(p, { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }),
};
