import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalGrader, type LocalGrader } from '../../grader/server.ts';
import { readTestFile } from '../../grader/test-file.ts';
import { capture, expectedOf, kitTests } from './helpers.ts';

const TOKEN = 'server-test-token-5b1f';
let grader: LocalGrader;
const serverLog = capture();

beforeAll(async () => {
  grader = await startLocalGrader({ tests: kitTests, token: TOKEN, maxBodyBytes: 64 * 1024, log: serverLog.log });
});

afterAll(async () => {
  await grader.close();
});

async function send(method: string, path: string, body?: string | Readable): Promise<{ status: number; text: string }> {
  const response = await request(grader.url + path, {
    method: method as 'GET' | 'POST',
    ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.statusCode, text: await response.body.text() };
}

async function post(path: string, body: unknown): Promise<unknown> {
  const { status, text } = await send('POST', path, typeof body === 'string' ? body : JSON.stringify(body));
  expect(status).toBe(200);
  return JSON.parse(text);
}

const error = (code: string, message: string) => ({ status: 'error', code, message });

describe('local grader: routes', () => {
  it('answers GET /ping with {"status":"OK"}', async () => {
    expect(await send('GET', '/ping')).toEqual({ status: 200, text: '{"status":"OK"}' });
  });

  it('gives test data as {"status":"OK","data":...}', async () => {
    expect(await post('/api/tests/3/1a', { token: TOKEN, test: '1' })).toEqual({
      status: 'OK',
      data: kitTests.input['1a']!['1'],
    });
  });

  it('judges answers as {"status":"OK","result_status","mask","comments"}', async () => {
    const right = await post('/api/autocheck/3/2b', { token: TOKEN, test: '2', student_answer: expectedOf('2b', '2') });
    expect(right).toEqual({
      status: 'OK',
      result_status: 1,
      mask: Array(5).fill(Array(4).fill(true)),
      comments: '[value] 1.0% correct',
    });
    const answer = expectedOf('2b', '2') as number[][];
    answer[4]![3]! += 1;
    const wrong = (await post('/api/autocheck/3/2b', { token: TOKEN, test: '2', student_answer: answer })) as {
      result_status: number;
      mask: boolean[][];
      comments: string;
    };
    expect(wrong.result_status).toBe(0);
    expect(wrong.comments).toBe('[value] 0.95% correct');
    expect(wrong.mask[4]).toEqual([true, true, true, false]);
  });

  it('ignores extra fields in the body', async () => {
    expect(await post('/api/autocheck/3/1b', { token: TOKEN, test: '1', student_answer: 0.5, note: 'x' })).toEqual({
      status: 'OK',
      result_status: 1,
      mask: true,
      comments: '[dropout] OK',
    });
  });

  it('accepts a numeric test id as its text', async () => {
    expect(await post('/api/tests/3/2a', { token: TOKEN, test: 2 })).toMatchObject({ status: 'OK' });
  });

  it.each([
    ['GET', '/'],
    ['GET', '/api/tests/3/1a'],
    ['POST', '/ping'],
    ['POST', '/api/tests/3'],
    ['POST', '/api/tests/3/1a/extra'],
    ['POST', '/api/tests/3/1a/'],
    ['PUT', '/api/autocheck/3/1a'],
  ])('answers %s %s with 404', async (method, path) => {
    expect((await send(method, path, method === 'GET' ? undefined : '{}')).status).toBe(404);
  });
});

describe('local grader: every error code, in the protocol’s order', () => {
  const routes = ['/api/tests/3/2b', '/api/autocheck/3/2b'];

  it.each(routes)('%s: json', async (route) => {
    for (const body of ['not json', '', '{"token":', "{'token': 'x'}"]) {
      expect(await post(route, body)).toEqual(error('json', 'Sent format is not a json'));
    }
  });

  it.each(routes)('%s: token_missing comes before every other field check', async (route) => {
    const missing = error('token_missing', 'The token is not included');
    expect(await post(route.replace('/3/', '/7/'), { test: '1' })).toEqual(missing);
    expect(await post(route, { token: null, test: '1' })).toEqual(missing);
    for (const notAnObject of ['[1, 2]', '"token"', 'null', '12']) expect(await post(route, notAnObject)).toEqual(missing);
  });

  it.each(routes)('%s: token_wrong comes before the homework', async (route) => {
    const wrong = error('token_wrong', 'The token is not correct/is invalid');
    expect(await post(route.replace('/3/', '/7/'), { token: 'nope', test: '1' })).toEqual(wrong);
    expect(await post(route, { token: 12, test: '1' })).toEqual(wrong);
    expect(await post(route, { token: '', test: '1' })).toEqual(wrong);
  });

  it.each(routes)('%s: no_homework comes before missing arguments', async (route) => {
    expect(await post(route.replace('/3/', '/7/'), { token: TOKEN })).toEqual(error('no_homework', 'There is no homework 7'));
  });

  it.each(routes)('%s: missing_arg (test) comes before an unknown question', async (route) => {
    expect(await post(route.replace('2b', '9z'), { token: TOKEN, student_answer: 1 })).toEqual(
      error('missing_arg', 'Missing argument `test`'),
    );
  });

  it.each(routes)('%s: a test given as null is missing, as a null token is', async (route) => {
    expect(await post(route, { token: TOKEN, test: null, student_answer: 1 })).toEqual(error('missing_arg', 'Missing argument `test`'));
  });

  it('decodes percent-encoded homework and question names in the path', async () => {
    expect(await post('/api/autocheck/%33/%32c', { token: TOKEN, test: '1', student_answer: expectedOf('2c', '1') })).toMatchObject({ status: 'OK', result_status: 1 });
  });

  it('autocheck: missing_arg (student_answer) comes before an unknown question', async () => {
    expect(await post('/api/autocheck/3/9z', { token: TOKEN, test: '1' })).toEqual(
      error('missing_arg', 'Missing argument `student_answer`'),
    );
  });

  it('tests: test_data for an unknown question or test', async () => {
    expect(await post('/api/tests/3/9z', { token: TOKEN, test: '1' })).toEqual(
      error('test_data', 'Question `9z` not found in homework'),
    );
    expect(await post('/api/tests/3/2b', { token: TOKEN, test: '9' })).toEqual(
      error('test_data', 'Test `9` not found in Question 2b'),
    );
    expect(await post('/api/tests/3/1b', { token: TOKEN, test: '1' })).toEqual(
      error('test_data', 'Question `1b` not found in homework'),
    );
  });

  it('autocheck: test_output for an unknown question or test', async () => {
    expect(await post('/api/autocheck/3/9z', { token: TOKEN, test: '1', student_answer: 1 })).toEqual(
      error('test_output', 'Question `9z` not found in homework'),
    );
    expect(await post('/api/autocheck/3/2b', { token: TOKEN, test: '9', student_answer: 1 })).toEqual(
      error('test_output', 'Test `9` not found in Question 2b'),
    );
  });

  it('does not take names from the object prototype for questions or tests', async () => {
    for (const question of ['constructor', '__proto__', 'toString']) {
      expect(await post(`/api/tests/3/${question}`, { token: TOKEN, test: '1' })).toEqual(
        error('test_data', `Question \`${question}\` not found in homework`),
      );
    }
    expect(await post('/api/autocheck/3/2b', { token: TOKEN, test: '__proto__', student_answer: 1 })).toEqual(
      error('test_output', 'Test `__proto__` not found in Question 2b'),
    );
  });

  it('names a test id that is not text or a number by its Python type', async () => {
    expect(await post('/api/tests/3/2b', { token: TOKEN, test: [1] })).toEqual(
      error('test_data', "Test `<class 'list'>` not found in Question 2b"),
    );
  });

  it('autocheck: invalid_input for wrong shapes and for non-numbers inside lists', async () => {
    expect(await post('/api/autocheck/3/2b', { token: TOKEN, test: '1', student_answer: [1, 2] })).toEqual(
      error('invalid_input', '[value] Dimensions does not match. Expected: (5, 4), Given: (2,)'),
    );
    const withText = expectedOf('2b', '1') as unknown[][];
    withText[2]![1] = 'x';
    expect(await post('/api/autocheck/3/2b', { token: TOKEN, test: '1', student_answer: withText })).toEqual(
      error('invalid_input', "[value] Type Error. Expected `float` or `int` but given: <class 'str'>"),
    );
    expect(await post('/api/autocheck/3/1b', { token: TOKEN, test: '1', student_answer: [0.5] })).toEqual(
      error('invalid_input', "[dropout] Type Error. Expected `float` or `int` but given: <class 'list'>"),
    );
  });
});

describe('local grader: robustness', () => {
  it('answers 413 to a body over the size limit, with or without a Content-Length', async () => {
    const big = JSON.stringify({ token: TOKEN, test: '1', student_answer: Array(20_000).fill(0.123456) });
    expect((await send('POST', '/api/autocheck/3/2b', big)).status).toBe(413);
    expect((await send('POST', '/api/autocheck/3/2b', Readable.from([big.slice(0, 40_000), big.slice(40_000)]))).status).toBe(413);
    expect((await send('GET', '/ping')).status).toBe(200);
  });

  it('takes a body of exactly the size limit and refuses one byte more, with or without a Content-Length', async () => {
    const limit = 64 * 1024;
    const answer = JSON.stringify({ token: TOKEN, test: '1', student_answer: expectedOf('2c', '1') });
    const padded = (size: number) => answer + ' '.repeat(size - answer.length); // JSON allows trailing spaces
    const chunked = (body: string) => Readable.from([body.slice(0, 1000), body.slice(1000)]);
    expect((await send('POST', '/api/autocheck/3/2c', padded(limit))).status).toBe(200);
    expect((await send('POST', '/api/autocheck/3/2c', chunked(padded(limit)))).status).toBe(200);
    expect((await send('POST', '/api/autocheck/3/2c', padded(limit + 1))).status).toBe(413);
    expect((await send('POST', '/api/autocheck/3/2c', chunked(padded(limit + 1)))).status).toBe(413);
  });

  it('answers 50 requests at once, good and bad alike', async () => {
    const bodies = Array.from({ length: 50 }, (_, i) =>
      i % 3 === 0
        ? JSON.stringify({ token: TOKEN, test: '1', student_answer: expectedOf('2c', '1') })
        : i % 3 === 1
          ? 'garbage'
          : JSON.stringify({ token: 'wrong', test: '1' }),
    );
    const answers = await Promise.all(bodies.map((body) => post('/api/autocheck/3/2c', body)));
    answers.forEach((answer, i) => {
      const expected = [{ result_status: 1 }, { code: 'json' }, { code: 'token_wrong' }][i % 3];
      expect(answer).toMatchObject(expected!);
    });
  });

  it('is still up after all the bad requests, and never logs the token', async () => {
    await send('POST', `/api/tests/3/1a?token=${TOKEN}`, JSON.stringify({ token: TOKEN, test: '1' }));
    expect(await send('GET', '/ping')).toEqual({ status: 200, text: '{"status":"OK"}' });
    expect(serverLog.lines.length).toBeGreaterThan(50);
    expect(serverLog.text()).not.toContain(TOKEN);
    expect(serverLog.lines).toContain('POST /api/tests/3/1a -> OK');
  });
});

describe('test files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc6204-tests-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fileWith = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('loads the course format', () => {
    const path = fileWith('ok.json', JSON.stringify({ input: { '1a': { '1': [1, 2] } }, expected: { '1a': { '1': [[1]] } } }));
    expect(readTestFile(path).expected['1a']!['1']).toEqual([[1]]);
  });

  it.each([
    ['not-json.json', '{', /is not valid JSON/],
    ['no-expected.json', '{"input": {}}', /`expected` must be an object of questions/],
    ['tests-not-object.json', '{"input": {"1a": [1]}, "expected": {}}', /input\["1a"\] must be an object of tests/],
    ['ragged.json', '{"input": {}, "expected": {"2b": {"1": [[1, 2], [3]]}}}', /expected\["2b"\]\["1"\] must be a number or a regular nested list/],
    ['text.json', '{"input": {}, "expected": {"2b": {"1": ["a"]}}}', /expected\["2b"\]\["1"\]/],
    ['1b-list.json', '{"input": {}, "expected": {"1b": {"1": [0.6]}}}', /expected\["1b"\]\["1"\] must be a number/],
  ])('refuses %s, naming the file and the problem', (name, text, problem) => {
    const path = fileWith(name, text);
    expect(() => readTestFile(path)).toThrow(problem);
    expect(() => readTestFile(path)).toThrow(`Test file ${path}: `);
  });

  it('names a file that cannot be read', () => {
    expect(() => readTestFile(join(dir, 'missing.json'))).toThrow(/^Test file .*missing\.json: cannot be read/);
  });
});
