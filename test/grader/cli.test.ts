import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../grader/cli.ts';
import { AutograderClient } from '../../grader/client.ts';
import { UserError } from '../../grader/errors.ts';
// kit only: begin
import { readFileSync } from 'node:fs';
import { makeTestFile } from '../../grader/reference.ts';
// kit only: end
import { capture } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cc6204-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(argv, { log: out.log, error: err.log });
  return { code, out, err };
}

describe('grader CLI: help and bad arguments', () => {
  it('prints a help that names both commands and their options', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const word of ['serve', '--host', '--port', '--tests', '--token', 'make-tests', '--seed', '--out']) {
      expect(out.text()).toContain(word);
    }
  });

  it('prints the help and exits 2 without a command', async () => {
    const { code, out } = await run([]);
    expect(code).toBe(2);
    expect(out.text()).toMatch(/^Usage: npm run grader -- <command>/);
  });

  it.each([
    [['bogus'], /^Usage error: Unknown command "bogus"/],
    [['serve', '--bad'], /^Usage error: Unknown option '--bad'/],
    [['serve', '--port', 'abc'], /^Usage error: --port must be a whole number from 0 to 65535/],
    [['serve', '--port', '70000'], /^Usage error: --port must be/],
    [['serve', '--token', ''], /^Usage error: --token must not be empty/],
    [['make-tests', '--seed', '-1', '--out', 'x.json'], /^Usage error/],
    [['make-tests', '--seed', '1.5', '--out', 'x.json'], /^Usage error: --seed must be a whole number/],
    [['make-tests', '--seed', '3'], /^Usage error: make-tests needs --out FILE/],
  ])('exits 2 for %j with one clear line', async (argv, message) => {
    const { code, err } = await run(argv);
    expect(code).toBe(2);
    expect(err.lines).toEqual([expect.stringMatching(message)]);
  });

  it('exits 1 for a test file it cannot use, naming it', async () => {
    const missing = join(dir, 'missing.json');
    const { code, err } = await run(['serve', '--port', '0', '--tests', missing]);
    expect(code).toBe(1);
    expect(err.lines).toEqual([expect.stringContaining(`Error: Test file ${missing}: cannot be read`)]);
  });
});

// kit only: begin
describe('grader CLI: make-tests', () => {
  it('writes the same file for the same seed, and the reference’s file', async () => {
    const [a, b, c] = ['a.json', 'b.json', 'c.json'].map((name) => join(dir, name));
    expect((await run(['make-tests', '--seed', '11', '--out', a!])).code).toBe(0);
    expect((await run(['make-tests', '--seed', '11', '--out', b!])).code).toBe(0);
    expect((await run(['make-tests', '--seed', '12', '--out', c!])).code).toBe(0);
    expect(readFileSync(a!, 'utf8')).toBe(readFileSync(b!, 'utf8'));
    expect(readFileSync(a!, 'utf8')).not.toBe(readFileSync(c!, 'utf8'));
    expect(JSON.parse(readFileSync(a!, 'utf8'))).toEqual(makeTestFile(11));
  });

  it('makes the committed file by default', async () => {
    const out = join(dir, 'default.json');
    expect((await run(['make-tests', '--out', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(new URL('../../grader/hw3-tests.json', import.meta.url), 'utf8'));
  });

  it('exits 1 when the file cannot be written', async () => {
    const { code, err } = await run(['make-tests', '--out', join(dir, 'no', 'such', 'dir.json')]);
    expect(code).toBe(1);
    expect(err.lines).toEqual([expect.stringMatching(/^Error: Could not write /)]);
  });
});
// kit only: end

describe('grader CLI: serve', () => {
  it('serves until stopped, printing the URL and the token it made up', async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const out = capture();
    const running = main(['serve', '--port', '0'], { log: out.log, untilStopped: () => stopped });
    await expect.poll(() => out.text(), { timeout: 5000 }).toContain('Press Ctrl+C');
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out.text())?.[1];
    const token = /Token: ([0-9a-f]{32}) /.exec(out.text())?.[1];
    expect(out.text()).toContain(`CC6204_URL=${url} CC6204_TOKEN=${token} npm run submit all`);
    const client = new AutograderClient({ baseUrl: url!, token: token!, log: () => {} });
    try {
      expect(await client.getTestData(3, '1a', 1)).toHaveLength(2);
    } finally {
      await client.close();
      stop();
    }
    expect(await running).toBe(0);
    expect(out.lines.at(-1)).toBe('Stopped.');
  });

  it('answers with the given token, without printing it', async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const out = capture();
    const running = main(['serve', '--port', '0', '--token', 'given-token-4711'], { log: out.log, untilStopped: () => stopped });
    await expect.poll(() => out.text(), { timeout: 5000 }).toContain('Press Ctrl+C');
    const url = /listening on (\S+)/.exec(out.text())![1]!;
    const client = new AutograderClient({ baseUrl: url, token: 'given-token-4711', log: () => {} });
    const wrong = new AutograderClient({ baseUrl: url, token: 'other', log: () => {} });
    try {
      await client.ping();
      expect(await client.getTestData(3, '2a', 1)).toHaveLength(50);
      await expect(wrong.getTestData(3, '2a', 1)).rejects.toThrow(UserError);
    } finally {
      await client.close();
      await wrong.close();
      stop();
    }
    expect(await running).toBe(0);
    expect(out.text()).not.toContain('given-token-4711');
    expect(out.lines).toContain('POST /api/tests/3/2a -> OK');
  });

  it('exits 1 with a clear line when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const { code, err } = await run(['serve', '--port', String(port)]);
      expect(code).toBe(1);
      expect(err.lines).toEqual([`Error: Port ${port} on 127.0.0.1 is in use; choose another with --port N (0 picks a free one)`]);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
