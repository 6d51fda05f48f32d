import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutograderClient } from '../../grader/client.ts';
import { FailedTest, LibraryError, NestedFailedTest, UserError } from '../../grader/errors.ts';
import { startLocalGrader, type LocalGrader } from '../../grader/server.ts';
import type { AnswerJson } from '../../grader/protocol.ts';
import { GradingSession, summarizeMask, type GradingClient } from '../../grader/session.ts';
import { capture, expectedOf, kitTests } from './helpers.ts';

describe('summarizeMask', () => {
  it('counts wrong elements and gives the index paths of the first few', () => {
    const mask = [
      [true, false, true],
      [false, false, true],
    ];
    expect(summarizeMask(mask)).toEqual({ wrong: 3, total: 6, firstWrong: [[0, 1], [1, 0], [1, 1]] });
    expect(summarizeMask(mask, 1)).toEqual({ wrong: 3, total: 6, firstWrong: [[0, 1]] });
    expect(summarizeMask(true)).toEqual({ wrong: 0, total: 1, firstWrong: [] });
    expect(summarizeMask([[[false]]])).toEqual({ wrong: 1, total: 1, firstWrong: [[0, 0, 0]] });
  });
});

/** A client whose submissions fail as told, recording the homework it is asked for. */
function scriptedClient(outcome: (question: string) => Error | undefined): GradingClient & { homeworks: unknown[] } {
  const homeworks: unknown[] = [];
  const settle = async (homework: unknown, question: string): Promise<void> => {
    homeworks.push(homework);
    const error = outcome(question);
    if (error) throw error;
  };
  return {
    homeworks,
    getTestData: async (homework) => {
      homeworks.push(homework);
      return [1];
    },
    submit: (homework, question) => settle(homework, question),
    submitCheckSome: (homework, question) => settle(homework, question),
  };
}

