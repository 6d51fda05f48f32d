import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kitError } from '../core/errors.ts';
import { type Dataset, holdOutLast, loadDataset } from '../data/mnist.ts';
import { removeFolderIfEmpty } from '../core/files.ts';
import { type DatasetName, type DatasetSource, parseDatasetName, sourcesFor } from '../data/sources.ts';
import { summaryTable } from '../report/markdown.ts';
import { writeExperimentReport } from '../report/experiment-report.ts';
import { encodeCheckpoint, loadCheckpoint, removeCheckpoint, saveNetwork, writeCheckpoint } from '../training/checkpoint.ts';
import { evaluate, formatEpoch, formatMetrics, formatTest, type HeldOut, train } from '../training/train.ts';
import { count } from '../core/words.ts';
import type { ExperimentDefinition, RunDefinition } from './definitions.ts';
import { takeLock } from './lock.ts';
import { checkPiecesWritten } from './pieces.ts';
import { bestHeldOut, type EpochRecord, gaps, ResultsLog, type RunResult, type RunSpec, type TestRecord } from '../report/results.ts';

export interface RunOptions {
  dataset: string;
  dataDir?: string;
  /** Overrides every run's epochs. */
  epochs?: number;
  batchSize?: number;
  /** Train on the first `limit` samples only. */
  limit?: number;
  /** Measure the held-out set after every this many epochs and after the last; 0 for never (default 1). */
  evalEvery?: number;
  /** Hold the last `validation` training samples out, measured instead of the test set after the epochs. */
  validation?: number;
  seed: number;
  outDir: string;
  fresh: boolean;
  backend: string;
  log: (line: string) => void;
  progressStream?: NodeJS.WriteStream;
  /** Where the dataset files come from (default: the real mirrors and local folders); tests give their own. */
  sources?: Record<DatasetName, DatasetSource>;
  /** Stops the experiment between two batches once aborted (its reason, e.g. 'SIGINT', is said): see ExperimentStopped. */
  signal?: AbortSignal;
}

/** The experiment was stopped (Ctrl+C, a kill): the message says where, and that the same command goes on from there. */
export class ExperimentStopped extends kitError('ExperimentStopped', 'STOPPED') {}

/** --validation or --eval-every asks for something that cannot be done: the message says what to give instead. */
export class BadHeldOut extends kitError('BadHeldOut', 'BAD_HELD_OUT') {}

/**
 * Refuses a validation set that would leave no image to train on (`trainingCount`, where known) or that would never
 * be measured (`evalEvery` 0).
 */
export function checkHeldOut({ validation, evalEvery = 1 }: Pick<RunOptions, 'validation' | 'evalEvery'>, trainingCount?: number): void {
  if (validation === undefined) return;
  if (evalEvery === 0) {
    throw new BadHeldOut(`--validation ${validation} with --eval-every 0 holds images out and never measures them: leave one of the two out`);
  }
  if (trainingCount !== undefined && validation >= trainingCount) {
    throw new BadHeldOut(
      `--validation ${validation} leaves no image to train on (the training set has ${trainingCount}): give a number below ${trainingCount}`,
    );
  }
}

/** A run whose loss or accuracy stopped being a number: it is recorded as failed and the other runs go on. */
export class RunFailed extends kitError('RunFailed', 'RUN_FAILED') {}

/** What an experiment wrote, and the runs that failed (none when it all went well). */
export interface ExperimentOutcome {
  written: string[];
  failed: string[];
}

/** The settings that decide a run's numbers: a finished run is reused only when they are all the same. */
function runSpec(run: RunDefinition, options: RunOptions, epochs: number, batchSize: number): RunSpec {
  return {
    id: run.id,
    label: run.label,
    groups: run.groups,
    config: {
      ...run.settings,
      epochs,
      batchSize,
      dataset: options.dataset,
      limit: options.limit ?? 'none',
      // Only when given: runs finished before the option existed keep their settings.
      ...(options.validation === undefined ? {} : { validation: options.validation }),
      seed: options.seed,
    },
  };
}

const sameConfig = (a: RunSpec, b: RunSpec) => JSON.stringify(a.config) === JSON.stringify(b.config);

