import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderInUseError, takeLock } from '../../src/experiments/lock.ts';
import { makeTempDir } from '../data/helpers.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());

/** The pid of a process that has ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('takeLock', () => {
  it.runIf(existsSync('/proc/self/stat'))('takes over a lock whose process is a zombie (ended, not yet reaped)', async () => {
    const path = join(dir, 'zombie.lock');
    // A child that ends after half a second, by when its parent (this shell) has become a sleep that never reaps it:
    // a shell reaps a child that ends before it execs. The sleep outlasts what a busy machine may take to get to the
    // checks below (it is killed at the end).
    const parent = spawn('sh', ['-c', 'sh -c "sleep 0.5" & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
    try {
      // Until the child has ended it is alive; wait until /proc says it is a zombie.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')) await new Promise((r) => setTimeout(r, 20));
      expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain(') Z ');
      writeFileSync(path, `${pid}\n`);
      const release = takeLock(path, 'experiment 2e into x');
      expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
      release();
    } finally {
      parent.kill();
    }
  });

  it('writes this process id, and gives the lock back', () => {
    const path = join(dir, 'a.lock');
    const release = takeLock(path, 'experiment 2e into x');
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses while a live process holds it, naming it and what to do', () => {
    const path = join(dir, 'b.lock');
    // The parent of this test process: alive for as long as the test runs.
    writeFileSync(path, `${process.ppid}\n`);
    expect(() => takeLock(path, 'experiment 2e into results/2e')).toThrow(FolderInUseError);
    expect(() => takeLock(path, 'experiment 2e into results/2e')).toThrow(
      `Another process (pid ${process.ppid}) is running experiment 2e into results/2e: wait for it to end, or give this one ` +
        `another --out (if no such process is running, delete ${path}).`,
    );
    expect(readFileSync(path, 'utf8')).toBe(`${process.ppid}\n`);
  });

  it.each([
    ['a process that has ended', () => `${deadPid()}\n`],
    ['nothing readable', () => 'garbage'],
  ])('takes over a lock left by %s', (_, content) => {
    const path = join(dir, `c-${Math.random()}.lock`);
    writeFileSync(path, content());
    const release = takeLock(path, 'experiment 1c into x');
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    release();
  });
});
