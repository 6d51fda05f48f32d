// The error classes of the course's client, with its names, so that a student who knows `cc6204` recognises them.
// UserError carries the server's own code (`invalid_answer`, …); the others a code of the kit's.

import { KitError, kitError } from '../src/core/errors.ts';
import type { Mask } from './protocol.ts';

/** The server refused the request (`{"status":"error"}`), or the client refused it before sending. */
export class UserError extends KitError {
  override get name(): string {
    return 'UserError';
  }

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The answer was judged and at least one element is wrong. */
export class FailedTest extends kitError('FailedTest', 'FAILED_TEST') {

  constructor(
    readonly mask: Mask,
    readonly comments: string,
  ) {
    super(`Test failed: ${comments}`);
  }
}

/**
 * Fewer tests than required passed in a `submitCheckSome`. `failures` maps each failed test id to its failure;
 * `summary` is the first line of the message, `You got X of the Y required tests to pass the test`.
 */
export class NestedFailedTest extends kitError('NestedFailedTest', 'NESTED_FAILED_TEST') {

  constructor(
    readonly failures: ReadonlyMap<string, FailedTest>,
    readonly summary: string,
  ) {
    const lines = [...failures].map(([test, failure]) => `Test ${test}: ${failure.comments}`);
    super([summary, ...lines].join('\n'));
  }
}

/** The client could not talk to the server: no connection, a timeout, or an answer outside the protocol. */
export class LibraryError extends kitError('LibraryError', 'LIBRARY_ERROR') {}

/** The server answered outside the protocol's happy path: a non-200 status, or a ping that is not OK. */
export class MessageFromServer extends kitError('MessageFromServer', 'MESSAGE_FROM_SERVER') {

  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
