import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../data/mnist.ts';
import { removeFolderIfEmpty } from '../files.ts';
import { type DatasetName, type DatasetSource, parseDatasetName } from '../data/sources.ts';
import { summaryTable } from '../report/markdown.ts';
import { writeExperimentReport } from '../report/experiment-report.ts';
import { encodeCheckpoint, loadCheckpoint, removeCheckpoint, writeCheckpoint } from '../training/checkpoint.ts';
import { evaluate, formatEpoch, formatMetrics, formatTest, train } from '../training/train.ts';
import { count } from '../words.ts';
import type { ExperimentDefinition, RunDefinition } from './definitions.ts';
import { takeLock } from './lock.ts';
import { gaps, ResultsLog, type RunResult, type RunSpec, type TestRecord } from '../report/results.ts';

export interface RunOptions {
  dataset: string;
  dataDir?: string;
  /** Overrides every run's epochs. */
  epochs?: number;
  batchSize?: number;
  /** Train on the first `limit` samples only. */
  limit?: number;
  seed: number;
  outDir: string;
  fresh: boolean;
  backend: string;
  log: (line: string) => void;
  progressStream?: NodeJS.WriteStream;
  /** Where the dataset files come from (default: the real mirrors and local folders); tests give their own. */
  sources?: Record<DatasetName, DatasetSource>;
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
      seed: options.seed,
    },
  };
}

const sameConfig = (a: RunSpec, b: RunSpec) => JSON.stringify(a.config) === JSON.stringify(b.config);

/** Where a run's state after its last finished epoch is kept until the run ends: `checkpoints/adam-heuristic.ckpt`. */
function checkpointPath(outDir: string, runId: string): string {
  return join(outDir, 'checkpoints', `${runId.replace(/[^A-Za-z0-9_-]/g, '-')}.ckpt`);
}

/**
 * Runs the chosen runs of an experiment one after the other, appending every epoch to the experiment's results log
 * as it ends and saving the run's state beside it, then writes the report (charts, summary.md, report.html) over
 * every run in the log. A run stopped part way goes on from its last finished epoch, with the numbers it would have
 * had; a finished one is skipped. Returns the paths written.
 */
export async function runExperiment(experiment: ExperimentDefinition, runs: RunDefinition[], options: RunOptions): Promise<string[]> {
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

async function runLocked(
  experiment: ExperimentDefinition,
  runs: RunDefinition[],
  options: RunOptions,
  dataset: DatasetName,
  outDir: string,
  results: ResultsLog,
): Promise<string[]> {
  const { log } = options;
  if (options.fresh) {
    const backup = results.fresh();
    if (backup) log(`Starting afresh; the previous results are kept in ${backup}`);
  }
  const previous = results.load();

  const pending = runs.flatMap((run) => {
    const epochs = options.epochs ?? run.epochs;
    const batchSize = options.batchSize ?? run.batchSize;
    const spec = runSpec(run, options, epochs, batchSize);
    const done = previous.get(run.id);
    if (done?.finished && sameConfig(done.spec, spec)) {
      log(`Skipping ${run.id}: already finished with these settings (--fresh runs it again).`);
      return [];
    }
    // Epochs of an unfinished run with the same settings on the same backend, which its checkpoint may continue.
    let before = done && !done.finished ? done.epochs : [];
    if (before.length > 0 && done) {
      const otherwise = !sameConfig(done.spec, spec) ? 'other settings' : done.backend !== options.backend ? `the ${done.backend} backend` : undefined;
      if (otherwise) {
        log(`Starting ${run.id} over: it stopped after epoch ${before.length} with ${otherwise}.`);
        before = [];
      }
    }
    return [{ run, epochs, batchSize, spec, before }];
  });

  // The data is read only when a run needs it: a finished experiment's report is rebuilt without it.
  if (pending.length > 0) {
    const { dataDir, sources } = options;
    const trainSet = await loadDataset(dataset, { split: 'train', dataDir, limit: options.limit, log, sources });
    const testSet = await loadDataset(dataset, { split: 'test', dataDir, log, sources });
    log(`Dataset: ${dataset} (${trainSet.count} training and ${testSet.count} test images)`);
    log('Stop at any time (Ctrl+C): every finished epoch is kept, and the same command goes on from the last one.');

    for (const { run, epochs, batchSize, spec, before } of pending) {
      log(`\n${experiment.id} ${run.id}: ${run.label}, ${count(epochs, 'epoch')}, batch ${batchSize}`);
      const network = run.network({ seed: options.seed, inputSize: trainSet.features, classes: trainSet.classes });
      const optimizer = run.optimizer(network);
      const checkpoint = checkpointPath(outDir, run.id);
      const key = JSON.stringify({ config: spec.config, backend: options.backend });
      try {
        let earlier = before;
        if (earlier.length > 0) {
          const loaded = loadCheckpoint(checkpoint, key, earlier.length, { network, optimizer });
          if ('unusable' in loaded) {
            log(`Starting ${run.id} over: it stopped after epoch ${earlier.length}, but its checkpoint cannot be used (${loaded.unusable}).`);
            earlier = [];
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
          onEpoch: async (metrics) => {
            const state = await encodeCheckpoint(key, metrics.epoch, { network, optimizer });
            // The epoch's line and its checkpoint one right after the other, synchronously: only a stop within those
            // milliseconds leaves them apart, and then the run starts over (the checkpoint's epoch must match).
            results.appendEpoch(run.id, metrics);
            writeCheckpoint(checkpoint, state);
          },
        });
        const test: TestRecord = await evaluate(network, testSet, { batchSize: 1000 });
        log(formatTest(test));
        if (experiment.showGaps) {
          // The training set as the test set is measured, without dropout: the network's own gap.
          const { loss, acc } = await evaluate(network, trainSet, { batchSize: 1000 });
          test.train = { loss, acc };
          log(`Train set without dropout: ${formatMetrics(test.train)}`);
        }
        results.finishRun(run.id, test);
        removeCheckpoint(checkpoint);
        if (experiment.showGaps) {
          const gap = gaps({ spec, epochs: [...earlier, ...history], test, finished: true });
          if (gap) {
            log(`Difference between best train loss and test loss: ${gap.lossGap.toFixed(3)}`);
            log(`Difference between best train acc and test acc: ${(gap.accGap * 100).toFixed(3)}%`);
          }
        }
      } finally {
        optimizer.dispose();
        network.dispose();
      }
    }
  }

  const all: RunResult[] = [...results.load().values()];
  const written = writeExperimentReport({
    outDir,
    title: experiment.title,
    runs: all,
    groupBy: experiment.groupBy,
    meta: { dataset, backend: options.backend, seed: options.seed, date: new Date().toISOString().slice(0, 10) },
  });
  log(`\n${summaryTable(all)}`);
  log(`Results: ${results.path}`);
  log(`Report: ${join(outDir, 'report.html')} (${count(written.length, 'file')} written)`);
  return written;
}
