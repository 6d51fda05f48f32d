import * as tf from '@tensorflow/tfjs-core';
import { type BatchData, type BatchSource, batchIndices, gatherBatch } from '../data/batches.ts';
import { deviceBatches } from '../data/fused-batches.ts';
import type { FFNN } from '../nn/ffnn.ts';
import { crossEntropy } from '../nn/loss.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { hasFusedMetrics, fusedMetrics } from './fused-metrics.ts';
import { progressBar } from './progress.ts';

export type TrainingData = BatchData;

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
  /** Epochs already done, to go on from a checkpoint (default 0): training starts at epoch `startEpoch + 1`. */
  startEpoch?: number;
  /** Called the moment an epoch ends, e.g. to save its numbers; training waits for what it returns. */
  onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
  /** Prints a line; default console.log. */
  log?: (line: string) => void;
  /** Where the progress bar goes (only drawn on a terminal); default stderr. */
  progressStream?: NodeJS.WriteStream;
}

/** Accuracy and loss in the notebook's words: `Acc: 97.68% | loss: 0.104`. */
export function formatMetrics({ acc, loss }: { acc: number; loss: number }): string {
  return `Acc: ${(acc * 100).toFixed(2)}% | loss: ${loss.toFixed(3)}`;
}

/** One line per epoch, in the notebook's words. */
export function formatEpoch(metrics: EpochMetrics): string {
  return `Epoch: ${metrics.epoch} | ${formatMetrics(metrics)}`;
}

export function formatTest(metrics: EvaluationMetrics): string {
  return `Test Results: ${formatMetrics(metrics)}`;
}

/** Batches of `data`: made on the GPU where the backend can (fused-batches.ts), else by gatherBatch. */
export function batchSource(data: TrainingData): BatchSource {
  return (
    deviceBatches(data) ?? {
      batch(indices) {
        const batch = gatherBatch(data, indices);
        return { x: tf.tensor2d(batch.x, [batch.size, data.features]), y: tf.tensor2d(batch.y, [batch.size, data.classes]) };
      },
      dispose() {},
    }
  );
}

/**
 * A running loss and count of right predictions, kept on the backend so that the loop never waits on a read. Each
 * batch adds its mean loss (`batchMean`, as the notebook reports training) or its summed loss (`sampleSum`, for a
 * per-sample mean over batches of any size). One total each, or on webgpu one per row of the batch (rank 1), updated
 * by one kernel (fused-metrics.ts) and summed when read.
 */
export class RunningTotals {
  private loss: tf.Tensor;
  private right: tf.Tensor;

  /** `rows`: the largest batch that will be added. */
  constructor(
    rows: number,
    private readonly mode: 'batchMean' | 'sampleSum',
  ) {
    const shape = hasFusedMetrics() ? [rows] : [];
    this.loss = tf.zeros(shape);
    this.right = tf.zeros(shape);
  }

  add(yPred: tf.Tensor2D, y: tf.Tensor2D): void {
    const batch = yPred.shape[0];
    const perRow = this.loss.rank === 1;
    const scale = this.mode === 'batchMean' ? 1 / batch : 1;
    const fused = perRow ? fusedMetrics(yPred, y, this.loss as tf.Tensor1D, this.right as tf.Tensor1D, scale) : null;
    const [loss, right]: tf.Tensor[] =
      fused ??
      tf.tidy(() => {
        const mean = crossEntropy(yPred, y);
        const correct = tf.sum(tf.cast(tf.equal(tf.argMax(yPred, 1), tf.argMax(y, 1)), 'float32'));
        // Per-row totals that the fused kernel can no longer add to (turned off meanwhile) become one total each.
        const [lossSoFar, rightSoFar] = perRow ? [tf.sum(this.loss), tf.sum(this.right)] : [this.loss, this.right];
        return [tf.add(lossSoFar, this.mode === 'batchMean' ? mean : tf.mul(mean, batch)), tf.add(rightSoFar, correct)];
      });
    tf.dispose([this.loss, this.right]);
    this.loss = loss as tf.Tensor;
    this.right = right as tf.Tensor;
  }

  /**
   * Starts reading the loss so far, to be awaited later. The read is queued now, behind only the work queued so far,
   * so by the time it is awaited the backend is usually past it. (A clone shares the total's memory, which lives
   * until both are freed.)
   */
  checkpoint(): Promise<void> {
    const snapshot = this.loss.clone();
    const read = snapshot.data().then(
      () => snapshot.dispose(),
      (error: unknown) => {
        snapshot.dispose();
        throw error;
      },
    );
    // Awaited later, which rethrows; this only keeps a failure before then from counting as unhandled.
    read.catch(() => {});
    return read;
  }

