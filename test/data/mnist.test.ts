import { spawnSync } from 'node:child_process';
import { existsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { digestOfBytes, md5, sha256 } from '../../src/data/checksum.ts';
import { DownloadError } from '../../src/data/download.ts';
import { encodeIdx, IdxFormatError } from '../../src/data/idx.ts';
import { gatherBatch } from '../../src/data/batches.ts';
import { DatasetError, holdOutLast, loadDataset, readAhead } from '../../src/data/mnist.ts';
import {
  DATASET_SOURCES,
  parseDatasetName,
  UnknownDatasetError,
  type DatasetName,
  type DatasetSource,
  type SourceFile,
} from '../../src/data/sources.ts';
import { deadMirrorUrl, folderAndMirrorsPerTest } from './helpers.ts';

const PIXELS = 28 * 28;

/** Image i has every pixel equal to 51·i (mod 256), so scaling is easy to check: 51/255 = 0.2. */
function imagesIdx(count: number, rows = 28, cols = 28): Uint8Array {
  const pixels = new Uint8Array(count * rows * cols);
  for (let i = 0; i < count; i++) pixels.fill((51 * i) % 256, i * rows * cols, (i + 1) * rows * cols);
  return encodeIdx([count, rows, cols], pixels);
}

function labelsIdx(labels: number[]): Uint8Array {
  return encodeIdx([labels.length], Uint8Array.from(labels));
}

const TRAIN_LABELS = [3, 1, 4, 1, 5, 9];
const TEST_LABELS = [2, 7];

/** The files of a tiny dataset, gzipped as the real ones are. */
function tinyFiles(trainImages = imagesIdx(6), trainLabels = labelsIdx(TRAIN_LABELS)): Record<string, Uint8Array> {
  return {
    'train-images-idx3-ubyte.gz': gzipSync(trainImages),
    'train-labels-idx1-ubyte.gz': gzipSync(trainLabels),
    't10k-images-idx3-ubyte.gz': gzipSync(imagesIdx(2)),
    't10k-labels-idx1-ubyte.gz': gzipSync(labelsIdx(TEST_LABELS)),
  };
}

function sourceFile(name: string, files: Record<string, Uint8Array>): SourceFile {
  const bytes = files[name] ?? new Uint8Array();
  return { name, bytes: bytes.length, checksum: md5(digestOfBytes(bytes, 'md5')) };
}

/** The real descriptors with their mirrors and checksums swapped for the tiny files'. */
function tinySources(files: Record<string, Uint8Array>, mirrors: string[], localDir?: string) {
  const source = (name: DatasetName): DatasetSource => ({
    name,
    mirrors,
    files: {
      train: {
        images: sourceFile('train-images-idx3-ubyte.gz', files),
        labels: sourceFile('train-labels-idx1-ubyte.gz', files),
      },
      test: {
        images: sourceFile('t10k-images-idx3-ubyte.gz', files),
        labels: sourceFile('t10k-labels-idx1-ubyte.gz', files),
      },
    },
    localDir,
  });
  return { mnist: source('mnist'), 'fashion-mnist': source('fashion-mnist') };
}

const temp = folderAndMirrorsPerTest();

describe('loadDataset from a mirror', () => {
  it('downloads the split into the dataset folder and gives shapes, scaled pixels and labels', async () => {
    const files = tinyFiles();
    const mirror = await temp.fileMirror(files);
    const train = await loadDataset('mnist', { split: 'train', dataDir: temp.dir, sources: tinySources(files, [mirror.url]) });

    expect(train).toMatchObject({ name: 'mnist', split: 'train', count: 6, rows: 28, cols: 28, features: 784 });
    expect(train.classes).toBe(10);
    expect(train.pixels).toBeInstanceOf(Uint8Array);
    expect(train.pixels.length).toBe(6 * PIXELS);
    expect(Array.from(train.labels)).toEqual(TRAIN_LABELS);
    const firstPixels = [0, 1, 2, 3, 4, 5].map((i) => train.pixels[i * PIXELS + 100]);
    expect(firstPixels).toEqual([0, 51, 102, 153, 204, 255]);
    const scaled = gatherBatch(train, [0, 1, 2, 3, 4, 5]).x;
    expect([0, 1, 2, 3, 4, 5].map((i) => scaled[i * PIXELS + 100])).toEqual([0, 51 / 255, 102 / 255, 153 / 255, 204 / 255, 1].map(Math.fround));
    expect(scaled.every((pixel) => pixel >= 0 && pixel <= 1)).toBe(true);
    expect((await readdir(join(temp.dir, 'mnist'))).sort()).toEqual([
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
    ]);
  });

  it('reads the test split from the t10k files', async () => {
    const files = tinyFiles();
    const mirror = await temp.fileMirror(files);
    const sources = tinySources(files, [mirror.url]);
    const test = await loadDataset('fashion-mnist', { split: 'test', dataDir: temp.dir, sources });
    expect(test).toMatchObject({ name: 'fashion-mnist', split: 'test', count: 2 });
    expect(Array.from(test.labels)).toEqual(TEST_LABELS);
    expect(mirror.requests.get('/train-images-idx3-ubyte.gz')).toBeUndefined();
  });

  it('uses the cache on the next load', async () => {
    const files = tinyFiles();
    const mirror = await temp.fileMirror(files);
    const sources = tinySources(files, [mirror.url]);
    await loadDataset('mnist', { split: 'test', dataDir: temp.dir, sources });
    await loadDataset('mnist', { split: 'test', dataDir: temp.dir, sources });
    expect(mirror.requests.get('/t10k-images-idx3-ubyte.gz')).toBe(1);
  });

  it('takes the first `limit` samples, or all when there are fewer', async () => {
    const files = tinyFiles();
    const mirror = await temp.fileMirror(files);
    const sources = tinySources(files, [mirror.url]);
    const few = await loadDataset('mnist', { split: 'train', dataDir: temp.dir, sources, limit: 4 });
    expect(few.count).toBe(4);
    expect(few.pixels.length).toBe(4 * PIXELS);
    expect(Array.from(few.labels)).toEqual(TRAIN_LABELS.slice(0, 4));
    expect((await loadDataset('mnist', { split: 'train', dataDir: temp.dir, sources, limit: 100 })).count).toBe(6);
    await expect(loadDataset('mnist', { split: 'train', dataDir: temp.dir, sources, limit: 0 })).rejects.toThrow(
      /limit must be a positive integer, got 0/,
    );
  });

  it('holds the last samples out, as views of the same arrays, and keeps the rest', async () => {
    const files = tinyFiles();
    const mirror = await temp.fileMirror(files);
    const loaded = await loadDataset('mnist', { split: 'train', dataDir: temp.dir, sources: tinySources(files, [mirror.url]), limit: 5 });
    const { kept, heldOut } = holdOutLast(loaded, 2);
    expect([kept.count, heldOut.count]).toEqual([3, 2]);
    expect(Array.from(kept.labels)).toEqual(TRAIN_LABELS.slice(0, 3));
    expect(Array.from(heldOut.labels)).toEqual(TRAIN_LABELS.slice(3, 5));
    // Image i is all 51·i: the held-out batch is images 3 and 4.
    expect(Array.from(gatherBatch(heldOut, [0, 1]).x.filter((_, j) => j % PIXELS === 0))).toEqual([(51 * 3) / 255, (51 * 4) / 255].map(Math.fround));
    expect(kept.pixels.buffer).toBe(loaded.pixels.buffer);
    expect(heldOut.pixels.buffer).toBe(loaded.pixels.buffer);
    for (const count of [0, 5, 1.5]) expect(() => holdOutLast(loaded, count)).toThrow(`count must be a whole number from 1 to 4, got ${count}`);
  });

  it('refuses image and label files that disagree on the count', async () => {
    const files = tinyFiles(imagesIdx(6), labelsIdx([1, 2, 3, 4]));
    const mirror = await temp.fileMirror(files);
    const loading = loadDataset('mnist', { split: 'train', dataDir: temp.dir, sources: tinySources(files, [mirror.url]) });
    await expect(loading).rejects.toBeInstanceOf(DatasetError);
    await expect(loading).rejects.toThrow(
      /train-images-idx3-ubyte\.gz has 6 images but .*train-labels-idx1-ubyte\.gz has 4 labels/,
    );
  });

  it('refuses images that are not 28×28', async () => {
    const files = tinyFiles(imagesIdx(6, 27, 28));
    const mirror = await temp.fileMirror(files);
    await expect(
      loadDataset('mnist', { split: 'train', dataDir: temp.dir, sources: tinySources(files, [mirror.url]) }),
    ).rejects.toThrow(/train-images-idx3-ubyte\.gz: expected images of 28×28 pixels .*found dimensions 6×27×28/);
  });

  it('refuses a label outside 0..9', async () => {
    const files = tinyFiles(imagesIdx(6), labelsIdx([1, 2, 3, 10, 4, 5]));
    const mirror = await temp.fileMirror(files);
    await expect(
      loadDataset('mnist', { split: 'train', dataDir: temp.dir, sources: tinySources(files, [mirror.url]) }),
    ).rejects.toThrow(/train-labels-idx1-ubyte\.gz: label 10 at index 3 is not a class in 0\.\.9/);
  });

  it('names the valid datasets when given an unknown one', async () => {
    await expect(loadDataset('cifar10', { split: 'train', dataDir: temp.dir })).rejects.toThrow(
      "Unknown dataset 'cifar10'; valid datasets are: mnist, fashion-mnist.",
    );
    expect(() => parseDatasetName('MNIST')).toThrow(UnknownDatasetError);
    expect(parseDatasetName('fashion-mnist')).toBe('fashion-mnist');
  });

  it('passes on a download failure as it is', async () => {
    const dead = await deadMirrorUrl();
    await expect(
      loadDataset('mnist', { split: 'test', dataDir: temp.dir, sources: tinySources(tinyFiles(), [dead]) }),
    ).rejects.toBeInstanceOf(DownloadError);
  });
});

/** A folder of this test's, `system`, holding `files`: a dataset's local folder. */
async function localDir(files: Record<string, Uint8Array>): Promise<string> {
  const dir = join(temp.dir, 'system');
  await mkdir(dir);
  await Promise.all(Object.entries(files).map(([name, bytes]) => writeFile(join(dir, name), bytes)));
  return dir;
}

describe('loadDataset from a local folder', () => {
  /** Sources whose files carry content checksums of the raw IDX bytes, as Fashion-MNIST's do. */
  function withContentChecksums(sources: Record<DatasetName, DatasetSource>, raw: Record<string, Uint8Array>) {
    const source = sources['fashion-mnist'];
    for (const split of ['train', 'test'] as const) {
      for (const file of Object.values(source.files[split])) {
        const content = raw[file.name] ?? new Uint8Array();
        file.contentChecksum = sha256(digestOfBytes(content, 'sha256'));
      }
    }
    return sources;
  }

  const raw = {
    'train-images-idx3-ubyte.gz': imagesIdx(6),
    'train-labels-idx1-ubyte.gz': labelsIdx(TRAIN_LABELS),
    't10k-images-idx3-ubyte.gz': imagesIdx(2),
    't10k-labels-idx1-ubyte.gz': labelsIdx(TEST_LABELS),
  };

  it('reads re-compressed archives checked by their content, without the network', async () => {
    const published = tinyFiles();
    const recompressed = Object.fromEntries(
      Object.entries(raw).map(([name, bytes]) => [name, gzipSync(bytes, { level: 1 })]),
    );
    const dir = await localDir(recompressed);
    const sources = withContentChecksums(tinySources(published, [await deadMirrorUrl()], dir), raw);
    const test = await loadDataset('fashion-mnist', { split: 'test', dataDir: temp.dir, sources });
    expect(Array.from(test.labels)).toEqual(TEST_LABELS);
    expect(existsSync(join(temp.dir, 'fashion-mnist'))).toBe(false);
  });

  it('reads files that are not gzipped', async () => {
    const dir = await localDir({
      'train-images-idx3-ubyte': imagesIdx(6),
      'train-labels-idx1-ubyte': labelsIdx(TRAIN_LABELS),
    });
    const sources = withContentChecksums(tinySources(tinyFiles(), [await deadMirrorUrl()], dir), raw);
    const train = await loadDataset('fashion-mnist', { split: 'train', dataDir: temp.dir, sources });
    expect(train.count).toBe(6);
    expect(train.pixels[5 * PIXELS]).toBe(255);
  });

  it('accepts the published archives as they are', async () => {
    const published = tinyFiles();
    const dir = await localDir(published);
    const train = await loadDataset('fashion-mnist', {
      split: 'train',
      dataDir: temp.dir,
      sources: tinySources(published, [await deadMirrorUrl()], dir),
    });
    expect(Array.from(train.labels)).toEqual(TRAIN_LABELS);
  });

  it('refuses a local file that matches no recorded checksum', async () => {
    const dir = await localDir({ ...tinyFiles(), 't10k-labels-idx1-ubyte.gz': gzipSync(labelsIdx([2, 8])) });
    const sources = withContentChecksums(tinySources(tinyFiles(), [await deadMirrorUrl()], dir), raw);
    const loading = loadDataset('fashion-mnist', { split: 'test', dataDir: temp.dir, sources });
    await expect(loading).rejects.toBeInstanceOf(DatasetError);
    await expect(loading).rejects.toThrow(
      new RegExp(`t10k-labels-idx1-ubyte\\.gz matches no recorded checksum \\(archive md5 .*, content sha256 `),
    );
  });

  it('names a corrupt local file', async () => {
    const packed = gzipSync(imagesIdx(2));
    const dir = await localDir({ 't10k-images-idx3-ubyte.gz': packed.subarray(0, packed.length / 2) });
    const loading = loadDataset('fashion-mnist', {
      split: 'test',
      dataDir: temp.dir,
      sources: tinySources(tinyFiles(), [await deadMirrorUrl()], dir),
    });
    await expect(loading).rejects.toBeInstanceOf(IdxFormatError);
    await expect(loading).rejects.toThrow(`${join(dir, 't10k-images-idx3-ubyte.gz')}: corrupt gzip data`);
  });

  it('downloads the files the folder lacks', async () => {
    const files = tinyFiles();
    const dir = await localDir({ 't10k-images-idx3-ubyte.gz': files['t10k-images-idx3-ubyte.gz'] ?? new Uint8Array() });
    const mirror = await temp.fileMirror(files);
    const sources = tinySources(files, [mirror.url], dir);
    const test = await loadDataset('fashion-mnist', { split: 'test', dataDir: temp.dir, sources });
    expect(test.count).toBe(2);
    expect([...mirror.requests.keys()]).toEqual(['/t10k-labels-idx1-ubyte.gz']);
  });
});

describe("Debian's dataset-fashion-mnist", () => {
  const dir = DATASET_SOURCES['fashion-mnist'].localDir ?? '';

  it.runIf(existsSync(dir))('loads the 10000 test images, 1000 per class, checked by their checksums', async () => {
    const test = await loadDataset('fashion-mnist', { split: 'test', dataDir: temp.dir });
    expect(test.count).toBe(10_000);
    expect(test.pixels.length).toBe(10_000 * PIXELS);
    const perClass = new Array<number>(10).fill(0);
    for (const label of test.labels) perClass[label] = (perClass[label] ?? 0) + 1;
    expect(perClass).toEqual(new Array(10).fill(1000));
    expect(existsSync(join(temp.dir, 'fashion-mnist'))).toBe(false);
  });

  it.runIf(existsSync(dir))('loads without the HTTP client, which only a download needs', () => {
    const mnist = new URL('../../src/data/mnist.ts', import.meta.url).href;
    const script = [
      `const { loadDataset } = await import(${JSON.stringify(mnist)});`,
      `const test = await loadDataset('fashion-mnist', { split: 'test', dataDir: ${JSON.stringify(temp.dir)} });`,
      "const { createRequire } = await import('node:module');",
      "const loaded = Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/node_modules/undici/'));",
      'console.log(JSON.stringify({ count: test.count, loaded }));',
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ count: 10_000, loaded: false });
  });

  it.runIf(existsSync(dir))('matches the recorded checksums of the training files', async () => {
    const train = await loadDataset('fashion-mnist', { split: 'train', dataDir: temp.dir, limit: 10 });
    expect(train.count).toBe(10);
    expect(existsSync(join(temp.dir, 'fashion-mnist'))).toBe(false);
  });
});

