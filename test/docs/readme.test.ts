import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HELP as BENCH_HELP } from '../../bench/bench.ts';
import { HELP as DEVICE_BUILD_HELP } from '../../bench/device/build.ts';
import { HELP as GRADER_HELP } from '../../grader/cli.ts';
import { HELP as SUBMIT_HELP } from '../../questions/submit.ts';
import { HELP as EXPERIMENT_HELP } from '../../src/experiments/cli.ts';
import { HELP as EDITION_HELP } from '../../src/student-edition.ts';
import { HELP as SETUP_HELP } from '../../src/tensorflow-setup.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const DOCS = ['README.md', 'docs/results.md', 'docs/performance.md', 'docs/gpu-node.md', 'docs/student-edition.md'].map((file) => ({
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

/** The first ```ts block after `heading`. */
function codeAfter(heading: string): string {
  const section = README.slice(README.indexOf(heading));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error(`README has no ts block after "${heading}"`);
  return block[1];
}

describe('the README', () => {
  it('is a front door: at most 20,000 bytes, the measurements in docs/', () => {
    expect(Buffer.byteLength(README)).toBeLessThanOrEqual(20_000);
    for (const doc of ['docs/results.md', 'docs/performance.md']) expect(README).toContain(doc);
  });

  it.each(DOCS)('$file names only files that exist', ({ text }) => {
    const paths = [...text.matchAll(/`((?:src|bench|grader|questions|test|docs)\/[\w./*-]+)`/g)].map((m) => m[1]!.replace(/\/$/, ''));
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths.filter((p) => !p.includes('*'))) expect(existsSync(join(ROOT, path)), path).toBe(true);
  });

  it.each(DOCS)('$file runs only npm scripts that exist, with options their --help lists', ({ text }) => {
    const commands = [...text.matchAll(/npm run ([\w:-]+)([^`\n]*)/g)];
    expect(commands.length).toBeGreaterThan(0);
    for (const [command, script, rest] of commands) {
      expect(SCRIPTS, command).toHaveProperty(script!);
      const help = HELPS[script!];
      if (!help) continue;
      for (const option of rest!.match(/--[a-z][\w-]*/g) ?? []) expect(help, `${command}: ${option}`).toContain(option);
    }
  });

  // The sample loads Fashion-MNIST, which needs Debian's copy here (no internet in tests).
  it.runIf(existsSync('/usr/share/datasets/fashion-mnist'))('library sample runs as written, from the repository root', () => {
    // A folder inside the repository, so that its imports resolve as they would for a file at the root.
    const dir = mkdtempSync(join(ROOT, '.tmp-readme-'));
    try {
      const file = join(dir, 'sample.ts');
      writeFileSync(file, codeAfter('## The library').replaceAll("'./src/", "'../src/"));
      const child = spawnSync(process.execPath, ['--import', 'tsx', file], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, CC6204_BACKEND: 'wasm' },
      });
      expect(child.status, child.stderr).toBe(0);
      expect(child.stdout).toMatch(/^loss \d+\.\d+$/m);
      expect(child.stdout).toMatch(/^Epoch: 2 \| Acc: \d+\.\d+% \| loss: \d+\.\d+$/m);
      expect(child.stdout).toMatch(/acc: 0\.\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
