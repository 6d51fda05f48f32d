import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  const code = await main(argv, { log: out.log, error: err.log, env: {} });
  return { code, out, err };
}

describe('grader CLI: help and bad arguments', () => {
  it('prints a help that names both commands and their options', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const word of ['serve', '--host', '--port', '--tests', '--token-file', 'CC6204_GRADER_TOKEN', '--token', 'make-tests', '--seed', '--out']) {
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
    [['serve', '--token', 'a', '--token-file', 'b'], /^Usage error: give --token or --token-file, not both/],
    [['serve', '--token-file', '/no/such/token'], /^Usage error: --token-file \/no\/such\/token cannot be read \(ENOENT\)/],
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
    const running = main(['serve', '--port', '0'], { log: out.log, env: {}, untilStopped: () => stopped });
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

  const tokenFile = join(dir, 'token');
  it.each([
    { way: '--token-file', args: ['--token-file', tokenFile], env: {}, source: `the first line of ${tokenFile}`, warning: [] },
    { way: 'CC6204_GRADER_TOKEN', args: [], env: { CC6204_GRADER_TOKEN: ' given-token-4711 ' }, source: 'CC6204_GRADER_TOKEN', warning: [] },
    {
      way: '--token',
      args: ['--token', 'given-token-4711'],
      env: {},
      source: '--token',
      warning: [
        'Warning: a token given with --token is visible to other users of this machine (ps, and npm echoes the command); set CC6204_GRADER_TOKEN in .env or use --token-file FILE instead.',
      ],
    },
  ])('answers with the token given by $way, without printing it', async ({ args, env, source, warning }) => {
    writeFileSync(tokenFile, 'given-token-4711\nnot this line\n');
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const out = capture();
    const err = capture();
    const running = main(['serve', '--port', '0', ...args], { log: out.log, error: err.log, env, untilStopped: () => stopped });
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
    expect(out.lines).toContain(`Token: the one from ${source}`);
    expect(out.lines).toContain('POST /api/tests/3/2a -> OK');
    expect(err.lines).toEqual(warning);
  });

  it('exits 2 for a token file whose first line is empty', async () => {
    writeFileSync(tokenFile, '\nsecond line\n');
    const { code, err } = await run(['serve', '--port', '0', '--token-file', tokenFile]);
    expect(code).toBe(2);
    expect(err.lines).toEqual([`Usage error: --token-file ${tokenFile} is empty: put the token on its first line (see --help)`]);
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
