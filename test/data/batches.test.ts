import { describe, expect, it } from 'vitest';
import { batchIndices, gatherBatch, oneHot, shuffledOrder } from '../../src/data/batches.ts';

function sorted(values: ArrayLike<number>): number[] {
  return Array.from(values).sort((a, b) => a - b);
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

describe('oneHot', () => {
  it('puts a single 1 in each row, at the label', () => {
    expect(Array.from(oneHot(Uint8Array.of(2, 0, 1), 3))).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
  });

  it('refuses a label that is not a class', () => {
    expect(() => oneHot(Uint8Array.of(1, 3), 3)).toThrow('label 3 at index 1 is not a class in 0..2');
  });
});

describe('shuffledOrder', () => {
  it('is a permutation of 0..count-1', () => {
    const order = shuffledOrder(1000, 7);
    expect(order).toBeInstanceOf(Uint32Array);
    expect(sorted(order)).toEqual(range(1000));
    expect(Array.from(order)).not.toEqual(range(1000));
  });

  it('is the same for the same seed and differs for another', () => {
    expect(Array.from(shuffledOrder(100, 42))).toEqual(Array.from(shuffledOrder(100, 42)));
    expect(Array.from(shuffledOrder(100, 42))).not.toEqual(Array.from(shuffledOrder(100, 43)));
  });

  it('handles empty and single-element sets', () => {
    expect(Array.from(shuffledOrder(0, 1))).toEqual([]);
    expect(Array.from(shuffledOrder(1, 1))).toEqual([0]);
  });
});

describe('batchIndices', () => {
  it('covers every sample once per epoch and keeps the last short batch', () => {
    const batches = batchIndices(10, 4, 5, 0);
    expect(batches.map((batch) => batch.length)).toEqual([4, 4, 2]);
    expect(sorted(batches.flatMap((batch) => Array.from(batch)))).toEqual(range(10));
  });

  it('gives the same batches for the same seed and epoch', () => {
    const first = batchIndices(50, 8, 123, 3).map((batch) => Array.from(batch));
    const again = batchIndices(50, 8, 123, 3).map((batch) => Array.from(batch));
    expect(again).toEqual(first);
  });

  it('shuffles each epoch differently, and differently for another seed', () => {
    const order = (seed: number, epoch: number) => batchIndices(50, 50, seed, epoch)[0]?.join(',');
    expect(order(123, 1)).not.toBe(order(123, 0));
    expect(order(123, 2)).not.toBe(order(123, 1));
    expect(order(124, 0)).not.toBe(order(123, 0));
  });

  it('refuses a batch size or epoch that is not a whole number in range', () => {
    expect(() => batchIndices(10, 0, 1, 0)).toThrow('batch size must be a positive integer, got 0');
    expect(() => batchIndices(10, 2.5, 1, 0)).toThrow('batch size must be a positive integer, got 2.5');
    expect(() => batchIndices(10, 2, 1, -1)).toThrow('epoch must be an integer ≥ 0, got -1');
  });
});

describe('gatherBatch', () => {
  // Three samples of two pixels each; sample i's are 51·2i and 51·(2i + 1), that is 2i/5 and (2i + 1)/5 once scaled.
  const dataset = {
    count: 3,
    features: 2,
    classes: 4,
    pixels: Uint8Array.of(0, 51, 102, 153, 204, 255),
    labels: Uint8Array.of(3, 0, 2),
  };

  it('copies the chosen samples in order, scaled to [0, 1], with one-hot targets', () => {
    const batch = gatherBatch(dataset, Uint32Array.of(2, 0));
    expect(batch.size).toBe(2);
    expect(Array.from(batch.x)).toEqual([204 / 255, 1, 0, 51 / 255].map(Math.fround));
    expect(Array.from(batch.y)).toEqual([0, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('scales every byte value alike, whether the samples start on a 4-byte word or not', () => {
    // 32 samples of 8 pixels: every byte value once, in a scrambled order.
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => (i * 167 + 13) % 256);
    const labels = Uint8Array.from({ length: 32 }, (_, i) => i % 10);
    const indices = Uint32Array.from({ length: 32 }, (_, i) => (i * 7 + 3) % 32);
    const expected = Array.from(indices).flatMap((index) => Array.from(bytes.subarray(index * 8, index * 8 + 8), (b) => Math.fround(b / 255)));
    // On a word (the file's bytes after its 16-byte header, say) and off one.
    const [onWord, offWord] = [4, 1].map((offset) => new Uint8Array(256 + offset).subarray(offset));
    onWord!.set(bytes);
    offWord!.set(bytes);
    for (const pixels of [bytes, onWord!, offWord!]) {
      const batch = gatherBatch({ count: 32, features: 8, classes: 10, pixels, labels }, indices);
      expect(Array.from(batch.x)).toEqual(expected);
    }
  });

  it('refuses an index outside the dataset', () => {
    expect(() => gatherBatch(dataset, [0, 3])).toThrow("sample index 3 is outside the dataset's 0..2");
  });
});
