import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedSoftmaxCrossEntropyGrad } from '../../src/accel/activations.ts';
import { fusedUpdate } from '../../src/accel/optimizers.ts';
import { storedAsFloat32, wordsTensor } from '../../src/accel/wgsl.ts';
import { softmaxCrossEntropyGrad } from '../../src/nn/loss.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';

// CI installs Mesa's software Vulkan driver, so this runs there too; CC6204_TEST_BACKENDS=webgpu runs it on a GPU.
describe.runIf(BACKENDS_UNDER_TEST.includes('webgpu'))('the kit’s WGSL kernels under tfjs’s timers', () => {
  beforeAll(() => useBackend('webgpu'));

  const sgd = (p: tf.Tensor, g: tf.Tensor) => fusedUpdate('sgd', { p, g }, { keep: 0.5, lr: 0.25 })![0]!;

  it('tf.time counts them, under their kernel names, beside tfjs’s own kernels', async () => {
    const p = tf.fill([1000], 1);
    const g = tf.fill([1000], 2);
    let out: tf.Tensor | undefined;
    const timing = await tf.time(() => {
      out = tf.add(sgd(p, g), 1);
    });
    const info = (timing as { getExtraProfileInfo?: () => string }).getExtraProfileInfo?.() ?? '';
    // tfjs names its kernels by their program class, which a bundler may suffix (BinaryOpProgram2).
    expect(info).toMatch(/^CC6204Fused_sgd: [\d.]+, BinaryOpProgram\d*: [\d.]+$/);
    const supported = (tf.backend() as unknown as { supportTimestampQuery: boolean }).supportTimestampQuery;
    if (supported) expect(timing.kernelMs).toBeGreaterThan(0);
    expect(new Set(await values(out!))).toEqual(new Set([1]));
    tf.dispose([p, g, out!]);
  });

  it('a float32 tensor cast from int32 keeps its int32 words here: the kit\'s kernels decline it, and the result is right', async () => {
    const labels = [0, 2, 1, 1, 0, 2, 2, 1];
    const cast = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), 'float32') as tf.Tensor2D;
    const written = tf.tensor2d(labels.map((label) => [0, 1, 2].map((c) => (c === label ? 1 : 0))));
    const q = tf.softmax(tf.randomNormal([8, 3], 0, 1, 'float32', 1)) as tf.Tensor2D;
    expect([storedAsFloat32(cast), storedAsFloat32(written)]).toEqual([false, true]);
    expect(fusedSoftmaxCrossEntropyGrad(q, cast)).toBeNull();
    expect(fusedSoftmaxCrossEntropyGrad(q, written)).not.toBeNull();
    expect(await values(softmaxCrossEntropyGrad(q, cast))).toEqual(await values(softmaxCrossEntropyGrad.reference(q, written)));
  });

  it('timestamps are not rounded to Dawn\'s default 65.536 µs, which would read small kernels as 0', async () => {
    const supported = (tf.backend() as unknown as { supportTimestampQuery: boolean }).supportTimestampQuery;
    if (!supported) return;
    const a = tf.fill([100], 1);
    const profile = await tf.profile(() => {
      const made: tf.Tensor[] = [];
      for (let i = 0; i < 10; i++) made.push(tf.add(a, i));
      return made;
    });
    const multiples = profile.kernels.map((k) => (k.kernelTimeMs as number) / 0.065536);
    expect(multiples.some((m) => Math.abs(m - Math.round(m)) > 1e-6), multiples.join(', ')).toBe(true);
    a.dispose();
  });

  it('tf.profile gives each one its GPU time, and work recorded after timing is submitted as usual', async () => {
    const p = tf.fill([1000], 1);
    const g = tf.fill([1000], 2);
    const profile = await tf.profile(() => sgd(p, g));
    expect(profile.kernels.map((k) => k.name)).toEqual(['CC6204Fused_sgd']);
    expect(typeof profile.kernels[0]!.kernelTimeMs).toBe('number');
    // Untimed again: a chain of them reads back right.
    let q = p;
    for (let i = 0; i < 40; i++) {
      const next = sgd(q, g);
      if (q !== p) q.dispose();
      q = next;
    }
    // p_(i+1) = p_i/2 − 1/2 from 1 goes to −1.
    const last = await values(q);
    expect(last.every((v) => Math.abs(v + 1) < 1e-6)).toBe(true);
    tf.dispose([p, g, q]);
  });
});

