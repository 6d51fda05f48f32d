// `npm run bench`: times training steps of the homework's 2e network on each backend, each in a process of its own
// so that its peak memory is its own.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BACKENDS, isBackendName, unknownBackend, usableBackends } from '../src/backends/select.ts';
import { isMain, parseCommandLine, reportFailure, runCommand, UsageError, wholeNumberOption } from '../src/core/cli.ts';
import { DATASET_SOURCES } from '../src/data/sources.ts';
import { markdownTable } from '../src/report/markdown.ts';
import { BATCH, BLOCK, measure, parseFlag, type Result } from './measure.ts';
import { comparePeers, parseSettings, SETTINGS } from './peers.ts';
import { formatProfile, profileSteps, type StepProfile } from './profile.ts';

export const HELP = `Usage: npm run bench -- [--backend NAME[,NAME]] [--steps N] [--batch N] [--json] [--epoch] [--no-fused]
                      [--one-by-one] [--training-operations] [--tfjs-flag F=V] [--profile] [--null-gpu]
       npm run bench -- --pytorch SETTINGS [--pairs N] [--backend NAME]

Times training steps of the 2e network (784-512-1024-128-10, relu/celu/swish/softmax, Adam, batch ${BATCH}) on
synthetic data, after a warm-up, on each backend asked for, each in its own process, with a line of progress at
every block. Steps are timed in blocks of ${BLOCK} that end with one read of the result (a GPU's queue is waited for,
not emptied after every step). Prints the tfjs kernels one step runs; ms per step, median and mean over the blocks,
and of that the JavaScript alone (all of it on wasm and cpu; on a GPU, the time to queue the work); seconds per
600-step epoch; peak resident memory; and the tensor count before and after. With no options it takes well under
two minutes on two cores.

Options:
  --backend NAMES  comma-separated: ${BACKENDS.join(', ')} (default: CC6204_BACKEND, else every one
                   that loads but cpu, about a second a step, and webgpu on a software adapter)
  --steps N        timed steps (default 50), after 5 warm-up steps
  --batch N        rows per synthetic batch (default ${BATCH}; the real epoch keeps ${BATCH})
  --epoch          also time one real epoch of Fashion-MNIST (${DATASET_SOURCES['fashion-mnist'].localDir})
                   through the experiment's training loop: 10 to 20 s on wasm, minutes on cpu; and apart,
                   the pass over the 10000 test images that follows each epoch (--eval-every 1)
  --no-fused       run the reference formulas alone, as the student edition runs them: without the faster
                   versions of src/accel (optimizer updates, activations and their gradients, the linear
                   layer on tensorflow; dropout, metrics and batches on webgpu), with its faster
                   primitives (wasm's products with a transposed operand), the training step recorded
                   from the formulas as written and run together: on wasm its element-wise chains as one
                   pass each, on tensorflow the whole step as one TensorFlow graph
  --one-by-one     on wasm and tensorflow, run the step's operations one at a time, as tfjs runs them, not
                   recorded and run together
  --training-operations
                   on tensorflow, update the parameters with TensorFlow's training operations
                   (ResourceApplyAdam and its kin), as with a tfjs-node installed by npm, not the kit's
                   update operations that setup:tensorflow builds (src/accel/optimizers.c)
  --tfjs-flag F=V  set a tfjs flag before timing, e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64 (repeatable)
  --profile        instead, say where a step's time goes: the kernels each timed alone (on a GPU, its own
                   timestamps), what one small kernel costs, and the step's JavaScript by package and function
                   (sampled); no real epoch
  --null-gpu       webgpu on Dawn's null device, which records and validates every command and runs none: the
                   step's CPU side alone (JavaScript, Dawn), the least a step can take on any GPU; no GPU
                   needed, nothing computed, no real epoch (CC6204_DAWN_BACKEND=null; default backend webgpu).
                   Its steps take about a millisecond: give it thousands (--steps 3000)
  --json           print the results as JSON
  --help           this text

Against PyTorch and JAX, whole processes timed from outside, in alternated pairs (the kit first in odd pairs):
  --pytorch SETTINGS  comma-separated: ${Object.keys(SETTINGS).join(', ')}. The kit's experiment on
                   Fashion-MNIST (2e: adam:heuristic, 1 epoch; 1c: baseline or dropout, 3 epochs; each with
                   its test pass) against bench/torch_pipeline.py (autograd, torch.optim, tensors in memory,
                   denormals flushed), bench/jax_pipeline.py (the whole step under jax.jit, optax) where its
                   Python has jax and optax, and, for 2e, the answer notebook's own pipeline
                   (bench/notebook_pipeline.py); the versions run, a table of each pair's seconds, ratios and
                   test accuracies, then one of each setting's medians: the ratios, taken pair by pair, and
                   each side's epoch in seconds. Needs a Python with torch (python3, or CC6204_PYTHON: a
                   venv with pip install torch numpy) and, for JAX, one with jax and optax
                   (CC6204_JAX_PYTHON, else the same), and /usr/share/datasets/fashion-mnist. About a minute
                   a pair on two cores
  --pairs N        pairs per setting (default 2)

Set CC6204_WASM_THREADS=1 to time the single-threaded wasm build.
Exit status: 0 when every backend was timed, 1 if one failed, 2 for bad options.`;

