// File writes that a crash or a stop cannot leave half done, and tidying what they leave.

import { existsSync, mkdirSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kitError } from './errors.ts';

/** A file that could not be written: the message names it and what to do; `cause` is the system's error. */
export class WriteError extends kitError('WriteError', 'WRITE_FAILED') {}

/** `path`, or the first of `path.1`, `path.2`, … that is not taken: a name to move a file to without losing another. */
export function freeName(path: string): string {
  let name = path;
  for (let n = 1; existsSync(name); n++) name = `${path}.${n}`;
  return name;
}

/** Why a write failed, in words: a full disk says so and what to do; anything else, the system's message. */
export function whyNotWritten(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code === 'ENOSPC' ? 'the disk is full: free some space, or write elsewhere' : message;
}

/** A folder that could not be made: the message names it and why. */
export class FolderError extends kitError('FolderError', 'FOLDER_FAILED') {}

const WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOENT: 'the file system there does not take new folders',
  ENOSPC: 'the disk is full',
};

/**
 * Makes `folder` and the missing folders above it, one at a time, so that a path that cannot be made (under /proc,
 * below a file, without permission) fails at once with a FolderError that says why: Node's own recursive mkdir loops
 * forever on some of them.
 */
export function makeFolder(folder: string): void {
  const missing: string[] = [];
  let at = resolve(folder);
  while (!existsSync(at) && dirname(at) !== at) {
    missing.unshift(at);
    at = dirname(at);
  }
  if (!statSync(at).isDirectory()) throw new FolderError(`Cannot make the folder ${folder}: ${at} is a file, not a folder.`);
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      // Made meanwhile by another process.
      if (code === 'EEXIST' && statSync(path).isDirectory()) continue;
      throw new FolderError(`Cannot make the folder ${folder}: ${WHY[code ?? ''] ?? message} (${path}).`, { cause: error });
    }
  }
}

/** The name `writeWhole` writes to before renaming: a crash between the two leaves this stray file, never a half-written `path`. */
export function partialPath(path: string): string {
  return `${path}.partial`;
}

/**
 * Writes `data` to `path` (its folder made if need be) whole or not at all: beside it first, then renamed over it.
 * A write that fails (a full disk, say) leaves `path` as it was and no partial file, and is a WriteError.
 */
export function writeWhole(path: string, data: string | Buffer): void {
  makeFolder(dirname(path));
  try {
    writeFileSync(partialPath(path), data);
    renameSync(partialPath(path), path);
  } catch (error) {
    rmSync(partialPath(path), { force: true });
    const size = `${(Buffer.byteLength(data) / 2 ** 20).toFixed(1)} MiB`;
    throw new WriteError(`Could not write ${path} (${size}): ${whyNotWritten(error)}.`, { cause: error });
  }
}

/** Removes `folder` if it is empty; one that holds something, or is not there, is left as it is. */
export function removeFolderIfEmpty(folder: string): void {
  try {
    rmdirSync(folder);
  } catch {
    // Not empty, or gone: nothing to tidy.
  }
}

/**
 * A file of the kit by its path from the kit's folder (`questions/optimizer-steps.json`): there, or from the working
 * folder, where a bundle of the kit runs far from its source (the GPU node's, bench/device/).
 */
export function kitFile(path: string): string {
  const there = fileURLToPath(new URL(`../../${path}`, import.meta.url));
  return existsSync(there) ? there : resolve(path);
}
