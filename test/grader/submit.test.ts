import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalGrader, type LocalGrader } from '../../grader/server.ts';
import { main, type SubmitDeps } from '../../questions/submit.ts';
import type { Question } from '../../questions/types.ts';
import { capture, closedPort, expectedOf, kitTests } from './helpers.ts';
import { notImplemented } from '../../src/core/homework.ts';

const TOKEN = 'submit-test-token-d00d';
const dir = mkdtempSync(join(tmpdir(), 'cc6204-submit-'));
const noEnvFile = join(dir, 'absent.env');
let grader: LocalGrader;

beforeAll(async () => {
  grader = await startLocalGrader({ tests: kitTests, token: TOKEN });
});

afterAll(async () => {
  await grader.close();
  rmSync(dir, { recursive: true, force: true });
});

const weightDecay: Question = {
  id: '1a',
  title: 'Weight decay',
  run: async (session) => {
    await session.getTestData('1a', 1);
    await session.submit('1a', 1, expectedOf('1a', '1'));
  },
};

const momentum: Question = {
  id: '2b',
  title: 'Momentum',
  run: async (session) => {
    await session.submit('2b', 1, expectedOf('2b', '1'));
    await session.submit('2b', 2, expectedOf('2b', '2'));
  },
};

const wrongMomentum: Question = {
  ...momentum,
  run: async (session) => {
    await session.submit('2b', 1, expectedOf('2b', '2'));
    await session.submit('2b', 2, expectedOf('2b', '2'));
  },
};

const broken: Question = {
  id: '2c',
  title: 'RMSProp',
  run: async () => {
    throw new Error('boom');
  },
};

// A question whose piece the student edition left to write.
const unwritten: Question = {
  id: '2d',
  title: 'Adam',
  run: async () => {
    throw notImplemented('2d', 'src/optim/adam.ts');
  },
};

async function run(argv: string[], deps: SubmitDeps = {}) {
  const out = capture();
  const err = capture();
  const requested: Array<string | undefined> = [];
  const code = await main(argv, {
    log: out.log,
    error: err.log,
    env: {},
    envFile: noEnvFile,
    questions: [weightDecay, momentum],
    selectBackend: async (name) => {
      requested.push(name);
      return { name: 'cpu', description: 'fake backend' };
    },
    // The pieces' own checks run the kit's optimizers, which the fake backend cannot: test/optim/mistakes.test.ts has them.
    checks: async () => [],
    ...deps,
  });
  return { code, out, err, requested };
}

