import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freeName, partialPath, removeFolderIfEmpty, writeWhole } from '../../src/core/files.ts';

const dir = mkdtempSync(join(tmpdir(), 'cc6204-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeWhole', () => {
  it('makes the folder, replaces the file and leaves no partial file', () => {
    const path = join(dir, 'a', 'b', 'report.md');
    writeWhole(path, 'first');
    writeWhole(path, Buffer.from('second'));
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['report.md']);
    expect(partialPath(path)).toBe(`${path}.partial`);
  });
});

describe('removeFolderIfEmpty', () => {
  it('removes an empty folder, and leaves one that holds a file or is not there', () => {
    const empty = join(dir, 'empty');
    const full = join(dir, 'full');
    mkdirSync(empty);
    mkdirSync(full);
    writeFileSync(join(full, 'x'), 'x');
    removeFolderIfEmpty(empty);
    removeFolderIfEmpty(full);
    removeFolderIfEmpty(join(dir, 'absent'));
    expect([existsSync(empty), existsSync(join(full, 'x'))]).toEqual([false, true]);
  });
});

describe('freeName', () => {
  it('gives the name itself while it is free, then .1, .2, … past the ones taken', () => {
    const base = join(dir, 'log.bak');
    expect(freeName(base)).toBe(base);
    writeFileSync(base, '');
    expect(freeName(base)).toBe(`${base}.1`);
    writeFileSync(`${base}.1`, '');
    expect(freeName(base)).toBe(`${base}.2`);
  });
});
