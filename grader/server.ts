// The kit's local autograder: the course server's routes, bodies, error codes and judging, on node:http, for students
// offline and for teaching assistants. `answerTestData` and `answerAutocheck` hold the protocol's check order as pure
// functions; the HTTP part only routes, limits body size, and never lets a bad request take the server down.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  errorAnswer,
  HOMEWORK,
  isPlainObject,
  judge,
  messages,
  pythonTypeName,
  type AutocheckAnswer,
  type ErrorAnswer,
  type ErrorCode,
  type TestDataAnswer,
} from './protocol.ts';
import { DEFAULT_TEST_FILE, readTestFile, type TestFile } from './test-file.ts';
import { kitError } from '../src/core/errors.ts';

export interface LocalGraderOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Defaults to the kit's own test file, grader/hw3-tests.json. */
  tests?: TestFile;
  /** Defaults to a random token, returned by `startLocalGrader`. */
  token?: string;
  /** Larger request bodies get HTTP 413; defaults to 1 MiB. */
  maxBodyBytes?: number;
  /** One line per request (method, path, outcome); never the token or the body. */
  log?: (line: string) => void;
}

export interface LocalGrader {
  url: string;
  token: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A random token for a local server that was given none. */
export function generateToken(): string {
  return randomBytes(16).toString('hex');
}

interface Context {
  tests: TestFile;
  token: string;
}

type RequestFields = Record<string, unknown>;

function sameToken(given: string, expected: string): boolean {
  // Digests have equal length, which timingSafeEqual needs; comparing in constant time gives away nothing.
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The test id to look up: its text, or, for a value that cannot be an id, its Python type, which the error names. */
function testKey(test: unknown): string {
  return typeof test === 'string' || typeof test === 'number' ? String(test) : pythonTypeName(test);
}

function lookup<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * The checks every POST route starts with, in the protocol's order: JSON, token present, token right, homework
 * known, `test` present. Gives the request's fields, or the error answer of the first check that fails.
 */
function checkCommon(
  context: Context,
  homework: string,
  rawBody: string,
): { fields: RequestFields } | { error: ErrorAnswer } {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return { error: errorAnswer('json', messages.json) };
  }
  // A JSON value that is not an object has no fields, so it fails the first field check: no token.
  const fields = (isPlainObject(body) ? body : {}) as RequestFields;
  if (fields.token === undefined || fields.token === null) {
    return { error: errorAnswer('token_missing', messages.tokenMissing) };
  }
  if (typeof fields.token !== 'string' || !sameToken(fields.token, context.token)) {
    return { error: errorAnswer('token_wrong', messages.tokenWrong) };
  }
  if (homework !== String(HOMEWORK)) return { error: errorAnswer('no_homework', messages.noHomework(homework)) };
  if (fields.test === undefined || fields.test === null) {
    return { error: errorAnswer('missing_arg', messages.missingArgument('test')) };
  }
  return { fields };
}

function findTest<T>(
  table: Record<string, Record<string, T>>,
  question: string,
  test: unknown,
  code: ErrorCode,
): { found: T } | { error: ErrorAnswer } {
  const tests = lookup(table, question);
  if (tests === undefined) return { error: errorAnswer(code, messages.questionNotFound(question)) };
  const key = testKey(test);
  const found = lookup(tests, key);
  if (found === undefined) return { error: errorAnswer(code, messages.testNotFound(key, question)) };
  return { found };
}

/** `POST /api/tests/{homework}/{question}`. */
function answerTestData(
  context: Context,
  homework: string,
  question: string,
  rawBody: string,
): TestDataAnswer | ErrorAnswer {
  const checked = checkCommon(context, homework, rawBody);
  if ('error' in checked) return checked.error;
  const result = findTest(context.tests.input, question, checked.fields.test, 'test_data');
  if ('error' in result) return result.error;
  return { status: 'OK', data: result.found };
}

/** `POST /api/autocheck/{homework}/{question}`. */
function answerAutocheck(
  context: Context,
  homework: string,
  question: string,
  rawBody: string,
): AutocheckAnswer | ErrorAnswer {
  const checked = checkCommon(context, homework, rawBody);
  if ('error' in checked) return checked.error;
  const { test, student_answer: answer } = checked.fields;
  if (answer === undefined) return errorAnswer('missing_arg', messages.missingArgument('student_answer'));
  const result = findTest(context.tests.expected, question, test, 'test_output');
  if ('error' in result) return result.error;
  const judgement = judge(question, answer, result.found);
  if (!judgement.valid) return errorAnswer('invalid_input', judgement.message);
  return {
    status: 'OK',
    result_status: judgement.passed ? 1 : 0,
    mask: judgement.mask,
    comments: judgement.comments,
  };
}

type Route =
  | { kind: 'ping' }
  | { kind: 'tests' | 'autocheck'; homework: string; question: string };

function matchRoute(method: string | undefined, path: string): Route | undefined {
  if (method === 'GET' && path === '/ping') return { kind: 'ping' };
  const match = /^\/api\/(tests|autocheck)\/([^/]+)\/([^/]+)$/.exec(path);
  if (method !== 'POST' || !match) return undefined;
  try {
    return {
      kind: match[1] as 'tests' | 'autocheck',
      homework: decodeURIComponent(match[2]!),
      question: decodeURIComponent(match[3]!),
    };
  } catch {
    return undefined;
  }
}

class BodyTooLarge extends kitError('BodyTooLarge', 'BODY_TOO_LARGE') {}

function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(request.headers['content-length'] ?? 0) > maxBytes) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.removeAllListeners('data');
        request.resume();
        reject(new BodyTooLarge());
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: string, contentType: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function outcome(answer: object): string {
  if ('code' in answer) return String(answer.code);
  if ('result_status' in answer) return answer.result_status === 1 ? 'passed' : 'failed';
  return 'OK';
}

/** Starts the local autograder; resolves once it listens. */
export async function startLocalGrader({
  host = '127.0.0.1',
  port = 0,
  tests = readTestFile(DEFAULT_TEST_FILE),
  token = generateToken(),
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
  log = () => {},
}: LocalGraderOptions = {}): Promise<LocalGrader> {
  if (token === '') throw new Error('The local grader needs a non-empty token');
  const context: Context = { tests, token };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    // The path alone: a query string could carry a token (the course's first client sent it there).
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const route = matchRoute(request.method, path);
    const line = `${request.method} ${path}`;
    if (route === undefined) {
      request.resume();
      send(response, 404, 'Not Found\n', 'text/plain');
      log(`${line} -> 404`);
      return;
    }
    if (route.kind === 'ping') {
      request.resume();
      send(response, 200, JSON.stringify({ status: 'OK' }), 'application/json');
      log(`${line} -> OK`);
      return;
    }
    let rawBody: string;
    try {
      rawBody = await readBody(request, maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      response.setHeader('connection', 'close');
      send(response, 413, `Request body is larger than ${maxBodyBytes} bytes\n`, 'text/plain');
      log(`${line} -> 413`);
      return;
    }
    const answer =
      route.kind === 'tests'
        ? answerTestData(context, route.homework, route.question, rawBody)
        : answerAutocheck(context, route.homework, route.question, rawBody);
    send(response, 200, JSON.stringify(answer), 'application/json');
    log(`${line} -> ${outcome(answer)}`);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A request that broke off mid-body, or a bug: answer if still possible, and keep serving the others.
      log(`${request.method} request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) send(response, 500, 'Internal Server Error\n', 'text/plain');
      else response.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    token,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
