import * as tf from '@tensorflow/tfjs-core';
import { type BatchData, type BatchSource, batchSource, checkIndex, SCALED } from '../data/batches.ts';
import { setFaster } from '../core/op.ts';
import { LITTLE_ENDIAN } from '../core/tensors.ts';
import { hasFused, runKernelOutputs } from './kernels.ts';
import { registerWgslKernel, type WgslKernel, wordsTensor } from './wgsl.ts';

/** WGSL function `name(index)`: byte `index` of the packed `words`, four to a word, the first in the low bits. */
const byteReader = (name: string, words: string): string => `fn ${name}(index: u32) -> u32 {
  return (${words}[index / 4u] >> ((index % 4u) * 8u)) & 255u;
}`;

/**
 * Mini-batches made on the GPU (webgpu): the dataset's bytes go to the GPU once, and each batch is one kernel that
 * reads the rows its indices name, scales each pixel byte to [0, 1] through gatherBatch's table (so the values are
 * the same, bit for bit) and writes the one-hot targets. Made in JavaScript, a batch of 100 images is 78,400
 * conversions and 313 KB sent to the GPU through a staging buffer made for it, which took more of a training step's
 * CPU side than recording the whole step; here only the indices travel.
 */
const GATHER: WgslKernel = {
  inputs: ['pixels', 'labels', 'rows', 'scaled'],
  wordInputs: ['pixels', 'labels', 'rows'],
  outputs: ['x', 'y'],
  constants: ['features', 'classes', 'targets'],
  helpers: [byteReader('pixel', 'pixels'), byteReader('label', 'labels')].join('\n'),
  // Invocation i writes x[i], and y[i] while i is within the targets (fewer: classes < features).
  body: `let features = u32(c.features);
    let classes = u32(c.classes);
    x[i] = scaled[pixel(rows[i / features] * features + i % features)];
    if (i < u32(c.targets)) {
      y[i] = select(0.0, 1.0, label(rows[i / classes]) == i % classes);
    }`,
};

const KERNEL = 'CC6204GatherBatch';

/** Bytes as an int32 tensor of their words, four to a word (zeros pad the last). */
function packedBytes(bytes: Uint8Array): tf.Tensor1D {
  const words = new Int32Array(Math.ceil(bytes.length / 4));
  new Uint8Array(words.buffer).set(bytes);
  return tf.tensor1d(words, 'int32');
}

/**
 * batchSource(data) made on the GPU where the backend has the kernel (webgpu, fused kernels on) and a sample has at
 * least as many features as there are classes (the kernel writes the targets from the first invocations), else
 * null. The caller disposes it.
 */
export function deviceBatches(data: BatchData): BatchSource | null {
  if (!hasFused(KERNEL) || !LITTLE_ENDIAN || data.count === 0 || data.classes > data.features) return null;
  const { count, features, classes } = data;
  const pixels = packedBytes(data.pixels.subarray(0, count * features));
  const labels = packedBytes(data.labels.subarray(0, count));
  const scaled = tf.tensor1d(SCALED);
  return {
    batch(indices) {
      const rows = Int32Array.from(indices, (index) => checkIndex(index, count));
      const rowTensor = wordsTensor(rows);
      const attrs = { features, classes, targets: rows.length * classes };
      const [x, y] = runKernelOutputs(KERNEL, { pixels, labels, rows: rowTensor, scaled }, attrs) as tf.Tensor2D[];
      rowTensor.dispose();
      return { x: x as tf.Tensor2D, y: y as tf.Tensor2D };
    },
    dispose() {
      tf.dispose([pixels, labels, scaled]);
    },
  };
}

/** Registers the batch kernel on webgpu, and the GPU's version of batchSource. */
export function installBatchKernel(): void {
  registerWgslKernel(KERNEL, GATHER, ({ rows }, { features, classes }) => {
    const size = (rows as tf.TensorInfo).shape[0] as number;
    return { outputs: [[size, features as number], [size, classes as number]], invocations: size * (features as number) };
  });
  setFaster(batchSource, deviceBatches, {
    settings: () => [],
    probe: (run) => {
      const [count, features, classes] = [6, 8, 4];
      const pixels = Uint8Array.from({ length: count * features }, (_, i) => (i * 37) % 256);
      const labels = Uint8Array.from({ length: count }, (_, i) => (i * 3) % classes);
      const source = run({ count, features, classes, pixels, labels });
      if (!source) return null;
      try {
        const { x, y } = source.batch([3, 0, 5, 3]);
        return [x, y];
      } finally {
        source.dispose();
      }
    },
    names: () => ({ formula: 'batchSource', faster: 'the batch kernel' }),
  });
}