function table(results: Result[]): string {
  const rows = results.map((r) => [
    r.variant === 'default' ? r.description : `${r.description} [${r.variant}]`,
    String(r.kernelsPerStep),
    r.msPerStepMedian.toFixed(1),
    r.jsMsPerStepMedian.toFixed(1),
    r.msPerStepMean.toFixed(1),
    r.secondsPerEpoch.toFixed(1),
    r.realEpoch ? `${r.realEpoch.seconds.toFixed(1)} (${(r.realEpoch.acc * 100).toFixed(2)}%)` : '—',
    r.realEpoch ? r.realEpoch.testPassSeconds.toFixed(1) : '—',
    r.peakRssMiB.toFixed(0),
    `${r.tensorsBefore} → ${r.tensorsAfter}`,
  ]);
  const header = ['backend', 'kernels/step', 'ms/step (median)', 'of it JS (median)', 'ms/step (mean)', 's per 600 steps', 'real epoch s (train acc)', 'its test pass s', 'peak RSS MiB', 'tensors'];
  return markdownTable({ header, rows, align: header.map((_, i) => (i === 0 || i === header.length - 1 ? 'left' : 'right')) }).trimEnd();
}

/** Validated options, or a UsageError. */
function parseOptions(argv: string[]) {
  const { values } = parseCommandLine('bench', {
    args: argv,
    options: {
      backend: { type: 'string' },
      steps: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
      epoch: { type: 'boolean', default: false },
      'no-fused': { type: 'boolean', default: false },
      'one-by-one': { type: 'boolean', default: false },
      'training-operations': { type: 'boolean', default: false },
      'tfjs-flag': { type: 'string', multiple: true, default: [] },
      batch: { type: 'string', default: String(BATCH) },
      profile: { type: 'boolean', default: false },
      'null-gpu': { type: 'boolean', default: false },
      pytorch: { type: 'string' },
      pairs: { type: 'string', default: '2' },
      worker: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const flags = values['tfjs-flag'];
  // Checked here, before any child process starts, by the parser the measurement uses.
  for (const flag of flags) {
    try {
      parseFlag(flag);
    } catch (failure) {
      throw new UsageError((failure as Error).message);
    }
  }
  // --backend, else CC6204_BACKEND (from the environment or .env), as in the other commands.
  const named = values.backend ?? (process.env.CC6204_BACKEND?.trim() || undefined);
  const backends = named?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = backends?.find((name) => !isBackendName(name));
  if (unknown) throw unknownBackend(unknown);
  return {
    ...values,
    flags,
    backends,
    steps: wholeNumberOption('steps', values.steps),
    pairs: wholeNumberOption('pairs', values.pairs),
    settings: values.pytorch === undefined ? undefined : parseSettings(values.pytorch),
    batch: wholeNumberOption('batch', values.batch),
  };
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseOptions(argv);
  } catch (failure) {
    return reportFailure(failure, { error: console.error, debug: Boolean(process.env.DEBUG), usageHint: ' (see --help)' });
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const { steps, batch, flags } = values;
  if (values.settings) {
    try {
      console.log(comparePeers(values.settings, values.pairs, values.backends?.[0], (line) => console.error(line)));
      return 0;
    } catch (failure) {
      return reportFailure(failure, { error: console.error, debug: Boolean(process.env.DEBUG) });
    }
  }
  const nullGpu = values['null-gpu'];
  const withEpoch = values.epoch && !values.profile && !nullGpu;
  if (values.worker) {
    const options = {
      ...{ steps, realEpoch: withEpoch, flags, batch },
      ...{ fused: !values['no-fused'], together: !values['one-by-one'], updateOperations: !values['training-operations'] },
    };
    const backend = values.worker;
    // Progress on stderr, one line a block; the result alone on stdout.
    const onBlock = (_: number, to: number, ms: number) => console.error(`  ${backend}: ${to}/${steps} steps, ${ms.toFixed(1)} ms a step in the last block`);
    console.log(JSON.stringify(values.profile ? await profileSteps(backend, options) : await measure(backend, { ...options, onBlock })));
    return 0;
  }
  const backends =
    values.backends ?? (nullGpu ? ['webgpu'] : (await usableBackends(undefined, { automatic: true })).filter((name) => name !== 'cpu'));
  const results: (Result | StepProfile)[] = [];
  for (const backend of backends) {
    const epoch = withEpoch ? ' and a real epoch if the data is here' : '';
    if (!values.json) console.error(`${values.profile ? 'Profiling' : 'Timing'} ${backend} (${steps} steps${epoch})...`);
    const args = [
      fileURLToPath(import.meta.url), '--worker', backend, '--steps', String(steps), '--batch', String(batch),
      ...(withEpoch ? ['--epoch'] : []),
      ...(values['no-fused'] ? ['--no-fused'] : []),
      ...(values['one-by-one'] ? ['--one-by-one'] : []),
      ...(values['training-operations'] ? ['--training-operations'] : []),
      ...(values.profile ? ['--profile'] : []),
      ...flags.flatMap((flag) => ['--tfjs-flag', flag]),
    ];
    const env = nullGpu ? { ...process.env, CC6204_DAWN_BACKEND: 'null' } : process.env;
    const child = spawnSync(process.execPath, [...process.execArgv, ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.status !== 0) {
      console.error(`${backend}: the benchmark failed (exit ${child.status}).`);
      return 1;
    }
    results.push(JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as Result | StepProfile);
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else if (values.profile) console.log((results as StepProfile[]).map(formatProfile).join('\n\n'));
  else console.log(table(results as Result[]));
  return 0;
}

if (isMain(import.meta.url)) await runCommand(() => main(process.argv.slice(2)));