describe('readAhead', () => {
  /** A time of change that survives a round trip through utimes exactly (whole seconds). */
  const ROUND_TIME = 1_700_000_000;

  /** Rewrites a file with other bytes of the same length and the same time of change: to loadDataset it looks the same. */
  function swapUnseen(path: string, bytes: Uint8Array): void {
    expect(statSync(path).mtimeMs).toBe(ROUND_TIME * 1000);
    writeFileSync(path, bytes);
    utimesSync(path, ROUND_TIME, ROUND_TIME);
  }

  it('gives loadDataset the bytes it read', async () => {
    // Not gzipped, so that other labels take the same bytes; checked by their content, as Fashion-MNIST's local
    // copies are, so that nothing reads the file again.
    const dir = await localDir({ 't10k-images-idx3-ubyte': imagesIdx(2), 't10k-labels-idx1-ubyte': labelsIdx(TEST_LABELS) });
    utimesSync(join(dir, 't10k-labels-idx1-ubyte'), ROUND_TIME, ROUND_TIME);
    const sources = tinySources(tinyFiles(), [await deadMirrorUrl()], dir);
    for (const file of Object.values(sources['fashion-mnist'].files.test)) file.contentChecksum = sha256(digestOfBytes(file.name.includes('labels') ? labelsIdx(TEST_LABELS) : imagesIdx(2), 'sha256'));
    readAhead('fashion-mnist', { sources });
    swapUnseen(join(dir, 't10k-labels-idx1-ubyte'), labelsIdx([7, 2]));
    const test = await loadDataset('fashion-mnist', { split: 'test', dataDir: temp.dir, sources });
    expect(Array.from(test.labels)).toEqual(TEST_LABELS);
  });

  it('leaves a file that changed afterwards to be read again', async () => {
    const files = tinyFiles();
    const dir = await localDir(files);
    const sources = tinySources({ ...files, 't10k-labels-idx1-ubyte.gz': gzipSync(labelsIdx([7, 2, 2])) }, [await deadMirrorUrl()], dir);
    readAhead('fashion-mnist', { sources });
    await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labelsIdx([7, 2, 2])));
    await writeFile(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(imagesIdx(3)));
    const test = await loadDataset('fashion-mnist', { split: 'test', dataDir: temp.dir, sources: tinySources(
      { ...files, 't10k-labels-idx1-ubyte.gz': gzipSync(labelsIdx([7, 2, 2])), 't10k-images-idx3-ubyte.gz': gzipSync(imagesIdx(3)) },
      [await deadMirrorUrl()],
      dir,
    ) });
    expect(Array.from(test.labels)).toEqual([7, 2, 2]);
  });

  it('says nothing of a corrupt file itself: loadDataset names it', async () => {
    const packed = gzipSync(imagesIdx(2));
    const dir = await localDir({ ...tinyFiles(), 't10k-images-idx3-ubyte.gz': packed.subarray(0, packed.length / 2) });
    const sources = tinySources(tinyFiles(), [await deadMirrorUrl()], dir);
    readAhead('fashion-mnist', { sources });
    const loading = loadDataset('fashion-mnist', { split: 'test', dataDir: temp.dir, sources });
    await expect(loading).rejects.toThrow(`${join(dir, 't10k-images-idx3-ubyte.gz')}: corrupt gzip data`);
  });

  it('reads nothing from the local folder when a data folder is given, as loadDataset does not', async () => {
    const files = tinyFiles();
    const dir = await localDir(files);
    utimesSync(join(dir, 't10k-labels-idx1-ubyte.gz'), ROUND_TIME, ROUND_TIME);
    const sources = tinySources(files, [(await temp.fileMirror(files)).url], dir);
    readAhead('mnist', { dataDir: temp.dir, sources });
    // Were the local labels read ahead, loadDataset (which takes the cache here) would not be asked for them.
    swapUnseen(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labelsIdx([7, 2])));
    const test = await loadDataset('mnist', { split: 'test', dataDir: temp.dir, sources: { ...sources, mnist: { ...sources.mnist, localDir: undefined } } });
    expect(Array.from(test.labels)).toEqual(TEST_LABELS);
  });
});
