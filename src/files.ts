// File writes that a crash or a stop cannot leave half done, and tidying what they leave.

import { mkdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KitError } from './errors.ts';

/** A file that could not be written: the message names it and what to do; `cause` is the system's error. */
export class WriteError extends KitError {
  readonly code = 'WRITE_FAILED';
  override get name(): string {
    return 'WriteError';
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
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(partialPath(path), data);
    renameSync(partialPath(path), path);
  } catch (error) {
    rmSync(partialPath(path), { force: true });
    const { code, message } = error as NodeJS.ErrnoException;
    const size = `${(Buffer.byteLength(data) / 2 ** 20).toFixed(1)} MiB`;
    const advice = code === 'ENOSPC' ? 'the disk is full: free some space, or write elsewhere' : message;
    throw new WriteError(`Could not write ${path} (${size}): ${advice}.`, { cause: error });
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
