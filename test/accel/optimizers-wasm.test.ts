import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useFusedKernels } from '../../src/core/op.ts';
import { fusedUpdate } from '../../src/accel/optimizers.ts';
import { useBackend } from '../helpers/backends.ts';
import { bitsAfterSteps, OPTIMIZERS } from './optimizer-steps.ts';

describe('fused optimizer kernels on wasm', () => {
  beforeAll(() => useBackend('wasm'));
  afterEach(() => useFusedKernels(true));

  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name}: bit for bit the operation-by-operation result`, async () => {
      const fused = await bitsAfterSteps(make, true);
      const unfused = await bitsAfterSteps(make, false);
      expect(fused).toEqual(unfused);
    });
  }

  it('are really used on wasm, and not on cpu', async () => {
    const p = tf.ones([5]);
    const g = tf.ones([5]);
    const out = fusedUpdate('sgd', { p, g }, { keep: 0.5, lr: 0.25 });
    expect(out).not.toBeNull();
    expect(Array.from(await out![0]!.data())).toEqual([0.25, 0.25, 0.25, 0.25, 0.25]);
    await useBackend('cpu');
    expect(fusedUpdate('sgd', { p: tf.ones([5]), g: tf.ones([5]) }, { keep: 0.5, lr: 0.25 })).toBeNull();
    await useBackend('wasm');
  });
});
