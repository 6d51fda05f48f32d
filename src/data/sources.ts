import { md5, sha256, type Checksum } from './checksum.ts';
import { kitError } from '../core/errors.ts';

export const DATASET_NAMES = ['mnist', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];
export type Split = 'train' | 'test';

export interface SourceFile {
  /** The name on every mirror and in the cache folder. */
  name: string;
  /** Size of the published file, for download progress when a mirror sends no length. */
  bytes: number;
  /** Checksum of the published file, as its publisher gives it. */
  checksum: Checksum;
  /**
   * Checksum of the decompressed IDX bytes, which a local copy may match instead: Debian re-compressed
   * Fashion-MNIST (the gzip headers differ), so its archives miss the published checksums while their contents match.
   */
  contentChecksum?: Checksum;
}

export interface DatasetSource {
  name: DatasetName;
  /** Base URLs (ending in '/'), tried in this order. */
  mirrors: string[];
  files: Record<Split, { images: SourceFile; labels: SourceFile }>;
  /** A system folder that may already hold the files, read in place of downloading them. */
  localDir?: string;
}

/**
 * MNIST as published by LeCun, Cortes and Burges. The MD5s are those torchvision checks. yann.lecun.com now often
 * answers 403, so the copies kept by PyTorch and TensorFlow come first.
 */
const MNIST: DatasetSource = {
  name: 'mnist',
  mirrors: [
    'https://ossci-datasets.s3.amazonaws.com/mnist/',
    'https://storage.googleapis.com/cvdf-datasets/mnist/',
    'http://yann.lecun.com/exdb/mnist/',
  ],
  files: {
    train: {
      images: {
        name: 'train-images-idx3-ubyte.gz',
        bytes: 9_912_422,
        checksum: md5('f68b3c2dcbeaaa9fbdd348bbdeb94873'),
      },
      labels: {
        name: 'train-labels-idx1-ubyte.gz',
        bytes: 28_881,
        checksum: md5('d53e105ee54ea40749a09fcbcd1e9432'),
      },
    },
    test: {
      images: {
        name: 't10k-images-idx3-ubyte.gz',
        bytes: 1_648_877,
        checksum: md5('9fb629c4189551a2d022fa330f9573f3'),
      },
      labels: {
        name: 't10k-labels-idx1-ubyte.gz',
        bytes: 4_542,
        checksum: md5('ec29112dd5afa0611ce80d1b7f02629c'),
      },
    },
  },
};

/**
 * Fashion-MNIST from Zalando Research. The archive MD5s are the ones its README publishes; the content SHA-256s
 * were computed from Debian's dataset-fashion-mnist, whose decompressed files match the published MD5s of the
 * decompressed upstream files.
 */
const FASHION_MNIST: DatasetSource = {
  name: 'fashion-mnist',
  mirrors: [
    'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
    'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
  ],
  files: {
    train: {
      images: {
        name: 'train-images-idx3-ubyte.gz',
        bytes: 26_421_880,
        checksum: md5('8d4fb7e6c68d591d4c3dfef9ec88bf0d'),
        contentChecksum: sha256('c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888'),
      },
      labels: {
        name: 'train-labels-idx1-ubyte.gz',
        bytes: 29_515,
        checksum: md5('25c81989df183df01b3e8a0aad5dffbe'),
        contentChecksum: sha256('bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9'),
      },
    },
    test: {
      images: {
        name: 't10k-images-idx3-ubyte.gz',
        bytes: 4_422_102,
        checksum: md5('bef4ecab320f06d8554ea6380940ec79'),
        contentChecksum: sha256('5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b'),
      },
      labels: {
        name: 't10k-labels-idx1-ubyte.gz',
        bytes: 5_148,
        checksum: md5('bb300cfdad3c16e7a12a480ee83cd310'),
        contentChecksum: sha256('0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34'),
      },
    },
  },
  localDir: '/usr/share/datasets/fashion-mnist',
};

export const DATASET_SOURCES: Record<DatasetName, DatasetSource> = {
  mnist: MNIST,
  'fashion-mnist': FASHION_MNIST,
};

/** Turns a user's `--dataset` value into a dataset name, or says which names there are. */
export function parseDatasetName(value: string): DatasetName {
  const name = DATASET_NAMES.find((candidate) => candidate === value);
  if (name === undefined) {
    throw new UnknownDatasetError(value);
  }
  return name;
}

export class UnknownDatasetError extends kitError('UnknownDatasetError', 'UNKNOWN_DATASET') {

  constructor(readonly value: string) {
    super(`Unknown dataset '${value}'; valid datasets are: ${DATASET_NAMES.join(', ')}.`);
  }
}

/**
 * The sources to read from given a data folder (--data-dir): a folder given explicitly wins over a dataset's local
 * folder (Debian's Fashion-MNIST), so the local folders are left out.
 */
export function sourcesFor(dataDir: string | undefined, given: Record<DatasetName, DatasetSource> = DATASET_SOURCES): Record<DatasetName, DatasetSource> {
  if (dataDir === undefined) return given;
  return Object.fromEntries(Object.entries(given).map(([name, { localDir, ...source }]) => [name, source])) as Record<DatasetName, DatasetSource>;
}