describe('submit CLI', () => {
  it('grades every question against the local grader when none is configured, and exits 0', async () => {
    const { code, out, err } = await run(['all']);
    expect(err.lines).toEqual([]);
    expect(code).toBe(0);
    expect(out.lines[0]).toBe('Backend: fake backend');
    expect(out.lines[1]).toMatch(
      /^Server: none configured \(CC6204_URL or CC6204_HOST\), so grading with the kit's local autograder at http:\/\/127\.0\.0\.1:\d+$/,
    );
    expect(out.lines.filter((line) => line.startsWith('Backend:') || line.startsWith('Server:'))).toHaveLength(2);
    expect(out.lines.filter((line) => line === 'Correct Test!')).toHaveLength(3);
    expect(out.lines.at(-1)).toBe('3 of 3 tests passed');
  });

  it('runs the named questions in the course order', async () => {
    const { code, out } = await run(['2B', '1a']);
    expect(code).toBe(0);
    expect(out.lines.filter((line) => /^\w\w\) /.test(line))).toEqual(['1a) Weight decay', '2b) Momentum']);
  });

  it('uses the configured server and token', async () => {
    const { code, out } = await run(['1a'], { env: { CC6204_URL: grader.url, CC6204_TOKEN: TOKEN } });
    expect(code).toBe(0);
    expect(out.lines[1]).toBe(`Server: ${grader.url}`);
    expect(out.text()).not.toContain(TOKEN);
  });

  it('reads the server and backend from a .env file, the --backend option winning', async () => {
    const envFile = join(dir, '.env');
    writeFileSync(envFile, `CC6204_URL=${grader.url}\nCC6204_TOKEN=${TOKEN}\nCC6204_BACKEND=wasm\n`);
    const fromFile = await run(['1a'], { envFile });
    expect(fromFile.code).toBe(0);
    expect(fromFile.requested).toEqual(['wasm']);
    expect(fromFile.out.lines[1]).toBe(`Server: ${grader.url}`);
    const fromFlag = await run(['1a', '--backend', 'cpu'], { envFile });
    expect(fromFlag.requested).toEqual(['cpu']);
  });

  it('exits 1 when a test fails, after reporting it and running the rest', async () => {
    const { code, out } = await run(['all'], { questions: [wrongMomentum, weightDecay] });
    expect(code).toBe(1);
    // Graded by the kit's local autograder: the first wrong elements with the values submitted and expected.
    expect(out.lines).toContainEqual(
      expect.stringMatching(/^Failed Test! 2b test 1: \[value\] 0\.0% correct; 20 of 20 elements wrong, first at \[0, 0\] \(yours [-\d.e]+, expected [-\d.e]+\), \[0, 1\] \(yours [-\d.e]+, expected [-\d.e]+\), \[0, 2\] \(yours [-\d.e]+, expected [-\d.e]+\), \.\.\.$/),
    );
    expect(out.lines.at(-1)).toBe('2 of 3 tests passed');
  });

  it("after a question's verdict, says what its own checks find, in two lines, the verdict unchanged", async () => {
    const findings = ['step 1 of Adam differs from the expected update for parameter 1: your update matches Adam with t counted per parameter', 'another'];
    const { code, out } = await run(['all'], { checks: async (piece) => (piece === '2b' ? findings : []) });
    expect(code).toBe(0);
    const at = out.lines.indexOf(`2b: the server's tests pass, but ${findings[0]}`);
    expect(at).toBeGreaterThan(0);
    expect(out.lines[at + 1]).toBe('  npm test -- 2b runs the checks (1 more finding).');
    expect(out.lines.at(-1)).toBe('3 of 3 tests passed');
    const failing = await run(['all'], { questions: [wrongMomentum], checks: async () => ['wrong'] });
    expect(failing.out.lines).toContain('2b: wrong');
    expect(failing.out.lines).toContain('  npm test -- 2b runs the checks.');
  });

  it('reports a question that stops with an error in one line, and goes on', async () => {
    const { code, out, err } = await run(['all'], { questions: [broken, momentum] });
    expect(code).toBe(1);
    expect(err.lines).toEqual(['2c stopped: boom']);
    expect(out.lines.at(-1)).toBe('2 of 2 tests passed; some questions stopped early');
  });

  it('names each question not written yet, and where to write it, in one line; grades the rest; exit 1', async () => {
    const { code, out, err } = await run(['all'], { questions: [weightDecay, unwritten, momentum] });
    expect(code).toBe(1);
    expect(err.lines).toEqual(['2d: not implemented yet (src/optim/adam.ts)']);
    expect(out.lines.at(-1)).toBe('3 of 3 tests passed; 1 question not written yet');
  });

  it('stops at a wrong token with one line, without printing any token', async () => {
    const { code, out, err } = await run(['all'], { env: { CC6204_URL: grader.url, CC6204_TOKEN: 'wrong-token-31337' } });
    expect(code).toBe(1);
    expect(err.lines).toEqual(['Error: The token is not correct/is invalid']);
    expect(out.text()).not.toContain('2b)');
    expect(out.text() + err.text()).not.toContain('wrong-token-31337');
  });

  it('stops at a wrong token met on a submit too (this 2b fetches nothing first), not as a failed test', async () => {
    const { code, out, err } = await run(['2b'], { env: { CC6204_URL: grader.url, CC6204_TOKEN: 'wrong-token-31337' } });
    expect(code).toBe(1);
    expect(err.lines).toEqual(['Error: The token is not correct/is invalid']);
    expect(out.text()).not.toContain('Failed Test!');
    expect(out.text()).not.toContain('tests passed');
  });

  it('stops with one line when the server cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { code, err } = await run(['all'], { env: { CC6204_URL: url, CC6204_TOKEN: TOKEN } });
    expect(code).toBe(1);
    expect(err.lines).toEqual([`Error: Request to ${url}/ping failed: connection refused (is the server running, and is the URL right?)`]);
  });

  it('stops with one line when the backend cannot load', async () => {
    const reason = 'Backend "tensorflow" cannot load (Cannot find package \'@tensorflow/tfjs-node-gpu\'). Usable here: wasm, cpu.';
    const { code, err } = await run(['all'], {
      selectBackend: async () => {
        throw new Error(reason);
      },
    });
    expect(code).toBe(1);
    expect(err.lines).toEqual([`Error: ${reason}`]);
  });

  it('a backend name that is no backend is a usage error, exit code 2', async () => {
    const { selectBackend } = await import('../../src/backends/select.ts');
    const { code, err } = await run(['all', '--backend', 'gpu'], { selectBackend });
    expect(code).toBe(2);
    expect(err.lines).toEqual(['Usage error: Unknown backend "gpu": choose one of tensorflow, webgpu, wasm, cpu.']);
  });

  it.each([
    [['3x'], 'Usage error: Unknown question "3x"; the questions are 1a, 2b (or all)'],
    [['backward'], 'Usage error: Unknown question "backward"; the questions are 1a, 2b (or all); the backward pass has no question: npm test -- backward checks it'],
    [[], 'Usage error: Name the questions to grade: 1a, 2b (or all)'],
    [['all', '--bogus'], "Usage error: Unknown option '--bogus'"],
  ])('exits 2 for %j', async (argv, line) => {
    const { code, err, requested } = await run(argv);
    expect(code).toBe(2);
    expect(err.lines).toEqual([line]);
    expect(requested).toEqual([]);
  });

  it.each([
    [{ CC6204_URL: 'nonsense' }, /^Usage error: CC6204_URL is not a valid URL/],
    [{ CC6204_URL: 'http://127.0.0.1:1' }, /^Usage error: CC6204_TOKEN is not set/],
  ])('exits 2 for settings it cannot use: %j', async (env, line) => {
    const { code, err } = await run(['all'], { env });
    expect(code).toBe(2);
    expect(err.lines).toEqual([expect.stringMatching(line)]);
  });

  it('prints its help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out.text()).toMatch(/^Usage: npm run submit <question\.\.\.\|all>/);
  });
});
