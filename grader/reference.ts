// The expected answers of homework 3, computed in plain TypeScript from the homework's formulas, apart from the kit's
// tfjs code, so that a mistake there cannot hide by also being in the test file.
//
// Every operation is rounded to float32 (`Math.fround`), in the formula's order. A student's answer is computed in
// float32 (tfjs has no float64), and the judge's absolute tolerance is only 1e-8: where `p` ends up near zero, a
// float64 expectation would differ from every correct float32 answer by more than that. Rounding each step the way
// float32 arithmetic does gives the answer a correct float32 implementation computes, bit for bit in the usual order.
// Constants are rounded once, as when a number becomes a float32 scalar tensor.

import { Random } from '../src/core/random.ts';
import type { AnswerJson } from './protocol.ts';
import type { TestFile } from './test-file.ts';

/** The seed of the kit's committed test file, grader/hw3-tests.json. */
export const DEFAULT_SEED = 6204;

const f32 = Math.fround;

type Matrix = number[][];

/** Standard normal numbers by Box–Muller, rounded to float32 so that the test input is exactly what tfjs holds. */
function normalMatrix(uniform: () => number, rows: number, columns: number): Matrix {
  const normal = (): number => {
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    return f32(radius * Math.cos(2 * Math.PI * uniform()));
  };
  return Array.from({ length: rows }, () => Array.from({ length: columns }, normal));
}

/** Applies `update` to each pair of elements; each optimizer here acts on every element on its own. */
function elementwise(p: Matrix, g: Matrix, update: (p: number, g: number) => number): Matrix {
  return p.map((row, i) => row.map((value, j) => update(value, g[i]![j]!)));
}

/** 1a: `p ← (1 − beta)·p − lr·grad`, lr 0.1, beta 0.1. */
function weightDecayStep(p: number, g: number): number {
  const keep = f32(1 - 0.1);
  const lr = f32(0.1);
  return f32(f32(keep * p) - f32(lr * g));
}

/** 2b: `V ← m·V − lr·grad; p ← p + V`, lr 0.1, m 0.9; the parameter after each step with the same grad. */
function momentumSteps(p: number, g: number, steps: number): number[] {
  const lr = f32(0.1);
  const momentum = f32(0.9);
  const after: number[] = [];
  let v = 0;
  for (let step = 0; step < steps; step++) {
    v = f32(f32(momentum * v) - f32(lr * g));
    p = f32(p + v);
    after.push(p);
  }
  return after;
}

/** 2c: `S ← beta·S + (1−beta)·grad²; p ← p − lr/(eps + √S)·grad`, lr 0.001, beta 0.9, eps 1e-8. */
function rmsPropSteps(p: number, g: number, steps: number): number[] {
  const lr = f32(0.001);
  const beta = f32(0.9);
  const rest = f32(1 - 0.9);
  const epsilon = f32(1e-8);
  const after: number[] = [];
  let s = 0;
  for (let step = 0; step < steps; step++) {
    s = f32(f32(beta * s) + f32(rest * f32(g * g)));
    p = f32(p - f32(f32(lr / f32(epsilon + f32(Math.sqrt(s)))) * g));
    after.push(p);
  }
  return after;
}

/**
 * 2d: Adam, lr 0.001, b1 0.9, b2 0.999, eps 1e-8, bias-corrected with the step count t. `epsilonInsideRoot` picks
 * the other common convention, `p − lr·P̂/√(Ŝ + eps)`, instead of the course's `p − lr/(eps + √Ŝ)·P̂`.
 */
function adamSteps(p: number, g: number, steps: number, epsilonInsideRoot: boolean): number[] {
  const lr = f32(0.001);
  const [beta1, beta2] = [0.9, 0.999];
  const epsilon = f32(1e-8);
  const after: number[] = [];
  let [m, s] = [0, 0];
  for (let t = 1; t <= steps; t++) {
    m = f32(f32(f32(beta1) * m) + f32(f32(1 - beta1) * g));
    s = f32(f32(f32(beta2) * s) + f32(f32(1 - beta2) * f32(g * g)));
    const mHat = f32(m / f32(1 - beta1 ** t));
    const sHat = f32(s / f32(1 - beta2 ** t));
    const update = epsilonInsideRoot
      ? f32(f32(lr * mHat) / f32(Math.sqrt(f32(sHat + epsilon))))
      : f32(f32(lr / f32(epsilon + f32(Math.sqrt(sHat)))) * mHat);
    p = f32(p - update);
    after.push(p);
  }
  return after;
}

/** The parameter after `step` steps (1-based) of a multi-step update, for every element. */
function afterStep(
  p: Matrix,
  g: Matrix,
  steps: (p: number, g: number) => number[],
  step: number,
): Matrix {
  return elementwise(p, g, (value, grad) => steps(value, grad)[step - 1]!);
}

/**
 * The homework 3 test file for `seed`, in the course's format (test ids are strings). The same seed always gives the
 * same file: every random number comes from one stream of the kit's Random (mulberry32), drawn in a fixed order.
 * (Only the inputs are drawn with the kit's code; the expected answers are computed apart from it.)
 */
export function makeTestFile(seed: number): TestFile {
  const random = new Random(seed);
  const uniform = () => random.next();
  const pair = (): [Matrix, Matrix] => [normalMatrix(uniform, 5, 4), normalMatrix(uniform, 5, 4)];
  const [p1a, g1a] = pair();
  const xavierR = normalMatrix(uniform, 50, 50);
  const heR = normalMatrix(uniform, 50, 50);
  const [p2b, g2b] = pair();
  const [p2c, g2c] = pair();
  const [p2d, g2d] = pair();

  const scaled = (r: Matrix, factor: number): Matrix => r.map((row) => row.map((x) => f32(x * f32(factor))));
  const momentum = (p: number, g: number): number[] => momentumSteps(p, g, 2);
  const rmsProp = (p: number, g: number): number[] => rmsPropSteps(p, g, 2);
  const adam = (p: number, g: number): number[] => adamSteps(p, g, 2, false);
  const adamEpsilonInsideRoot = (p: number, g: number): number[] => adamSteps(p, g, 2, true);

  const expected: Record<string, Record<string, AnswerJson>> = {
    '1a': { '1': elementwise(p1a, g1a, weightDecayStep) },
    // The share of hidden units that dropout zeroes, with keep_prob 0.5: the course takes it as a maximum.
    '1b': { '1': 0.6 },
    '2a': { '1': scaled(xavierR, Math.sqrt(1 / 50)), '2': scaled(heR, Math.sqrt(2 / 50)) },
    '2b': { '1': afterStep(p2b, g2b, momentum, 1), '2': afterStep(p2b, g2b, momentum, 2) },
    '2c': { '1': afterStep(p2c, g2c, rmsProp, 1), '2': afterStep(p2c, g2c, rmsProp, 2) },
    '2d': {
      '1': afterStep(p2d, g2d, adam, 1),
      '2': afterStep(p2d, g2d, adam, 2),
      '3': afterStep(p2d, g2d, adamEpsilonInsideRoot, 2),
    },
  };
  return {
    input: {
      '1a': { '1': [p1a, g1a] },
      '2a': { '1': xavierR, '2': heR },
      '2b': { '1': [p2b, g2b] },
      '2c': { '1': [p2c, g2c] },
      '2d': { '1': [p2d, g2d] },
    },
    expected,
  };
}
