import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { kitError } from '../core/errors.ts';

const gunzipAsync = promisify(gunzip);

/**
 * The IDX format of the MNIST files: two zero bytes, a type code, the number of dimensions, each dimension as a
 * big-endian uint32, then the values in row-major order. Only the unsigned-byte type is read: it is what MNIST and
 * Fashion-MNIST use for both images and labels.
 */
const UNSIGNED_BYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

export interface Idx {
  dims: number[];
  data: Uint8Array;
}

/** A file that is not a whole, well-formed unsigned-byte IDX file; the message names the file. */
export class IdxFormatError extends kitError('IdxFormatError', 'IDX_FORMAT') {

  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** Parses an unsigned-byte IDX file; `name` is only used in error messages. `data` is a view into `bytes`. */
export function parseIdx(bytes: Uint8Array, name: string): Idx {
  if (bytes.length < 4) {
    throw new IdxFormatError(name, `not an IDX file: ${bytes.length} bytes, shorter than the 4-byte magic number`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxFormatError(name, `not an IDX file: magic number 0x${hex(magic)} does not start with two zero bytes`);
  }
  const type = bytes[2] ?? 0;
  if (type !== UNSIGNED_BYTE) {
    const typeName = TYPE_NAMES[type] ?? 'unknown type';
    throw new IdxFormatError(
      name,
      `magic number 0x${hex(magic)} declares ${typeName} (0x${type.toString(16).padStart(2, '0')}) values; ` +
        'only unsigned byte (0x08) IDX files are supported',
    );
  }
  const rank = bytes[3] ?? 0;
  if (rank === 0) throw new IdxFormatError(name, `magic number 0x${hex(magic)} declares zero dimensions`);

  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    throw new IdxFormatError(
      name,
      `truncated header: ${rank} dimensions need ${headerLength} bytes, found ${bytes.length}`,
    );
  }
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = dims.reduce((product, dim) => product * dim, 1);
  const found = bytes.length - headerLength;
  if (found !== expected) {
    const problem = found < expected ? 'truncated data' : 'unexpected bytes after the data';
    throw new IdxFormatError(
      name,
      `${problem}: dimensions ${dims.join('×')} need ${expected} bytes of data, found ${found}`,
    );
  }
  return { dims, data: bytes.subarray(headerLength) };
}

/** Reads and parses an IDX file, gunzipping it first when it starts with the gzip magic bytes. */
export async function readIdxFile(path: string): Promise<Idx> {
  return parseIdx(await readIdxBytes(path), path);
}

/** The IDX bytes of a file, gunzipped when it is gzip; a corrupt or truncated gzip is an `IdxFormatError`. */
export async function readIdxBytes(path: string): Promise<Uint8Array> {
  return idxBytesOf(await readFile(path), path);
}

/** The IDX bytes of a file's content `raw` (read from `path`), as readIdxBytes gives them. */
export async function idxBytesOf(raw: Uint8Array, path: string): Promise<Uint8Array> {
  if (!isGzip(raw)) return raw;
  try {
    return await gunzipAsync(raw, { chunkSize: outputChunkSize(raw) });
  } catch (error) {
    throw new IdxFormatError(path, `corrupt gzip data (${(error as Error).message})`);
  }
}

/**
 * Room for the whole decompressed file in one output chunk, from the size a gzip file records in its last four bytes
 * (modulo 2³²): zlib then decompresses it in one pass on Node.js's thread pool, without coming back to the main
 * thread for every 16 KiB, so that the reading goes on while the main thread is busy (loading TensorFlow's library).
 * Clamped: a damaged trailer must not ask for gigabytes, and a too-small chunk only costs passes.
 */
function outputChunkSize(gzip: Uint8Array): number {
  const recorded = gzip.length >= 4 ? new DataView(gzip.buffer, gzip.byteOffset + gzip.length - 4, 4).getUint32(0, true) : 0;
  return Math.min(Math.max(recorded + 1, 64 * 1024), 256 * 1024 * 1024);
}

/** Writes an unsigned-byte IDX file's bytes; for tests and tools that make small data sets. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length === 0 || dims.length > 255) throw new RangeError(`IDX needs 1 to 255 dimensions, got ${dims.length}`);
  const expected = dims.reduce((product, dim) => product * dim, 1);
  if (data.length !== expected) {
    throw new RangeError(`dimensions ${dims.join('×')} need ${expected} values, got ${data.length}`);
  }
  const headerLength = 4 + 4 * dims.length;
  const bytes = new Uint8Array(headerLength + data.length);
  const view = new DataView(bytes.buffer);
  bytes[2] = UNSIGNED_BYTE;
  bytes[3] = dims.length;
  dims.forEach((dim, i) => view.setUint32(4 + 4 * i, dim));
  bytes.set(data, headerLength);
  return bytes;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
