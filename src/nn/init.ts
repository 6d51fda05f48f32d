import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../core/random.ts';

/**
 * Weight initializations for an [nIn, nOut] layer, scaling a draw `from`: either a given tensor of that shape, as
 * the course API takes one (`xavier_init(50, 50, r)`), or a random source to draw it from.
 */
export type Initializer = (nIn: number, nOut: number, from: tf.Tensor2D | Random) => tf.Tensor2D;

function normalDraw(nIn: number, nOut: number, from: tf.Tensor2D | Random): tf.Tensor2D {
  return from instanceof Random ? tf.randomNormal([nIn, nOut], 0, 1, 'float32', from.nextSeed()) : given(nIn, nOut, from);
}

/** U(−1, 1): symmetric, variance 1/3. */
function symmetricUniformDraw(nIn: number, nOut: number, from: tf.Tensor2D | Random): tf.Tensor2D {
  return from instanceof Random ? tf.randomUniform([nIn, nOut], -1, 1, 'float32', from.nextSeed()) : given(nIn, nOut, from);
}

function given(nIn: number, nOut: number, r: tf.Tensor2D): tf.Tensor2D {
  if (r.rank !== 2 || r.shape[0] !== nIn || r.shape[1] !== nOut) {
    throw new Error(`The given draw r has shape [${r.shape.join(', ')}], expected [${nIn}, ${nOut}].`);
  }
  return r;
}

function scaled(r: tf.Tensor2D, scale: number): tf.Tensor2D {
  return tf.mul(r, scale);
}

/** Xavier: N(0, 1)·√(1/nIn). */
export const xavierInit: Initializer = (nIn, nOut, from) =>
  tf.tidy(() => {
    // graded 2a: begin
    return scaled(normalDraw(nIn, nOut, from), Math.sqrt(1 / nIn));
    // graded 2a: end
  });

/** He: N(0, 1)·√(2/nIn), for relu layers. */
export const heInit: Initializer = (nIn, nOut, from) =>
  tf.tidy(() => {
    // graded 2a: begin
    return scaled(normalDraw(nIn, nOut, from), Math.sqrt(2 / nIn));
    // graded 2a: end
  });

/** Xavier's variance (1/nIn) from a uniform draw: U(−1, 1)·√(3/nIn); a given draw must be U(−1, 1). */
export const xavierUniformInit: Initializer = (nIn, nOut, from) =>
  tf.tidy(() => {
    // graded 2a: begin
    return scaled(symmetricUniformDraw(nIn, nOut, from), Math.sqrt(3 / nIn));
    // graded 2a: end
  });

/** He's variance (2/nIn) from a uniform draw: U(−1, 1)·√(6/nIn); a given draw must be U(−1, 1). */
export const heUniformInit: Initializer = (nIn, nOut, from) =>
  tf.tidy(() => {
    // graded 2a: begin
    return scaled(symmetricUniformDraw(nIn, nOut, from), Math.sqrt(6 / nIn));
    // graded 2a: end
  });

/** Plain N(0, 1), the course's `torch.randn` baseline. */
export const randnInit: Initializer = (nIn, nOut, from) => tf.tidy(() => tf.clone(normalDraw(nIn, nOut, from)));

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
