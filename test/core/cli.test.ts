import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { optionsTakenByNpm, parseCommandLine, readEnvFile, reportFailure, runCommand, UsageError, wholeNumberOption } from '../../src/core/cli.ts';
import { makeTempDir } from '../data/helpers.ts';

function report(failure: unknown, options: { debug?: boolean; usageHint?: string } = {}) {
  const lines: string[] = [];
  const code = reportFailure(failure, { error: (line) => lines.push(line), debug: options.debug ?? false, usageHint: options.usageHint });
  return { code, lines };
}

describe('reportFailure', () => {
  it('a UsageError is one "Usage error:" line and exit code 2, a closing period giving way to the hint', () => {
    expect(report(new UsageError('Name one experiment: 1c or 2e.'), { usageHint: ' (see --help)' })).toEqual({
      code: 2,
      lines: ['Usage error: Name one experiment: 1c or 2e (see --help)'],
    });
    expect(report(new UsageError('Bad thing.'))).toEqual({ code: 2, lines: ['Usage error: Bad thing.'] });
  });

  it("an option parseArgs refuses is a usage error in its first sentence, without its advice about '--'", () => {
    let failure: unknown;
    try {
      parseArgs({ args: ['--bogus'], options: {} });
    } catch (caught) {
      failure = caught;
    }
    expect(report(failure)).toEqual({ code: 2, lines: ["Usage error: Unknown option '--bogus'"] });
  });

  it('a value that starts with a dash is one line that says how to give it', () => {
    let failure: unknown;
    try {
      parseArgs({ args: ['--seed', '-1'], options: { seed: { type: 'string' } } });
    } catch (caught) {
      failure = caught;
    }
    expect(report(failure, { usageHint: ' (see --help)' })).toEqual({
      code: 2,
      lines: ["Usage error: Option '--seed' argument is ambiguous: a value that starts with a dash goes as --seed=VALUE (see --help)"],
    });
  });

  it('any other failure is one "Error:" line and exit code 1; with debug, the stack follows', () => {
    expect(report(new Error('Request failed.'))).toEqual({ code: 1, lines: ['Error: Request failed.'] });
    expect(report('plain text')).toEqual({ code: 1, lines: ['Error: plain text'] });
    const { lines } = report(new Error('Request failed.'), { debug: true });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('cli.test.ts');
    const wrapped = new Error('Could not read .env: EACCES', { cause: new Error('permission denied, the first error') });
    expect(report(wrapped, { debug: true }).lines[1]).toContain('[cause]: Error: permission denied, the first error');
  });
});

describe('wholeNumberOption', () => {
  it('reads whole numbers within the bounds', () => {
    expect(wholeNumberOption('epochs', '10')).toBe(10);
    expect(wholeNumberOption('port', '0', { min: 0, max: 65535 })).toBe(0);
    expect(wholeNumberOption('seed', '4294967295', { min: 0, max: 2 ** 32 - 1 })).toBe(2 ** 32 - 1);
  });

  it.each([
    ['epochs', '0', {}, '--epochs must be a positive whole number, got "0"'],
    ['epochs', '', {}, '--epochs must be a positive whole number, got ""'],
    ['epochs', '1.5', {}, '--epochs must be a positive whole number, got "1.5"'],
    ['epochs', '1e3', {}, '--epochs must be a positive whole number, got "1e3"'],
    ['epochs', ' 5', {}, '--epochs must be a positive whole number, got " 5"'],
    ['epochs', '99999999999999999999', {}, '--epochs must be a positive whole number, got "99999999999999999999"'],
    ['port', '65536', { min: 0, max: 65535 }, '--port must be a whole number from 0 to 65535, got "65536"'],
    ['seed', '-1', { min: 0 }, '--seed must be a whole number of at least 0, got "-1"'],
  ])('refuses --%s %j with a UsageError', (flag, text, bounds, message) => {
    expect(() => wholeNumberOption(flag, text, bounds)).toThrow(new UsageError(message));
    expect(() => wholeNumberOption(flag, text, bounds)).toThrow(UsageError);
  });
});

