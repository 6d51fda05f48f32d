// The protocol of the course's autograder as this kit speaks it: the routes (ping, a question's test data, the
// check of an answer), the JSON bodies each way, the error codes with the server's exact messages, and how homework 3
// judges an answer (element-wise closeness as numpy's isclose; a maximum for 1b's dropout). The client and the local
// server both build on this file, so a message or a judging rule changes here and nowhere else;
// test/grader/protocol.test.ts checks the judging and the server's wording.

/** The homework this kit is for. */
export const HOMEWORK = 3;

/** The question judged by the maximum rule instead of element-wise closeness. */
export const MAXIMUM_QUESTION = '1b';

export type AnswerJson = number | AnswerJson[];
export type Mask = boolean | Mask[];

export type ErrorCode =
  | 'json'
  | 'token_missing'
  | 'token_wrong'
  | 'no_homework'
  | 'missing_arg'
  | 'test_data'
  | 'test_output'
  | 'invalid_input';

export interface TestDataRequest {
  token: string;
  test: string;
}

export interface AutocheckRequest extends TestDataRequest {
  student_answer: AnswerJson;
}

export interface TestDataAnswer {
  status: 'OK';
  data: unknown;
}

export interface AutocheckAnswer {
  status: 'OK';
  result_status: 0 | 1;
  mask: Mask;
  comments: string;
}

export interface ErrorAnswer {
  status: 'error';
  code: ErrorCode;
  message: string;
}

export const routes = {
  ping: '/ping',
  tests: (homework: number | string, question: string): string =>
    `/api/tests/${encodeURIComponent(String(homework))}/${encodeURIComponent(question)}`,
  autocheck: (homework: number | string, question: string): string =>
    `/api/autocheck/${encodeURIComponent(String(homework))}/${encodeURIComponent(question)}`,
};

export const messages = {
  json: 'Sent format is not a json',
  tokenMissing: 'The token is not included',
  tokenWrong: 'The token is not correct/is invalid',
  noHomework: (homework: string): string => `There is no homework ${homework}`,
  missingArgument: (name: string): string => `Missing argument \`${name}\``,
  questionNotFound: (question: string): string => `Question \`${question}\` not found in homework`,
  testNotFound: (test: string, question: string): string => `Test \`${test}\` not found in Question ${question}`,
};

export function errorAnswer(code: ErrorCode, message: string): ErrorAnswer {
  return { status: 'error', code, message };
}

/** A shape the way numpy prints it: `()`, `(2,)`, `(3, 3)`. */
export function formatShape(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/**
 * A float the way Python's `str()` prints it, because the server's comments are Python-formatted (`1.0% correct`):
 * the shortest digits that read back to the same double, a `.0` on whole numbers, and the exponent form below 1e-4
 * or from 1e16 up, with at least two exponent digits (`4e-05`).
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa = '', exponentText = ''] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const shortMantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const exponentDigits = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${shortMantissa}e${exponent < 0 ? '-' : '+'}${exponentDigits}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1) || '0';
  return `${sign}${whole}.${fraction}`;
}

/** The name Python gives the type a JSON value decodes to, for the server's `Type Error` messages. */
export function pythonTypeName(value: unknown): string {
  let name: string;
  if (Array.isArray(value)) name = 'list';
  else if (typeof value === 'string') name = 'str';
  else if (typeof value === 'boolean') name = 'bool';
  else if (typeof value === 'number') name = Number.isInteger(value) ? 'int' : 'float';
  else if (value === null || value === undefined) name = 'NoneType';
  else name = 'dict';
  return `<class '${name}'>`;
}

export interface NestedInspection {
  /** The shape read along the first elements; for a ragged value, only its regular outer part. */
  shape: number[];
  ragged: boolean;
  /** The first leaf (in row-major order) that is not a number, if any. */
  firstNonNumber?: { value: unknown };
}

/** A JSON object: not null, not a list. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads the shape of a number or nested list and finds what keeps it from being an array of numbers. Iterative on
 * purpose: the server runs it on untrusted bodies, and a deeply nested list must not overflow the stack.
 */
export function inspectNested(value: unknown): NestedInspection {
  const shape: number[] = [];
  for (let x = value; Array.isArray(x); x = x[0]) {
    shape.push(x.length);
    if (x.length === 0) break;
  }
  const pending: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 0 }];
  let firstNonNumber: NestedInspection['firstNonNumber'];
  while (pending.length > 0) {
    const { node, depth } = pending.pop()!;
    if (depth < shape.length) {
      if (!Array.isArray(node) || node.length !== shape[depth]) return { shape: shape.slice(0, depth), ragged: true };
      for (let i = node.length - 1; i >= 0; i--) pending.push({ node: node[i], depth: depth + 1 });
    } else if (Array.isArray(node)) {
      return { shape, ragged: true };
    } else if (typeof node !== 'number' && firstNonNumber === undefined) {
      firstNonNumber = { value: node };
    }
  }
  return firstNonNumber === undefined ? { shape, ragged: false } : { shape, ragged: false, firstNonNumber };
}

