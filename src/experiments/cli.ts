import { parseArgs } from 'node:util';
import { selectBackend } from '../backend.ts';
import { DATASET_NAMES } from '../data/sources.ts';
import { experimentById, EXPERIMENTS, selectRuns } from './definitions.ts';
import { runExperiment } from './runner.ts';

export const HELP = `Usage: npm run experiment -- <1c|2e> [options]

Runs the MNIST experiments of homework 3 and writes, under <out>/<experiment>/:
results.jsonl (every epoch, appended as it ends), summary.md, charts/*.svg and *.png, report.html.
Runs already finished with the same settings are skipped, so an interrupted experiment resumes.

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
  --only IDS         comma-separated run ids, e.g. adam:heuristic,sgd:randn
  --seed N           seed for weights, dropout and batch order (default 0)
  --backend NAME     tensorflow, webgpu, wasm or cpu (default: CC6204_BACKEND, else the first that loads)
  --out DIR          results folder (default results)
  --fresh            run everything again (the old results.jsonl is kept as a .bak)
  --help             this text
`;

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} takes a positive whole number, got "${value}".`);
  return n;
}

class UsageError extends Error {}

export interface CliIo {
  log: (line: string) => void;
  error: (line: string) => void;
  progressStream?: NodeJS.WriteStream;
}

/** Runs the CLI; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function main(argv: string[], io: CliIo = { log: console.log, error: console.error }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dataset: { type: 'string', default: 'mnist' },
        'data-dir': { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        limit: { type: 'string' },
        only: { type: 'string' },
        seed: { type: 'string', default: '0' },
        backend: { type: 'string' },
        out: { type: 'string', default: 'results' },
        fresh: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    io.error(`${(error as Error).message.split('\n')[0]} (see --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.log(HELP);
    return 0;
  }
  let experiment;
  let runs;
  let options;
  try {
    if (positionals.length !== 1) throw new UsageError('Name one experiment: 1c or 2e (see --help).');
    experiment = experimentById(positionals[0] as string);
    runs = selectRuns(experiment, values.only);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed takes a whole number ≥ 0, got "${values.seed}".`);
    options = {
      dataset: values.dataset as string,
      dataDir: values['data-dir'],
      epochs: positiveInteger('epochs', values.epochs),
      batchSize: positiveInteger('batch-size', values['batch-size']),
      limit: positiveInteger('limit', values.limit),
      seed,
      outDir: values.out as string,
      fresh: values.fresh as boolean,
    };
  } catch (error) {
    io.error((error as Error).message);
    return 2;
  }
  try {
    const backend = await selectBackend(values.backend);
    io.log(`Backend: ${backend.description}`);
    await runExperiment(experiment, runs, { ...options, backend: backend.name, log: io.log, progressStream: io.progressStream });
    return 0;
  } catch (error) {
    if (process.env.DEBUG) io.error(String((error as Error).stack));
    io.error(`Error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2), { log: console.log, error: console.error, progressStream: process.stderr });
}