describe('runCommand: every command takes the settings of .env, the environment winning', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir());
  });
  afterAll(() => cleanup());

  /** Runs runCommand with `main` and the .env file `envFile` (a path, or its text to write to a fresh file). */
  async function runWith(envFile: { path: string } | { text?: string }, main: () => Promise<number>) {
    let path: string;
    if ('path' in envFile) path = envFile.path;
    else {
      path = join(dir, `${Math.random()}.env`);
      if (envFile.text !== undefined) writeFileSync(path, envFile.text);
    }
    const saved = process.exitCode;
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await runCommand(main, path);
      return { exitCode: process.exitCode, errors: errors.mock.calls.map((call) => String(call[0])) };
    } finally {
      errors.mockRestore();
      process.exitCode = saved;
      delete process.env.CC6204_TEST_ONLY_A;
      delete process.env.CC6204_TEST_ONLY_B;
      delete process.env.CC6204_TEST_ONLY_C;
    }
  }

  it("sets what .env sets (not empty) and the environment does not, before main runs; main's result is the exit status", async () => {
    process.env.CC6204_TEST_ONLY_B = 'from the environment';
    let seen: (string | undefined)[] = [];
    const text = 'CC6204_TEST_ONLY_A=from .env\nCC6204_TEST_ONLY_B=from .env too\nCC6204_TEST_ONLY_C=\n';
    const { exitCode } = await runWith({ text }, async () => {
      seen = [process.env.CC6204_TEST_ONLY_A, process.env.CC6204_TEST_ONLY_B, process.env.CC6204_TEST_ONLY_C];
      return 3;
    });
    expect(seen).toEqual(['from .env', 'from the environment', undefined]);
    expect(exitCode).toBe(3);
  });

  it('runs main as it is without a .env', async () => {
    expect(await runWith({}, async () => 0)).toEqual({ exitCode: 0, errors: [] });
    expect(readEnvFile(join(dir, 'none.env'))).toEqual({});
  });

  it('a .env that cannot be read is one line and exit status 1, and main does not run', async () => {
    const folder = join(dir, 'a-folder.env');
    mkdirSync(folder);
    let ran = false;
    const { exitCode, errors } = await runWith({ path: folder }, async () => {
      ran = true;
      return 0;
    });
    expect(ran).toBe(false);
    expect(exitCode).toBe(1);
    expect(errors).toEqual([expect.stringMatching(/^Error: Could not read .*a-folder\.env: EISDIR/)]);
  });
});

describe('isMain: every command runs from a folder whose path has a space, reached through a link', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir());
    dir = join(dir, 'Mis documentos');
    mkdirSync(dir);
  });
  afterAll(() => cleanup());

  function runScript(script: string, args: string[] = []) {
    return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', cwd: root });
  }

  it('is true for the script started, false for any other module', () => {
    const probe = join(dir, 'probe.ts');
    const cli = JSON.stringify(join(root, 'src', 'core', 'cli.ts'));
    writeFileSync(probe, `import { isMain } from ${cli};\nconsole.log(isMain(import.meta.url), isMain(new URL('other.ts', import.meta.url).href));\n`);
    const child = runScript(probe);
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('true false');
  });

  it.each([
    ['submit', 'questions/submit.ts', 'Usage: npm run submit'],
    ['grader', 'grader/cli.ts', 'Usage: npm run grader'],
    ['experiment', 'src/experiments/cli.ts', 'Usage: npm run experiment'],
    // kit only: begin
    ['bench', 'bench/bench.ts', 'Usage: npm run bench'],
    // kit only: end
  ])('npm run %s -- --help, its script reached through a link', (name, script, usage) => {
    const link = join(dir, `${name} entry.ts`);
    symlinkSync(join(root, script), link);
    const child = runScript(link, ['--help']);
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toContain(usage);
  });
});

describe('options npm kept for itself (written without --)', () => {
  const SUBMIT = { backend: { type: 'string' }, help: { type: 'boolean' } } as const;
  const EXPERIMENT = { epochs: { type: 'string' }, fresh: { type: 'boolean' }, backend: { type: 'string' } } as const;

  it.each([
    // npm run submit 1a --backend cpu: npm takes --backend as a flag (true) and passes 1a and cpu on.
    ['submit', SUBMIT, ['1a', 'cpu'], { npm_config_backend: 'true' }, 'npm took --backend: write npm run submit -- 1a --backend cpu'],
    // npm run submit 1a --backend=cpu: the value goes with it.
    ['submit', SUBMIT, ['1a'], { npm_config_backend: 'cpu' }, 'npm took --backend: write npm run submit -- 1a --backend cpu'],
    ['experiment', EXPERIMENT, ['2e', '0'], { npm_config_epochs: 'true', npm_config_fresh: 'true' }, 'npm took --epochs and --fresh: write npm run experiment -- 2e --epochs 0 --fresh'],
    ['grader serve', { port: { type: 'string' } }, ['5000'], { npm_config_port: 'true' }, 'npm took --port: write npm run grader -- serve --port 5000'],
  ] as const)('%s %j with %j', (script, options, args, config, message) => {
    const env = { npm_lifecycle_event: script.split(' ')[0], ...config };
    expect(optionsTakenByNpm(script, options, args, env)).toBe(message);
    expect(() => parseCommandLine(script, { args: [...args], options, allowPositionals: true }, env)).toThrow(new UsageError(message));
  });

  it('says nothing when npm kept nothing, or the command was not started by npm run', () => {
    expect(optionsTakenByNpm('submit', SUBMIT, ['1a'], { npm_lifecycle_event: 'submit', npm_config_cache: '/root/.npm' })).toBeUndefined();
    expect(optionsTakenByNpm('submit', SUBMIT, ['1a', 'cpu'], { npm_config_backend: 'true' })).toBeUndefined();
    expect(parseCommandLine('submit', { args: ['1a', '--backend', 'cpu'], options: SUBMIT, allowPositionals: true }, {}).values).toEqual({ backend: 'cpu' });
  });

  it('reaches the user through npm as one usage line', () => {
    const child = spawnSync('npm', ['run', '-s', 'submit', '1a', '--backend', 'cpu'], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(2);
    expect(child.stderr.trim()).toBe('Usage error: npm took --backend: write npm run submit -- 1a --backend cpu');
  });
});
