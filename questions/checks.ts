// The graded pieces' own checks, beyond the course server's tests, which `npm test -- 2d` and `npm run submit 2d` run.
// The optimizers: three steps with a gradient that changes at every step (the course's tests repeat one), on
// parameters of three shapes, against the values recorded in questions/optimizer-steps.json; where the values
// differ, the wrong versions recorded there (the mistakes students write, as their outputs only) say which one the
// code computes. Dropout: its masks' values and share, and the backward pass through them. 2a: Xavier and He of a draw
// whose n_in and n_out differ, against questions/init-outputs.json and its wrong versions.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { kitFile } from '../src/core/files.ts';
import type { FFNN as FFNNClass } from '../src/nn/ffnn.ts';
import type { Initializer } from '../src/nn/init.ts';
import { Parameter } from '../src/nn/parameter.ts';
import { Adam } from '../src/optim/adam.ts';
import type { Optimizer } from '../src/optim/optimizer.ts';
import { RMSProp } from '../src/optim/rmsprop.ts';
import { SGD } from '../src/optim/sgd.ts';

/** A case of questions/optimizer-steps.json (written by the kit's float64 optimizers, test/helpers/optimizers64.ts). */
export interface OptimizerCase {
  piece: '1a' | '2b' | '2c' | '2d';
  optimizer: 'SGD' | 'RMSProp' | 'Adam';
  options: Record<string, number>;
  /** Per parameter, its shape. */
  shapes: number[][];
  /** Per parameter, its values, flat (float32). */
  initial: number[][];
  /** Per step, per parameter, the gradient, flat (float32). */
  grads: number[][][];
  /** Per step, per parameter, the values after that step (float64). */
  after: number[][][];
  /** The same for the wrong versions, each by its name. */
  variants: { name: string; after: number[][][] }[];
}

export const OPTIMIZER_CASES = JSON.parse(readFileSync(kitFile('questions/optimizer-steps.json'), 'utf8')) as OptimizerCase[];

export type MakeOptimizer = (params: Parameter[], options: Record<string, number>) => Optimizer;

export const OPTIMIZERS: Record<OptimizerCase['optimizer'], MakeOptimizer> = {
  SGD: (params, options) => new SGD(params, options),
  RMSProp: (params, options) => new RMSProp(params, options),
  Adam: (params, options) => new Adam(params, options),
};

/** The values of each parameter after each step of case `c`, by the optimizer `make` gives (the kit's by default). */
export async function runOptimizerCase(c: OptimizerCase, make: MakeOptimizer = OPTIMIZERS[c.optimizer]): Promise<number[][][]> {
  const params = c.shapes.map((shape, i) => new Parameter(`p${i}`, tf.tensor(c.initial[i] as number[], shape)));
  const optimizer = make(params, c.options);
  try {
    const after: number[][][] = [];
    for (const grads of c.grads) {
      params.forEach((p, i) => p.setGrad(tf.tensor(grads[i] as number[], c.shapes[i])));
      optimizer.step();
      after.push(await Promise.all(params.map(async (p) => Array.from(await p.value.data()))));
    }
    return after;
  } finally {
    optimizer.dispose();
    params.forEach((p) => p.dispose());
  }
}

/** Whether a value computed in float32 is the float64 one to its rounding, as the course server allows and tighter. */
const close = (got: number, want: number): boolean => Math.abs(got - want) <= 1e-6 + 1e-5 * Math.abs(want);

const shown = (value: number): string => String(Number(value.toPrecision(6)));

type Nested = number | Nested[];

/** The index path of the first element of `got` that is not `want`'s (`close`), or null where every one is. */
function firstDifference(got: unknown, want: Nested, path: number[] = []): number[] | null {
  if (!Array.isArray(want)) return typeof got === 'number' && close(got, want) ? null : path;
  for (const [k, w] of want.entries()) {
    const found = firstDifference(Array.isArray(got) ? (got as unknown[])[k] : undefined, w, [...path, k]);
    if (found) return found;
  }
  return null;
}

/** The value of `got` at `path`, shown, or 'missing'. */
function shownAt(got: unknown, path: number[]): string {
  const value = path.reduce<unknown>((node, k) => (Array.isArray(node) ? (node as unknown[])[k] : undefined), got);
  return typeof value === 'number' ? shown(value) : 'missing';
}

/**
 * What is wrong with `got`, the values after each step of case `c`, in one line, or null where they are the values
 * recorded: the first step that differs, which parameters differ there and which do not, the first wrong element with
 * both values, and the wrong version whose values `got` are, if any.
 */
