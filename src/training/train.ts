import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/mnist.ts';
import { batchIndices, gatherBatch } from '../data/batches.ts';
import type { FFNN } from '../nn/ffnn.ts';
import { crossEntropy } from '../nn/loss.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { progressBar } from './progress.ts';

export type TrainingData = Pick<Dataset, 'count' | 'features' | 'classes' | 'pixels' | 'labels'>;

export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  /** Mean of the epoch's batch losses. */
  loss: number;
  /** Share of the epoch's training samples classified right, in [0, 1]. */
  acc: number;
  seconds: number;
}

export interface EvaluationMetrics {
  /** Mean cross-entropy per sample. */
  loss: number;
  acc: number;
  seconds: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Seed of the batch order. */
  seed: number;
  /** Called the moment an epoch ends, e.g. to save its numbers. */
  onEpoch?: (metrics: EpochMetrics) => void;
  /** Prints a line; default console.log. */
  log?: (line: string) => void;
  /** Where the progress bar goes (only drawn on a terminal); default stderr. */
  progressStream?: NodeJS.WriteStream;
}

/** One line per epoch, in the notebook's words. */
export function formatEpoch({ epoch, acc, loss }: EpochMetrics): string {
  return `Epoch: ${epoch} | Acc: ${(acc * 100).toFixed(2)}% | loss: ${loss.toFixed(3)}`;
}

export function formatTest({ acc, loss }: EvaluationMetrics): string {
  return `Test Results: Acc: ${(acc * 100).toFixed(2)}% | loss: ${loss.toFixed(3)}`;
}

function batchTensors(data: TrainingData, indices: ArrayLike<number>): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const batch = gatherBatch(data, indices);
  return {
    x: tf.tensor2d(batch.x, [batch.size, data.features]),
    y: tf.tensor2d(batch.y, [batch.size, data.classes]),
  };
}

/** Batch loss and the number of right predictions, as tensors, so the loop never waits on a read. */
function lossAndCorrect(yPred: tf.Tensor2D, y: tf.Tensor2D): [tf.Scalar, tf.Scalar] {
  return tf.tidy(() => [crossEntropy(yPred, y), tf.sum(tf.cast(tf.equal(tf.argMax(yPred, 1), tf.argMax(y, 1)), 'float32'))]);
}

/** Adds `value` into a running total kept on the backend, freeing the previous total. */
function accumulate(total: tf.Scalar, value: tf.Scalar): tf.Scalar {
  const next = tf.add(total, value) as tf.Scalar;
  total.dispose();
  value.dispose();
  return next;
}

/**
 * How many batches the loop may run ahead of the backend. On a GPU the loop only queues work; every this many
 * batches it waits for the running totals of the same many batches before, which are done by then, so the queue
 * stays short and the progress bar tells the truth without ever emptying the queue.
 */
const QUEUE_BATCHES = 16;

/**
 * Trains `network` with `optimizer` on shuffled mini-batches: forward, loss, backward, step. Reports each epoch's
 * mean batch loss and training accuracy, as the homework's notebook does.
 *
 * Asynchronous because the webgpu backend cannot read a tensor synchronously in Node.js (`dataSync()` throws there).
 */
export async function train(network: FFNN, data: TrainingData, optimizer: Optimizer, options: TrainOptions): Promise<EpochMetrics[]> {
  const { epochs, batchSize, seed, onEpoch, log = console.log, progressStream } = options;
  if (!(Number.isInteger(epochs) && epochs > 0)) throw new Error(`epochs must be a positive integer, got ${epochs}.`);
  const history: EpochMetrics[] = [];
  for (let e = 0; e < epochs; e++) {
    const started = performance.now();
    const batches = batchIndices(data.count, batchSize, seed, e);
    const bar = progressBar({ label: `Epoch ${e + 1}/${epochs}`, total: batches.length, unit: 'batches', stream: progressStream });
    let lossSum: tf.Scalar = tf.scalar(0);
    let correct: tf.Scalar = tf.scalar(0);
    let inFlight: tf.Scalar | undefined;
    for (const [b, indices] of batches.entries()) {
      const { x, y } = batchTensors(data, indices);
      const yPred = network.forward(x);
      const [loss, right] = lossAndCorrect(yPred, y);
      lossSum = accumulate(lossSum, loss);
      correct = accumulate(correct, right);
      network.backward(x, y, yPred);
      optimizer.step();
      tf.dispose([x, y, yPred]);
      if ((b + 1) % QUEUE_BATCHES === 0) {
        // clone() shares the total's memory, which stays alive until the clone is disposed too.
        const previous = inFlight;
        inFlight = lossSum.clone();
        if (previous) {
          await previous.data();
          previous.dispose();
        }
      }
      bar.update(b + 1);
    }
    inFlight?.dispose();
    const [lossTotal, correctTotal] = await Promise.all([lossSum.data(), correct.data()]);
    bar.end();
    const metrics: EpochMetrics = {
      epoch: e + 1,
      loss: (lossTotal[0] as number) / batches.length,
      acc: (correctTotal[0] as number) / data.count,
      seconds: (performance.now() - started) / 1000,
    };
    tf.dispose([lossSum, correct]);
    log(formatEpoch(metrics));
    onEpoch?.(metrics);
    history.push(metrics);
  }
  return history;
}

/** Loss and accuracy of `network` on `data` without dropout, in batches of `batchSize`. */
export async function evaluate(
  network: FFNN,
  data: TrainingData,
  { batchSize = 1000 }: { batchSize?: number } = {},
): Promise<EvaluationMetrics> {
  const started = performance.now();
  let lossSum: tf.Scalar = tf.scalar(0);
  let correct: tf.Scalar = tf.scalar(0);
  for (let start = 0; start < data.count; start += batchSize) {
    const indices = Uint32Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i);
    const { x, y } = batchTensors(data, indices);
    const yPred = network.forward(x, { predict: true });
    const [loss, right] = lossAndCorrect(yPred, y);
    // Weighted by batch size so that a short last batch counts for what it holds.
    lossSum = accumulate(lossSum, tf.tidy(() => tf.mul(loss, indices.length)) as tf.Scalar);
    loss.dispose();
    correct = accumulate(correct, right);
    tf.dispose([x, y, yPred]);
  }
  const [lossTotal, correctTotal] = await Promise.all([lossSum.data(), correct.data()]);
  const metrics = {
    loss: (lossTotal[0] as number) / data.count,
    acc: (correctTotal[0] as number) / data.count,
    seconds: (performance.now() - started) / 1000,
  };
  tf.dispose([lossSum, correct]);
  return metrics;
}
