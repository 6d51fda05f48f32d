// The autograder client: the course client's four calls over undici, with timeouts and the course's error classes.

import { Agent, errors as undiciErrors, request } from 'undici';
import { toAnswerJson } from './answer.ts';
import { FailedTest, LibraryError, MessageFromServer, NestedFailedTest, UserError } from './errors.ts';
import { isPlainObject, routes, type AutocheckRequest, type Mask, type TestDataRequest } from './protocol.ts';

export interface AutograderClientOptions {
  baseUrl: string;
  token: string;
  connectTimeoutMs?: number;
  /** How long to wait for the answer's headers, and then between chunks of its body. */
  responseTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SubmitOptions {
  /** Do not print `Correct Test!` (used for each test of a `submitCheckSome`). */
  quiet?: boolean;
}

type TestId = number | string;

function isMask(value: unknown): value is Mask {
  return typeof value === 'boolean' || (Array.isArray(value) && value.every(isMask));
}

/** Why a request got no answer, in the user's words, from the error undici or Node.js gave. */
export function connectionFailureReason(error: unknown, { connectTimeoutMs, responseTimeoutMs }: { connectTimeoutMs: number; responseTimeoutMs: number }): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof undiciErrors.ConnectTimeoutError) return `could not connect within ${connectTimeoutMs} ms`;
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return `the server did not answer within ${responseTimeoutMs} ms`;
  }
  if (code === 'ECONNREFUSED') return 'connection refused (is the server running, and is the URL right?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    const host = (error as { hostname?: unknown }).hostname;
    const name = typeof host === 'string' ? `"${host}"` : 'the host name';
    return `${name} cannot be found (is the host name right, and is this machine online?)`;
  }
  return error instanceof Error ? error.message : String(error);
}

export class AutograderClient {
  readonly baseUrl: string;
  // A private field, so that inspecting or serialising the client never shows the token.
  readonly #token: string;
  readonly #agent: Agent;
  readonly #connectTimeoutMs: number;
  readonly #responseTimeoutMs: number;
  readonly #log: (line: string) => void;
  readonly #testData = new Map<string, unknown>();

