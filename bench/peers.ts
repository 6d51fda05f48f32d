// `npm run bench -- --pytorch SETTINGS`: the kit's experiment against PyTorch's pipelines and JAX's, whole processes,
// alternated pair by pair so that the machine's drift falls on all sides.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../src/core/cli.ts';
import { DATASET_SOURCES } from '../src/data/sources.ts';
import { markdownTable } from '../src/report/markdown.ts';
import { median } from './measure.ts';

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
  /** The mean of its epochs' seconds, as it printed them (epochSeconds). */
  epoch: number | null;
}

/** A markdown table row's cells, trimmed. */
const cells = (line: string) => line.split('|').slice(1, -1).map((cell) => cell.trim());

/**
 * The mean of the epochs' seconds a process printed, training alone: a peer's `Epoch: N | … (S s)` lines, or the s/epoch
 * column of the kit's summary table; null where it printed neither.
 */
export function epochSeconds(stdout: string): number | null {
  const peer = [...stdout.matchAll(/^Epoch: \d+ \|.*\((\d+(?:\.\d+)?) s\)\s*$/gm)].map((m) => Number(m[1]));
  if (peer.length > 0) return peer.reduce((a, b) => a + b, 0) / peer.length;
  const lines = stdout.split('\n');
  const at = lines.findIndex((line) => line.startsWith('| Run |'));
  const column = at < 0 ? -1 : cells(lines[at] as string).indexOf('s/epoch');
  const row = lines[at + 2];
  const value = column >= 0 && row?.startsWith('|') ? Number(cells(row)[column]) : NaN;
  return Number.isFinite(value) ? value : null;
}

/** One pair's figures for the medians: the kit's time over each peer's, and each side's epoch. */
export interface PairFigures {
  torchRatio: number;
  jaxRatio: number | null;
  epochs: { torch: number | null; jax: number | null; kit: number | null };
}

/**
 * A setting's pairs in one row: the median of each ratio, taken pair by pair, and each side's median epoch in seconds:
 * a claim about speed rests on the medians, not on one lucky or one slow pair.
 */
export function medianRow(label: string, pairs: PairFigures[]): string[] {
  const of = (xs: (number | null)[], digits: number) => {
    const known = xs.filter((x): x is number => x !== null);
    return known.length > 0 ? median(known).toFixed(digits) : '—';
  };
  const epochs = (['torch', 'jax', 'kit'] as const).map((side) => of(pairs.map((p) => p.epochs[side]), 2));
  return [label, String(pairs.length), of(pairs.map((p) => p.torchRatio), 2), of(pairs.map((p) => p.jaxRatio), 2), epochs.join(' / ')];
}

const bench = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const python = () => process.env.CC6204_PYTHON?.trim() || 'python3';
/** The Python that runs JAX's pipeline: CC6204_JAX_PYTHON, else the one that runs PyTorch's. */
const jaxPython = () => process.env.CC6204_JAX_PYTHON?.trim() || python();

/** What `code` prints under `command`, trimmed; null where it fails. */
function printed(command: string, code: string): string | null {
  const child = spawnSync(command, ['-c', code], { encoding: 'utf8' });
  return child.status === 0 ? child.stdout.trim() : null;
}

