// One process at a time in an experiment's folder: two writing the same run would interleave its epochs in the log
// and overwrite each other's checkpoint.

import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { kitError } from '../core/errors.ts';

/** The folder is taken by a live process. */
export class FolderInUseError extends kitError('FolderInUseError', 'FOLDER_IN_USE') {}

/**
 * Takes `lockPath` for this process, or throws FolderInUseError naming the live process that holds it. A lock left by
 * a process that is gone, or a zombie, is taken over. Returns the function that gives it back.
 */
export function takeLock(lockPath: string, what: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(lockPath);
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
      throw new FolderInUseError(
        `Another process (pid ${holder}) is running ${what}: wait for it to end, or give this one another --out ` +
          `(if no such process is running, delete ${lockPath}).`,
      );
    }
    rmSync(lockPath, { force: true });
  }
  throw new FolderInUseError(`Could not take ${lockPath}: other processes keep taking it.`);
}

/** The pid a lock file names, if it can be read. */
function readHolder(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` runs: it exists and, where /proc says so, is not a zombie (ended, not yet reaped). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** /proc/<pid>/stat's state is Z; false where there is no /proc (macOS, Windows). */
function isZombie(pid: number): boolean {
  try {
    // "pid (command) state ...": the command may hold spaces and parentheses, so the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}