export function judgeOptimizerCase(c: OptimizerCase, got: number[][][]): string | null {
  const difference = firstDifference(got, c.after);
  if (!difference) return null;
  const [step, first, element] = difference as [number, number, number];
  const wrong = (i: number) => firstDifference(got[step]?.[i], (c.after[step] as number[][])[i] as number[]) !== null;
  const params = c.shapes.map((_, i) => i);
  const bad = params.filter(wrong);
  const good = params.filter((i) => !wrong(i));
  const list = (xs: number[]) => (xs.length === 1 ? `parameter ${xs[0]}` : `parameters ${xs.join(', ')}`);
  const where = `step ${step + 1} of ${c.optimizer} ${JSON.stringify(c.options)} differs from the expected update for ${list(bad)}${good.length > 0 ? ` and not for ${list(good)}` : ''}`;
  const want = (c.after[step] as number[][])[first]![element] as number;
  const values = ` (parameter ${first}, element ${element}: yours ${shownAt(got, difference)}, expected ${shown(want)})`;
  const variant = c.variants.find((v) => firstDifference(got, v.after) === null);
  return `${where}${values}${variant ? `: your update matches ${variant.name}` : ''}`;
}

/** What the checks of optimizer piece `piece` find, a line each (none: all well); `make` replaces the kit's optimizers. */
export async function optimizerChecks(piece: string, make: Partial<Record<OptimizerCase['optimizer'], MakeOptimizer>> = {}): Promise<string[]> {
  const lines: string[] = [];
  for (const c of OPTIMIZER_CASES.filter((x) => x.piece === piece)) {
    const line = judgeOptimizerCase(c, await runOptimizerCase(c, make[c.optimizer] ?? OPTIMIZERS[c.optimizer]));
    if (line) lines.push(line);
  }
  return lines;
}

/** What dropout's checks run: the kit's pieces, or others in their place (a test's). */
export interface DropoutPieces {
  invertedDropoutMask?: (shape: number[], keep: number, seed: number) => tf.Tensor;
  applyInvertedDropout?: (h: tf.Tensor2D, keep: number, seed: number) => { output: tf.Tensor2D; mask: tf.Tensor2D };
  Network?: typeof FFNNClass;
}

/** The keep probabilities dropout's checks draw masks with: far from a half, so that keep and 1 − keep differ. */
const KEEPS = [0.8, 0.3];
/** How far a mask's share of kept units may be from keep: 20,000 draws, a margin of more than six deviations. */
const SHARE_MARGIN = 0.02;

/**
 * What the checks of 1b (inverted dropout) find, a line each: masks of 20,000 units must hold 0 and 1/keep only,
 * keep about keep of them, and be what applyInvertedDropout multiplies by; and the backward pass, where it is written,
 * must give no gradient to a unit the forward pass dropped. The wrong versions are named by what their masks show.
 */
export async function dropoutChecks(replaced: DropoutPieces = {}): Promise<string[]> {
  const { applyInvertedDropout, invertedDropoutMask } = { ...(await import('../src/nn/dropout.ts')), ...replaced };
  const lines: string[] = [];
  for (const keep of KEEPS) {
    const drawn = tf.tidy(() => invertedDropoutMask([100, 200], keep, 7));
    const mask = Array.from(await drawn.data());
    drawn.dispose();
    const kept = mask.filter((v) => v !== 0);
    const share = kept.length / mask.length;
    const inverse = Math.fround(1 / keep);
    const odd = kept.find((v) => v !== inverse);
    if (odd !== undefined) {
      const named = kept.every((v) => v === 1) ? ': your mask matches dropout without the 1/keep scaling' : '';
      lines.push(`keep ${keep}: a kept unit of the mask is ${shown(odd)}, expected 1/keep = ${shown(inverse)}${named}`);
    }
    if (Math.abs(share - keep) > SHARE_MARGIN) {
      const named = Math.abs(share - (1 - keep)) <= SHARE_MARGIN ? ': your mask matches dropout that keeps with probability 1 − keep' : '';
      lines.push(`keep ${keep}: the mask keeps ${shown(share)} of the units, expected ${keep} ± ${SHARE_MARGIN}${named}`);
    }
  }
  const h = tf.fill([20, 30], 2) as tf.Tensor2D;
  const { output, mask } = applyInvertedDropout(h, 0.6, 5);
  const [out, m] = await Promise.all([output.data(), mask.data()]);
  const wrong = out.findIndex((v, i) => v !== 2 * (m[i] as number));
  if (wrong >= 0) lines.push(`applyInvertedDropout: output element ${wrong} is ${shown(out[wrong] as number)}, expected the input times the mask it returns, ${shown(2 * (m[wrong] as number))}`);
  tf.dispose([h, output, mask]);
  const backward = await backwardDropsGradients(replaced.Network);
  if (backward) lines.push(backward);
  return lines;
}