/** The peers' versions, for the line above the table; JAX's null where its Python has no jax and optax. */
function peerVersions(): { torch: string; jax: string | null } {
  return {
    torch: printed(python(), 'import torch; print(torch.__version__)') ?? '?',
    jax: printed(jaxPython(), 'import jax, optax; print(f"{jax.__version__}, optax {optax.__version__}")'),
  };
}

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
  return { seconds, test: test ? `${test}%` : '—', epoch: epochSeconds(child.stdout) };
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
 * Times `pairs` alternated pairs per setting (the kit first in odd pairs, the peers first in even ones; JAX's pipeline
 * where its Python has jax and optax; the notebook's, for 2e, last), each a whole process, and returns a line of the
 * versions run and the table. `backend` is the kit's (default: automatic).
 */
export function comparePeers(settings: Setting[], pairs: number, backend: string | undefined, progress: (line: string) => void): string {
  checkPeers();
  const versions = peerVersions();
  const out = mkdtempSync(join(tmpdir(), 'cc6204-peers-'));
  const rows: string[][] = [];
  const medians: string[][] = [];
  try {
    for (const name of settings) {
      const setting = SETTINGS[name];
      const label = `${name}, ${setting.epochs} epoch${setting.epochs > 1 ? 's' : ''} and the test`;
      const figures: PairFigures[] = [];
      // As `npm run experiment` runs it: through the launcher, which runs the bundled sources (no tsx flags).
      const kitArgs = [
        fileURLToPath(new URL('../src/tools/run.mjs', import.meta.url)), fileURLToPath(new URL('../src/experiments/cli.ts', import.meta.url)), setting.experiment,
        '--dataset', 'fashion-mnist', '--only', setting.only, '--epochs', String(setting.epochs), '--fresh', '--out', out,
        // The test set once, after the last epoch, as the peers measure it.
        '--eval-every', '0',
        ...(backend ? ['--backend', backend] : []),
      ];
      const kit = () => timed('the kit', process.execPath, kitArgs);
      // The launcher builds the sources on its first run after a change: not part of any pair's time.
      timed('the kit', process.execPath, [...kitArgs.slice(0, 2), '--help']);
      const peer = (file: string, command: string) => () => timed(file, command, [bench(file), name, '--epochs', String(setting.epochs)]);
      const torch = peer('torch_pipeline.py', python());
      const jax = versions.jax ? peer('jax_pipeline.py', jaxPython()) : () => null;
      for (let pair = 1; pair <= pairs; pair++) {
        progress(`${name}, pair ${pair} of ${pairs}...`);
        let k: Timed, t: Timed, j: Timed | null;
        if (pair % 2 === 1) {
          k = kit();
          t = torch();
          j = jax();
        } else {
          j = jax();
          t = torch();
          k = kit();
        }
        const notebook = setting.notebook ? timed('notebook_pipeline.py', python(), [bench('notebook_pipeline.py')]) : null;
        const seconds = (x: Timed | null) => (x ? x.seconds.toFixed(1) : '—');
        const over = (x: Timed | null) => (x ? k.seconds / x.seconds : null);
        const ratio = (x: Timed | null) => over(x)?.toFixed(2) ?? '—';
        figures.push({ torchRatio: k.seconds / t.seconds, jaxRatio: over(j), epochs: { torch: t.epoch, jax: j?.epoch ?? null, kit: k.epoch } });
        rows.push([
          label, String(pair),
          seconds(t), seconds(j), seconds(notebook), seconds(k), ratio(t), ratio(j), ratio(notebook),
          `${t.test} / ${j?.test ?? '—'} / ${notebook?.test ?? '—'} / ${k.test}`,
        ]);
      }
      medians.push(medianRow(label, figures));
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const header = ['setting', 'pair', 'PyTorch s', 'JAX s', 'notebook s', 'kit s', 'kit / PyTorch', 'kit / JAX', 'kit / notebook', 'test accuracy (PyTorch / JAX / notebook / kit)'];
  const said = `PyTorch ${versions.torch} (${python()}); JAX ${versions.jax ?? 'not run: no jax and optax for ' + jaxPython() + ' (CC6204_JAX_PYTHON)'}`;
  const pairTable = markdownTable({ header, rows, align: header.map((_, i) => (i === 0 || i === header.length - 1 ? 'left' : 'right')) }).trimEnd();
  const medianHeader = ['setting', 'pairs', 'kit / PyTorch, median', 'kit / JAX, median', 'epoch s, median (PyTorch / JAX / kit)'];
  const medianTable = markdownTable({ header: medianHeader, rows: medians, align: medianHeader.map((_, i) => (i === 0 ? 'left' : 'right')) }).trimEnd();
  return `${said}\n\n${pairTable}\n\n${medianTable}`;
}
