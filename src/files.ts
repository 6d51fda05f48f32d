// File writes that a crash or a stop cannot leave half done, and tidying what they leave.

import { mkdirSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The name `writeWhole` writes to before renaming: a crash between the two leaves this stray file, never a half-written `path`. */
export function partialPath(path: string): string {
  return `${path}.partial`;
}

/** Writes `data` to `path` (its folder made if need be) whole or not at all: beside it first, then renamed over it. */
export function writeWhole(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(partialPath(path), data);
  renameSync(partialPath(path), path);
}

/** Removes `folder` if it is empty; one that holds something, or is not there, is left as it is. */
export function removeFolderIfEmpty(folder: string): void {
  try {
    rmdirSync(folder);
  } catch {
    // Not empty, or gone: nothing to tidy.
  }
}
