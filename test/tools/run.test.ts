import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN = join(ROOT, 'src', 'tools', 'run.mjs');
const CACHE = join(ROOT, 'node_modules', '.cache', 'cc6204-kit');

/** Runs the launcher with DEBUG and NODE_OPTIONS unset unless `env` sets them, in the kit's folder unless `cwd` says. */
const run = (args: string[], env: Record<string, string> = {}, cwd = ROOT) => {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DEBUG' && name !== 'NODE_OPTIONS'));
  return spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8', cwd, env: { ...clean, ...env } });
};

/** The cache folders of entries whose file name starts with `stem`. */
const foldersOf = (stem: string) => (existsSync(CACHE) ? readdirSync(CACHE).filter((name) => name.startsWith(stem)).map((name) => join(CACHE, name)) : []);

/** The folder of the build that `folder`/current.json names. */
const currentBuild = (folder: string) => join(folder, (JSON.parse(readFileSync(join(folder, 'current.json'), 'utf8')) as { build: string }).build);

describe('src/tools/run.mjs, the launcher of the npm scripts', () => {
  // Each test's own folder, whose name starts every entry's: the cache is shared with whatever else runs (the student
  // edition's copy of this file, among others), and a test removes only its own builds.
  let dir: string;
  let tag: string;
  const write = (name: string, text: string) => {
    const path = join(dir, `${tag}-${name}`);
    writeFileSync(path, text);
    return path;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc6204-run-'));
    tag = basename(dir);
  });

  afterEach(() => {
    for (const folder of foldersOf(tag)) rmSync(folder, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a TypeScript file with its arguments, each module knowing its own URL and the entry as process.argv[1]', () => {
    const lib = write('lib.ts', "export const report = () => ({ libUrl: import.meta.url, libDir: import.meta.dirname, libFile: import.meta.filename });\n");
    const entry = write('entry.ts', [
      `import { report } from './${tag}-lib.ts';`,
      'const n: number = 2;',
      'console.log(JSON.stringify({ ...report(), entryUrl: import.meta.url, argv1: process.argv[1], args: process.argv.slice(2), n }));',
    ].join('\n'));
    const child = run([entry, 'a', '--b']);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({
      libUrl: pathToFileURL(lib).href, libDir: dir, libFile: lib,
      entryUrl: pathToFileURL(entry).href, argv1: entry, args: ['a', '--b'], n: 2,
    });
  });

  it('compiles a source that names import.meta as TypeScript still, re-exports of types included', () => {
    write('types.ts', 'export interface Shape { n: number }\nexport const n = 3;\n');
    write('lib.ts', `export { Shape, n } from './${tag}-types.ts';\nexport const here = import.meta.filename;\n`);
    const entry = write('entry.ts', `import { n, here, type Shape } from './${tag}-lib.ts';\nconst s: Shape = { n };\nconsole.log(s.n, here.endsWith('lib.ts'));\n`);
    const child = run([entry]);
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('3 true\n');
  });

  it('leaves the words import.meta.url in a string or a comment as they are', () => {
    const entry = write('entry.ts', "// import.meta.url in a comment\nconsole.log('a import.meta.url b', \"import.meta.dirname\", `import.meta.filename`);\n");
    expect(run([entry]).stdout).toBe('a import.meta.url b import.meta.dirname import.meta.filename\n');
  });

  it("passes the command's exit status on", () => {
    expect(run([write('entry.ts', 'process.exitCode = 3;\n')]).status).toBe(3);
  });

  it('keeps the build while no source changes and makes another when one does', () => {
    const lib = write('lib.ts', "export const version = 'one';\n");
    const entry = write('entry.ts', `import { version } from './${tag}-lib.ts';\nconsole.log(version);\n`);
    expect(run([entry]).stdout).toBe('one\n');
    const [folder] = foldersOf(tag);
    const first = currentBuild(folder!);
    expect(run([entry]).stdout).toBe('one\n');
    expect(currentBuild(folder!)).toBe(first);

    // Builds replaced more than a day ago go; the build being replaced stays a day, for a command running from it,
    // however old it is.
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    const stale = join(folder!, 'replaced-long-ago');
    mkdirSync(stale);
    utimesSync(stale, twoDaysAgo, twoDaysAgo);
    utimesSync(first, twoDaysAgo, twoDaysAgo);

    // The same size: the time tells the change.
    writeFileSync(lib, "export const version = 'two';\n");
    expect(run([entry]).stdout).toBe('two\n');
    expect(currentBuild(folder!)).not.toBe(first);
    expect(existsSync(first)).toBe(true);
    expect(existsSync(stale)).toBe(false);
  });

  it('loads what a source imports with import() only then, with its packages', () => {
    // The wasm backend's package registers the backend with tfjs on import.
    write('wasm.ts', "import '@tensorflow/tfjs-backend-wasm';\nexport const loaded = true;\n");
    const entry = write('entry.ts', [
      "import * as tf from '@tensorflow/tfjs-core';",
      `if (process.argv[2] === 'wasm') await import('./${tag}-wasm.ts');`,
      "console.log(tf.findBackendFactory('wasm') !== null);",
    ].join('\n'));
    expect(run([entry]).stdout).toBe('false\n');
    expect(run([entry, 'wasm']).stdout).toBe('true\n');
  });

  it('names the .ts line in a stack trace with DEBUG or --enable-source-maps, the bundle otherwise', () => {
    const lib = write('lib.ts', "export function fail(): never {\n  throw new Error('here');\n}\n");
    const entry = write('entry.ts', `import { fail } from './${tag}-lib.ts';\nfail();\n`);
    expect(run([entry]).stderr).not.toContain(`${lib}:2:`);
    expect(run([entry], { DEBUG: '1' }).stderr).toContain(`${lib}:2:`);
    expect(run([entry], { NODE_OPTIONS: '--enable-source-maps' }).stderr).toContain(`${lib}:2:`);
    // DEBUG in .env, as every command reads it, where the environment leaves it unset.
    writeFileSync(join(dir, '.env'), 'DEBUG=1\n');
    expect(run([entry], {}, dir).stderr).toContain(`${lib}:2:`);
    expect(run([entry], { DEBUG: '' }, dir).stderr).not.toContain(`${lib}:2:`);
  });

  it('says in one line where a source does not compile, its column counted from 1, and runs nothing', () => {
    write('lib.ts', 'export const a = ;\n');
    const entry = write('entry.ts', `import { a } from './${tag}-lib.ts';\nconsole.log(a);\n`);
    const child = run([entry]);
    expect(child.status).toBe(1);
    expect(child.stdout).toBe('');
    expect(child.stderr.trim()).toMatch(new RegExp(`^Could not compile \\S*${tag}-entry\\.ts: \\S*${tag}-lib\\.ts:1:18: Unexpected ";"$`));

    // The same where the source names import.meta, on its first line and below it.
    write('lib.ts', 'export const u = import.meta.url, a = ;\n');
    expect(run([entry]).stderr.trim()).toMatch(new RegExp(`${tag}-lib\\.ts:1:39: Unexpected ";"$`));
    write('lib.ts', 'export const u = import.meta.url;\nexport const a = ;\n');
    expect(run([entry]).stderr.trim()).toMatch(new RegExp(`${tag}-lib\\.ts:2:18: Unexpected ";"$`));
  });

  it('says how to call it when no TypeScript file is named', () => {
    for (const args of [[], ['notes.txt']]) {
      const child = run(args);
      expect(child.status).toBe(2);
      expect(child.stderr.trim()).toMatch(/^Usage: node src\/tools\/run\.mjs FILE\.ts \[ARGS\.\.\.\]/);
    }
  });

  it('keeps the name of a class that two modules declare alike, as tsx does', () => {
    // Bundled together, one of the two gets another name in the code; the optimizers' messages print theirs.
    write('lib.ts', 'export class Adam {}\nexport const name = new Adam().constructor.name;\n');
    const entry = write('entry.ts', `import { name } from './${tag}-lib.ts';\nclass Adam {}\nconsole.log(JSON.stringify([new Adam().constructor.name, name]));\n`);
    expect(JSON.parse(run([entry]).stdout)).toEqual(['Adam', 'Adam']);
  });

  it('forgets the builds of an entry that is gone the next time it makes one', () => {
    const gone = write('gone.ts', 'console.log(1);\n');
    const entry = write('entry.ts', 'console.log(2);\n');
    expect(run([gone]).status).toBe(0);
    expect(foldersOf(`${tag}-gone`)).toHaveLength(1);
    rmSync(gone);
    expect(run([entry]).status).toBe(0);
    expect(foldersOf(`${tag}-gone`)).toEqual([]);
    expect(foldersOf(`${tag}-entry`)).toHaveLength(1);
    expect(statSync(foldersOf(`${tag}-entry`)[0]!).isDirectory()).toBe(true);
  });
});
