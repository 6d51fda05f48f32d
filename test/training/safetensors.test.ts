import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../src/training/safetensors.ts';

const FILE = {
  metadata: { key: 'value', ünïcode: 'ñ' },
  tensors: [
    { name: 'a/b c', shape: [2, 3], values: Float32Array.from([1, -2, 3.5, Number.NaN, Infinity, -0]) },
    { name: 'scalar', shape: [], values: Float32Array.from([7]) },
    { name: 'empty', shape: [0, 4], values: new Float32Array(0) },
  ],
};

/** The file with its header's JSON changed by `edit` and its length fixed, the checksum left as it was. */
function withHeader(bytes: Buffer, edit: (header: Record<string, unknown>) => void): Buffer {
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.toString('utf8', 8, 8 + length)) as Record<string, unknown>;
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, bytes.subarray(8 + length)]);
}

describe('safetensors', () => {
  it('gives back the tensors and metadata it wrote, NaN, infinities and -0 included, the data 8-byte aligned', () => {
    const bytes = encodeSafetensors(FILE);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    const decoded = decodeSafetensors(bytes);
    expect(decoded.metadata).toEqual(FILE.metadata);
    expect(decoded.tensors.map(({ name, shape }) => ({ name, shape }))).toEqual(FILE.tensors.map(({ name, shape }) => ({ name, shape })));
    decoded.tensors.forEach((t, i) => expect(Array.from(t.values)).toEqual(Array.from(FILE.tensors[i]!.values)));
    expect(Array.from(decoded.tensors[0]!.values).map(String)).toEqual(['1', '-2', '3.5', 'NaN', 'Infinity', '0']);
    expect(Object.is(decoded.tensors[0]!.values[5], -0)).toBe(true);
  });

  it.each([
    ['a byte of the data changed', (b: Buffer) => { const c = Buffer.from(b); c[c.length - 5]! ^= 1; return c; }, 'the file is damaged'],
    ['metadata changed', (b: Buffer) => withHeader(b, (h) => { (h.__metadata__ as Record<string, string>).key = 'other'; }), 'the file is damaged'],
    ['a shape that does not fit its bytes', (b: Buffer) => withHeader(b, (h) => { (h['a/b c'] as { shape: number[] }).shape = [3, 3]; }), 'the file is damaged'],
    ['no checksum', (b: Buffer) => withHeader(b, (h) => { h.__metadata__ = {}; }), 'no sha256'],
    ['shorter than a length', () => Buffer.alloc(5), 'fewer than a header'],
    ['a header longer than the file', (b: Buffer) => b.subarray(0, 20), 'its header claims'],
  ])('refuses a file with %s', (_, spoil, message) => {
    expect(() => decodeSafetensors(spoil(encodeSafetensors(FILE)))).toThrow(SafetensorsError);
    expect(() => decodeSafetensors(spoil(encodeSafetensors(FILE)))).toThrow(message);
  });

  it('refuses a tensor name taken twice or named __metadata__', () => {
    const values = new Float32Array(1);
    expect(() => encodeSafetensors({ metadata: {}, tensors: [{ name: 'x', shape: [1], values }, { name: 'x', shape: [1], values }] })).toThrow('"x" is taken');
    expect(() => encodeSafetensors({ metadata: {}, tensors: [{ name: '__metadata__', shape: [1], values }] })).toThrow('is taken');
  });
});
