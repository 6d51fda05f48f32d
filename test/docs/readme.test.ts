import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HELP as BENCH_HELP } from '../../bench/bench.ts';
import { HELP as DEVICE_BUILD_HELP } from '../../bench/device/build.ts';
import { HELP as GRADER_HELP } from '../../grader/cli.ts';
import { HELP as SUBMIT_HELP } from '../../questions/submit.ts';
import { HELP as EXPERIMENT_HELP } from '../../src/experiments/cli.ts';
import { HELP as EDITION_HELP } from '../../src/tools/student-edition.ts';
import { HELP as SETUP_HELP } from '../../src/tools/tensorflow-setup.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
].map((file) => ({
  file,
  text: readFileSync(join(ROOT, file), 'utf8'),
}));
const SCRIPTS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const HELPS: Record<string, string> = {
  bench: BENCH_HELP,
  'device:build': DEVICE_BUILD_HELP,
  grader: GRADER_HELP,
  submit: SUBMIT_HELP,
  experiment: EXPERIMENT_HELP,
  'setup:tensorflow': SETUP_HELP,
  'student-edition': EDITION_HELP,
};

/** The first ```ts block of `text` after `heading`. */
function codeAfter(text: string, heading: string): string {
  const section = text.slice(text.indexOf(heading));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error(`no ts block after "${heading}"`);
  return block[1];
}

/** The README's sections (## and ###), in order, each with its text. */
const SECTIONS = [...README.matchAll(/^#{2,3} (.+)$/gm)].map((m, k, all) => ({
  title: m[1]!,
  text: README.slice(m.index, all[k + 1]?.index ?? README.length),
}));
const section = (title: string): string => SECTIONS.find((s) => s.title === title)?.text ?? '';

/** The lines of prose: not in a code block, not a table's row. */
function proseLines(text: string): string[] {
  let code = false;
  return text.split('\n').filter((line) => {
    if (line.startsWith('```')) code = !code;
    return !code && !line.startsWith('```') && !line.startsWith('|');
  });
}

describe('the README', () => {
  it('is a front door: at most 12,000 bytes, prose wrapped at 120', () => {
    expect(Buffer.byteLength(README)).toBeLessThanOrEqual(12_000);
    expect(proseLines(README).filter((line) => line.length > 120)).toEqual([]);
  });

  it('says, in order, what the kit is, how to set it up, grade, run the experiments, hand it out, the backends', () => {
    expect(SECTIONS.map((s) => s.title)).toEqual([
      'Set up',
      'Grade your answers',
      'What each message means',
      'Run the experiments',
      'Hand the homework out',
      'Backends',
      'The library',
      'More',
    ]);
    expect(README.slice(0, README.indexOf('## Set up'))).toMatch(/homework 3[\s\S]*autograder/);
  });

  it('sets up with exactly two commands, the ones CI runs first', () => {
    const block = /```sh\n([\s\S]*?)```/.exec(section('Set up'))?.[1] ?? '';
    expect(block.split('\n').filter(Boolean).map((line) => line.replace(/\s*#.*/, ''))).toEqual(['npm ci', 'npm test']);
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm ci\nnpm test$/m);
  });

  it('has a row for each message a user can meet, with what happened and what to do', () => {
    const rows = section('What each message means')
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    expect(rows.length).toBeGreaterThanOrEqual(12);
    for (const row of rows) expect(row.split(' | ').length, row).toBe(3);
    for (const message of ['Correct Test!', 'Failed Test!', 'Usage error:', 'Error: Backend', 'Could not compile']) {
      expect(rows.some((row) => row.includes(message)), message).toBe(true);
    }
  });

  it.each(DOCS)('$file links only to files that exist', ({ file, text }) => {
    for (const [, target] of text.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)) {
      if (/^https?:/.test(target!)) continue;
      expect(existsSync(join(ROOT, dirname(file), target!)), `${file} -> ${target}`).toBe(true);
    }
  });

  it('leads to every page of docs/', () => {
    const linked = new Set([...README.matchAll(/\]\((docs\/[^)#]+)\)/g)].map((m) => m[1]));
    const pages = DOCS.map((d) => d.file).filter((f) => f.startsWith('docs/') && f !== 'docs/student-edition.md');
    for (const page of pages.filter((p) => !linked.has(p))) {
      // A page the README does not name is named by one it does.
      expect(DOCS.some((d) => linked.has(d.file) && d.text.includes(page.slice('docs/'.length))), page).toBe(true);
    }
  });

  it.each(DOCS)('$file names only files that exist', ({ file, text }) => {
    const paths = [...text.matchAll(/`((?:src|bench|grader|questions|test|docs)\/[\w./*-]+)`/g)].map((m) => m[1]!.replace(/\/$/, ''));
    if (file === 'README.md') expect(paths.length).toBeGreaterThan(0);
    for (const path of paths.filter((p) => !p.includes('*'))) expect(existsSync(join(ROOT, path)), path).toBe(true);
  });

  it.each(DOCS)('$file runs only npm scripts that exist, with options their --help lists', ({ file, text }) => {
    const commands = [...text.matchAll(/npm run ([\w:-]+)([^`\n]*)/g)];
    if (file === 'README.md') expect(commands.length).toBeGreaterThan(0);
    for (const [command, script, rest] of commands) {
      expect(SCRIPTS, command).toHaveProperty(script!);
      const help = HELPS[script!];
      if (!help) continue;
      for (const option of rest!.match(/--[a-z][\w-]*/g) ?? []) expect(help, `${command}: ${option}`).toContain(option);
    }
  });

  // The samples load Fashion-MNIST, which needs Debian's copy here (no internet in tests).
  it.runIf(existsSync('/usr/share/datasets/fashion-mnist')).each([
    ['README.md', '## The library'],
    ['docs/library.md', '# The kit as a library'],
  ])('%s: its library sample runs as written, from the repository root', (file, heading) => {
    // A folder inside the repository, so that its imports resolve as they would for a file at the root.
    const dir = mkdtempSync(join(ROOT, '.tmp-readme-'));
    try {
      const sample = join(dir, 'sample.ts');
      writeFileSync(sample, codeAfter(readFileSync(join(ROOT, file), 'utf8'), heading).replaceAll("'./src/", "'../src/"));
      const child = spawnSync(process.execPath, ['--import', 'tsx', sample], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, CC6204_BACKEND: 'wasm' },
      });
      expect(child.status, child.stderr).toBe(0);
      expect(child.stdout).toMatch(/^Epoch: 2 \| Acc: \d+\.\d+% \| loss: \d+\.\d+$/m);
      expect(child.stdout).toMatch(/acc: 0\.\d+/);
      // AdamW overrides Adam's update: the fused Adam kernel steps aside, once, and its update runs as written.
      if (file === 'README.md') expect(child.stderr).toContain('AdamW.update differs from the fused Adam kernel: running update as written.');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
