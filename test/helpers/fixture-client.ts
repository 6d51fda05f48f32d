import { toAnswerJson } from '../../grader/answer.ts';
import { checkSome } from '../../grader/client.ts';
import { FailedTest, UserError } from '../../grader/errors.ts';
import { judge } from '../../grader/protocol.ts';
import type { GradingClient } from '../../grader/session.ts';
import type { TestFile } from '../../grader/test-file.ts';

/**
 * Serves a recorded test file's inputs and judges answers against its expected outputs with the course's rule, as
 * the course server would, in process: no network.
 */
export class FixtureClient implements GradingClient {
  /** `question/test` of every answer judged, in order. */
  readonly judged: string[] = [];

  constructor(
    private readonly file: TestFile,
    private readonly log: (line: string) => void = () => {},
  ) {}

  async getTestData(_homework: number | string, question: string, test: number | string): Promise<unknown> {
    const data = this.file.input[question]?.[String(test)];
    if (data === undefined) throw new UserError('test_data', `Test \`${test}\` not found in Question ${question}`);
    return structuredClone(data);
  }

  async submit(_homework: number | string, question: string, test: number | string, answer: unknown, options?: { quiet?: boolean }) {
    const expected = this.file.expected[question]?.[String(test)];
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
