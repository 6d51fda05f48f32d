import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportFailure, UsageError, wholeNumberOption } from '../src/cli.ts';
import { makeTempDir } from './data/helpers.ts';

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

  it('any other failure is one "Error:" line and exit code 1; with debug, the stack follows', () => {
    expect(report(new Error('Request failed.'))).toEqual({ code: 1, lines: ['Error: Request failed.'] });
    expect(report('plain text')).toEqual({ code: 1, lines: ['Error: plain text'] });
    const { lines } = report(new Error('Request failed.'), { debug: true });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('cli.test.ts');
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

describe('isMain: every command runs from a folder whose path has a space, reached through a link', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
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
    const cli = JSON.stringify(join(root, 'src', 'cli.ts'));
    writeFileSync(probe, `import { isMain } from ${cli};\nconsole.log(isMain(import.meta.url), isMain(new URL('other.ts', import.meta.url).href));\n`);
    const child = runScript(probe);
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('true false');
  });

  it.each([
    ['submit', 'questions/submit.ts', 'Usage: npm run submit'],
    ['grader', 'grader/cli.ts', 'Usage: npm run grader'],
    ['experiment', 'src/experiments/cli.ts', 'Usage: npm run experiment'],
    ['bench', 'bench/bench.ts', 'Usage: npm run bench'],
  ])('npm run %s -- --help, its script reached through a link', (name, script, usage) => {
    const link = join(dir, `${name} entry.ts`);
    symlinkSync(join(root, script), link);
    const child = runScript(link, ['--help']);
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toContain(usage);
  });
});
