import { createHash } from 'node:crypto';
import { kitError } from '../core/errors.ts';
import { LITTLE_ENDIAN } from '../core/tensors.ts';

/**
 * The safetensors format (as Python's `safetensors` and PyTorch read it): an 8-byte little-endian header length, a
 * JSON header naming each tensor's dtype, shape and byte range in the data, with string metadata under
 * `__metadata__`, padded with spaces to a multiple of 8 bytes; then the data, each tensor's float32 values,
 * little-endian, one after the other. The kit adds a SHA-256 of the header (without it) and the data to the
 * metadata, so that a file damaged in place is refused.
 */

/** A named float32 tensor's shape and values. */
export interface NamedValues {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: NamedValues[];
}

/** A file that is not whole, well-formed safetensors with the kit's checksum; the message says what is wrong. */
export class SafetensorsError extends kitError('SafetensorsError', 'SAFETENSORS_INVALID') {}

const CHECKSUM = 'sha256';

interface Entry {
  dtype: 'F32';
  shape: number[];
  data_offsets: [number, number];
}

type Header = { __metadata__: Record<string, string> } & Record<string, Entry | Record<string, string>>;

function digest(header: Header, data: Uint8Array): string {
  return createHash('sha256').update(JSON.stringify(header)).update(data).digest('hex');
}

/** The header's JSON padded with spaces so that the data starts at a multiple of 8 bytes, as the format recommends. */
function headerBytes(header: Header): Buffer {
  const json = JSON.stringify(header);
  return Buffer.from(json + ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8));
}

/** The bytes of a safetensors file holding `tensors`, with `metadata` and the checksum. */
export function encodeSafetensors({ metadata, tensors }: SafetensorsFile): Buffer {
  const header: Header = { __metadata__: { ...metadata } };
  let offset = 0;
  for (const { name, shape, values } of tensors) {
    if (name === '__metadata__' || name in header) throw new Error(`safetensors: tensor name "${name}" is taken`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + values.byteLength] };
    offset += values.byteLength;
  }
  // The file is written in one buffer: its header's length is known before the checksum is, a SHA-256 in hex
  // always being 64 characters long.
  header.__metadata__[CHECKSUM] = '0'.repeat(64);
  const start = 8 + headerBytes(header).length;
  delete header.__metadata__[CHECKSUM];
  const file = Buffer.allocUnsafe(start + offset);
  const data = file.subarray(start);
  let at = 0;
  for (const { values } of tensors) {
    if (LITTLE_ENDIAN) at += Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(data, at);
    else for (const x of values) at = data.writeFloatLE(x, at);
  }
  header.__metadata__[CHECKSUM] = digest(header, data);
  file.writeBigUInt64LE(BigInt(start - 8), 0);
  headerBytes(header).copy(file, 8);
  return file;
}

/** Reads a safetensors file of float32 tensors written by encodeSafetensors, checking its checksum. */
export function decodeSafetensors(file: Buffer): SafetensorsFile {
  if (file.length < 8) throw new SafetensorsError(`it has ${file.length} bytes, fewer than a header's length`);
  const headerLength = Number(file.readBigUInt64LE(0));
  if (headerLength > file.length - 8) throw new SafetensorsError(`its header claims ${headerLength} bytes; the file has ${file.length - 8} after the length`);
  let header: Header;
  try {
    header = JSON.parse(file.toString('utf8', 8, 8 + headerLength)) as Header;
  } catch {
    throw new SafetensorsError('its header is not JSON');
  }
  const metadata = header.__metadata__;
  if (typeof metadata !== 'object' || metadata === null || typeof metadata[CHECKSUM] !== 'string') {
    throw new SafetensorsError(`its header has no ${CHECKSUM} in __metadata__`);
  }
  const data = file.subarray(8 + headerLength);
  const { [CHECKSUM]: expected, ...rest } = metadata;
  if (digest({ ...header, __metadata__: rest }, data) !== expected) throw new SafetensorsError('its checksum does not match: the file is damaged');
  const tensors: NamedValues[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (dtype !== 'F32') throw new SafetensorsError(`tensor ${name} is ${String(dtype)}, not F32`);
    const whole = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(whole) || !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(whole)) {
      throw new SafetensorsError(`tensor ${name}'s shape or byte range cannot be read`);
    }
    const [begin, end] = offsets as [number, number];
    const size = shape.reduce((product: number, n: number) => product * n, 1);
    if (!(end === begin + 4 * size && end <= data.length)) throw new SafetensorsError(`tensor ${name}'s bytes do not fit its shape and the file`);
    const values = new Float32Array((end - begin) / 4);
    if (LITTLE_ENDIAN) data.copy(Buffer.from(values.buffer), 0, begin, end);
    else for (let i = 0; i < values.length; i++) values[i] = data.readFloatLE(begin + 4 * i);
    tensors.push({ name, shape, values });
  }
  return { metadata: rest, tensors };
}
