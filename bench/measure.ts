// The measurement behind `npm run bench` (bench.ts), also run on a GPU node by bench/device/run.ts: training
// steps of the homework's 2e network, timed after a warm-up, and one real epoch when Fashion-MNIST is at hand.
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendInfo, selectBackend } from '../src/backends/select.ts';
import { loadDataset } from '../src/data/mnist.ts';
import { DATASET_SOURCES } from '../src/data/sources.ts';
import { ACTIVATIONS, EXPERIMENT_2E, HIDDEN_SIZES, selectRuns } from '../src/experiments/definitions.ts';
import { FFNN } from '../src/nn/ffnn.ts';
import { Adam } from '../src/optim/adam.ts';
import { useUpdateOperations } from '../src/accel/tensorflow-ops.ts';
import { compiled, setCompiler, useFusedKernels } from '../src/core/op.ts';
import { type EpochMetrics, type EvaluationMetrics, evaluate, train } from '../src/training/train.ts';

/** The homework's batch size, the default. */
export const BATCH = 100;
const STEPS_PER_EPOCH = 600;
/** Timed steps per read of the result. */
export const BLOCK = 10;

export interface Result {
  backend: string;
  description: string;
  /** The settings that differ from the defaults (--no-fused, --tfjs-flag, --batch). */
  variant: string;
  steps: number;
  batch: number;
  /** tfjs kernels that do work in one training step (forward, backward, optimizer): on a GPU, its dispatches. */
  kernelsPerStep: number;
  msPerStepMedian: number;
  /**
   * The JavaScript of a step alone, before waiting for the backend: all of it on wasm and cpu; on a GPU the time to
   * queue the work, which bounds the step from below however fast the GPU is.
   */
  jsMsPerStepMedian: number;
  msPerStepMean: number;
  secondsPerEpoch: number;
  tensorsBefore: number;
  tensorsAfter: number;
  peakRssMiB: number;
  /** One real epoch's training, and the pass over the test set that follows it in an experiment (--eval-every 1). */
  realEpoch?: { seconds: number; acc: number; testPassSeconds: number };
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface MeasureOptions {
  steps: number;
  realEpoch: boolean;
  fused: boolean;
  /** Whether a training step's operations may run together (wasm's chains, tensorflow's graph); false: one by one. */
  together?: boolean;
  /** On tensorflow, whether the kit's update operations update the parameters (false: TensorFlow's training operations). */
  updateOperations?: boolean;
  flags: string[];
  /** Rows per batch (default BATCH). */
  batch?: number;
  /** Hears of each timed block as it ends, for progress. */
  onBlock?: (from: number, to: number, msPerStep: number) => void;
}

/**
 * The kernels that do work, out of a profile's list: reshapes only relabel memory on every backend, and `…__op`
 * entries are ops with a custom gradient whose work shows as kernels of their own.
 */
export function isWorkingKernel(name: string): boolean {
  return name !== 'Reshape' && !name.endsWith('__op');
}

export function workingKernels(names: string[]): number {
  return names.filter(isWorkingKernel).length;
}

/** Parses `NAME=VALUE` as tfjs flags are typed: true/false, a number, else the text. */
export function parseFlag(text: string): [string, boolean | number | string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new Error(`--tfjs-flag takes NAME=VALUE, got "${text}".`);
  const value = text.slice(at + 1);
  const parsed = value === 'true' ? true : value === 'false' ? false : value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  return [text.slice(0, at), parsed];
}

function variantOf({ fused, together = true, updateOperations = true, flags, batch = BATCH }: Pick<MeasureOptions, 'fused' | 'together' | 'updateOperations' | 'flags' | 'batch'>): string {
  const settings = [
    ...(fused ? [] : ['no fused kernels']),
    ...(together ? [] : ['operations one by one']),
    ...(updateOperations ? [] : ["TensorFlow's training operations, not the kit's update operations"]),
    ...flags,
    ...(batch === BATCH ? [] : [`batch ${batch}`]),
  ];
  return settings.join(', ') || 'default';
}

/** One training step of the 2e network with Adam on a fixed synthetic batch, as the bench and the profile time it. */
export interface BenchStep {
  step: () => void;
  /** Waits for the backend to finish everything queued so far (a GPU runs behind the JavaScript that queues its work). */
  finish: () => Promise<void>;
  dispose: () => void;
}

export function benchStep(batch = BATCH): BenchStep {
  const network = new FFNN(784, HIDDEN_SIZES, ACTIVATIONS, 10, { init: 'heuristic', seed: 1 });
  const adam = new Adam(network.parameters());
  const x = tf.randomUniform([batch, 784], 0, 1, 'float32', 1) as tf.Tensor2D;
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10), 'float32')) as tf.Tensor2D;
  return {
    step() {
      compiled('trainingStep', () => {
        const yPred = network.forward(x);
        network.backward(x, y, yPred);
        yPred.dispose();
        adam.step();
      });
    },
    async finish() {
      // The output bias: written by the step's last kernel, and 10 numbers, so the read waits for the queue (which
      // runs in order) without timing a copy of the 1.6 MB of the first weights.
      await network.parameters().at(-1)?.value.data();
    },
    dispose() {
      adam.dispose();
      network.dispose();
      tf.dispose([x, y]);
    },
  };
}

/**
 * Runs `work` on `backend` with the fused-kernel switch and the tfjs flags given, then puts the flags back as they
 * were and the fused kernels back on (the default), so that one measurement's settings never reach the next in the
 * same process (the GPU node's program runs several there).
 */
