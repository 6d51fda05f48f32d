import * as tf from '@tensorflow/tfjs-core';
import { op } from '../core/op.ts';
import { Random } from '../core/random.ts';
import { LITTLE_ENDIAN } from '../core/tensors.ts';
import type { Dataset } from './mnist.ts';

/** What gatherBatch reads of a dataset. */
export type BatchData = Pick<Dataset, 'count' | 'features' | 'classes' | 'pixels' | 'labels'>;

/**
 * Mini-batches of one dataset as tensors, made by gatherBatch (or on a GPU, src/accel/batches.ts), the same values
 * either way; `dispose()` frees what the source keeps.
 */
export interface BatchSource {
  batch(indices: ArrayLike<number>): { x: tf.Tensor2D; y: tf.Tensor2D };
  dispose(): void;
}

export interface Batch {
  /** size × features pixels, scaled to [0, 1]. */
  x: Float32Array;
  /** size × classes one-hot targets. */
  y: Float32Array;
  size: number;
}

/** Row i is all zeros but a 1 in column labels[i]. */
export function oneHot(labels: Uint8Array, classes: number): Float32Array {
  const encoded = new Float32Array(labels.length * classes);
  labels.forEach((label, i) => {
    if (label >= classes) throw new RangeError(`label ${label} at index ${i} is not a class in 0..${classes - 1}`);
    encoded[i * classes + label] = 1;
  });
  return encoded;
}

/** A permutation of 0..count-1 (Fisher–Yates), the same for the same seed. */
export function shuffledOrder(count: number, seed: number): Uint32Array {
  const random = new Random(seed);
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const swap = order[i] ?? 0;
    order[i] = order[j] ?? 0;
    order[j] = swap;
  }
  return order;
}

/**
 * The mini-batches of one epoch: a fresh shuffle per epoch, all drawn from the run's seed, so a run's batches are
 * reproducible while no two epochs share an order. The last batch is kept even when it is short.
 */
export function batchIndices(count: number, batchSize: number, seed: number, epoch: number): Uint32Array[] {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  }
  if (!(Number.isInteger(epoch) && epoch >= 0)) throw new RangeError(`epoch must be an integer ≥ 0, got ${epoch}`);
  const epochSeeds = new Random(seed);
  let epochSeed = 0;
  for (let e = 0; e <= epoch; e++) epochSeed = epochSeeds.nextSeed();
  const order = shuffledOrder(count, epochSeed);
  const batches: Uint32Array[] = [];
  for (let start = 0; start < count; start += batchSize) batches.push(order.subarray(start, start + batchSize));
  return batches;
}

/** byte/255 for every byte value, as float32. */
export const SCALED = Float32Array.from({ length: 256 }, (_, value) => value / 255);

/** `index` if it names a sample of a dataset of `count`, else a RangeError. */
export function checkIndex(index: number, count: number): number {
  if (!(Number.isInteger(index) && index >= 0 && index < count)) {
    throw new RangeError(`sample index ${index} is outside the dataset's 0..${count - 1}`);
  }
  return index;
}

/** Copies the samples at `indices` into one batch of inputs scaled to [0, 1] and one-hot targets. */
export function gatherBatch(dataset: BatchData, indices: ArrayLike<number>): Batch {
  const { count, features, classes, pixels, labels } = dataset;
  const size = indices.length;
  const x = new Float32Array(size * features);
  const batchLabels = new Uint8Array(size);
  const words = pixelWords(pixels, features);
  for (let row = 0; row < size; row++) {
    const index = checkIndex(indices[row] ?? -1, count);
    if (words) scaleWords(words, (index * features) / 4, x, row * features, features / 4);
    else scaleBytes(pixels, index * features, x, row * features, features);
    batchLabels[row] = labels[index] ?? 0;
  }
  return { x, y: oneHot(batchLabels, classes), size };
}

function scaleBytes(pixels: Uint8Array, from: number, x: Float32Array, to: number, length: number): void {
  for (let j = 0; j < length; j++) x[to + j] = SCALED[pixels[from + j] as number] as number;
}

/**
 * The pixels four to a word, where every sample starts on a word (as in MNIST's 784 bytes a sample, read into memory
 * aligned); else null. One read for four bytes makes the copy about twice as fast as byte by byte.
 */
function pixelWords(pixels: Uint8Array, features: number): Uint32Array | null {
  if (!LITTLE_ENDIAN || features % 4 !== 0 || pixels.byteOffset % 4 !== 0) return null;
  return new Uint32Array(pixels.buffer, pixels.byteOffset, Math.floor(pixels.length / 4));
}

/** scaleBytes for `length` words: on a little-endian machine, a word's first byte is its lowest. */
function scaleWords(words: Uint32Array, from: number, x: Float32Array, to: number, length: number): void {
  for (let j = 0; j < length; j++) {
    const four = words[from + j] as number;
    const at = to + 4 * j;
    x[at] = SCALED[four & 0xff] as number;
    x[at + 1] = SCALED[(four >>> 8) & 0xff] as number;
    x[at + 2] = SCALED[(four >>> 16) & 0xff] as number;
    x[at + 3] = SCALED[four >>> 24] as number;
  }
}

/** Batches of `data` as tensors, each made by gatherBatch. */
export const batchSource = op('batchSource', (data: BatchData): BatchSource => ({
  batch(indices) {
    const batch = gatherBatch(data, indices);
    return { x: tf.tensor2d(batch.x, [batch.size, data.features]), y: tf.tensor2d(batch.y, [batch.size, data.classes]) };
  },
  dispose() {},
}));