/**
 * Whether the backward pass multiplies by the dropout masks again: for one sample, a unit dropped in the forward pass
 * has no gradient (sigmoid units, whose derivative is never 0, would have one otherwise). A line where it does; null
 * where it does not, or where the backward pass is not written yet.
 */
async function backwardDropsGradients(Network?: typeof FFNNClass): Promise<string | null> {
  const FFNN = Network ?? (await import('../src/nn/ffnn.ts')).FFNN;
  const { NotImplemented } = await import('../src/core/homework.ts');
  const sizes = [5, 40, 30, 3];
  // Weights of their own, so that the check needs no initializer (2a's piece).
  const weights = sizes.slice(1).map((nOut, k) => [
    Array.from({ length: sizes[k] as number }, (_, i) => Array.from({ length: nOut }, (_, j) => Math.sin(7 * i + 3 * j + k) / 2)),
    new Array<number>(nOut).fill(0.1),
  ]) as [number[][], number[]][];
  const net = new FFNN(5, [40, 30], ['sigmoid', 'sigmoid', 'softmax'], 3, { keepProb: [1, 0.5, 0.5], initialWeights: weights, seed: 11 });
  const x = tf.tensor2d([[0.5, -1, 0.25, 2, -0.75]]);
  const y = tf.tensor2d([[0, 1, 0]]);
  let masks: (tf.Tensor | null)[] = [];
  try {
    const yPred = net.forward(x);
    masks = net.lastDropoutMasks();
    try {
      net.backward(x, y, yPred);
    } catch (failure) {
      if (failure instanceof NotImplemented) return null;
      throw failure;
    } finally {
      yPred.dispose();
    }
    const params = net.parameters();
    for (const layer of [1, 2]) {
      // masks[layer] multiplies the output of layer − 1, whose bias is parameter 2·(layer − 1) + 1.
      const dropped = await (masks[layer] as tf.Tensor).data();
      const grad = await (params[2 * (layer - 1) + 1]?.grad as tf.Tensor).data();
      const unit = dropped.findIndex((m, j) => m === 0 && grad[j] !== 0);
      if (unit >= 0) {
        return `the backward pass gives a gradient to a unit dropout dropped (hidden layer ${layer}, unit ${unit}: bias gradient ${shown(grad[unit] as number)}, expected 0): is the dropout mask multiplied in again?`;
      }
    }
    return null;
  } finally {
    tf.dispose([x, y, ...masks.filter((m) => m !== null)]);
    net.dispose();
  }
}

/** What the checks of piece `piece` find beyond the course server's tests, a line each (none: all well). */
export async function pieceChecks(piece: string): Promise<string[]> {
  if (piece === '1b') return dropoutChecks();
  if (piece === '2a') return initChecks();
  return optimizerChecks(piece);
}

/** questions/init-outputs.json (written by the kit's test/helpers/init-outputs64.ts): 2a's outputs for a draw r. */
export interface InitOutputs {
  nIn: number;
  nOut: number;
  r: number[][];
  xavier: number[][];
  he: number[][];
  variants: Record<'xavier' | 'he', { name: string; values: number[][] }[]>;
}

/** What the checks of 2a find, a line each: Xavier and He of a draw with n_in ≠ n_out (the course's is 50 × 50). */
export async function initChecks(replaced: Partial<Record<'xavierInit' | 'heInit', Initializer>> = {}): Promise<string[]> {
  const { heInit, xavierInit } = { ...(await import('../src/nn/init.ts')), ...replaced };
  const recorded = JSON.parse(readFileSync(kitFile('questions/init-outputs.json'), 'utf8')) as InitOutputs;
  const lines: string[] = [];
  const r = tf.tensor2d(recorded.r);
  try {
    for (const [name, init] of [['xavier', xavierInit], ['he', heInit]] as const) {
      const out = init(recorded.nIn, recorded.nOut, r);
      const got = (await out.array()) as number[][];
      out.dispose();
      const difference = firstDifference(got, recorded[name]);
      if (!difference) continue;
      const [i, j] = difference as [number, number];
      const title = name === 'he' ? 'He' : 'Xavier';
      const variant = recorded.variants[name].find((v) => firstDifference(got, v.values) === null);
      lines.push(
        `${title} of a ${recorded.nIn} × ${recorded.nOut} draw differs at [${i}, ${j}] (yours ${shownAt(got, difference)}, expected ${shown(recorded[name][i]![j]!)})${variant ? `: yours matches ${variant.name}` : ''}`,
      );
    }
  } finally {
    r.dispose();
  }
  return lines;
}
