// What the checks of each graded piece share (test/homework/*.test.ts, `npm test -- 2d`): the questions run against
// recorded test files, judged as the course server judges, and optimizer steps against recorded values. Nothing
// here computes an answer; an unwritten piece fails its check with "2d: not implemented yet (src/optim/adam.ts)".
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GradingSession } from '../../grader/session.ts';
import { readTestFile } from '../../grader/test-file.ts';
import { QUESTIONS } from '../../questions/index.ts';
import { Parameter } from '../../src/nn/parameter.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { FixtureClient } from '../helpers/fixture-client.ts';

/**
 * A file of the repository: beside this one, or from the working folder, the project root, where the GPU machine's
 * bundle of the tests runs (bench/device/) far from test/.
 */
function at(path: string): string {
  const beside = fileURLToPath(new URL(`../../${path}`, import.meta.url));
  return existsSync(beside) ? beside : resolve(path);
}

/** Two recorded test files in the course's format, of different seeds: the kit's local autograder's, and another. */
const RECORDED = ['grader/hw3-tests.json', 'test/fixtures/hw3-tests.json'].map((path) => ({ path, file: readTestFile(at(path)) }));

/** The question `id` passes every one of its tests in both recorded files, on every backend under test. */
export function questionPasses(id: string): void {
  const question = QUESTIONS.find((q) => q.id === id);
  if (!question) throw new Error(`no question ${id}`);
  describe.each(BACKENDS_UNDER_TEST)(`${id} (${question.title}) on %s`, (backend) => {
    beforeAll(() => useBackend(backend));

    for (const { path, file } of RECORDED) {
      it(`passes every ${id} test of ${path}, judged as the course server judges`, async () => {
        const lines: string[] = [];
        const client = new FixtureClient(file);
        const session = new GradingSession(client, { log: (line) => lines.push(line) });
        await question.run(session);
        expect(lines.filter((line) => line.startsWith('Failed Test!'))).toEqual([]);
        expect(session.results.every((result) => result.passed)).toBe(true);
        const tests = Object.keys(file.expected[id] ?? {}).map((test) => `${id}/${test}`);
        expect([...new Set(client.judged)].sort()).toEqual(tests.sort());
      });
    }
  });
}

/** A case of test/fixtures/optimizer-steps.json (written by test/helpers/optimizer-steps64.ts in the kit). */
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
}

const CASES = JSON.parse(readFileSync(at('test/fixtures/optimizer-steps.json'), 'utf8')) as OptimizerCase[];
const MAKE: Record<OptimizerCase['optimizer'], (params: Parameter[], options: Record<string, number>) => Optimizer> = {
  SGD: (params, options) => new SGD(params, options),
  RMSProp: (params, options) => new RMSProp(params, options),
  Adam: (params, options) => new Adam(params, options),
};

/**
 * The optimizer of piece `id`, three steps with a gradient that changes at every step (the course's tests repeat
 * one), matches after each step the values recorded in test/fixtures/optimizer-steps.json, to float32 rounding.
 */
export function optimizerStepsMatch(id: string): void {
  const cases = CASES.filter((c) => c.piece === id);
  describe.each(BACKENDS_UNDER_TEST)(`${id}, three steps with changing gradients, on %s`, (backend) => {
    beforeAll(() => useBackend(backend));

    for (const c of cases) {
      it(`${c.optimizer} ${JSON.stringify(c.options)}: the recorded values after each step`, async () => {
        const params = c.shapes.map((shape, i) => new Parameter(`p${i}`, tf.tensor(c.initial[i]!, shape)));
        const optimizer = MAKE[c.optimizer](params, c.options);
        try {
          for (const [step, grads] of c.grads.entries()) {
            params.forEach((p, i) => p.setGrad(tf.tensor(grads[i]!, c.shapes[i])));
            optimizer.step();
            for (const [i, p] of params.entries()) {
              const got = await values(p.value);
              const expected = c.after[step]![i]!;
              got.forEach((v, j) => {
                const want = expected[j]!;
                expect(Math.abs(v - want), `step ${step + 1}, parameter ${i}, element ${j}: ${v} against ${want}`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(want));
              });
            }
          }
        } finally {
          optimizer.dispose();
          params.forEach((p) => p.dispose());
        }
      });
    }
  });
}
