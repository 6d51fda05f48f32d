import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useFusedKernels } from '../../src/core/op.ts';
import { storageBuffersPerShader } from '../../src/accel/wgsl.ts';
import { fusedUpdate, fusedUpdates, UPDATES } from '../../src/accel/optimizers.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';
import { normals, relativeError } from '../helpers/reference64.ts';
import { afterSteps, grads, OPTIMIZERS, SHAPES } from './optimizer-steps.ts';

// CI installs Mesa's software Vulkan driver, so this runs there too; CC6204_TEST_BACKENDS=webgpu runs it on a GPU.
describe.runIf(BACKENDS_UNDER_TEST.includes('webgpu'))('fused optimizer kernels on webgpu', () => {
  beforeAll(() => useBackend('webgpu'));
  afterEach(() => useFusedKernels(true));

  it('the device lets a shader bind as many storage buffers as the adapter allows, not WebGPU\'s default 8', async () => {
    const adapter = await (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu.requestAdapter();
    expect(storageBuffersPerShader()).toBe(adapter!.limits.maxStorageBuffersPerShaderStage);
  });

  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name}: one kernel per two parameters (one per parameter where the device allows fewer buffers), agreeing with the operation-by-operation result to float32 rounding`, async () => {
      const fused = await afterSteps(make, true);
      const unfused = await afterSteps(make, false);
      const kernel = fused.kernels[0]!.replace(/_pair$/, '');
      const update = UPDATES[kernel.replace('CC6204Fused_', '') as keyof typeof UPDATES];
      const pairs = storageBuffersPerShader() >= 2 * (update.inputs.length + update.outputs.length);
      expect(new Set(fused.kernels)).toEqual(new Set([pairs ? `${kernel}_pair` : kernel]));
      expect(fused.kernels.length).toBe(grads.length * (pairs ? Math.ceil(SHAPES.length / 2) : SHAPES.length));
      expect(unfused.kernels.length).toBeGreaterThan(fused.kernels.length);
      fused.values.forEach((values, i) => {
        expect(relativeError(values, unfused.values[i]!), `parameter ${i}`).toBeLessThan(1e-6);
      });
    });
  }

  it('a paired update gives each parameter, bit for bit, what its own kernel gives; an odd one out runs alone', async () => {
    const constants = { b1: 0.9, rest1: 0.1, b2: 0.999, rest2: 0.001, c1: 0.1, c2: 0.001, lr: 0.01, eps: 1e-8 };
    const data = normals(31);
    const tensorsOf = (shape: number[]) => [1, 0.5, 0.1, 0.2].map((scale) => tf.tensor(data.matrix(1, tf.util.sizeFromShape(shape), scale)[0]!, shape));
    const parameters = [[300, 7], [7], [5, 5]].map(tensorsOf);
    // s, the second moment, must not be negative.
    for (const tensors of parameters) tensors[3] = tf.abs(tensors[3]!);
    const profile = await tf.profile(() => fusedUpdates('adam', parameters, constants)!.flat());
    const together = fusedUpdates('adam', parameters, constants)!;
    tf.dispose(profile.result);
    if (storageBuffersPerShader() >= 14) expect(profile.kernels.map((k) => k.name)).toEqual(['CC6204Fused_adam_pair', 'CC6204Fused_adam']);
    for (const [k, tensors] of parameters.entries()) {
      const alone = fusedUpdate('adam', { p: tensors[0]!, g: tensors[1]!, m: tensors[2]!, s: tensors[3]! }, constants)!;
      expect(together[k]!.map((t) => t.shape)).toEqual(alone.map((t) => t.shape));
      for (const [j, t] of together[k]!.entries()) expect(Array.from(await t.data()), `parameter ${k}, output ${j}`).toEqual(Array.from(await alone[j]!.data()));
      tf.dispose(alone);
    }
    tf.dispose([...parameters.flat(), ...together.flat()]);
  });

  it('handle parameters of more elements than one row of workgroups holds', async () => {
    // 65535 workgroups of 256 hold 16776960 elements; this one needs a second row.
    const n = 65535 * 256 + 1000;
    const p = tf.fill([n], 1);
    const g = tf.fill([n], 2);
    const [out] = fusedUpdate('sgd', { p, g }, { keep: 0.5, lr: 0.25 })!;
    const got = await out!.data();
    expect([got[0], got[n - 1000], got[n - 1]]).toEqual([0, 0, 0]);
    expect(got.every((v) => v === 0)).toBe(true);
    tf.dispose([p, g, out!]);
  });
});