const fileName = (runId: string) => `${runId.replace(/[^A-Za-z0-9_-]/g, '-')}.safetensors`;

/** Where a run's state after its last finished epoch is kept until the run ends: `checkpoints/adam-heuristic.safetensors`. */
function checkpointPath(outDir: string, runId: string): string {
  return join(outDir, 'checkpoints', fileName(runId));
}

/** Where a finished run's network is kept: `networks/adam-heuristic.safetensors`. */
function networkPath(outDir: string, runId: string): string {
  return join(outDir, 'networks', fileName(runId));
}

/** Its loss and accuracy, if either is not a finite number. */
function notANumber({ loss, acc }: { loss: number; acc: number }): string | undefined {
  if (Number.isFinite(loss) && Number.isFinite(acc)) return undefined;
  return `its loss is ${loss} and its accuracy ${acc}`;
}

/**
 * Runs the chosen runs of an experiment one after the other, appending every epoch to the experiment's results log
 * as it ends and saving the run's state beside it, then writes the report (charts, summary.md, report.html) over
 * every run in the log. A run stopped part way goes on from its last finished epoch, with the numbers it would have
 * had; a finished one is skipped. Returns the paths written.
 */
export async function runExperiment(experiment: ExperimentDefinition, runs: RunDefinition[], options: RunOptions): Promise<ExperimentOutcome> {
  checkPiecesWritten(experiment, runs);
  const { log } = options;
  const dataset = parseDatasetName(options.dataset);
  const outDir = join(options.outDir, experiment.id);
  const newFolders = [outDir, options.outDir].filter((folder) => !existsSync(folder));
  const results = ResultsLog.open(join(outDir, 'results.jsonl'), { log });
  const release = takeLock(join(outDir, '.lock'), `experiment ${experiment.id} into ${outDir}`);
  try {
    return await runLocked(experiment, runs, options, dataset, outDir, results);
  } finally {
    release();
    // A failure before anything was written (the data could not be downloaded, say) leaves no empty folders.
    for (const folder of newFolders) removeFolderIfEmpty(folder);
  }
}

/** A run to train: its settings, and the epochs of an earlier start that its checkpoint may continue. */
interface PendingRun {
  run: RunDefinition;
  epochs: number;
  batchSize: number;
  spec: RunSpec;
  before: EpochRecord[];
}

/** What every run of one command shares. */
interface Session {
  experiment: ExperimentDefinition;
  options: RunOptions;
  dataset: DatasetName;
  outDir: string;
  results: ResultsLog;
  trainSet: Dataset;
  testSet: Dataset;
  /** What is measured after the epochs, if anything: the test set, or the images held out of the training set. */
  heldOut?: HeldOut;
  /** Rewrites the report: live (reloading itself), or whole at the end. */
  report: (only?: 'live' | 'stopped') => string[];
}