/** numpy's `isclose` with its defaults (rtol 1e-5, atol 1e-8): NaN is never close, equal infinities are. */
export function isClose(answer: number, expected: number): boolean {
  // An infinite expected value would make the tolerance infinite too; numpy asks for the same infinity instead.
  if (!Number.isFinite(answer) || !Number.isFinite(expected)) return answer === expected;
  return Math.abs(answer - expected) <= 1e-8 + 1e-5 * Math.abs(expected);
}

export type Judgement =
  | { valid: true; passed: boolean; mask: Mask; comments: string }
  | { valid: false; message: string };

/**
 * Judges one answer the way the course server does for homework 3. `valid: false` is the server's `invalid_input`
 * (its message included); otherwise `mask` has the answer's nesting and `comments` the server's text.
 */
export function judge(question: string, answer: unknown, expected: AnswerJson): Judgement {
  return question === MAXIMUM_QUESTION ? judgeMaximum(answer, expected) : judgeCloseness(answer, expected);
}

/** The server's message for a value that is not a number; `tag` is `dropout` for 1b, `value` otherwise. */
function typeError(tag: string, value: unknown): Judgement {
  const message = `[${tag}] Type Error. Expected \`float\` or \`int\` but given: ${pythonTypeName(value)}`;
  return { valid: false, message };
}

function judgeMaximum(answer: unknown, maximum: AnswerJson): Judgement {
  if (typeof maximum !== 'number') throw new TypeError(`The expected value of ${MAXIMUM_QUESTION} must be a number`);
  if (typeof answer !== 'number') return typeError('dropout', answer);
  const passed = answer <= maximum;
  const comments = passed ? '[dropout] OK' : '[dropout] Given value is greater that allowed maximum value';
  return { valid: true, passed, mask: passed, comments };
}

function judgeCloseness(answer: unknown, expected: AnswerJson): Judgement {
  const expectedShape = inspectNested(expected).shape;
  const given = inspectNested(answer);
  const sameShape =
    !given.ragged &&
    given.shape.length === expectedShape.length &&
    given.shape.every((size, axis) => size === expectedShape[axis]);
  if (!sameShape) {
    // numpy's own words for a list whose rows differ in length, after the part that is regular.
    const givenText = formatShape(given.shape) + (given.ragged ? ' + inhomogeneous part' : '');
    return {
      valid: false,
      message: `[value] Dimensions does not match. Expected: ${formatShape(expectedShape)}, Given: ${givenText}`,
    };
  }
  if (given.firstNonNumber) return typeError('value', given.firstNonNumber.value);
  const tally = { close: 0, total: 0 };
  const mask = compare(answer as AnswerJson, expected, tally);
  const share = tally.close / tally.total;
  return {
    valid: true,
    passed: tally.close === tally.total,
    mask,
    comments: `[value] ${pythonFloatRepr(share)}% correct`,
  };
}

/** Element-wise `isClose` of two values already known to have the same shape. */
function compare(answer: AnswerJson, expected: AnswerJson, tally: { close: number; total: number }): Mask {
  if (Array.isArray(answer) && Array.isArray(expected)) {
    return answer.map((item, i) => compare(item, expected[i]!, tally));
  }
  const close = isClose(answer as number, expected as number);
  tally.total += 1;
  if (close) tally.close += 1;
  return close;
}
