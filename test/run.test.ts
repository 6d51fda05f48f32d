import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from './data/helpers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN = join(ROOT, 'src', 'run.mjs');
const CACHE = join(ROOT, 'node_modules', '.cache', 'cc6204-kit');

const run = (...args: string[]) => spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8', cwd: ROOT });

/** The cached bundles whose name starts with `stem`. */
const bundlesOf = (stem: string) => readdirSync(CACHE).filter((name) => name.startsWith(stem) && name.endsWith('.mjs')).map((name) => join(CACHE, name));

describe('src/run.mjs, the launcher of the npm scripts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let entry: string;
  let lib: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir());
    // Names of this run's own, for the bundles it removes: the student edition's copy of this file may run beside it.
    entry = join(dir, `launched-${basename(dir)}.ts`);
    lib = join(dir, 'lib.ts');
    writeFileSync(entry, [
      "import { report } from './lib.ts';",
      'const n: number = 2;',
      'console.log(JSON.stringify({ ...report(), entryUrl: import.meta.url, argv1: process.argv[1], args: process.argv.slice(2), n }));',
      "if (process.argv.includes('fail')) process.exitCode = 3;",
    ].join('\n'));
    writeFileSync(lib, "export const report = () => ({ libUrl: import.meta.url, libDir: import.meta.dirname, version: 'one' });\n");
  });

  afterAll(async () => {
    for (const bundle of [...bundlesOf(`launched-${basename(dir)}-`), ...bundlesOf(`twin-${basename(dir)}-`)]) rmSync(bundle);
    await cleanup();
  });

  it('runs a TypeScript file with its arguments, each module knowing its own URL and the entry as process.argv[1]', () => {
    const child = run(entry, 'a', '--b');
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({
      libUrl: pathToFileURL(lib).href, libDir: dir, version: 'one',
      entryUrl: pathToFileURL(entry).href, argv1: entry, args: ['a', '--b'], n: 2,
    });
  });

  it("passes the command's exit status on", () => {
    expect(run(entry, 'fail').status).toBe(3);
  });

  it('keeps the bundle while no source changes and makes it anew when one does', () => {
    run(entry);
    const [bundle] = bundlesOf(`launched-${basename(dir)}-`);
    expect(bundle).toBeDefined();
    // An old time on the bundle: a rewrite would give it the present one.
    utimesSync(bundle!, 1_000_000, 1_000_000);
    expect(JSON.parse(run(entry).stdout).version).toBe('one');
    expect(statSync(bundle!).mtimeMs).toBe(1_000_000_000);

    writeFileSync(lib, readFileSync(lib, 'utf8').replace("'one'", "'two'"));
    expect(JSON.parse(run(entry).stdout).version).toBe('two');
    expect(statSync(bundle!).mtimeMs).toBeGreaterThan(1_000_000_000);
  });

  it('says in one line where a source does not compile, and runs nothing', () => {
    writeFileSync(lib, 'export const report = () => ({ version: );\n');
    const child = run(entry);
    expect(child.status).toBe(1);
    expect(child.stdout).toBe('');
    expect(child.stderr.trim()).toMatch(new RegExp(`^Could not compile .*launched-.*\\.ts: .*lib\\.ts:1:\\d+: .+$`));
  });

  it('says how to call it when no TypeScript file is named', () => {
    for (const args of [[], ['notes.txt']]) {
      const child = run(...args);
      expect(child.status).toBe(2);
      expect(child.stderr.trim()).toMatch(/^Usage: node src\/run\.mjs FILE\.ts \[ARGS\.\.\.\]/);
    }
  });

  it('keeps the name of a class that two modules declare alike, as tsx does', () => {
    // Bundled together, one of the two gets another name in the code; the optimizers' messages print theirs.
    writeFileSync(lib, 'export class Adam {}\nexport const report = () => ({ libUrl: import.meta.url, libDir: import.meta.dirname, version: new Adam().constructor.name });\n');
    writeFileSync(entry.replace('launched-', 'twin-'), 'import { report } from \'./lib.ts\';\nexport class Adam {}\nconsole.log(JSON.stringify([new Adam().constructor.name, report().version]));\n');
    const child = run(entry.replace('launched-', 'twin-'));
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual(['Adam', 'Adam']);
  });

  it('forgets the bundle of an entry that is gone the next time it makes one', () => {
    const twin = entry.replace('launched-', 'twin-');
    expect(run(twin).status).toBe(0);
    expect(bundlesOf(`twin-${basename(dir)}-`)).toHaveLength(1);
    rmSync(twin);
    writeFileSync(lib, readFileSync(lib, 'utf8').replace('version:', 'changed: true, version:'));
    expect(run(entry).status).toBe(0);
    expect(bundlesOf(`twin-${basename(dir)}-`)).toEqual([]);
    expect(bundlesOf(`launched-${basename(dir)}-`)).toHaveLength(1);
  });
});