describe.runIf(BACKENDS_UNDER_TEST.includes('webgpu'))('work the GPU rejects', () => {
  beforeAll(() => useBackend('webgpu'));

  it('makes the next read reject with the GPU’s report, once; reads after it work again', async () => {
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    const a = tf.fill([4], 3);
    // A binding that its layout does not have: WebGPU reports it as an event and drops the work.
    const buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    // Dawn prints its report of this on stderr, under this label.
    const label = 'invalid on purpose by test/accel/wgsl.test.ts';
    device.createBindGroup({ label, layout: device.createBindGroupLayout({ entries: [] }), entries: [{ binding: 0, resource: { buffer } }] });
    await expect(a.data()).rejects.toThrow(/^The GPU rejected work queued before this read, so its results are not valid \(GPUValidationError: /);
    expect(await values(a)).toEqual([3, 3, 3, 3]);
    buffer.destroy();
    a.dispose();
  });
});

describe.runIf(BACKENDS_UNDER_TEST.includes('webgpu'))('bind groups on the kit’s devices', () => {
  beforeAll(() => useBackend('webgpu'));

  it('the same layout and buffers at the same offsets and sizes give the same bind group; anything else a new one', () => {
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    const layout = device.createBindGroupLayout({
      entries: [0, 1].map((binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' as const } })),
    });
    const [a, b, c] = [0, 1, 2].map(() => device.createBuffer({ size: 1024, usage: GPUBufferUsage.STORAGE }));
    const group = (first: GPUBuffer, second: GPUBufferBinding, label?: string) =>
      device.createBindGroup({ label, layout, entries: [{ binding: 0, resource: { buffer: first } }, { binding: 1, resource: second }] });
    const made = group(a!, { buffer: b! });
    expect(group(a!, { buffer: b! })).toBe(made);
    expect(group(b!, { buffer: a! })).not.toBe(made);
    expect(group(a!, { buffer: c! })).not.toBe(made);
    expect(group(a!, { buffer: b!, offset: 256 })).not.toBe(made);
    expect(group(a!, { buffer: b!, size: 256 })).not.toBe(made);
    expect(group(a!, { buffer: b! }, 'labelled')).not.toBe(group(a!, { buffer: b! }, 'labelled'));
    [a, b, c].forEach((buffer) => buffer!.destroy());
  });

  it('a pipeline gives the same bind group layout each time it is asked (tfjs asks on every kernel)', () => {
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    const code = '@group(0) @binding(0) var<storage, read_write> o: array<f32>; @compute @workgroup_size(1) fn main() { o[0] = 1.0; }';
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
    expect(pipeline.getBindGroupLayout(0)).toBe(pipeline.getBindGroupLayout(0));
  });
});

describe.runIf(BACKENDS_UNDER_TEST.includes('webgpu'))('wordsTensor', () => {
  beforeAll(() => useBackend('webgpu'));

  it('holds the words given, also when its pooled buffer held others before and a kernel read it in between', async () => {
    const first = wordsTensor(Int32Array.from([5, -1, 2 ** 20, 7]));
    const doubled = tf.mul(first, 2);
    first.dispose();
    // The same size again: tfjs's pool may hand back the buffer just freed, which the product above still reads.
    const second = wordsTensor(Int32Array.from([1, 2, 3, 4]));
    expect(await values(doubled)).toEqual([10, -2, 2 ** 21, 14]);
    expect(await values(second)).toEqual([1, 2, 3, 4]);
    expect(second.dtype).toBe('int32');
    tf.dispose([doubled, second]);
  });
});
