import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useFusedKernels } from '../../src/kernels/fused.ts';
import { fusedUpdate } from '../../src/optim/fused.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';
import { relativeError } from '../helpers/reference64.ts';
import { afterSteps, grads, OPTIMIZERS, SHAPES } from './fused-helpers.ts';

// CI installs Mesa's software Vulkan driver, so this runs there too; CC6204_TEST_BACKENDS=webgpu runs it on a GPU.
describe.runIf(BACKENDS_UNDER_TEST.includes('webgpu'))('fused optimizer kernels on webgpu', () => {
  beforeAll(() => useBackend('webgpu'));
  afterEach(() => useFusedKernels(true));

  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name}: one kernel per parameter, agreeing with the operation-by-operation result to float32 rounding`, async () => {
      const fused = await afterSteps(make, true);
      const unfused = await afterSteps(make, false);
      expect(new Set(fused.kernels)).toEqual(new Set([expect.stringMatching(/^CC6204Fused_/)]));
      expect(fused.kernels.length).toBe(grads.length * SHAPES.length);
      expect(unfused.kernels.length).toBeGreaterThan(fused.kernels.length);
      fused.values.forEach((values, i) => {
        expect(relativeError(values, unfused.values[i]!), `parameter ${i}`).toBeLessThan(1e-6);
      });
    });
  }

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
