import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../random.ts';

/**
 * Weight initializations for an [nIn, nOut] layer. Each takes an optional draw `r` of that shape, as the course API
 * does (`xavier_init(50, 50, r)`), and otherwise draws one from `random`.
 */
export type Initializer = (nIn: number, nOut: number, random: Random, r?: tf.Tensor2D) => tf.Tensor2D;

function normalDraw(nIn: number, nOut: number, random: Random): tf.Tensor2D {
  return tf.randomNormal([nIn, nOut], 0, 1, 'float32', random.nextSeed());
}

/** U(−1, 1): symmetric, variance 1/3. */
function symmetricUniformDraw(nIn: number, nOut: number, random: Random): tf.Tensor2D {
  return tf.randomUniform([nIn, nOut], -1, 1, 'float32', random.nextSeed());
}

function scaled(r: tf.Tensor2D, scale: number): tf.Tensor2D {
  return tf.mul(r, scale);
}

/** Xavier: N(0, 1)·√(1/nIn). */
export const xavierInit: Initializer = (nIn, nOut, random, r) =>
  tf.tidy(() => scaled(r ?? normalDraw(nIn, nOut, random), Math.sqrt(1 / nIn)));

/** He: N(0, 1)·√(2/nIn), for relu layers. */
export const heInit: Initializer = (nIn, nOut, random, r) =>
  tf.tidy(() => scaled(r ?? normalDraw(nIn, nOut, random), Math.sqrt(2 / nIn)));

/** Xavier's variance (1/nIn) from a uniform draw: U(−1, 1)·√(3/nIn); `r`, if given, is a U(−1, 1) draw. */
export const xavierUniformInit: Initializer = (nIn, nOut, random, r) =>
  tf.tidy(() => scaled(r ?? symmetricUniformDraw(nIn, nOut, random), Math.sqrt(3 / nIn)));

/** He's variance (2/nIn) from a uniform draw: U(−1, 1)·√(6/nIn); `r`, if given, is a U(−1, 1) draw. */
export const heUniformInit: Initializer = (nIn, nOut, random, r) =>
  tf.tidy(() => scaled(r ?? symmetricUniformDraw(nIn, nOut, random), Math.sqrt(6 / nIn)));

/** Plain N(0, 1), the course's `torch.randn` baseline. */
export const randnInit: Initializer = (nIn, nOut, random, r) => (r ? tf.clone(r) : normalDraw(nIn, nOut, random));

export const INIT_METHODS = ['xavier', 'he', 'heuristic', 'randn', 'xavier-uniform', 'he-uniform'] as const;
export type InitMethod = (typeof INIT_METHODS)[number];

const NAMED: Record<Exclude<InitMethod, 'heuristic'>, Initializer> = {
  xavier: xavierInit,
  he: heInit,
  randn: randnInit,
  'xavier-uniform': xavierUniformInit,
  'he-uniform': heUniformInit,
};

/**
 * The initializer for one layer. `heuristic` chooses per layer: He for a relu layer, Xavier for any other and for
 * the output layer.
 */
export function initializerFor(method: InitMethod, activation: string, isOutput: boolean): Initializer {
  if (method === 'heuristic') return activation === 'relu' && !isOutput ? heInit : xavierInit;
  return NAMED[method];
}

export function parseInitMethod(name: string): InitMethod {
  if (!(INIT_METHODS as readonly string[]).includes(name)) {
    throw new Error(`Unknown initialization "${name}": choose one of ${INIT_METHODS.join(', ')}.`);
  }
  return name as InitMethod;
}
