import { readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { digestOfBytes, digestOfFile, formatChecksum } from './checksum.ts';
import { defaultDataDir, ensureFile } from './download.ts';
import { idxBytesOf, parseIdx, readIdxBytes } from './idx.ts';
import { kitError } from '../core/errors.ts';
import {
  DATASET_SOURCES,
  parseDatasetName,
  type DatasetName,
  type DatasetSource,
  type SourceFile,
  type Split,
  sourcesFor,
} from './sources.ts';

const ROWS = 28;
const COLS = 28;
const CLASSES = 10;

/** One split of a dataset, as plain typed arrays; the training loop turns batches of it into tensors. */
export interface Dataset {
  name: DatasetName;
  split: Split;
  /** The folder its files were read from. */
  folder: string;
  count: number;
  rows: number;
  cols: number;
  /** rows × cols: the length of one flattened image. */
  features: number;
  /**
   * count × features pixel values 0..255, as in the files; batches scale them to [0, 1]. Kept as bytes: a Float32Array
   * of the 60000 training images would take 188 MB and most of the loading time.
   */
  pixels: Uint8Array;
  /** count class indices in 0..classes-1. */
  labels: Uint8Array;
  classes: number;
}

export interface LoadDatasetOptions {
  split: Split;
  /** Cache folder for downloads (--data-dir); each dataset gets a subfolder. Default: `defaultDataDir()`. */
  dataDir?: string;
  /** Keep only the first `limit` samples (all of them when the split has fewer). */
  limit?: number;
  log?: (message: string) => void;
  fetchTimeoutMs?: number;
  /** Where each dataset's files come from; tests give local mirrors and their own checksums. */
  sources?: Record<DatasetName, DatasetSource>;
}

/** The data set's files do not fit together or do not match what was recorded; the message names the file. */
export class DatasetError extends kitError('DatasetError', 'DATASET_INVALID') {}

/**
 * Loads one split of MNIST or Fashion-MNIST, from the dataset's local folder when it has one and it holds the
 * file, else from the download cache (downloading what is missing).
 */
export async function loadDataset(name: string, options: LoadDatasetOptions): Promise<Dataset> {
  const { split, limit, sources = DATASET_SOURCES } = options;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  const source = sources[parseDatasetName(name)];
  const files = source.files[split];
  const images = await readSourceFile(source, files.images, options);
  const labels = await readSourceFile(source, files.labels, options);

  const imageIdx = parseIdx(images.bytes, images.path);
  const [imageCount, rows, cols] = imageIdx.dims;
  if (imageIdx.dims.length !== 3 || rows !== ROWS || cols !== COLS || imageCount === undefined) {
    throw new DatasetError(
      `${images.path}: expected images of ${ROWS}×${COLS} pixels (dimensions N×${ROWS}×${COLS}), ` +
        `found dimensions ${imageIdx.dims.join('×')}`,
    );
  }
  const labelIdx = parseIdx(labels.bytes, labels.path);
  const [labelCount] = labelIdx.dims;
  if (labelIdx.dims.length !== 1 || labelCount === undefined) {
    throw new DatasetError(`${labels.path}: expected one dimension of labels, found ${labelIdx.dims.join('×')}`);
  }
  if (labelCount !== imageCount) {
    throw new DatasetError(
      `${images.path} has ${imageCount} images but ${labels.path} has ${labelCount} labels; they must agree`,
    );
  }

  const count = Math.min(imageCount, limit ?? imageCount);
  const features = ROWS * COLS;
  const labelValues = labelIdx.data.slice(0, count);
  const badLabel = labelValues.findIndex((label) => label >= CLASSES);
  if (badLabel >= 0) {
    throw new DatasetError(
      `${labels.path}: label ${labelValues[badLabel]} at index ${badLabel} is not a class in 0..${CLASSES - 1}`,
    );
  }

  return {
    name: source.name,
    split,
    folder: dirname(images.path),
    count,
    rows: ROWS,
    cols: COLS,
    features,
    pixels: imageIdx.data.subarray(0, count * features),
    labels: labelValues,
    classes: CLASSES,
  };
}

/**
 * The last `count` samples of `dataset` apart from the others, for a validation set taken out of the training set:
 * views of the same arrays, nothing copied. `count` must leave at least one sample in `kept`.
 */
export function holdOutLast(dataset: Dataset, count: number): { kept: Dataset; heldOut: Dataset } {
  if (!(Number.isInteger(count) && count > 0 && count < dataset.count)) {
    throw new RangeError(`count must be a whole number from 1 to ${dataset.count - 1}, got ${count}`);
  }
  const first = dataset.count - count;
  const part = (from: number, to: number): Dataset => ({
    ...dataset,
    count: to - from,
    pixels: dataset.pixels.subarray(from * dataset.features, to * dataset.features),
    labels: dataset.labels.subarray(from, to),
  });
  return { kept: part(0, first), heldOut: part(first, dataset.count) };
}

/** Files read ahead of loadDataset, by path, with the size and time of change they had when read. */
const readEarly = new Map<string, { size: number; changed: number; bytes: Promise<Uint8Array> }>();

/**
 * Reads the files of a dataset that are already on this machine (in its local folder or the download cache), both
 * splits, and starts decompressing them without waiting: loadDataset takes the bytes instead of reading the files
 * again. The experiments call it before loading the tensor backend, whose library keeps the main thread busy for
 * about a second while the images are decompressed on Node.js's thread pool. Nothing is downloaded or checked here;
 * a file that changes before loadDataset asks for it is read again, and a failure to read shows there. Bytes no
 * loadDataset asks for (an experiment with nothing left to run) stay until the process ends.
 */
export function readAhead(name: DatasetName, { dataDir, sources }: Pick<LoadDatasetOptions, 'dataDir' | 'sources'> = {}): void {
  const source = sourcesFor(dataDir, sources)[name];
  for (const { images, labels } of Object.values(source.files)) {
    for (const file of [images, labels]) {
      const inFolder = source.localDir === undefined ? [] : localCandidates(source.localDir, file.name);
      for (const path of [...inFolder, join(cacheDirOf(source, dataDir), file.name)]) {
        try {
          const stats = statSync(path, { throwIfNoEntry: false });
          if (!stats?.isFile()) continue;
          const bytes = idxBytesOf(readFileSync(path), path);
          // Awaited by loadDataset, which reports a failure.
          bytes.catch(() => {});
          readEarly.set(path, { size: stats.size, changed: stats.mtimeMs, bytes });
        } catch {
          // Read again by loadDataset, which says what is wrong.
        }
        break;
      }
    }
  }
}

/** The IDX bytes of `path`: those read ahead when the file is as it was then, else read now. */
function readIdx(path: string): Promise<Uint8Array> {
  const early = readEarly.get(path);
  readEarly.delete(path);
  const stats = early && statSync(path, { throwIfNoEntry: false });
  return early && stats?.size === early.size && stats.mtimeMs === early.changed ? early.bytes : readIdxBytes(path);
}

async function readSourceFile(
  source: DatasetSource,
  file: SourceFile,
  options: LoadDatasetOptions,
): Promise<{ path: string; bytes: Uint8Array }> {
  const local = source.localDir === undefined ? undefined : await findLocalCopy(source.localDir, file.name);
  if (local !== undefined) return { path: local, bytes: await readCheckedLocalCopy(local, file) };

  const path = await ensureFile({
    name: file.name,
    checksum: file.checksum,
    mirrors: source.mirrors,
    cacheDir: cacheDirOf(source, options.dataDir),
    expectedBytes: file.bytes,
    log: options.log,
    fetchTimeoutMs: options.fetchTimeoutMs,
  });
  return { path, bytes: await readIdx(path) };
}

/** A dataset's folder in the download cache: one per dataset under the data folder. */
const cacheDirOf = (source: DatasetSource, dataDir: string | undefined): string => join(dataDir ?? defaultDataDir(), source.name);

/** A local folder may hold the archive as published or already decompressed (without the .gz): the paths to look at, in order. */
const localCandidates = (dir: string, name: string): string[] => [name, name.replace(/\.gz$/, '')].map((candidate) => join(dir, candidate));

/** The first of localCandidates that is a file. */
async function findLocalCopy(dir: string, name: string): Promise<string | undefined> {
  for (const path of localCandidates(dir, name)) {
    const found = await stat(path).then(
      (stats) => stats.isFile(),
      () => false,
    );
    if (found) return path;
  }
  return undefined;
}

/** A local copy is accepted when it is the published archive or when its decompressed content is the recorded one. */
async function readCheckedLocalCopy(path: string, file: SourceFile): Promise<Uint8Array> {
  const bytes = await readIdx(path);
  const { contentChecksum, checksum } = file;
  if (contentChecksum && digestOfBytes(bytes, contentChecksum.algorithm) === contentChecksum.digest) return bytes;
  if ((await digestOfFile(path, checksum.algorithm)) === checksum.digest) return bytes;
  const recorded = [`archive ${formatChecksum(checksum)}`];
  if (contentChecksum) recorded.push(`content ${formatChecksum(contentChecksum)}`);
  throw new DatasetError(
    `${path} matches no recorded checksum (${recorded.join(', ')}); the local copy is damaged or another version`,
  );
}