describe('GradingSession with a scripted client', () => {
  it('asks for homework 3 and records a pass', async () => {
    const client = scriptedClient(() => undefined);
    const session = new GradingSession(client, { log: () => {} });
    expect(await session.getTestData('2b', 1)).toEqual([1]);
    expect(await session.submit('2b', 1, [1])).toBe(true);
    expect(client.homeworks).toEqual([3, 3]);
    expect(session.results).toEqual([{ question: '2b', tests: ['1'], passed: true }]);
  });

  it('reports a FailedTest in one block (comments, how many wrong, where) and goes on', async () => {
    const log = capture();
    const mask = [
      [true, false],
      [false, true],
      [false, false],
    ];
    const session = new GradingSession(scriptedClient(() => new FailedTest(mask, '[value] 0.3333333333333333% correct')), {
      log: log.log,
    });
    expect(await session.submit('2c', 2, [0])).toBe(false);
    expect(log.lines).toEqual([
      'Failed Test! 2c test 2: [value] 0.3333333333333333% correct; 4 of 6 elements wrong, first at [0, 1], [1, 0], [2, 0], ...',
    ]);
    expect(session.results).toEqual([{ question: '2c', tests: ['2'], passed: false }]);
  });

  it('reports a scalar FailedTest by its comments alone', async () => {
    const log = capture();
    const session = new GradingSession(scriptedClient(() => new FailedTest(false, '[dropout] Given value is greater that allowed maximum value')), {
      log: log.log,
    });
    await session.submit('1b', 1, 0.9);
    expect(log.lines).toEqual(['Failed Test! 1b test 1: [dropout] Given value is greater that allowed maximum value: yours 0.9']);
  });

  it('names the test in the course\'s terms, and shows the expected value beside yours where it is known', async () => {
    const log = capture();
    const expected = (question: string, test: string): AnswerJson => (question === '1b' && test === '1' ? 0.6 : [[1, 2], [3, 4.25]]);
    const session = new GradingSession(scriptedClient((question) => new FailedTest(question === '1b' ? false : [[true, false], [true, false]], question === '1b' ? '[dropout] Given value is greater that allowed maximum value' : '[value] 0.5% correct')), { log: log.log, expected });
    await session.submit('1b', 1, 0.9, 'the share of units dropped');
    await session.submit('2a', 2, [[1, 2.5], [3, 1 / 3]], 'He');
    expect(log.lines).toEqual([
      'Failed Test! 1b test 1 (the share of units dropped): [dropout] Given value is greater that allowed maximum value: yours 0.9, the most allowed 0.6',
      'Failed Test! 2a test 2 (He): [value] 0.5% correct; 2 of 4 elements wrong, first at [0, 1] (yours 2.5, expected 2), [1, 1] (yours 0.333333, expected 4.25)',
    ]);
  });

  it('reports a NestedFailedTest with each failed test', async () => {
    const log = capture();
    const failures = new Map([
      ['2', new FailedTest([true, false], '[value] 0.5% correct')],
      ['3', new FailedTest([false, false], '[value] 0.0% correct')],
    ]);
    const error = new NestedFailedTest(failures, 'You got 0 of the 1 required tests to pass the test');
    const session = new GradingSession(scriptedClient(() => error), { log: log.log });
    expect(await session.submitCheckSome('2d', [2, 3], { 2: [0, 0], 3: [0, 0] }, 1)).toBe(false);
    expect(log.lines).toEqual([
      [
        'Failed Test! 2d tests 2, 3: You got 0 of the 1 required tests to pass the test',
        '  test 2: [value] 0.5% correct; 1 of 2 elements wrong, first at [1] (yours 0)',
        '  test 3: [value] 0.0% correct; 2 of 2 elements wrong, first at [0] (yours 0), [1] (yours 0)',
      ].join('\n'),
    ]);
    expect(session.results).toEqual([{ question: '2d', tests: ['2', '3'], passed: false }]);
  });

  it('reports a refused answer (UserError) as a failed test', async () => {
    const log = capture();
    const refusal = new UserError('invalid_input', '[value] Dimensions does not match. Expected: (5, 4), Given: (2,)');
    const session = new GradingSession(scriptedClient(() => refusal), { log: log.log });
    expect(await session.submit('2b', 1, [1, 2])).toBe(false);
    expect(log.lines).toEqual([
      'Failed Test! 2b test 1: the answer was refused (invalid_input): [value] Dimensions does not match. Expected: (5, 4), Given: (2,)',
    ]);
  });

  it('lets errors that are not about the answer through, unrecorded', async () => {
    const session = new GradingSession(scriptedClient(() => new LibraryError('connection refused')), { log: () => {} });
    await expect(session.submit('2b', 1, [1])).rejects.toThrow(LibraryError);
    expect(session.results).toEqual([]);
  });

  it.each(['token_missing', 'token_wrong', 'no_homework'])('lets a refusal of the request itself (%s) through, unrecorded', async (code) => {
    const log = capture();
    const session = new GradingSession(scriptedClient(() => new UserError(code, 'refused')), { log: log.log });
    await expect(session.submit('1b', 1, 0.5)).rejects.toThrow(UserError);
    await expect(session.submitCheckSome('2d', [2, 3], { 2: [1], 3: [1] }, 1)).rejects.toThrow(UserError);
    expect(session.results).toEqual([]);
    expect(log.lines).toEqual([]);
  });
});

describe('GradingSession against the local grader', () => {
  let grader: LocalGrader;
  let client: AutograderClient;
  const log = capture();

  beforeAll(async () => {
    grader = await startLocalGrader({ tests: kitTests });
    client = new AutograderClient({ baseUrl: grader.url, token: grader.token, log: log.log });
  });

  afterAll(async () => {
    await client.close();
    await grader.close();
  });

  it('prints `Correct Test!` or the failure per test, and keeps going', async () => {
    const session = new GradingSession(client, { log: log.log, expected: (question, test) => expectedOf(question, test) as AnswerJson });
    const wrong = expectedOf('2b', '1') as number[][];
    const right = wrong[0]![3]!;
    wrong[0]![3]! *= 2;
    const shown = (value: number) => String(Number(value.toPrecision(6)));
    await session.submit('2b', 1, wrong);
    await session.submit('2b', 2, expectedOf('2b', '2'));
    await session.submitCheckSome('2d', [2, 3], { 2: expectedOf('2d', '2'), 3: expectedOf('2d', '2') }, 1);
    expect(log.lines).toEqual([
      `Failed Test! 2b test 1: [value] 0.95% correct; 1 of 20 elements wrong, first at [0, 3] (yours ${shown(2 * right)}, expected ${shown(right)})`,
      'Correct Test!',
      'Correct Test!',
    ]);
    expect(session.results.map((result) => result.passed)).toEqual([false, true, true]);
  });
});