async function runLocked(
  experiment: ExperimentDefinition,
  runs: RunDefinition[],
  options: RunOptions,
  dataset: DatasetName,
  outDir: string,
  results: ResultsLog,
): Promise<ExperimentOutcome> {
  const { log } = options;
  if (options.fresh) {
    const backup = results.fresh();
    if (backup) log(`Starting afresh; the previous results are kept in ${backup}`);
  }
  let reported = false;
  const report = (only?: 'live' | 'stopped') => {
    reported = true;
    return writeExperimentReport({
      outDir,
      title: experiment.title,
      runs: [...results.load().values()],
      groupBy: experiment.groupBy,
      gapCharts: experiment.showGaps,
      meta: { dataset, backend: options.backend, seed: options.seed, date: new Date().toISOString().slice(0, 10) },
      only,
    });
  };
  const failed: string[] = [];
  try {
    const pending = pendingRuns(runs, options, results.load());
    // The data is read only when a run needs it: a finished experiment's report is rebuilt without it.
    if (pending.length > 0) {
      const { dataDir } = options;
      const sources = sourcesFor(dataDir, options.sources);
      const loaded = await loadDataset(dataset, { split: 'train', dataDir, limit: options.limit, log, sources });
      const testSet = await loadDataset(dataset, { split: 'test', dataDir, log, sources });
      checkHeldOut(options, loaded.count);
      const { validation, evalEvery = 1 } = options;
      const { kept: trainSet, heldOut: validationSet } = validation === undefined ? { kept: loaded, heldOut: undefined } : holdOutLast(loaded, validation);
      const heldOut: HeldOut | undefined =
        evalEvery === 0 ? undefined : validationSet ? { set: 'validation', data: validationSet, every: evalEvery } : { set: 'test', data: testSet, every: evalEvery };
      const validationCount = validationSet ? `, ${validationSet.count} validation` : '';
      log(`Dataset: ${dataset} from ${loaded.folder} (${trainSet.count} training${validationCount} and ${testSet.count} test images)`);
      report('live');
      log(`Report: ${join(outDir, 'report.html')}, rewritten after every epoch; open in a browser, it reloads itself until the end.`);
      log('Stop at any time (Ctrl+C): every finished epoch is kept, and the same command goes on from the last one.');
      const session: Session = { experiment, options, dataset, outDir, results, trainSet, testSet, heldOut, report };
      for (const run of pending) {
        if ((await trainRun(session, run)) === 'failed') failed.push(run.run.id);
      }
    }
    const written = report();
    log(`\n${summaryTable([...results.load().values()])}`);
    log(`Results: ${results.path}`);
    log(`Report: ${join(outDir, 'report.html')} (${count(written.length, 'file')} written)`);
    return { written, failed };
  } catch (failure) {
    // The live report as it stands, without its reloading; the failure is what is said.
    try {
      if (reported) report('stopped');
    } catch {
      // A report that cannot be written either (a full disk) adds nothing to the failure.
    }
    throw failure;
  }
}

/** The runs asked for that are not finished with the same settings, each with what an earlier start left of it. */
function pendingRuns(runs: RunDefinition[], options: RunOptions, previous: Map<string, RunResult>): PendingRun[] {
  const { log } = options;
  return runs.flatMap((run) => {
    const epochs = options.epochs ?? run.epochs;
    const batchSize = options.batchSize ?? run.batchSize;
    const spec = runSpec(run, options, epochs, batchSize);
    const done = previous.get(run.id);
    if (done?.finished && sameConfig(done.spec, spec)) {
      log(`Skipping ${run.id}: already finished with these settings (--fresh runs it again).`);
      return [];
    }
    // Epochs of an unfinished run with the same settings on the same backend, which its checkpoint may continue; a
    // failed run starts over.
    let before = done && !done.finished && done.failed === undefined ? done.epochs : [];
    if (before.length > 0 && done) {
      const otherwise = !sameConfig(done.spec, spec) ? 'other settings' : done.backend !== options.backend ? `the ${done.backend} backend` : undefined;
      if (otherwise) {
        log(`Starting ${run.id} over: it stopped after epoch ${before.length} with ${otherwise}.`);
        before = [];
      }
    }
    return [{ run, epochs, batchSize, spec, before }];
  });
}

/**
 * Trains one run to its end, from its checkpoint where it can, then tests it; records each epoch, its state, the test
 * and its network as they come. A run whose numbers stop being numbers is recorded as failed; a stop is thrown on.
 */
