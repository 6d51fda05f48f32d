import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEED, makeTestFile } from '../../grader/reference.ts';
import { DEFAULT_TEST_FILE, formatTestFile, validateTestFile, type TestFile } from '../../grader/test-file.ts';

type Matrix = number[][];

// The homework's formulas once more, in plain float64 and written apart from grader/reference.ts.
function float64Expected(file: TestFile): Record<string, Record<string, Matrix>> {
  const pair = (question: string): [Matrix, Matrix] => file.input[question]!['1'] as [Matrix, Matrix];
  const each = (p: Matrix, g: Matrix, f: (p: number, g: number) => number): Matrix =>
    p.map((row, i) => row.map((x, j) => f(x, g[i]![j]!)));
  const run = (steps: number, step: (state: number[], p: number, g: number, t: number) => number) =>
    (p: number, g: number): number => {
      const state: number[] = [0, 0];
      for (let t = 1; t <= steps; t++) p = step(state, p, g, t);
      return p;
    };
  const momentum = (state: number[], p: number, g: number): number => {
    state[0] = 0.9 * state[0]! - 0.1 * g;
    return p + state[0];
  };
  const rmsProp = (state: number[], p: number, g: number): number => {
    state[0] = 0.9 * state[0]! + 0.1 * g * g;
    return p - (0.001 / (1e-8 + Math.sqrt(state[0]))) * g;
  };
  const adam = (epsilonInside: boolean) => (state: number[], p: number, g: number, t: number): number => {
    state[0] = 0.9 * state[0]! + 0.1 * g;
    state[1] = 0.999 * state[1]! + 0.001 * g * g;
    const m = state[0] / (1 - 0.9 ** t);
    const s = state[1] / (1 - 0.999 ** t);
    return epsilonInside ? p - (0.001 * m) / Math.sqrt(s + 1e-8) : p - (0.001 / (1e-8 + Math.sqrt(s))) * m;
  };
  const [p1a, g1a] = pair('1a');
  const [p2b, g2b] = pair('2b');
  const [p2c, g2c] = pair('2c');
  const [p2d, g2d] = pair('2d');
  const r = (test: string): Matrix => file.input['2a']![test] as Matrix;
  return {
    '1a': { '1': each(p1a, g1a, (p, g) => 0.9 * p - 0.1 * g) },
    '2a': { '1': r('1').map((row) => row.map((x) => x * Math.sqrt(1 / 50))), '2': r('2').map((row) => row.map((x) => x * Math.sqrt(2 / 50))) },
    '2b': { '1': each(p2b, g2b, run(1, momentum)), '2': each(p2b, g2b, run(2, momentum)) },
    '2c': { '1': each(p2c, g2c, run(1, rmsProp)), '2': each(p2c, g2c, run(2, rmsProp)) },
    '2d': {
      '1': each(p2d, g2d, run(1, adam(false))),
      '2': each(p2d, g2d, run(2, adam(false))),
      '3': each(p2d, g2d, run(2, adam(true))),
    },
  };
}

function numbersIn(value: unknown): number[] {
  return Array.isArray(value) ? value.flatMap(numbersIn) : [value as number];
}

describe('makeTestFile', () => {
  const file = makeTestFile(DEFAULT_SEED);

  it('is in the course format, with string test ids and the homework 3 shapes', () => {
    expect(() => validateTestFile(file, 'made')).not.toThrow();
    expect(Object.keys(file.input)).toEqual(['1a', '2a', '2b', '2c', '2d']);
    expect(Object.keys(file.expected)).toEqual(['1a', '1b', '2a', '2b', '2c', '2d']);
    expect(Object.keys(file.expected['2d']!)).toEqual(['1', '2', '3']);
    for (const question of ['1a', '2b', '2c', '2d']) {
      const [weight, grad] = file.input[question]!['1'] as [Matrix, Matrix];
      expect([weight.length, weight[0]!.length, grad.length, grad[0]!.length]).toEqual([5, 4, 5, 4]);
    }
    expect((file.input['2a']!['2'] as Matrix).map((row) => row.length)).toEqual(Array(50).fill(50));
    expect(file.expected['1b']).toEqual({ '1': 0.6 });
  });

  it('stores only numbers that float32 holds exactly, inputs and expected values alike', () => {
    const all = [...numbersIn(Object.values(file.input).flatMap(Object.values)), ...numbersIn(Object.values(file.expected).flatMap(Object.values))];
    expect(all.length).toBeGreaterThan(5000);
    expect(all.filter((x) => x !== 0.6 && Math.fround(x) !== x)).toEqual([]);
  });

  it('draws inputs that look standard normal', () => {
    const values = numbersIn([file.input['2a']!['1'], file.input['2a']!['2']]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('agrees with a plain float64 computation of the same formulas', () => {
    const reference = float64Expected(file);
    for (const [question, tests] of Object.entries(reference)) {
      for (const [test, exact] of Object.entries(tests)) {
        const made = numbersIn(file.expected[question]![test]);
        const wanted = numbersIn(exact);
        expect(made.length, `${question} test ${test}`).toBe(wanted.length);
        // Relative 1e-6, except that float32 cancellation near zero is judged against the inputs' scale (about 1).
        const far = made.filter((x, i) => Math.abs(x - wanted[i]!) > 1e-6 * Math.max(Math.abs(wanted[i]!), 1));
        expect(far, `${question} test ${test}`).toEqual([]);
      }
    }
  });

  it('gives the same file for the same seed and another for another seed', () => {
    expect(makeTestFile(17)).toEqual(makeTestFile(17));
    expect(makeTestFile(17)).not.toEqual(makeTestFile(18));
  });

  it('made the committed grader/hw3-tests.json, byte for byte', () => {
    expect(readFileSync(DEFAULT_TEST_FILE, 'utf8')).toBe(formatTestFile(file));
  });
});
