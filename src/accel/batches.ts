import * as tf from '@tensorflow/tfjs-core';
import { type BatchData, type BatchSource, batchSource, checkIndex, SCALED } from '../data/batches.ts';
import { setFaster } from '../core/op.ts';
import { LITTLE_ENDIAN } from '../core/tensors.ts';
import { hasFused, runKernelOutputs } from './kernels.ts';
import { registerTensorflowKernel, type TensorflowCall } from './tensorflow-ops.ts';
import { registerWgslKernel, type WgslKernel, wordsTensor } from './wgsl.ts';

/** WGSL function `name(index)`: byte `index` of the packed `words`, four to a word, the first in the low bits. */
const byteReader = (name: string, words: string): string => `fn ${name}(index: u32) -> u32 {
  return (${words}[index / 4u] >> ((index % 4u) * 8u)) & 255u;
}`;

/**
 * Mini-batches made by the backend (webgpu, tensorflow): the dataset's bytes go to the backend once, and each batch
 * is one kernel that reads the rows its indices name, scales each pixel byte to [0, 1] through gatherBatch's table
 * (so the values are the same, bit for bit) and writes the one-hot targets. Made in JavaScript, a batch of 100 images
 * is 78,400 conversions and 313 KB copied to the backend in a buffer made for it, which on webgpu took more of a
 * training step's CPU side than recording the whole step; here only the indices travel. On tensorflow the kernel's
 * operations join the training step's graph, and no batch's buffer is left for the garbage collector.
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
 * batchSource(data) made by the backend where it has the kernel (webgpu, tensorflow; fused kernels on) and a sample
 * has at least as many features as there are classes (on webgpu the kernel writes the targets from the first
 * invocations) and, on tensorflow, a multiple of 4 (its samples are rows of whole words), else null. The caller
 * disposes it.
 */
export function deviceBatches(data: BatchData): BatchSource | null {
  if (!hasFused(KERNEL) || !LITTLE_ENDIAN || data.count === 0 || data.classes > data.features) return null;
  const onTensorflow = tf.getBackend() === 'tensorflow';
  if (onTensorflow && data.features % 4 !== 0) return null;
  const { count, features, classes } = data;
  const pixels = packedBytes(data.pixels.subarray(0, count * features));
  const labels = packedBytes(data.labels.subarray(0, count));
  const scaled = tf.tensor1d(SCALED);
  return {
    batch(indices) {
      const rows = Int32Array.from(indices, (index) => checkIndex(index, count));
      const rowTensor = onTensorflow ? tf.tensor1d(rows, 'int32') : wordsTensor(rows);
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

/**
 * The batch kernel on tensorflow, in TensorFlow's operations: the rows of the pixels' words (a sample is
 * features / 4 of them), their bytes (Bitcast, in the machine's order: little-endian, as deviceBatches requires), each
 * byte as a float divided by 255, which is the table's value bit for bit (IEEE division of two exact floats; a test
 * checks all 256), in two passes where looking each one up took longer; the labels' bytes at the rows, one-hot.
 */
function tensorflowGather({ inputs, attrs, handle, temp, result, ints, scalar, typeOf, int }: TensorflowCall): tf.Tensor[] {
  const [pixels, labels, rows] = (['pixels', 'labels', 'rows'] as const).map((name) => handle(inputs[name] as tf.TensorInfo)) as [number, number, number];
  const size = (inputs.rows as tf.TensorInfo).shape[0] as number;
  const { features, classes } = attrs as { features: number; classes: number };
  const axis = ints([0], []);
  // GatherV2 of `params` (of `dtype`) at the int32 `indices`, along the first axis.
  const gather = (params: number, indices: number, dtype: 'int32' | 'uint8') =>
    temp('GatherV2', [params, indices, axis], [typeOf('Tparams', dtype), typeOf('Tindices', 'int32'), typeOf('Taxis', 'int32'), int('batch_dims', 0)]);
  const bytes = (words: number) => temp('Bitcast', [words], [typeOf('T', 'int32'), typeOf('type', 'uint8')]);
  const cast = (values: number, to: 'float32' | 'int32') => temp('Cast', [values], [typeOf('SrcT', 'uint8'), typeOf('DstT', to)]);
  const reshape = (values: number, shape: number[], dtype: 'int32' | 'uint8') => temp('Reshape', [values, ints(shape, [shape.length])], [typeOf('T', dtype), typeOf('Tshape', 'int32')]);
  // Pixels: the words as [count, features / 4], the rows' words, their bytes as [size, features], each over 255.
  const rowBytes = reshape(bytes(gather(reshape(pixels, [-1, features / 4], 'int32'), rows, 'int32')), [size, features], 'uint8');
  const x = result('RealDiv', [cast(rowBytes, 'float32'), scalar(255)]);
  // Labels: the words' bytes in a row, the rows' labels, one-hot.
  const picked = cast(gather(reshape(bytes(labels), [-1], 'uint8'), rows, 'uint8'), 'int32');
  const y = result('OneHot', [picked, ints([classes], []), scalar(1), scalar(0)], [typeOf('T', 'float32'), typeOf('TI', 'int32'), int('axis', -1)]);
  return [x, y];
}

/** Registers the batch kernel on webgpu and tensorflow, and the backend's version of batchSource. */
export function installBatchKernel(): void {
  registerTensorflowKernel(KERNEL, tensorflowGather);
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
