import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutograderClient } from '../../grader/client.ts';
import { FailedTest, NestedFailedTest, UserError } from '../../grader/errors.ts';
import { startLocalGrader, type LocalGrader } from '../../grader/server.ts';
import { capture, expectedOf, kitTests } from './helpers.ts';

const TOKEN = 'client-test-token-8c2d41';
let grader: LocalGrader;
const serverLog = capture();
const clientLog = capture();
let client: AutograderClient;
const errors: unknown[] = [];

beforeAll(async () => {
  grader = await startLocalGrader({ tests: kitTests, token: TOKEN, log: serverLog.log });
  client = new AutograderClient({ baseUrl: grader.url, token: TOKEN, log: clientLog.log });
});

afterAll(async () => {
  await client.close();
  await grader.close();
});

/** The error a call throws, kept for the check that no error shows the token. */
async function failure(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    errors.push(error);
    return error;
  }
  throw new Error('the call did not fail');
}

function withToken(token: string, log = clientLog.log): AutograderClient {
  return new AutograderClient({ baseUrl: grader.url, token, log });
}

describe('client against the local grader', () => {
  it('pings', async () => {
    await expect(client.ping()).resolves.toBeUndefined();
  });

  it('takes a server URL written with a trailing slash', async () => {
    const slashed = new AutograderClient({ baseUrl: `${grader.url}//`, token: TOKEN, log: clientLog.log });
    await expect(slashed.ping()).resolves.toBeUndefined();
    await expect(slashed.getTestData(3, '2c', 1)).resolves.toBeDefined();
  });

  it('fetches test data once and then says it uses the cached copy', async () => {
    const requestsBefore = serverLog.lines.length;
    const first = await client.getTestData(3, '1a', 1);
    expect(first).toEqual(kitTests.input['1a']!['1']);
    expect(clientLog.lines).not.toContain('Using cached test data');
    (first as number[][][])[0]![0]![0] = 1234;
    const second = await client.getTestData('3', '1a', '1');
    expect(second).toEqual(kitTests.input['1a']!['1']);
    expect(clientLog.lines.filter((line) => line === 'Using cached test data')).toHaveLength(1);
    expect(serverLog.lines.length - requestsBefore).toBe(1);
  });

  it('caches each homework, question and test apart', async () => {
    const xavier = await client.getTestData(3, '2a', 1);
    const he = await client.getTestData(3, '2a', 2);
    expect(xavier).toEqual(kitTests.input['2a']!['1']);
    expect(he).toEqual(kitTests.input['2a']!['2']);
  });

  it('prints `Correct Test!` for a right answer', async () => {
    const before = clientLog.lines.length;
    await client.submit(3, '2c', 1, expectedOf('2c', '1'));
    await client.submit(3, '1b', 1, 0.5);
    expect(clientLog.lines.slice(before)).toEqual(['Correct Test!', 'Correct Test!']);
  });

  it('throws FailedTest with a mask of the answer’s shape and the server’s comments', async () => {
    const answer = expectedOf('2d', '1') as number[][];
    answer[1]![2]! += 0.01;
    const error = (await failure(client.submit(3, '2d', 1, answer))) as FailedTest;
    expect(error).toBeInstanceOf(FailedTest);
    expect(error.name).toBe('FailedTest');
    expect(error.comments).toBe('[value] 0.95% correct');
    expect(error.mask).toHaveLength(5);
    expect((error.mask as boolean[][]).every((row) => row.length === 4)).toBe(true);
    expect((error.mask as boolean[][]).flat().filter((ok) => !ok)).toHaveLength(1);
    expect((error.mask as boolean[][])[1]![2]).toBe(false);
  });

  it('throws FailedTest for 1b over the maximum', async () => {
    const error = (await failure(client.submit(3, '1b', 1, 0.7))) as FailedTest;
    expect(error.mask).toBe(false);
    expect(error.comments).toBe('[dropout] Given value is greater that allowed maximum value');
  });

  it('passes submitCheckSome when enough tests pass, printing `Correct Test!` once', async () => {
    const before = clientLog.lines.length;
    const zeros = Array.from({ length: 5 }, () => [0, 0, 0, 0]);
    await client.submitCheckSome(3, '2d', [2, 3], { 2: zeros, 3: expectedOf('2d', '3') }, 1);
    expect(clientLog.lines.slice(before)).toEqual(['Correct Test!']);
  });

  it('stops a submitCheckSome at an answer the server refuses, as the course client does', async () => {
    const error = (await failure(client.submitCheckSome(3, '2d', [2, 3], { 2: expectedOf('2d', '2'), 3: [[0]] }, 1))) as UserError;
    expect(error.code).toBe('invalid_input');
  });

  it('throws NestedFailedTest with the course’s message when too few pass', async () => {
    const wrong = (expectedOf('2d', '2') as number[][]).map((row) => row.map((x) => x + 1));
    const error = (await failure(client.submitCheckSome(3, '2d', [2, 3], { 2: wrong, 3: wrong }, 1))) as NestedFailedTest;
    expect(error).toBeInstanceOf(NestedFailedTest);
    expect(error.summary).toBe('You got 0 of the 1 required tests to pass the test');
    expect(error.message).toBe(
      'You got 0 of the 1 required tests to pass the test\nTest 2: [value] 0.0% correct\nTest 3: [value] 0.0% correct',
    );
    expect([...error.failures.keys()]).toEqual(['2', '3']);
  });

  it('refuses a submitCheckSome whose answers miss a test, before sending', async () => {
    const requestsBefore = serverLog.lines.length;
    const error = (await failure(client.submitCheckSome(3, '2d', [2, 3], { 2: [[0]] }, 1))) as UserError;
    expect(error.code).toBe('key_mismatch');
    expect(serverLog.lines.length).toBe(requestsBefore);
  });

  it.each([
    ['token_wrong', () => withToken('not-the-token').getTestData(3, '2b', 1), 'The token is not correct/is invalid'],
    ['token_wrong', () => withToken('not-the-token').submit(3, '2b', 1, [[0]]), 'The token is not correct/is invalid'],
    ['no_homework', () => client.getTestData(7, '2b', 1), 'There is no homework 7'],
    ['no_homework', () => client.submit(7, '2b', 1, 1), 'There is no homework 7'],
    ['test_data', () => client.getTestData(3, '9z', 1), 'Question `9z` not found in homework'],
    ['test_data', () => client.getTestData(3, '2b', 9), 'Test `9` not found in Question 2b'],
    ['test_output', () => client.submit(3, '9z', 1, 1), 'Question `9z` not found in homework'],
    ['test_output', () => client.submit(3, '2b', 9, 1), 'Test `9` not found in Question 2b'],
    ['invalid_input', () => client.submit(3, '2b', 1, [1, 2]), '[value] Dimensions does not match. Expected: (5, 4), Given: (2,)'],
    ['invalid_input', () => client.submit(3, '1b', 1, [0.5]), "[dropout] Type Error. Expected `float` or `int` but given: <class 'list'>"],
  ])('throws UserError %s with the server’s message (%#)', async (code, call, message) => {
    const error = (await failure(call())) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.name).toBe('UserError');
    expect({ code: error.code, message: error.message }).toEqual({ code, message });
  });

  it('never shows the token: not in output, errors, or the client itself', async () => {
    const wrongTokenLog = capture();
    await failure(withToken('the-wrong-token-77', wrongTokenLog.log).getTestData(3, '1a', 1));
    const shown = [
      clientLog.text(),
      wrongTokenLog.text(),
      serverLog.text(),
      inspect(client, { showHidden: true, depth: 5 }),
      JSON.stringify(client),
      ...errors.flatMap((error) => [String(error), inspect(error, { depth: 5 }), JSON.stringify(error), (error as Error).stack]),
    ].join('\n');
    expect(errors.length).toBeGreaterThan(10);
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain('the-wrong-token-77');
  });
});
