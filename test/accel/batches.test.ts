import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchSource, gatherBatch, SCALED } from '../../src/data/batches.ts';
import { deviceBatches } from '../../src/accel/batches.ts';
import { useFusedKernels } from '../../src/core/op.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';

/** A dataset of `count` samples of `features` bytes, every byte value present, labels in 0..classes-1. */
function dataset(count: number, features: number, classes: number) {
  const pixels = Uint8Array.from({ length: count * features }, (_, i) => (i * 97 + (i >> 8)) & 255);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 7) % classes);
  return { count, features, classes, pixels, labels };
}

/**
 * The backends with the batch kernel, and the datasets each is held to gatherBatch on: on webgpu feature sizes that
 * are not multiples of 4, so samples straddle the packed words; on tensorflow samples of whole words (it takes no
 * others), every byte value present in the first. `features` is the aux tests' sample size.
 */
const KERNEL_BACKENDS = [
  { backend: 'webgpu', shapes: [[101, 7, 3], [60, 784, 10], [13, 10, 10]], features: 7 },
  { backend: 'tensorflow', shapes: [[60, 784, 10], [101, 12, 3], [9, 4, 4]], features: 8 },
] as const;

// CI installs Mesa's software Vulkan driver, so webgpu runs there too; CC6204_TEST_BACKENDS=webgpu runs it on a GPU.
describe.each(KERNEL_BACKENDS.filter(({ backend }) => BACKENDS_UNDER_TEST.includes(backend)))('batches made by $backend', ({ backend, shapes, features }) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => useFusedKernels(true));

  for (const [count, sampleFeatures, classes] of shapes) {
    it(`${count} samples of ${sampleFeatures} features: one kernel, the values of gatherBatch bit for bit`, async () => {
      const data = dataset(count, sampleFeatures, classes);
      const source = deviceBatches(data)!;
      expect(source).not.toBeNull();
      const indices = Uint32Array.from({ length: Math.min(count, 37) }, (_, i) => (i * 31 + 5) % count);
      indices[0] = count - 1;
      let batch: { x: tf.Tensor2D; y: tf.Tensor2D } | undefined;
      const profile = await tf.profile(() => {
        batch = source.batch(indices);
        return [batch.x, batch.y];
      });
      expect(profile.kernels.map((k) => k.name)).toEqual(['CC6204GatherBatch']);
      const expected = gatherBatch(data, indices);
      expect(batch!.x.shape).toEqual([indices.length, sampleFeatures]);
      expect(batch!.y.shape).toEqual([indices.length, classes]);
      expect(new Uint32Array(Float32Array.from(await values(batch!.x)).buffer)).toEqual(new Uint32Array(expected.x.buffer));
      expect(await values(batch!.y)).toEqual(Array.from(expected.y));
      tf.dispose([batch!.x, batch!.y]);
      source.dispose();
    });
  }

  it('refuses an index outside the dataset as gatherBatch does, and frees what it holds', () => {
    const before = tf.memory().numTensors;
    const source = deviceBatches(dataset(10, features, 3))!;
    expect(() => source.batch([0, 10])).toThrow(RangeError);
    expect(() => source.batch([0, 10])).toThrow("sample index 10 is outside the dataset's 0..9");
    expect(() => source.batch([1.5])).toThrow(RangeError);
    for (let k = 0; k < 5; k++) tf.dispose(Object.values(source.batch([2, 3, 4])));
    source.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the training loop takes them, and gatherBatch when the fused kernels are off', async () => {
    const data = dataset(20, features, 3);
    useFusedKernels(false);
    expect(deviceBatches(data)).toBeNull();
    const host = batchSource(data);
    const fromHost = host.batch([3, 4]);
    useFusedKernels(true);
    const device = batchSource(data);
    const fromDevice = device.batch([3, 4]);
    expect(await values(fromDevice.x)).toEqual(await values(fromHost.x));
    expect(await values(fromDevice.y)).toEqual(await values(fromHost.y));
    tf.dispose([fromHost.x, fromHost.y, fromDevice.x, fromDevice.y]);
    host.dispose();
    device.dispose();
  });
});

describe.runIf(BACKENDS_UNDER_TEST.includes('tensorflow'))('batches made by TensorFlow', () => {
  beforeAll(() => useBackend('tensorflow'));

  it("every byte over 255 is the table's value, bit for bit", async () => {
    // One sample holding each byte value once.
    const data = { count: 1, features: 256, classes: 2, pixels: Uint8Array.from({ length: 256 }, (_, i) => i), labels: Uint8Array.of(1) };
    const source = deviceBatches(data)!;
    const { x, y } = source.batch([0]);
    expect(new Uint32Array(Float32Array.from(await values(x)).buffer)).toEqual(new Uint32Array(SCALED.buffer));
    tf.dispose([x, y]);
    source.dispose();
  });

  it('takes samples of whole words only: gatherBatch makes the others', () => {
    expect(deviceBatches(dataset(10, 7, 3))).toBeNull();
  });
});

describe.each(BACKENDS_UNDER_TEST.filter((name) => !KERNEL_BACKENDS.some(({ backend }) => backend === name)))('batches on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('are made by gatherBatch: no batch kernel here', () => {
    expect(deviceBatches(dataset(10, 8, 3))).toBeNull();
  });
});
