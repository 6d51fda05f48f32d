import * as tf from '@tensorflow/tfjs-core';
import { type BatchData, type BatchSource, batchIndices, batchSource } from '../data/batches.ts';
import type { FFNN } from '../nn/ffnn.ts';
import { compiled, settle, verdictsSettled } from '../core/op.ts';
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
  /** The held-out set measured after the epoch (TrainOptions.heldOut), on the epochs it is due. */
  heldOut?: HeldOutMetrics;
}

/** Which data a held-out measurement is of: the test set, or images held out of the training set. */
export type HeldOutSet = 'test' | 'validation';

export interface HeldOutMetrics extends EvaluationMetrics {
  set: HeldOutSet;
}

/** Data measured as evaluate() measures it, after every `every` epochs and after the last. */
export interface HeldOut {
  set: HeldOutSet;
  data: TrainingData;
  /** Epochs between two measurements, at least 1. */
  every: number;
  /** Rows per batch of the pass (default EVALUATION_BATCH, as evaluate()). */
  batchSize?: number;
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
  /** Data measured after the epochs it is due, without dropout, its loss and accuracy in the epoch's metrics. */
  heldOut?: HeldOut;
}

/** Accuracy and loss in the notebook's words: `Acc: 97.68% | loss: 0.104`, the accuracy named `accName`. */
export function formatMetrics({ acc, loss }: { acc: number; loss: number }, accName = 'Acc'): string {
  return `${accName}: ${(acc * 100).toFixed(2)}% | loss: ${loss.toFixed(3)}`;
}

/**
 * One line per epoch, in the notebook's words, and the held-out set's where it was measured:
 * `Epoch: 3 | Acc: 84.10% | loss: 0.441 | Test acc: 83.20% | loss: 0.472`.
 */
export function formatEpoch(metrics: EpochMetrics): string {
  const line = `Epoch: ${metrics.epoch} | ${formatMetrics(metrics)}`;
  const { heldOut } = metrics;
  if (heldOut === undefined) return line;
  return `${line} | ${formatMetrics(heldOut, heldOut.set === 'test' ? 'Test acc' : 'Validation acc')}`;
}

/** Whether the held-out set is measured after `epoch` (1-based) of `epochs`: every `every`, and after the last. */
export function heldOutDue(epoch: number, epochs: number, every: number): boolean {
  return epoch % every === 0 || epoch === epochs;
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
  const { epochs, startEpoch = 0, onEpoch, log = console.log, heldOut } = options;
  if (!(Number.isInteger(epochs) && epochs > 0)) throw new Error(`epochs must be a positive integer, got ${epochs}.`);
  if (!(Number.isInteger(startEpoch) && startEpoch >= 0 && startEpoch <= epochs)) {
    throw new Error(`startEpoch must be a whole number from 0 to epochs (${epochs}), got ${startEpoch}.`);
  }
  if (heldOut !== undefined && !(Number.isInteger(heldOut.every) && heldOut.every > 0)) {
    throw new Error(`heldOut.every must be a positive integer, got ${heldOut.every}.`);
  }
  const history: EpochMetrics[] = [];
  if (startEpoch === epochs) return history;
  await settle(batchSource, data);
  const source = batchSource(data);
  let pass: EvaluationPass | undefined;
  try {
    if (data.count > 0) await rehearse(network, optimizer, source, options.batchSize);
    // Made once for the run: the held-out images stay where the batches are made from (a GPU's memory) between passes.
    if (heldOut !== undefined) pass = await EvaluationPass.prepare(network, heldOut.data, heldOut.batchSize);
    for (let e = startEpoch; e < epochs; e++) {
      const metrics = await trainEpoch(network, data, source, optimizer, e, options);
      if (pass !== undefined && heldOut !== undefined && heldOutDue(e + 1, epochs, heldOut.every)) {
        metrics.heldOut = { set: heldOut.set, ...(await pass.run(options.signal)) };
      }
      log(formatEpoch(metrics));
      await onEpoch?.(metrics);
      history.push(metrics);
    }
  } finally {
    pass?.dispose();
    source.dispose();
  }
  return history;
}

/**
 * A step's work on one batch, undone, before the run's first step: the faster versions of what a step calls
 * (src/core/op.ts) are compared with their formulas first. On webgpu a comparison is read asynchronously,
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

/**
 * Rows per batch of an evaluation: products of 5,000 rows run 10-15% faster than of 1,000 (tensorflow, wasm) and
 * hold a 10,000-image test set's largest activations in 20 MB.
 */
export const EVALUATION_BATCH = 5000;

/** Loss and accuracy of `network` on `data` without dropout, in batches of `batchSize`; `signal` stops it between batches. */
export async function evaluate(
  network: FFNN,
  data: TrainingData,
  { batchSize = EVALUATION_BATCH, signal }: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<EvaluationMetrics> {
  const started = performance.now();
  const pass = await EvaluationPass.prepare(network, data, batchSize);
  try {
    const metrics = await pass.run(signal);
    return { ...metrics, seconds: (performance.now() - started) / 1000 };
  } finally {
    pass.dispose();
  }
}

/**
 * evaluate()'s pass over one dataset, ready to run as often as the network changes (after each epoch): its batches'
 * source is made, and the faster versions compared with the formulas, once. Every batch's tensors are freed as it is
 * counted; the totals stay on the backend until the end of the pass.
 */
export class EvaluationPass {
  private constructor(
    private readonly network: FFNN,
    private readonly data: TrainingData,
    private readonly source: BatchSource,
    private readonly batchSize: number,
  ) {}

  static async prepare(network: FFNN, data: TrainingData, batchSize = EVALUATION_BATCH): Promise<EvaluationPass> {
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${batchSize}.`);
    const rows = Math.min(batchSize, data.count);
    // As in train(): the faster versions compared with the formulas before the first batch, on one batch, undone.
    await settle(batchSource, data);
    await settle(zeroTotals, rows);
    const source = batchSource(data);
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
    } catch (error) {
      source.dispose();
      throw error;
    }
    return new EvaluationPass(network, data, source, batchSize);
  }

  /** The network's loss and accuracy on the data as it stands now; `signal` stops it between batches. */
  async run(signal?: AbortSignal): Promise<EvaluationMetrics> {
    const { data, batchSize } = this;
    const started = performance.now();
    // Losses summed per sample, so that a short last batch counts for what it holds.
    const totals = new RunningTotals(Math.min(batchSize, data.count), 'sampleSum');
    try {
      for (let start = 0; start < data.count; start += batchSize) {
        const indices = Uint32Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i);
        const { x, y } = this.source.batch(indices);
        const yPred = this.network.forward(x, { predict: true });
        totals.add(yPred, y);
        tf.dispose([x, y, yPred]);
        await nextTurn();
        signal?.throwIfAborted();
      }
    } catch (error) {
      totals.dispose();
      throw error;
    }
    const total = await totals.read();
    return {
      loss: total.loss / data.count,
      acc: total.right / data.count,
      seconds: (performance.now() - started) / 1000,
    };
  }

  dispose(): void {
    this.source.dispose();
  }
}