  constructor({
    baseUrl,
    token,
    connectTimeoutMs = 10_000,
    responseTimeoutMs = 30_000,
    log = console.log,
  }: AutograderClientOptions) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#token = token;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#responseTimeoutMs = responseTimeoutMs;
    this.#log = log;
    this.#agent = new Agent({
      connectTimeout: connectTimeoutMs,
      headersTimeout: responseTimeoutMs,
      bodyTimeout: responseTimeoutMs,
    });
  }

  /** Checks that the server is up and ready. */
  async ping(): Promise<void> {
    const answer = await this.#call('GET', routes.ping);
    if (answer.status !== 'OK') {
      const message = typeof answer.message === 'string' ? answer.message : `Ping answered ${JSON.stringify(answer)}`;
      throw new MessageFromServer(this.#redact(message), 200);
    }
  }

  /** Fetches a test's input. Kept for the life of this client: asking again prints `Using cached test data`. */
  async getTestData(homework: TestId, question: string, test: TestId): Promise<unknown> {
    const key = JSON.stringify([String(homework), question, String(test)]);
    if (this.#testData.has(key)) {
      this.#log('Using cached test data');
    } else {
      const body: TestDataRequest = { token: this.#token, test: String(test) };
      const answer = this.#expectOk(await this.#call('POST', routes.tests(homework, question), body));
      if (!('data' in answer)) throw this.#offProtocol('a test data answer without `data`');
      this.#testData.set(key, answer.data);
    }
    // A copy each time, so a caller that changes its data in place cannot change what the next caller gets.
    return structuredClone(this.#testData.get(key));
  }

  /** Submits one answer; prints `Correct Test!` if it passes, throws `FailedTest` if not. */
  async submit(
    homework: TestId,
    question: string,
    test: TestId,
    answer: unknown,
    { quiet = false }: SubmitOptions = {},
  ): Promise<void> {
    const body: AutocheckRequest = { token: this.#token, test: String(test), student_answer: await toAnswerJson(answer) };
    const result = this.#expectOk(await this.#call('POST', routes.autocheck(homework, question), body));
    const { result_status: status, mask, comments } = result;
    if (typeof comments !== 'string' || (status !== 0 && status !== 1) || !isMask(mask)) {
      throw this.#offProtocol('a judged answer without `result_status` 0 or 1, a boolean `mask` and `comments`');
    }
    if (status === 0) throw new FailedTest(mask, this.#redact(comments));
    if (!quiet) this.#log('Correct Test!');
  }

  /**
   * Submits each test's answer (`answers` keyed by test id) and passes if at least `requiredNumber` of them do;
   * otherwise throws `NestedFailedTest` with each failure. Other errors stop it at once, as in the course client.
   */
  async submitCheckSome(
    homework: TestId,
    question: string,
    tests: readonly TestId[],
    answers: Readonly<Record<string, unknown>>,
    requiredNumber: number,
  ): Promise<void> {
    await checkSome(tests, answers, requiredNumber, (test, answer) =>
      this.submit(homework, question, test, answer, { quiet: true }),
    );
    this.#log('Correct Test!');
  }

  /** Closes the connections kept open to the server. */
  async close(): Promise<void> {
    await this.#agent.close();
  }

  #expectOk(answer: Record<string, unknown>): Record<string, unknown> {
    if (answer.status === 'error') {
      const code = typeof answer.code === 'string' ? answer.code : 'unknown';
      const message = typeof answer.message === 'string' ? answer.message : 'The server gave no message';
      throw new UserError(code, this.#redact(message));
    }
    if (answer.status !== 'OK') throw this.#offProtocol(`status ${JSON.stringify(answer.status)}`);
    return answer;
  }

  async #call(method: 'GET' | 'POST', path: string, body?: object): Promise<Record<string, unknown>> {
    const url = this.baseUrl + path;
    let status: number;
    let text: string;
    try {
      const response = await request(url, {
        method,
        dispatcher: this.#agent,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw this.#connectionFailure(error, url);
    }
    if (status !== 200) throw new MessageFromServer(`Status code is not 200: ${status}`, status);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new LibraryError(`The server at ${this.baseUrl} answered ${path} with something that is not JSON`);
    }
    if (!isPlainObject(answer)) {
      throw this.#offProtocol(`an answer that is not a JSON object`);
    }
    return answer;
  }

  #connectionFailure(error: unknown, url: string): LibraryError {
    const reason = connectionFailureReason(error, { connectTimeoutMs: this.#connectTimeoutMs, responseTimeoutMs: this.#responseTimeoutMs });
    return new LibraryError(this.#redact(`Request to ${url} failed: ${reason}`), { cause: error });
  }

  #offProtocol(what: string): LibraryError {
    const message = `The server at ${this.baseUrl} sent ${what}, which the protocol does not allow`;
    return new LibraryError(this.#redact(message));
  }

  // Server texts are shown to the user; a server that echoed the token must not get it printed. Only the token as a
  // word of its own is hidden: a short one such as `T` would otherwise turn "Type Error" into "[token]ype Error".
  #redact(text: string): string {
    if (this.#token === '') return text;
    const escaped = this.#token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return text.replace(new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`, 'g'), '[token]');
  }
}

/**
 * The course client's check-some rule: submits each test's answer quietly and throws `NestedFailedTest` unless at
 * least `requiredNumber` pass. A failure other than `FailedTest` stops it at once.
 */
export async function checkSome(
  tests: readonly TestId[],
  answers: Readonly<Record<string, unknown>>,
  requiredNumber: number,
  submitQuietly: (test: string, answer: unknown) => Promise<void>,
): Promise<void> {
  const missing = tests.map(String).filter((test) => !Object.hasOwn(answers, test));
  if (missing.length > 0) {
    throw new UserError('key_mismatch', `The answers must have one entry per test; missing: ${missing.join(', ')}`);
  }
  const failures = new Map<string, FailedTest>();
  for (const test of tests.map(String)) {
    try {
      await submitQuietly(test, answers[test]);
    } catch (error) {
      if (!(error instanceof FailedTest)) throw error;
      failures.set(test, error);
    }
  }
  const passed = tests.length - failures.size;
  if (passed < requiredNumber) {
    throw new NestedFailedTest(failures, `You got ${passed} of the ${requiredNumber} required tests to pass the test`);
  }
}
