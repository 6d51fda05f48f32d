import { selectBackend } from '../backends/select.ts';
import { isMain, parseCommandLine, reportFailure, runCommand, UsageError, wholeNumberOption } from '../core/cli.ts';
import { readAhead } from '../data/mnist.ts';
import { DATASET_NAMES, parseDatasetName } from '../data/sources.ts';
import { experimentById, EXPERIMENTS, selectRuns } from './definitions.ts';
import { count } from '../core/words.ts';
import { BadHeldOut, checkHeldOut, ExperimentStopped, runExperiment } from './runner.ts';

export const HELP = `Usage: npm run experiment -- <1c|2e> [options]

Runs the MNIST experiments of homework 3 and writes, under <out>/<experiment>/:
results.jsonl (every epoch, appended as it ends), summary.md, charts/*.svg and *.png, report.html, and each
finished run's network in networks/*.safetensors.
Stop at any time: the same command skips the runs already finished with the same settings and takes a
stopped run up after its last finished epoch (its state is kept in checkpoints/*.safetensors until it ends).
A run whose loss or accuracy stops being a number is recorded as failed and runs again next time.
One process at a time runs into a results folder.

Experiments:
  1c   regularization: baseline, dropout, weight decay, both (SGD lr 1e-5, batch 200, randn init)
       run ids: ${EXPERIMENTS['1c'].runs.map((r) => r.id).join(', ')}
  2e   {sgd,rmsprop,adam} x {${EXPERIMENTS['2e'].runs.filter((r) => r.id.startsWith('sgd:')).map((r) => r.id.slice(4)).join(',')}}
       (lr 1e-3, batch 100, 10 epochs); run ids like adam:heuristic

Options:
  --dataset NAME     ${DATASET_NAMES.join(' or ')} (default mnist; fashion-mnist is read from
                     /usr/share/datasets/fashion-mnist when present)
  --data-dir DIR     download cache (default: the user's cache folder, cc6204-kit)
  --epochs N         epochs for every run (default: the notebook's)
  --batch-size N     batch size for every run (default: the notebook's)
  --limit N          train on the first N training images only
  --eval-every N     measure the test set (loss, accuracy, no dropout) after every N epochs and after the
                     last, into the epoch's line and record; 0 for only the test after the last (default 1)
  --validation N     hold the last N training images out (of the first --limit ones, if given): they are not
                     trained on and are measured instead of the test set after the epochs; the test set is
                     then measured once, after the last epoch
  --only IDS         comma-separated run ids, e.g. adam:heuristic,sgd:randn
  --seed N           seed for weights, dropout and batch order, 0 to 4294967295 (default 0)
  --backend NAME     tensorflow, webgpu, wasm or cpu (default: CC6204_BACKEND, else the first that loads)
  --out DIR          results folder (default results)
  --fresh            run everything again (the old results.jsonl is kept as a .bak)
  --help             this text

Exit status: 0 when every run asked for has finished, 1 if one failed, 2 for bad options, 130 or 143 when
stopped by Ctrl+C (SIGINT) or SIGTERM.
`;

export interface CliIo {
  log: (line: string) => void;
  error: (line: string) => void;
  progressStream?: NodeJS.WriteStream;
  /** Stops the experiment once aborted, with the signal's name as the reason (exit status 130 for SIGINT, 143 else). */
  signal?: AbortSignal;
}

/** Runs the CLI; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function main(argv: string[], io: CliIo = { log: console.log, error: console.error }): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine('experiment', {
      args: argv,
      allowPositionals: true,
      options: {
        dataset: { type: 'string', default: 'mnist' },
        'data-dir': { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        limit: { type: 'string' },
        'eval-every': { type: 'string', default: '1' },
        validation: { type: 'string' },
        only: { type: 'string' },
        seed: { type: 'string', default: '0' },
        backend: { type: 'string' },
        out: { type: 'string', default: 'results' },
        fresh: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      io.log(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('Name one experiment: 1c or 2e');
    let experiment;
    let runs;
    // The library's own errors for an unknown experiment, run or dataset are, here, mistakes in the command.
    try {
      experiment = experimentById(positionals[0] as string);
      runs = selectRuns(experiment, values.only);
      parseDatasetName(values.dataset);
    } catch (failure) {
      throw new UsageError((failure as Error).message);
    }
    const number = (flag: 'epochs' | 'batch-size' | 'limit' | 'validation') => (values[flag] === undefined ? undefined : wholeNumberOption(flag, values[flag]));
    const options = {
      dataset: values.dataset,
      dataDir: values['data-dir'],
      epochs: number('epochs'),
      batchSize: number('batch-size'),
      limit: number('limit'),
      evalEvery: wholeNumberOption('eval-every', values['eval-every'], { min: 0 }),
      validation: number('validation'),
      seed: wholeNumberOption('seed', values.seed, { min: 0, max: 2 ** 32 - 1 }),
      outDir: values.out,
      fresh: values.fresh,
    };
    // With --limit the training set's size is known before the data is read; else the runner checks once it is.
    checkHeldOut(options, options.limit);
    // The images are read and decompressed while the backend loads, which takes the main thread for about a second.
    readAhead(parseDatasetName(values.dataset), { dataDir: options.dataDir });
    const backend = await selectBackend(values.backend);
    io.log(`Backend: ${backend.description}`);
    const { failed } = await runExperiment(experiment, runs, {
      ...options,
      backend: backend.name,
      log: io.log,
      progressStream: io.progressStream,
      signal: io.signal,
    });
    if (failed.length > 0) io.error(`Error: ${count(failed.length, 'run')} failed (${failed.join(', ')}); the others finished.`);
    return failed.length > 0 ? 1 : 0;
  } catch (failure) {
    if (failure instanceof BadHeldOut) return reportFailure(new UsageError(failure.message), { error: io.error, debug: false, usageHint: ' (see --help)' });
    if (failure instanceof ExperimentStopped) {
      io.error(failure.message);
      return io.signal?.reason === 'SIGTERM' ? 143 : 130;
    }
    return reportFailure(failure, { error: io.error, debug: Boolean(process.env.DEBUG), usageHint: ' (see --help)' });
  }
}

/**
 * An AbortSignal that SIGINT (Ctrl+C) and SIGTERM abort, with the signal's name as the reason: the experiment stops
 * between two batches, says where it stood and gives the folder back. A second one ends the process at once.
 */
function stopOnSignals(): AbortSignal {
  const controller = new AbortController();
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      if (controller.signal.aborted) process.exit(name === 'SIGINT' ? 130 : 143);
      controller.abort(name);
    });
  }
  return controller.signal;
}

if (isMain(import.meta.url)) {
  const signal = stopOnSignals();
  await runCommand(() => main(process.argv.slice(2), { log: console.log, error: console.error, progressStream: process.stderr, signal }));
}
