import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeIdx, IdxFormatError, parseIdx, readIdxFile } from '../../src/data/idx.ts';
import { makeTempDir } from './helpers.ts';

const images = encodeIdx([2, 3, 4], Uint8Array.from({ length: 24 }, (_, i) => i * 10));

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(() => cleanup());

async function written(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

function formatError(run: () => unknown): IdxFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(IdxFormatError);
    return error as IdxFormatError;
  }
  throw new Error('expected an IdxFormatError');
}

describe('encodeIdx and parseIdx', () => {
  it('round-trips dimensions and values', () => {
    const { dims, data } = parseIdx(images, 'images');
    expect(dims).toEqual([2, 3, 4]);
    expect(Array.from(data)).toEqual(Array.from({ length: 24 }, (_, i) => i * 10));
  });

  it('writes the unsigned-byte magic number with the rank', () => {
    expect(Array.from(encodeIdx([3], new Uint8Array(3)).subarray(0, 8))).toEqual([0, 0, 8, 1, 0, 0, 0, 3]);
  });

  it('refuses data that does not fill the dimensions', () => {
    expect(() => encodeIdx([2, 2], new Uint8Array(3))).toThrow(/2×2 need 4 values, got 3/);
  });
});

describe('parseIdx errors name the file and say what is wrong', () => {
  it('a wrong magic number', () => {
    const error = formatError(() => parseIdx(Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0, 0, 0), 'x.idx'));
    expect(error.message).toMatch(/^x\.idx: not an IDX file: magic number 0x504b0304/);
    expect(error.file).toBe('x.idx');
    expect(error.code).toBe('IDX_FORMAT');
  });

  it('a file shorter than the magic number', () => {
    expect(formatError(() => parseIdx(Uint8Array.of(0, 0), 'tiny')).message).toMatch(/^tiny: not an IDX file: 2 bytes/);
  });

  it('an element type other than unsigned byte', () => {
    const floats = Uint8Array.of(0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0);
    expect(formatError(() => parseIdx(floats, 'f.idx')).message).toMatch(
      /^f\.idx: magic number 0x00000d01 declares float32 \(0x0d\) values; only unsigned byte/,
    );
  });

  it('zero dimensions', () => {
    expect(formatError(() => parseIdx(Uint8Array.of(0, 0, 8, 0), 'z')).message).toMatch(/declares zero dimensions/);
  });

  it('a header cut inside the dimensions', () => {
    expect(formatError(() => parseIdx(images.subarray(0, 10), 'h')).message).toBe(
      'h: truncated header: 3 dimensions need 16 bytes, found 10',
    );
  });

  it('dimensions that disagree with the data', () => {
    expect(formatError(() => parseIdx(images.subarray(0, images.length - 5), 'd')).message).toBe(
      'd: truncated data: dimensions 2×3×4 need 24 bytes of data, found 19',
    );
    const longer = new Uint8Array(images.length + 2);
    longer.set(images);
    expect(formatError(() => parseIdx(longer, 'd')).message).toBe(
      'd: unexpected bytes after the data: dimensions 2×3×4 need 24 bytes of data, found 26',
    );
  });
});

describe('readIdxFile', () => {
  it('reads a raw file', async () => {
    const { dims, data } = await readIdxFile(await written('raw-idx3-ubyte', images));
    expect(dims).toEqual([2, 3, 4]);
    expect(data[23]).toBe(230);
  });

  it('reads a gzipped file, whatever its name', async () => {
    const { dims, data } = await readIdxFile(await written('packed', gzipSync(images)));
    expect(dims).toEqual([2, 3, 4]);
    expect(data[23]).toBe(230);
  });

  it('names the file when its data is truncated', async () => {
    const path = await written('cut-idx3-ubyte.gz', gzipSync(images.subarray(0, images.length - 1)));
    await expect(readIdxFile(path)).rejects.toThrow(`${path}: truncated data: dimensions 2×3×4 need 24 bytes`);
  });

  it('names the file when the gzip stream is corrupt', async () => {
    const packed = gzipSync(images);
    packed.fill(0xff, 10, packed.length - 8);
    const path = await written('corrupt.gz', packed);
    await expect(readIdxFile(path)).rejects.toThrow(new RegExp(`^${path}: corrupt gzip data`));
    await expect(readIdxFile(path)).rejects.toBeInstanceOf(IdxFormatError);
  });

  it('names the file when the gzip stream is cut short', async () => {
    const packed = gzipSync(images);
    const path = await written('short.gz', packed.subarray(0, packed.length - 12));
    await expect(readIdxFile(path)).rejects.toThrow(new RegExp(`^${path}: corrupt gzip data`));
  });
});
