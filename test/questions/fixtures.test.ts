import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { toAnswerJson } from '../../grader/answer.ts';
import { checkSome } from '../../grader/client.ts';
import { FailedTest, UserError } from '../../grader/errors.ts';
import { judge } from '../../grader/protocol.ts';
import { type GradingClient, GradingSession } from '../../grader/session.ts';
import { readTestFile, type TestFile } from '../../grader/test-file.ts';
import { QUESTIONS } from '../../questions/index.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';

/**
 * Recorded test data and expected answers for every question and test (made with `npm run grader -- make-tests
 * --seed 2025`, apart from the kit's default test file), judged in process with the protocol's rule: no network.
 */
const fixture: TestFile = readTestFile(fileURLToPath(new URL('../fixtures/hw3-tests.json', import.meta.url)));

/** Serves the fixture's inputs and judges answers against its expectations, as the course server would. */
class FixtureClient implements GradingClient {
  readonly judged: string[] = [];

  constructor(private readonly log: (line: string) => void) {}

  async getTestData(_homework: number | string, question: string, test: number | string): Promise<unknown> {
    const data = fixture.input[question]?.[String(test)];
    if (data === undefined) throw new UserError('test_data', `Test \`${test}\` not found in Question ${question}`);
    return structuredClone(data);
  }

  async submit(_homework: number | string, question: string, test: number | string, answer: unknown, options?: { quiet?: boolean }) {
    const expected = fixture.expected[question]?.[String(test)];
    if (expected === undefined) throw new UserError('test_output', `Test \`${test}\` not found in Question ${question}`);
    const judgement = judge(question, await toAnswerJson(answer), expected);
    if (!judgement.valid) throw new UserError('invalid_input', judgement.message);
    this.judged.push(`${question}/${test}`);
    if (!judgement.passed) throw new FailedTest(judgement.mask, judgement.comments);
    if (!options?.quiet) this.log('Correct Test!');
  }

  async submitCheckSome(homework: number | string, question: string, tests: readonly (number | string)[], answers: Readonly<Record<string, unknown>>, required: number) {
    await checkSome(tests, answers, required, (test, answer) => this.submit(homework, question, test, answer, { quiet: true }));
    this.log('Correct Test!');
  }
}

describe.each(BACKENDS_UNDER_TEST)('the six questions against the recorded fixtures on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('every question passes every test of the fixture, and every fixture test is judged', async () => {
    const lines: string[] = [];
    const client = new FixtureClient((line) => lines.push(line));
    const session = new GradingSession(client, { log: (line) => lines.push(line) });
    for (const question of QUESTIONS) await question.run(session);
    expect(QUESTIONS.map((q) => q.id)).toEqual(['1a', '1b', '2a', '2b', '2c', '2d']);
    expect(session.results.filter((r) => !r.passed)).toEqual([]);
    expect(lines.filter((l) => l === 'Correct Test!')).toHaveLength(10);
    const everyTest = Object.entries(fixture.expected).flatMap(([q, tests]) => Object.keys(tests).map((t) => `${q}/${t}`));
    expect([...client.judged].sort()).toEqual(everyTest.sort());
  });
});
