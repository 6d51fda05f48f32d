// What a graded question talks to: the autograder client with the homework fixed to 3, which reports a failing test
// in one readable block and goes on, so that one wrong answer does not hide the results of the next tests. A refusal
// of the request itself (the token, the homework) is not about the answer: it is thrown, as any other error.

import type { AutograderClient } from './client.ts';
import { FailedTest, NestedFailedTest, UserError } from './errors.ts';
import { HOMEWORK, type Mask } from './protocol.ts';

/** Server refusals of the request, not of the answer: no question can get past them, so grading stops at the first. */
const SESSION_WIDE_CODES: ReadonlySet<string> = new Set(['token_missing', 'token_wrong', 'no_homework']);

/** Whether `error` is a refusal that every other request would meet too (a wrong or missing token, say). */
export function isSessionWide(error: unknown): error is UserError {
  return error instanceof UserError && SESSION_WIDE_CODES.has(error.code);
}

export type GradingClient = Pick<AutograderClient, 'getTestData' | 'submit' | 'submitCheckSome'>;

export interface TestResult {
  question: string;
  /** One test id, or several for a `submitCheckSome`. */
  tests: string[];
  passed: boolean;
}

export interface MaskSummary {
  wrong: number;
  total: number;
  /** Index paths of the first wrong elements, in row-major order. */
  firstWrong: number[][];
}

/** Counts the wrong elements of a mask and finds where the first `shown` of them are. */
export function summarizeMask(mask: Mask, shown = 3): MaskSummary {
  const summary: MaskSummary = { wrong: 0, total: 0, firstWrong: [] };
  const visit = (node: Mask, path: number[]): void => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => visit(child, [...path, i]));
      return;
    }
    summary.total += 1;
    if (node) return;
    summary.wrong += 1;
    if (summary.firstWrong.length < shown) summary.firstWrong.push(path);
  };
  visit(mask, []);
  return summary;
}

function describeFailure(failure: FailedTest): string {
  if (!Array.isArray(failure.mask)) return failure.comments;
  const { wrong, total, firstWrong } = summarizeMask(failure.mask);
  const places = firstWrong.map((path) => `[${path.join(', ')}]`).join(', ');
  const more = wrong > firstWrong.length ? ', ...' : '';
  const noun = total === 1 ? 'element' : 'elements';
  return `${failure.comments}; ${wrong} of ${total} ${noun} wrong${wrong > 0 ? `, first at ${places}${more}` : ''}`;
}

export interface GradingSessionOptions {
  log?: (line: string) => void;
}

export class GradingSession {
  /** Every submission so far, in order. */
  readonly results: TestResult[] = [];
  readonly #client: GradingClient;
  readonly #log: (line: string) => void;

  constructor(client: GradingClient, { log = console.log }: GradingSessionOptions = {}) {
    this.#client = client;
    this.#log = log;
  }

  /** A test's input data. A server refusal here is thrown: without its data a question cannot go on. */
  getTestData(question: string, test: number | string): Promise<unknown> {
    return this.#client.getTestData(HOMEWORK, question, test);
  }

  /** Submits one test's answer; prints `Correct Test!` or the failure, records it, and says whether it passed. */
  submit(question: string, test: number | string, answer: unknown): Promise<boolean> {
    const label = `${question} test ${test}`;
    return this.#record(question, [String(test)], label, () => this.#client.submit(HOMEWORK, question, test, answer));
  }

  /** Submits several tests' answers (keyed by test id); passes if at least `requiredNumber` of them pass. */
  submitCheckSome(
    question: string,
    tests: ReadonlyArray<number | string>,
    answersByTest: Readonly<Record<string, unknown>>,
    requiredNumber: number,
  ): Promise<boolean> {
    const label = `${question} tests ${tests.join(', ')}`;
    return this.#record(question, tests.map(String), label, () =>
      this.#client.submitCheckSome(HOMEWORK, question, tests, answersByTest, requiredNumber),
    );
  }

  async #record(question: string, tests: string[], label: string, send: () => Promise<void>): Promise<boolean> {
    let passed = true;
    try {
      await send();
    } catch (error) {
      const report = this.#failureReport(error);
      if (report === undefined) throw error;
      this.#log([`Failed Test! ${label}: ${report[0]}`, ...report.slice(1).map((line) => `  ${line}`)].join('\n'));
      passed = false;
    }
    this.results.push({ question, tests, passed });
    return passed;
  }

  /** The lines that explain a failed test, or undefined for an error that is not about the answer. */
  #failureReport(error: unknown): string[] | undefined {
    if (isSessionWide(error)) return undefined;
    if (error instanceof FailedTest) return [describeFailure(error)];
    if (error instanceof NestedFailedTest) {
      const perTest = [...error.failures].map(([test, failure]) => `test ${test}: ${describeFailure(failure)}`);
      return [error.summary, ...perTest];
    }
    if (error instanceof UserError) return [`the answer was refused (${error.code}): ${error.message}`];
    return undefined;
  }
}
