import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../../src/nn/loss.ts';
import { useFusedKernels } from '../../src/core/op.ts';
import { fusedAddToTotals } from '../../src/accel/metrics.ts';
import { RunningTotals, type Totals } from '../../src/training/metrics.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { normals, softmaxRows } from '../helpers/reference64.ts';

/** A batch of softmax outputs and one-hot targets; `ties` rows have two equal largest probabilities. */
function batch(rows: number, seed: number, ties = 0): { q: number[][]; y: number[][] } {
  const q = softmaxRows(normals(seed).matrix(rows, 10, 2));
  for (let i = 0; i < ties; i++) q[i]![7] = Math.max(...q[i]!);
  q[rows - 1]![2] = 0; // a zero probability, clamped before the log
  const y = q.map((_, i) => Array.from({ length: 10 }, (_, j) => (j === (i * 7 + seed) % 10 ? 1 : 0)));
  return { q, y };
}

for (const backend of ['webgpu', 'tensorflow'] as const) describe.runIf(BACKENDS_UNDER_TEST.includes(backend))(`fused training metrics on ${backend}`, () => {
  beforeAll(() => useBackend(backend));

  it('keep per-row totals whose sums are the running mean loss and count of right answers, short batch included', async () => {
    const rows = 32;
    let loss = tf.zeros([rows]) as tf.Tensor1D;
    let right = tf.zeros([rows]) as tf.Tensor1D;
    let expectedLoss = 0;
    let expectedRight = 0;
    for (const [seed, size] of [[1, 32], [2, 32], [3, 13]] as const) {
      const { q, y } = batch(size, seed, 3);
      const probs = tf.tensor2d(q);
      const targets = tf.tensor2d(y);
      expectedLoss += (await values(crossEntropy(probs, targets)))[0]!;
      expectedRight += (await values(tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(targets, 1)), 'float32'))))[0]!;
      let next: Totals | null = null;
      const profile = await tf.profile(() => {
        next = fusedAddToTotals({ loss, right }, probs, targets, 'batchMean');
        return next ? [next.loss, next.right] : undefined;
      });
      expect(profile.kernels.map((k) => k.name)).toEqual(['CC6204TrainingMetrics']);
      tf.dispose([loss, right, probs, targets]);
      ({ loss, right } = next! as { loss: tf.Tensor1D; right: tf.Tensor1D });
    }
    const [gotLoss] = await values(tf.sum(loss));
    const [gotRight] = await values(tf.sum(right));
    expect(gotLoss).toBeCloseTo(expectedLoss, 5);
    expect(gotRight).toBe(expectedRight);
    tf.dispose([loss, right]);
  });

  it('counts a row right only when the first largest probability is in the target column, as tf.argMax', async () => {
    // Row 0: tie between columns 1 and 4, target 1 (right); row 1: the same tie, target 4 (wrong).
    const q = [[0.1, 0.35, 0.1, 0.1, 0.35], [0.1, 0.35, 0.1, 0.1, 0.35]];
    const y = [[0, 1, 0, 0, 0], [0, 0, 0, 0, 1]];
    const { loss, right } = fusedAddToTotals({ loss: tf.zeros([2]), right: tf.zeros([2]) }, tf.tensor2d(q), tf.tensor2d(y), 'sampleSum')!;
    expect(await values(right)).toEqual([1, 0]);
    for (const rowLoss of await values(loss)) expect(rowLoss).toBeCloseTo(-Math.log(0.35), 6);
  });

  it('running totals stay right when the fused kernels are turned off in the middle of an epoch', async () => {
    const totals = new RunningTotals(32, 'batchMean');
    let expectedLoss = 0;
    let expectedRight = 0;
    for (const [seed, size] of [[5, 32], [6, 32], [7, 20]] as const) {
      if (seed === 7) useFusedKernels(false);
      const { q, y } = batch(size, seed);
      const probs = tf.tensor2d(q);
      const targets = tf.tensor2d(y);
      expectedLoss += (await values(crossEntropy(probs, targets)))[0]!;
      expectedRight += (await values(tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(targets, 1)), 'float32'))))[0]!;
      totals.add(probs, targets);
      tf.dispose([probs, targets]);
    }
    useFusedKernels(true);
    const { loss, right } = await totals.read();
    expect(loss).toBeCloseTo(expectedLoss, 5);
    expect(right).toBe(expectedRight);
  });

  it('leave the work to tfjs operations for a batch larger than the totals', () => {
    const { q, y } = batch(8, 4);
    expect(fusedAddToTotals({ loss: tf.zeros([4]), right: tf.zeros([4]) }, tf.tensor2d(q), tf.tensor2d(y), 'sampleSum')).toBeNull();
  });
});
