// What the checks of each graded piece share (test/homework/*.test.ts, `npm test -- 2d`): the questions run against
// recorded test files, judged as the course server judges, and optimizer steps against recorded values
// (questions/checks.ts, which `npm run submit` runs too). Nothing here computes an answer; an unwritten piece fails its check with "2d: not implemented yet (src/optim/adam.ts)".
import { beforeAll, describe, expect, it } from 'vitest';
import { GradingSession } from '../../grader/session.ts';
import { readTestFile } from '../../grader/test-file.ts';
import { QUESTIONS } from '../../questions/index.ts';
import { judgeOptimizerCase, OPTIMIZER_CASES, runOptimizerCase } from '../../questions/checks.ts';
import { kitFile } from '../../src/core/files.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';
import { FixtureClient } from '../helpers/fixture-client.ts';

/** Two recorded test files in the course's format, of different seeds: the kit's local autograder's, and another. */
const RECORDED = ['grader/hw3-tests.json', 'test/fixtures/hw3-tests.json'].map((path) => ({ path, file: readTestFile(kitFile(path)) }));

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

/**
 * The optimizer of piece `id`, three steps with a gradient that changes at every step (the course's tests repeat
 * one), matches after each step the values recorded in questions/optimizer-steps.json, to float32 rounding; where it
 * does not, the failure says where, with both values, and which known mistake the values are, if one.
 */
export function optimizerStepsMatch(id: string): void {
  const cases = OPTIMIZER_CASES.filter((c) => c.piece === id);
  describe.each(BACKENDS_UNDER_TEST)(`${id}, three steps with changing gradients, on %s`, (backend) => {
    beforeAll(() => useBackend(backend));

    for (const c of cases) {
      it(`${c.optimizer} ${JSON.stringify(c.options)}: the recorded values after each step`, async () => {
        expect(judgeOptimizerCase(c, await runOptimizerCase(c)) ?? 'the recorded values').toBe('the recorded values');
      });
    }
  });
}
