// What a graded question talks to: the autograder client with the homework fixed to 3, which reports a failing test
// in one readable block and goes on, so that one wrong answer does not hide the results of the next tests. A refusal
// of the request itself (the token, the homework) is not about the answer: it is thrown, as any other error.

import { toAnswerJson } from './answer.ts';
import type { AutograderClient } from './client.ts';
import { FailedTest, NestedFailedTest, UserError } from './errors.ts';
import { type AnswerJson, HOMEWORK, type Mask, MAXIMUM_QUESTION } from './protocol.ts';

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

/** The element of a nested answer at `path`, or undefined where there is none. */
function at(answer: AnswerJson | undefined, path: number[]): number | undefined {
  let node: AnswerJson | undefined = answer;
  for (const i of path) node = Array.isArray(node) ? node[i] : undefined;
  return typeof node === 'number' ? node : undefined;
}

const shown = (value: number): string => String(Number(value.toPrecision(6)));

/**
 * What a failure says: the server's comments, how many elements are wrong and where the first are, each with the value
 * submitted and, where the kit knows it (its own test file, when grading locally), the value expected.
 */
function describeFailure(failure: FailedTest, question: string, yours?: AnswerJson, expected?: AnswerJson): string {
  // The values at `path`: `yours 0.9, expected 0.6`, or '' where neither is known.
  const values = (path: number[]): string => {
    const [mine, theirs] = [at(yours, path), at(expected, path)];
    const bound = question === MAXIMUM_QUESTION ? 'the most allowed' : 'expected';
    return [mine === undefined ? '' : `yours ${shown(mine)}`, theirs === undefined ? '' : `${bound} ${shown(theirs)}`].filter(Boolean).join(', ');
  };
  const inParentheses = (path: number[]) => ((said) => (said ? ` (${said})` : ''))(values(path));
  if (!Array.isArray(failure.mask)) return ((said) => (said ? `${failure.comments}: ${said}` : failure.comments))(values([]));
  const { wrong, total, firstWrong } = summarizeMask(failure.mask);
  const places = firstWrong.map((path) => `[${path.join(', ')}]${inParentheses(path)}`).join(', ');
  const more = wrong > firstWrong.length ? ', ...' : '';
  const noun = total === 1 ? 'element' : 'elements';
  return `${failure.comments}; ${wrong} of ${total} ${noun} wrong${wrong > 0 ? `, first at ${places}${more}` : ''}`;
}

export interface GradingSessionOptions {
  log?: (line: string) => void;
  /** A test's expected answer where it is known (the kit's own test file, when grading locally), for failures to show. */
  expected?: (question: string, test: string) => AnswerJson | undefined;
}

export class GradingSession {
  /** Every submission so far, in order. */
  readonly results: TestResult[] = [];
  readonly #client: GradingClient;
  readonly #log: (line: string) => void;
  readonly #expected: (question: string, test: string) => AnswerJson | undefined;

  constructor(client: GradingClient, { log = console.log, expected = () => undefined }: GradingSessionOptions = {}) {
    this.#client = client;
    this.#log = log;
    this.#expected = expected;
  }

  /** A test's input data. A server refusal here is thrown: without its data a question cannot go on. */
  getTestData(question: string, test: number | string): Promise<unknown> {
    return this.#client.getTestData(HOMEWORK, question, test);
  }

  /**
   * Submits one test's answer; prints `Correct Test!` or the failure, records it, and says whether it passed. `name`
   * says what the test is in the course's terms (`2a test 2 (He)`).
   */
  submit(question: string, test: number | string, answer: unknown, name?: string): Promise<boolean> {
    const label = `${question} test ${test}${name ? ` (${name})` : ''}`;
    const given = new Map<string, AnswerJson>();
    return this.#record(question, [String(test)], label, given, async () => {
      const json = await toAnswerJson(answer);
      given.set(String(test), json);
      await this.#client.submit(HOMEWORK, question, test, json);
    });
  }

  /** Submits several tests' answers (keyed by test id); passes if at least `requiredNumber` of them pass. */
  submitCheckSome(
    question: string,
    tests: ReadonlyArray<number | string>,
    answersByTest: Readonly<Record<string, unknown>>,
    requiredNumber: number,
  ): Promise<boolean> {
    const label = `${question} tests ${tests.join(', ')}`;
    const given = new Map<string, AnswerJson>();
    return this.#record(question, tests.map(String), label, given, async () => {
      const json = Object.fromEntries(await Promise.all(Object.entries(answersByTest).map(async ([test, answer]) => [test, await toAnswerJson(answer, `answer[${test}]`)] as const)));
      for (const [test, answer] of Object.entries(json)) given.set(test, answer);
      await this.#client.submitCheckSome(HOMEWORK, question, tests, json, requiredNumber);
    });
  }

  async #record(question: string, tests: string[], label: string, given: Map<string, AnswerJson>, send: () => Promise<void>): Promise<boolean> {
    let passed = true;
    try {
      await send();
    } catch (error) {
      const report = this.#failureReport(error, question, tests, given);
      if (report === undefined) throw error;
      this.#log([`Failed Test! ${label}: ${report[0]}`, ...report.slice(1).map((line) => `  ${line}`)].join('\n'));
      passed = false;
    }
    this.results.push({ question, tests, passed });
    return passed;
  }

  /** The lines that explain a failed test, or undefined for an error that is not about the answer. */
  #failureReport(error: unknown, question: string, tests: string[], given: Map<string, AnswerJson>): string[] | undefined {
    const describe = (failure: FailedTest, test: string) => describeFailure(failure, question, given.get(test), this.#expected(question, test));
    if (isSessionWide(error)) return undefined;
    if (error instanceof FailedTest) return [describe(error, tests[0] as string)];
    if (error instanceof NestedFailedTest) {
      const perTest = [...error.failures].map(([test, failure]) => `test ${test}: ${describe(failure, test)}`);
      return [error.summary, ...perTest];
    }
    if (error instanceof UserError) return [`the answer was refused (${error.code}): ${error.message}`];
    return undefined;
  }
}
