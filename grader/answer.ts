// Turns what a student computed into the JSON the autograder reads: a number or nested lists of numbers.
// Anything the server could not judge is refused here, before sending, with the index path of the first bad
// element, because the server's own message would only say the whole answer is malformed.

import { UserError } from './errors.ts';
import type { AnswerJson } from './protocol.ts';

/**
 * Anything with a tfjs-style `array()`, read asynchronously because a GPU backend cannot be read synchronously in
 * Node.js. Duck-typed so that `grader/` never loads tfjs.
 */
interface TensorLike {
  array(): Promise<unknown>;
}

function isTensorLike(value: unknown): value is TensorLike {
  return typeof value === 'object' && value !== null && typeof (value as TensorLike).array === 'function';
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no constructor'})`;
  if (typeof value === 'string') return `a string (${JSON.stringify(value)})`;
  return `a ${typeof value}`;
}

const SUPPORTED = 'the autograder takes numbers, (nested) arrays of numbers, typed arrays and tensors';

/**
 * Converts an answer (number, nested array, typed array, or tensor, nested in any mix) to plain nested lists of
 * numbers. Rejects with `UserError` code `invalid_answer` for NaN, ±Infinity or anything else.
 */
export async function toAnswerJson(answer: unknown, path = 'answer'): Promise<AnswerJson> {
  if (typeof answer === 'number') {
    if (Number.isFinite(answer)) return answer;
    throw new UserError('invalid_answer', `${path} is ${answer}; the autograder only takes finite numbers`);
  }
  if (Array.isArray(answer)) return Promise.all(answer.map((item, i) => toAnswerJson(item, `${path}[${i}]`)));
  if (ArrayBuffer.isView(answer) && !(answer instanceof DataView)) {
    return toAnswerJson(Array.from(answer as unknown as ArrayLike<unknown>), path);
  }
  if (isTensorLike(answer)) return toAnswerJson(await answer.array(), path);
  throw new UserError('invalid_answer', `${path} is ${describe(answer)}; ${SUPPORTED}`);
}