async function trainRun(session: Session, { run, epochs, batchSize, spec, before }: PendingRun): Promise<'finished' | 'failed'> {
  const { experiment, options, dataset, outDir, results, trainSet, testSet, heldOut, report } = session;
  const { log, signal } = options;
  log(`\n${experiment.id} ${run.id}: ${run.label}, ${count(epochs, 'epoch')}, batch ${batchSize}`);
  const network = run.network({ seed: options.seed, inputSize: trainSet.features, classes: trainSet.classes });
  const optimizer = run.optimizer(network);
  const checkpoint = checkpointPath(outDir, run.id);
  const key = JSON.stringify({ config: spec.config, backend: options.backend });
  // Where the run stands, for the line said if the experiment is stopped.
  let finishedEpochs = before.length;
  try {
    let earlier = before;
    if (earlier.length > 0) {
      const loaded = loadCheckpoint(checkpoint, key, earlier.length, { network, optimizer });
      if ('unusable' in loaded) {
        log(`Starting ${run.id} over: it stopped after epoch ${earlier.length}, but its checkpoint cannot be used (${loaded.unusable}).`);
        earlier = [];
        finishedEpochs = 0;
      } else {
        log(`Going on after epoch ${earlier.length}, where it stopped (${checkpoint}):`);
        for (const record of earlier) log(formatEpoch(record));
      }
    }
    if (earlier.length === 0) {
      removeCheckpoint(checkpoint);
      results.startRun(spec, { backend: options.backend, dataset, seed: options.seed });
    }
    const history = await train(network, trainSet, optimizer, {
      epochs,
      startEpoch: earlier.length,
      batchSize,
      seed: options.seed,
      log,
      progressStream: options.progressStream,
      signal,
      heldOut,
      onEpoch: async (metrics) => {
        const broken = notANumber(metrics);
        if (broken) {
          results.appendEpoch(run.id, metrics);
          throw new RunFailed(`${run.id} failed at epoch ${metrics.epoch}: ${broken}.`);
        }
        const state = await encodeCheckpoint(key, metrics.epoch, { network, optimizer });
        // The epoch's line and its checkpoint one right after the other, synchronously: only a stop within those
        // milliseconds leaves them apart, and then the run starts over (the checkpoint's epoch must match).
        results.appendEpoch(run.id, metrics);
        writeCheckpoint(checkpoint, state);
        finishedEpochs = metrics.epoch;
        report('live');
      },
    });
    // The last epoch's pass over the test set measured these weights as the test pass does (the same batches, no
    // dropout): its numbers are the test's, and the pass is not made twice.
    const last = history.at(-1)?.heldOut;
    const test: TestRecord = last?.set === 'test' ? { loss: last.loss, acc: last.acc, seconds: last.seconds } : await evaluate(network, testSet, { signal });
    log(formatTest(test));
    const brokenTest = notANumber(test);
    if (brokenTest) throw new RunFailed(`${run.id} failed in the test pass: ${brokenTest}.`);
    if (experiment.showGaps) {
      // The training set as the test set is measured, without dropout: the network's own gap.
      const { loss, acc } = await evaluate(network, trainSet, { signal });
      test.train = { loss, acc };
      log(`Train set without dropout: ${formatMetrics(test.train)}`);
    }
    await saveNetwork(networkPath(outDir, run.id), network, { run: run.id, key, test: JSON.stringify(test) });
    results.finishRun(run.id, test);
    removeCheckpoint(checkpoint);
    const gap = experiment.showGaps ? gaps({ spec, epochs: [...earlier, ...history], test, finished: true }) : undefined;
    if (gap) {
      log(`Difference between best train loss and test loss: ${gap.lossGap.toFixed(3)}`);
      log(`Difference between best train acc and test acc: ${(gap.accGap * 100).toFixed(3)}%`);
    }
    const best = bestHeldOut({ spec, epochs: [...earlier, ...history], finished: true });
    if (best) log(`Best ${best.set} acc: ${(best.acc * 100).toFixed(2)}% after epoch ${best.epoch}`);
    return 'finished';
  } catch (failure) {
    if (signal?.aborted) throw stoppedDuring(signal.reason, run.id, finishedEpochs, epochs);
    if (!(failure instanceof RunFailed)) throw failure;
    log(`${failure.message} Recorded as failed; the same command runs it again. Going on with the other runs.`);
    results.failRun(run.id, failure.message);
    removeCheckpoint(checkpoint);
    report('live');
    return 'failed';
  } finally {
    optimizer.dispose();
    network.dispose();
  }
}

/** The stop, said where it happened: the run, the epoch under way, and what is kept. */
function stoppedDuring(reason: unknown, runId: string, finishedEpochs: number, epochs: number): ExperimentStopped {
  const kept = finishedEpochs === 1 ? ' (epoch 1 is kept)' : finishedEpochs > 1 ? ` (epochs 1-${finishedEpochs} are kept)` : '';
  return new ExperimentStopped(
    `Stopped by ${String(reason)} during ${runId}, epoch ${finishedEpochs + 1} of ${epochs}${kept}; run the same command to go on from there.`,
  );
}
