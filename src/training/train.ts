import * as tf from '@tensorflow/tfjs-core';
import { type BatchData, type BatchSource, batchIndices, batchSource } from '../data/batches.ts';
import type { FFNN } from '../nn/ffnn.ts';
import { compiled, settle, verdictsSettled } from '../op.ts';
import { type Optimizer, updateParameters } from '../optim/optimizer.ts';
import { RunningTotals, zeroTotals } from './metrics.ts';
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
  /** Stops training between two batches once aborted: train() rejects with the signal's reason. */
  signal?: AbortSignal;
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
  await settle(batchSource, data);
  const source = batchSource(data);
  try {
    if (data.count > 0) await rehearse(network, optimizer, source, options.batchSize);
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

/**
 * A step's work on one batch, undone, before the run's first step: the faster versions of what a step calls
 * (src/op.ts) are compared with their formulas first. On webgpu a comparison is read asynchronously,
 * and the formula runs until it is: without this, a run's first step would depend on whether the process had taken
 * one before, and a run taken up from a checkpoint would not compute what the run never stopped computes. The
 * network's random state is put back; the gradients left are replaced by the first step's.
 */
async function rehearse(network: FFNN, optimizer: Optimizer, source: BatchSource, batchSize: number): Promise<void> {
  const random = network.randomState();
  tf.tidy(() => {
    const { x, y } = source.batch([0]);
    const yPred = network.forward(x);
    const totals = new RunningTotals(batchSize, 'batchMean');
    totals.add(yPred, y);
    totals.dispose();
    network.backward(x, y, yPred);
  });
  network.restoreRandomState(random);
  await settle(updateParameters, optimizer, []);
}

/** Epoch `e` (0-based) of train(). */
async function trainEpoch(
  network: FFNN,
  data: TrainingData,
  source: BatchSource,
  optimizer: Optimizer,
  e: number,
  { epochs, batchSize, seed, progressStream, signal }: TrainOptions,
): Promise<EpochMetrics> {
  const started = performance.now();
  const batches = batchIndices(data.count, batchSize, seed, e);
  const bar = progressBar({ label: `Epoch ${e + 1}/${epochs}`, total: batches.length, unit: 'batches', stream: progressStream });
  const totals = new RunningTotals(batchSize, 'batchMean');
  let inFlight: Promise<void> | undefined;
  try {
    for (const [b, indices] of batches.entries()) {
      compiled('trainingStep', () => {
        const { x, y } = source.batch(indices);
        const yPred = network.forward(x);
        totals.add(yPred, y);
        network.backward(x, y, yPred);
        optimizer.step();
        tf.dispose([x, y, yPred]);
      });
      if ((b + 1) % QUEUE_BATCHES === 0) {
        const previous = inFlight;
        inFlight = totals.checkpoint();
        await previous;
      }
      bar.update(b + 1);
      await nextTurn();
      signal?.throwIfAborted();
    }
    await inFlight;
  } catch (error) {
    totals.dispose();
    throw error;
  } finally {
    // The bar's line is cleared, so that whatever is printed next starts clean.
    bar.end();
  }
  const total = await totals.read();
  return {
    epoch: e + 1,
    loss: total.loss / batches.length,
    acc: total.right / data.count,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * A turn of Node.js's event loop, taken after every batch (about 5 µs): on wasm and cpu every read resolves at once,
 * and without it timers and signal handlers (Ctrl+C, a `kill` of the process) would wait for the end.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Loss and accuracy of `network` on `data` without dropout, in batches of `batchSize`; `signal` stops it between batches. */
export async function evaluate(
  network: FFNN,
  data: TrainingData,
  { batchSize = 1000, signal }: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<EvaluationMetrics> {
  const started = performance.now();
  const rows = Math.min(batchSize, data.count);
  // As in train(): the faster versions compared with the formulas before the first batch, on one batch, undone.
  await settle(batchSource, data);
  await settle(zeroTotals, rows);
  const source = batchSource(data);
  // Losses summed per sample, so that a short last batch counts for what it holds.
  const totals = new RunningTotals(rows, 'sampleSum');
  try {
    if (data.count > 0) {
      tf.tidy(() => {
        const { x, y } = source.batch([0]);
        const rehearsal = new RunningTotals(rows, 'sampleSum');
        rehearsal.add(network.forward(x, { predict: true }), y);
        rehearsal.dispose();
      });
      await verdictsSettled();
    }
    for (let start = 0; start < data.count; start += batchSize) {
      const indices = Uint32Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i);
      const { x, y } = source.batch(indices);
      const yPred = network.forward(x, { predict: true });
      totals.add(yPred, y);
      tf.dispose([x, y, yPred]);
      await nextTurn();
      signal?.throwIfAborted();
    }
  } catch (error) {
    totals.dispose();
    throw error;
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
