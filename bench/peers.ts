// `npm run bench -- --pytorch SETTINGS`: the kit's experiment against PyTorch's pipelines, whole processes,
// alternated pair by pair so that the machine's drift falls on both sides.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../src/core/cli.ts';
import { DATASET_SOURCES } from '../src/data/sources.ts';
import { markdownTable } from '../src/report/markdown.ts';

/** The homework's settings both sides can run: the kit's experiment and run, torch_pipeline.py's name for it. */
export const SETTINGS = {
  '2e': { experiment: '2e', only: 'adam:heuristic', epochs: 1, notebook: true },
  '1c-baseline': { experiment: '1c', only: 'baseline', epochs: 3, notebook: false },
  '1c-dropout': { experiment: '1c', only: 'dropout', epochs: 3, notebook: false },
} as const;

export type Setting = keyof typeof SETTINGS;

export function parseSettings(text: string): Setting[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.find((name) => !(name in SETTINGS));
  if (unknown !== undefined || names.length === 0) {
    throw new UsageError(`--pytorch takes settings among ${Object.keys(SETTINGS).join(', ')}, comma-separated; got "${text}".`);
  }
  return names as Setting[];
}

interface Timed {
  seconds: number;
  /** The test accuracy line the process printed last, for the table. */
  test: string;
}

const bench = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const python = () => process.env.CC6204_PYTHON?.trim() || 'python3';

/** Runs a command to the end, timed from outside; an Error with its output's last lines if it fails. */
function timed(label: string, command: string, args: string[]): Timed {
  const started = performance.now();
  const child = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = (performance.now() - started) / 1000;
  if (child.status !== 0) {
    const said = `${child.stderr ?? ''}${child.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${label} failed (${child.error?.message ?? `exit ${child.status}`}): ${said}`);
  }
  const test = child.stdout.match(/Test[^\n]*?(\d+\.\d+)%/g)?.at(-1)?.match(/(\d+\.\d+)%/)?.[1];
  return { seconds, test: test ? `${test}%` : '—' };
}

/** Fails in one line where the Python at hand has no PyTorch or no Fashion-MNIST is here. */
function checkPeers(): void {
  const folder = DATASET_SOURCES['fashion-mnist'].localDir;
  const probe = spawnSync(python(), ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`${python()} cannot import torch: install PyTorch for it (Debian: apt-get install python3-torch) or name another Python in CC6204_PYTHON.`);
  }
  const data = spawnSync(python(), ['-c', `import os, sys; sys.exit(0 if os.path.isdir(${JSON.stringify(folder)}) else 1)`]);
  if (data.status !== 0) throw new Error(`Both sides read Fashion-MNIST from ${folder}: install it (Debian: apt-get install dataset-fashion-mnist).`);
}

/**
 * Times `pairs` alternated pairs per setting (the kit first in odd pairs, PyTorch first in even ones; the notebook's
 * pipeline, for 2e, last), each a whole process, and returns the table. `backend` is the kit's (default: automatic).
 */
export function comparePeers(settings: Setting[], pairs: number, backend: string | undefined, progress: (line: string) => void): string {
  checkPeers();
  const out = mkdtempSync(join(tmpdir(), 'cc6204-peers-'));
  const rows: string[][] = [];
  try {
    for (const name of settings) {
      const setting = SETTINGS[name];
      // As `npm run experiment` runs it: through the launcher, which runs the bundled sources (no tsx flags).
      const kitArgs = [
        fileURLToPath(new URL('../src/tools/run.mjs', import.meta.url)), fileURLToPath(new URL('../src/experiments/cli.ts', import.meta.url)), setting.experiment,
        '--dataset', 'fashion-mnist', '--only', setting.only, '--epochs', String(setting.epochs), '--fresh', '--out', out,
        ...(backend ? ['--backend', backend] : []),
      ];
      const kit = () => timed('the kit', process.execPath, kitArgs);
      // The launcher builds the sources on its first run after a change: not part of any pair's time.
      timed('the kit', process.execPath, [...kitArgs.slice(0, 2), '--help']);
      const torch = () => timed('torch_pipeline.py', python(), [bench('torch_pipeline.py'), name, '--epochs', String(setting.epochs)]);
      for (let pair = 1; pair <= pairs; pair++) {
        progress(`${name}, pair ${pair} of ${pairs}...`);
        let k: Timed, t: Timed;
        if (pair % 2 === 1) {
          k = kit();
          t = torch();
        } else {
          t = torch();
          k = kit();
        }
        const notebook = setting.notebook ? timed('notebook_pipeline.py', python(), [bench('notebook_pipeline.py')]) : null;
        rows.push([
          `${name}, ${setting.epochs} epoch${setting.epochs > 1 ? 's' : ''} and the test`, String(pair),
          t.seconds.toFixed(1), notebook ? notebook.seconds.toFixed(1) : '—', k.seconds.toFixed(1),
          (k.seconds / t.seconds).toFixed(2), notebook ? (k.seconds / notebook.seconds).toFixed(2) : '—',
          `${t.test} / ${notebook?.test ?? '—'} / ${k.test}`,
        ]);
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const header = ['setting', 'pair', 'PyTorch s', 'notebook s', 'kit s', 'kit / PyTorch', 'kit / notebook', 'test accuracy (PyTorch / notebook / kit)'];
  return markdownTable({ header, rows, align: header.map((_, i) => (i === 0 || i === header.length - 1 ? 'left' : 'right')) }).trimEnd();
}