export async function onBackend<T>(
  backend: string,
  { fused, together = true, updateOperations = true, flags }: Pick<MeasureOptions, 'fused' | 'together' | 'updateOperations' | 'flags'>,
  work: (info: BackendInfo) => Promise<T>,
): Promise<T> {
  const info = await selectBackend(backend);
  // A copy: getFlags() is the live object that set() changes.
  const saved = { ...tf.env().getFlags() };
  useFusedKernels(fused);
  useUpdateOperations(updateOperations);
  const compiler = together ? undefined : setCompiler(null);
  try {
    for (const flag of flags) tf.env().set(...parseFlag(flag));
    return await work(info);
  } finally {
    tf.env().setFlags(saved);
    useFusedKernels(true);
    useUpdateOperations(true);
    if (compiler !== undefined) setCompiler(compiler);
  }
}

/** Five untimed steps, for compilation and memory pools. */
export async function warmUp({ step, finish }: BenchStep): Promise<void> {
  for (let i = 0; i < 5; i++) step();
  await finish();
}

/**
 * `steps` steps timed in blocks of `blockSize` (default BLOCK) that end with one read, as a training loop runs: the
 * queue is waited for but not emptied after every step. Per block, ms per step in all and of it the JavaScript before
 * the wait; `onBlock` hears of each block as it ends (steps `from` to `to`, counted from 1).
 */
export async function timeBlocks(
  { step, finish }: BenchStep,
  steps: number,
  { blockSize = BLOCK, onBlock }: { blockSize?: number; onBlock?: (from: number, to: number, msPerStep: number) => void } = {},
): Promise<{ times: number[]; jsTimes: number[] }> {
  const times: number[] = [];
  const jsTimes: number[] = [];
  for (let done = 0; done < steps; done += blockSize) {
    const block = Math.min(blockSize, steps - done);
    const start = performance.now();
    for (let i = 0; i < block; i++) step();
    jsTimes.push((performance.now() - start) / block);
    await finish();
    times.push((performance.now() - start) / block);
    onBlock?.(done + 1, done + block, times.at(-1)!);
  }
  return { times, jsTimes };
}

/**
 * One epoch of 2e adam:heuristic on Fashion-MNIST, seed 0, as `npm run experiment` runs it: with `heldOut`, the test
 * set measured after it (in the epoch's metrics, its own seconds apart from the training's); with `withTest`, the
 * test pass after the last epoch.
 */
export async function realEpoch({
  dataDir,
  withTest = false,
  heldOut = false,
  log = () => {},
}: { dataDir?: string; withTest?: boolean; heldOut?: boolean; log?: (line: string) => void } = {}): Promise<{
  epoch: EpochMetrics;
  batches: number;
  test?: EvaluationMetrics;
}> {
  const [run] = selectRuns(EXPERIMENT_2E, 'adam:heuristic');
  const trainSet = await loadDataset('fashion-mnist', { split: 'train', dataDir, log });
  const network = run!.network({ seed: 0, inputSize: trainSet.features, classes: trainSet.classes });
  const optimizer = run!.optimizer(network);
  try {
    const testSet = withTest || heldOut ? await loadDataset('fashion-mnist', { split: 'test', dataDir, log }) : undefined;
    const [epoch] = await train(network, trainSet, optimizer, {
      epochs: 1,
      batchSize: run!.batchSize,
      seed: 0,
      log: () => {},
      heldOut: heldOut && testSet ? { set: 'test', data: testSet, every: 1 } : undefined,
    });
    const batches = Math.ceil(trainSet.count / run!.batchSize);
    if (!withTest || !testSet) return { epoch: epoch!, batches };
    return { epoch: epoch!, batches, test: await evaluate(network, testSet) };
  } finally {
    optimizer.dispose();
    network.dispose();
  }
}

/** Times one backend in this process (the CLI runs each in a child process of its own). */
export async function measure(backend: string, { steps, realEpoch: withEpoch, fused, together, updateOperations, flags, batch = BATCH, onBlock }: MeasureOptions): Promise<Result> {
  return onBackend(backend, { fused, together, updateOperations, flags }, async (info): Promise<Result> => {
    const bench = benchStep(batch);
    await warmUp(bench);
    const kernelsPerStep = workingKernels((await tf.profile(bench.step)).kernels.map((k) => k.name));
    await bench.finish();
    const tensorsBefore = tf.memory().numTensors;
    const { times, jsTimes } = await timeBlocks(bench, steps, { onBlock });
    const tensorsAfter = tf.memory().numTensors;
    bench.dispose();
    const mean = times.reduce((s, t) => s + t, 0) / times.length;
    // Under the same settings as the steps.
    const epoch = withEpoch && existsSync(DATASET_SOURCES['fashion-mnist'].localDir ?? '') ? (await realEpoch({ heldOut: true })).epoch : undefined;
    return {
      backend: info.name,
      description: info.description,
      variant: variantOf({ fused, together, updateOperations, flags, batch }),
      steps,
      batch,
      kernelsPerStep,
      msPerStepMedian: median(times),
      jsMsPerStepMedian: median(jsTimes),
      msPerStepMean: mean,
      // An epoch of the homework's 60000 images.
      secondsPerEpoch: (mean * (STEPS_PER_EPOCH * BATCH)) / batch / 1000,
      tensorsBefore,
      tensorsAfter,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      ...(epoch ? { realEpoch: { seconds: epoch.seconds, acc: epoch.acc, testPassSeconds: epoch.heldOut?.seconds ?? Number.NaN } } : {}),
    };
  });
}
