// What a user's machine does to a running experiment: kills at any moment, Ctrl+C, a damaged checkpoint, a full disk.
// Each runs `npm run experiment`'s program as a process of its own on a small part of Fashion-MNIST (Debian's copy,
// which CI installs), and what is left must give the numbers of a run never stopped.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultsLog } from '../../src/report/results.ts';
import { makeTempDir } from '../data/helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HAS_DATA = existsSync('/usr/share/datasets/fashion-mnist');
const ARGS = ['2e', '--dataset', 'fashion-mnist', '--only', 'adam:heuristic', '--epochs', '3', '--limit', '600', '--backend', 'wasm'];

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the experiment into `out`; `when` is called with each chunk of stdout so far, and may signal the child. */
function start(out: string, when?: (stdout: string, child: ChildProcess) => void): Promise<Ended> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/experiments/cli.ts', ...ARGS, '--out', out], {
    cwd: ROOT,
    env: { ...process.env, CC6204_WASM_THREADS: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    when?.(stdout, child);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** The run's numbers as the log reads them (as of its last start), without the timings. */
function numbers(out: string) {
  const run = ResultsLog.open(join(out, '2e', 'results.jsonl')).load().get('adam:heuristic');
  const untimed = <T extends { seconds: number }>({ seconds, ...rest }: T) => rest;
  const epochs = run?.epochs.map(({ heldOut, ...e }) => ({ ...untimed(e), heldOut: heldOut && untimed(heldOut) }));
  return { finished: run?.finished, epochs, test: run?.test && untimed(run.test) };
}

const checkpoint = (out: string) => join(out, '2e', 'checkpoints', 'adam-heuristic.safetensors');

let dir: string;
let cleanup: () => Promise<void>;
let straight: ReturnType<typeof numbers>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  if (!HAS_DATA) return;
  const ended = await start(join(dir, 'straight'));
  expect(ended.code, ended.stderr).toBe(0);
  straight = numbers(join(dir, 'straight'));
  // The test set after every epoch, by default: kept across kills as the training numbers are.
  expect(straight.epochs?.map((e) => e.heldOut?.set)).toEqual(['test', 'test', 'test']);
}, 120_000);
afterAll(() => cleanup());

describe.runIf(HAS_DATA)('an experiment under faults', () => {
  it('killed (SIGKILL) at random moments, start-up, mid-epoch and while its checkpoint is written, ends as a run never stopped', async () => {
    const out = join(dir, 'killed');
    // Each kill: when (a test of stdout so far), then a delay drawn from 0 to `spread` ms.
    const moments: [what: string, ready: (stdout: string) => boolean, spread: number][] = [
      ['start-up', () => true, 1500],
      ['start-up, after the backend is chosen', (s) => s.includes('Backend:'), 300],
      ['mid-epoch', (s) => s.includes('2e adam:heuristic:'), 600],
      ['the moment an epoch ends (its checkpoint being written)', (s) => /Epoch: \d \|/.test(s), 5],
      ['mid-epoch, on going on', (s) => s.includes('2e adam:heuristic:'), 400],
      ['the moment an epoch ends (its checkpoint being written)', (s) => /Epoch: \d \|/.test(s), 5],
    ];
    const killed: string[] = [];
    for (const [what, ready, spread] of moments) {
      let sent = false;
      const ended = await start(out, (stdout, child) => {
        if (sent || !ready(stdout)) return;
        sent = true;
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * spread));
      });
      if (ended.signal === 'SIGKILL') killed.push(what);
      else expect(ended.code, `${what}: ${ended.stderr}`).toBe(0);
    }
    const last = await start(out);
    expect(last.code, last.stderr).toBe(0);
    expect(numbers(out)).toEqual(straight);
    expect(killed.length).toBeGreaterThanOrEqual(4);
    console.log(`killed ${killed.length} times (${killed.join('; ')}), then ran to the end: the same numbers`);
  }, 240_000);

  it('stopped by Ctrl+C (SIGINT) and SIGTERM, says where it stood, gives the folder back, and goes on', async () => {
    const out = join(dir, 'interrupted');
    const signalAt = (signal: NodeJS.Signals, line: RegExp) => (stdout: string, child: ChildProcess) => {
      if (line.test(stdout) && child.signalCode === null && !child.killed) child.kill(signal);
    };
    const interrupted = await start(out, signalAt('SIGINT', /Epoch: 1 \|/));
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toMatch(/^Stopped by SIGINT during adam:heuristic, epoch 2 of 3 \(epoch 1 is kept\); run the same command to go on from there\.$/m);
    expect(existsSync(join(out, '2e', '.lock'))).toBe(false);
    const terminated = await start(out, signalAt('SIGTERM', /Going on after epoch 1/));
    expect(terminated.code).toBe(143);
    expect(terminated.stderr).toMatch(/^Stopped by SIGTERM during adam:heuristic, epoch 2 of 3 \(epoch 1 is kept\)/m);
    const last = await start(out);
    expect(last.stdout).toContain('Going on after epoch 1');
    expect(numbers(out)).toEqual(straight);
  }, 120_000);

  it('refuses a checkpoint damaged in place (12 bytes, same size), starts the run over, and ends as a run never stopped', async () => {
    const out = join(dir, 'damaged');
    await start(out, (stdout, child) => {
      if (/Epoch: 2 \|/.test(stdout) && !child.killed) child.kill('SIGKILL');
    });
    const file = readFileSync(checkpoint(out));
    for (let i = file.length - 100; i < file.length - 88; i++) file[i] = 255 - file[i]!;
    writeFileSync(checkpoint(out), file);
    const last = await start(out);
    expect(last.stdout).toMatch(/Starting adam:heuristic over: it stopped after epoch [12], but its checkpoint cannot be used \(its checksum does not match: the file is damaged\)\./);
    expect(numbers(out)).toEqual(straight);
  }, 120_000);

  // A small tmpfs needs root (CI runs as root); elsewhere this is skipped.
  const tmpfs = join(ROOT, '.tmp-full-disk');
  const canMount = (() => {
    if (process.getuid?.() !== 0) return false;
    mkdirSync(tmpfs, { recursive: true });
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tmpfs]).status === 0;
    if (mounted) spawnSync('umount', [tmpfs]);
    return mounted;
  })();
  it.runIf(canMount)('on a full disk, stops with one clear line, its log whole and no partial file left', async () => {
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tmpfs]);
    try {
      const ended = await start(tmpfs);
      expect(ended.code).toBe(1);
      expect(ended.stderr.trim()).toMatch(/^Error: Could not write .*adam-heuristic\.safetensors \(\d+\.\d MiB\): the disk is full: free some space, or write elsewhere\.$/);
      // The epoch's line was written before its checkpoint; the log reads, and nothing half-written is left.
      expect(numbers(tmpfs).epochs).toHaveLength(1);
      expect(readdirSync(join(tmpfs, '2e'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.partial'))).toEqual([]);
      expect(existsSync(join(tmpfs, '2e', '.lock'))).toBe(false);
    } finally {
      spawnSync('umount', [tmpfs]);
    }
  }, 120_000);
});