  /** Waits for the backend, then frees the totals. */
  async read(): Promise<{ loss: number; right: number }> {
    const loss = tf.sum(this.loss);
    const right = tf.sum(this.right);
    const [lossValue, rightValue] = await Promise.all([loss.data(), right.data()]);
    tf.dispose([loss, right, this.loss, this.right]);
    return { loss: lossValue[0] as number, right: rightValue[0] as number };
  }
}

/**
 * How many batches the loop may run ahead of the backend. On a GPU the loop only queues work; every this many
 * batches it queues a read of the running loss and waits for the read it queued this many batches before, which the
 * GPU has usually done by then: the queue stays short and the progress bar tells the truth, and the GPU is never left
 * idle waiting for the loop to queue more, as it would be if each read were queued just before it is awaited.
 */
const QUEUE_BATCHES = 16;

/**
 * Trains `network` with `optimizer` on shuffled mini-batches: forward, loss, backward, step. Reports each epoch's
 * mean batch loss and training accuracy, as the homework's notebook does, and returns those of the epochs it ran.
 *
 * Asynchronous because the webgpu backend cannot read a tensor synchronously in Node.js (`dataSync()` throws there).
 */
export async function train(network: FFNN, data: TrainingData, optimizer: Optimizer, options: TrainOptions): Promise<EpochMetrics[]> {
  const { epochs, startEpoch = 0, onEpoch, log = console.log } = options;
  if (!(Number.isInteger(epochs) && epochs > 0)) throw new Error(`epochs must be a positive integer, got ${epochs}.`);
  if (!(Number.isInteger(startEpoch) && startEpoch >= 0 && startEpoch <= epochs)) {
    throw new Error(`startEpoch must be a whole number from 0 to epochs (${epochs}), got ${startEpoch}.`);
  }
  const history: EpochMetrics[] = [];
  if (startEpoch === epochs) return history;
  const source = batchSource(data);
  try {
    for (let e = startEpoch; e < epochs; e++) {
      const metrics = await trainEpoch(network, data, source, optimizer, e, options);
      log(formatEpoch(metrics));
      await onEpoch?.(metrics);
      history.push(metrics);
    }
  } finally {
    source.dispose();
  }
  return history;
}

/** Epoch `e` (0-based) of train(). */
async function trainEpoch(
  network: FFNN,
  data: TrainingData,
  source: BatchSource,
  optimizer: Optimizer,
  e: number,
  { epochs, batchSize, seed, progressStream }: TrainOptions,
): Promise<EpochMetrics> {
  const started = performance.now();
  const batches = batchIndices(data.count, batchSize, seed, e);
  const bar = progressBar({ label: `Epoch ${e + 1}/${epochs}`, total: batches.length, unit: 'batches', stream: progressStream });
  const totals = new RunningTotals(batchSize, 'batchMean');
  let inFlight: Promise<void> | undefined;
  for (const [b, indices] of batches.entries()) {
    const { x, y } = source.batch(indices);
    const yPred = network.forward(x);
    totals.add(yPred, y);
    network.backward(x, y, yPred);
    optimizer.step();
    tf.dispose([x, y, yPred]);
    if ((b + 1) % QUEUE_BATCHES === 0) {
      const previous = inFlight;
      inFlight = totals.checkpoint();
      await previous;
    }
    bar.update(b + 1);
    await nextTurn();
  }
  await inFlight;
  const total = await totals.read();
  bar.end();
  return {
    epoch: e + 1,
    loss: total.loss / batches.length,
    acc: total.right / data.count,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * A turn of Node.js's event loop, taken after every batch (about 5 µs): on wasm and cpu every read resolves at once,
 * and without it timers and signal handlers (a `kill` of the process, tsx's relay of Ctrl+C) would wait for the end.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Loss and accuracy of `network` on `data` without dropout, in batches of `batchSize`. */
export async function evaluate(
  network: FFNN,
  data: TrainingData,
  { batchSize = 1000 }: { batchSize?: number } = {},
): Promise<EvaluationMetrics> {
  const started = performance.now();
  // Losses summed per sample, so that a short last batch counts for what it holds.
  const totals = new RunningTotals(Math.min(batchSize, data.count), 'sampleSum');
  const source = batchSource(data);
  try {
    for (let start = 0; start < data.count; start += batchSize) {
      const indices = Uint32Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i);
      const { x, y } = source.batch(indices);
      const yPred = network.forward(x, { predict: true });
      totals.add(yPred, y);
      tf.dispose([x, y, yPred]);
      await nextTurn();
    }
  } finally {
    source.dispose();
  }
  const total = await totals.read();
  return {
    loss: total.loss / data.count,
    acc: total.right / data.count,
    seconds: (performance.now() - started) / 1000,
  };
}
