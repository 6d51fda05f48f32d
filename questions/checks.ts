// The graded optimizers' own checks, beyond the course server's tests: three steps with a gradient that changes at
// every step (the course's tests repeat one), on parameters of three shapes, against the values recorded in
// questions/optimizer-steps.json; where the values differ, the wrong versions recorded there (the mistakes students
// write, as their outputs only) say which one the code computes. `npm test -- 2d` and `npm run submit 2d` run them.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
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

/** The recorded file: beside this one, or from the working folder where a bundle of the kit runs far from its source. */
const RECORDED = ((beside) => (existsSync(beside) ? beside : resolve('questions/optimizer-steps.json')))(
  fileURLToPath(new URL('./optimizer-steps.json', import.meta.url)),
);

export const OPTIMIZER_CASES = JSON.parse(readFileSync(RECORDED, 'utf8')) as OptimizerCase[];

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

/**
 * What is wrong with `got`, the values after each step of case `c`, in one line, or null where they are the values
 * recorded: the first step that differs, which parameters differ there and which do not, the first wrong element with
 * both values, and the wrong version whose values `got` are, if any.
 */
export function judgeOptimizerCase(c: OptimizerCase, got: number[][][]): string | null {
  const matches = (after: number[][][]) => after.every((step, s) => step.every((values, i) => values.every((want, j) => close(got[s]?.[i]?.[j] ?? NaN, want))));
  if (matches(c.after)) return null;
  const step = c.after.findIndex((values, s) => values.some((want, i) => want.some((w, j) => !close(got[s]?.[i]?.[j] ?? NaN, w))));
  const wrong = (i: number) => (c.after[step] as number[][])[i]!.some((w, j) => !close(got[step]?.[i]?.[j] ?? NaN, w));
  const params = c.shapes.map((_, i) => i);
  const bad = params.filter(wrong);
  const good = params.filter((i) => !wrong(i));
  const first = bad[0] as number;
  const element = (c.after[step] as number[][])[first]!.findIndex((w, j) => !close(got[step]?.[first]?.[j] ?? NaN, w));
  const list = (xs: number[]) => (xs.length === 1 ? `parameter ${xs[0]}` : `parameters ${xs.join(', ')}`);
  const where = `step ${step + 1} of ${c.optimizer} ${JSON.stringify(c.options)} differs from the expected update for ${list(bad)}${good.length > 0 ? ` and not for ${list(good)}` : ''}`;
  const yours = got[step]?.[first]?.[element];
  const want = (c.after[step] as number[][])[first]![element] as number;
  const values = ` (parameter ${first}, element ${element}: yours ${yours === undefined ? 'missing' : shown(yours)}, expected ${shown(want)})`;
  const variant = c.variants.find((v) => matches(v.after));
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
