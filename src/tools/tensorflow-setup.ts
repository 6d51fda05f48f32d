// `npm run setup:tensorflow`: the tensorflow backend (@tensorflow/tfjs-node) on a machine whose npm install cannot
// download libtensorflow (no internet but the package registries). tfjs-node's binding is built against the
// TensorFlow C library inside a tensorflow-cpu wheel, from the machine's Python index (pip) or given as a file or
// an unpacked folder. With internet, `npm install @tensorflow/tfjs-node` does all this by itself.
//
// It installs into a folder of the kit's own beside node_modules (.tensorflow/, SETUP_FOLDER), where the loader
// looks after node_modules, so that npm ci leaves it working; a new setup is built beside the old one and replaces it
// only once it loads.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMain, parseCommandLine, reportFailure, runCommand, UsageError } from '../core/cli.ts';
import { kitError } from '../core/errors.ts';
import { SETUP_FOLDER, UPDATE_OPERATIONS_FILE } from '../backends/tensorflow.ts';

const TFJS_NODE_VERSION = '4.22.0';

export const HELP = `Usage: npm run setup:tensorflow [-- --wheel FILE|FOLDER]

Makes the tensorflow backend work on a machine without internet: installs @tensorflow/tfjs-node
(${TFJS_NODE_VERSION}, without its download step) into .tensorflow/ and builds its binding against the TensorFlow C
library of a tensorflow-cpu wheel (about a minute and 800 MB), and beside it the kit's optimizer updates as
TensorFlow operations (src/accel/optimizers.c, with the C compiler that builds the binding: cc, or CC). The wheel
comes from --wheel, else
CC6204_TENSORFLOW_WHEEL, else the machine's Python index (pip download tensorflow-cpu). Then --backend tensorflow
works, and the automatic choice takes it; npm ci leaves it as it is. To undo it, remove .tensorflow/.

Options:
  --wheel PATH  a tensorflow-cpu .whl file, or a folder it was unpacked into
  --help        this text

Exit status: 0 when the backend loads, 1 if a step failed, 2 for bad options.`;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A step of the setup that failed: the message says which and why. */
export class SetupError extends kitError('SetupError', 'SETUP_FAILED') {}

/** Runs a command; its output is kept and, on failure, its last lines go into the error. */
function run(step: string, command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const child = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, ...options });
  if (child.error || child.status !== 0) {
    const output = `${child.stdout ?? ''}${child.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    throw new SetupError(`${step} failed: ${child.error?.message ?? output}`);
  }
  return child.stdout;
}

/** The wheel to use: given, or downloaded by pip into `folder`. */
export function findWheel(given: string | undefined, folder: string, log: (line: string) => void): string {
  if (given !== undefined) {
    if (!existsSync(given)) throw new SetupError(`No TensorFlow wheel at ${given}: give a tensorflow-cpu .whl file or the folder it was unpacked into.`);
    return resolve(given);
  }
  log('Looking for tensorflow-cpu in the Python index (pip download)...');
  const pip = spawnSync('python3', ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--dest', folder, 'tensorflow-cpu'], { encoding: 'utf8' });
  const wheel = existsSync(folder) ? readdirSync(folder).find((name) => /^tensorflow_cpu-.*\.whl$/.test(name)) : undefined;
  if (pip.status !== 0 || wheel === undefined) {
    const why = pip.error ? pip.error.message : (pip.stderr.trim().split('\n').at(-1) ?? 'no wheel');
    throw new SetupError(`No TensorFlow wheel found (pip download tensorflow-cpu: ${why}); give one with --wheel FILE or CC6204_TENSORFLOW_WHEEL.`);
  }
  return join(folder, wheel);
}

/** What the binding needs of the wheel: the C library and its headers, under tensorflow/ and xla/ of an unpacked wheel. */
const MEMBERS = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2', 'tensorflow/include/'];

/** The folder holding the wheel's tensorflow/ (the wheel unpacked into `scratch` first where it is a file). */
function unpacked(wheel: string, scratch: string): string {
  if (!wheel.endsWith('.whl')) return wheel;
  // Python's zipfile, since pip is there anyway and unzip may not be: only the members needed (the whole is 1 GB).
  const script = `import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [m for m in z.namelist() if any(m.startswith(p) for p in sys.argv[3:])])`;
  run('Unpacking the wheel', 'python3', ['-c', script, wheel, scratch, ...MEMBERS]);
  return scratch;
}

/** Refuses a wheel (unpacked in `from`) without the TensorFlow C library. */
function checkWheel(from: string): void {
  for (const member of MEMBERS.slice(0, 2)) {
    if (!existsSync(join(from, member))) throw new SetupError(`The wheel has no ${member}: it is not a tensorflow-cpu wheel of TensorFlow 2.x.`);
  }
}

/** Lays the C library and headers out in the package's deps/ as its build expects (the names of TensorFlow 2.9). */
function layOutDeps(from: string, packageDir: string): void {
  const tensorflow = join(from, 'tensorflow');
  const deps = join(packageDir, 'deps');
  rmSync(deps, { recursive: true, force: true });
  mkdirSync(join(deps, 'lib'), { recursive: true });
  for (const library of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) cpSync(join(tensorflow, library), join(deps, 'lib', library));
  const links: [string, string][] = [
    ...['libtensorflow.so', 'libtensorflow.so.2', 'libtensorflow.so.2.9.1'].map((name): [string, string] => [name, 'libtensorflow_cc.so.2']),
    ...['libtensorflow_framework.so', 'libtensorflow_framework.so.2.9.1'].map((name): [string, string] => [name, 'libtensorflow_framework.so.2']),
  ];
  for (const [name, target] of links) symlinkSync(target, join(deps, 'lib', name));
  const include = join(tensorflow, 'include');
  for (const header of ['tensorflow/c', 'tensorflow/core/platform', 'xla/tsl/c', 'tsl']) {
    if (existsSync(join(include, header))) cpSync(join(include, header), join(deps, 'include', header), { recursive: true });
  }
}

/** Where Node.js's own headers are (include/node/node_api.h), so that node-gyp needs no download. */
function nodeHeaders(): string | undefined {
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/**
 * Installs tfjs-node into `folder` without its install step, its copy of tfjs-core replaced by a link to the kit's
 * (the backend must register with the tfjs-core the kit uses), and builds its binding against the unpacked wheel.
 */
function install(folder: string, from: string, log: (line: string) => void): void {
  mkdirSync(folder, { recursive: true });
  const manifest = {
    description: 'The tensorflow backend as npm run setup:tensorflow built it; remove this folder to undo it.',
    private: true,
    dependencies: { '@tensorflow/tfjs-node': TFJS_NODE_VERSION },
  };
  writeFileSync(join(folder, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  log(`Installing @tensorflow/tfjs-node@${TFJS_NODE_VERSION} without its download step...`);
  run('npm install @tensorflow/tfjs-node', 'npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: folder });
  const core = join(folder, 'node_modules', '@tensorflow', 'tfjs-core');
  rmSync(core, { recursive: true, force: true });
  symlinkSync(relative(dirname(core), join(ROOT, 'node_modules', '@tensorflow', 'tfjs-core')), core);
  const packageDir = join(folder, 'node_modules', '@tensorflow', 'tfjs-node');
  layOutDeps(from, packageDir);
  log("Building tfjs-node's binding against the wheel's TensorFlow (about half a minute)...");
  const headers = nodeHeaders();
  const env = {
    ...process.env,
    PATH: `${join(folder, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    ...(headers ? { npm_config_nodedir: headers } : {}),
  };
  // Its prebuilt binary download fails at once without internet; then node-gyp builds from source.
  run("Building tfjs-node's binding", process.execPath, ['scripts/install.js', 'cpu'], { cwd: packageDir, env });
  buildUpdateOperations(folder, packageDir, log);
}

/**
 * Builds src/accel/optimizers.c into `folder` as an addon linked to the TensorFlow of the tfjs-node in `packageDir`
 * (found relative to the addon, so that the folder can be renamed). Where it does not build, the backend works
 * without it: TensorFlow's training operations update the parameters, a few times slower.
 */
function buildUpdateOperations(folder: string, packageDir: string, log: (line: string) => void): void {
  const source = join(ROOT, 'src', 'accel', 'optimizers.c');
  // The student edition has none: its optimizers are the formulas the student writes.
  if (!existsSync(source)) return;
  const lib = join(packageDir, 'deps', 'lib');
  const args = [
    // The formula's float32 operations as written: no fused multiply-adds; errno is not set, so loops vectorize.
    ...['-O3', '-ffp-contract=off', '-fno-math-errno', '-fPIC', '-shared', '-Wall'],
    ...['-o', join(folder, UPDATE_OPERATIONS_FILE), source],
    ...['-L', lib, '-ltensorflow_framework', `-Wl,-rpath,$ORIGIN/${relative(folder, lib)}`, '-lpthread'],
  ];
  const compiler = process.env.CC?.trim() || 'cc';
  log(`Building the kit's update operations (${compiler} src/accel/optimizers.c)...`);
  try {
    run("Building the kit's update operations", compiler, args);
  } catch (failure) {
    log(`${(failure as Error).message}; TensorFlow's training operations will update the parameters instead.`);
  }
}

/** Runs `script`, an ES module, in a Node.js process of its own in the kit's folder; its output. */
function runScript(step: string, script: string): string {
  return run(step, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT }).trim();
}

/** Whether the tfjs-node built in `folder` registers a tensorflow backend that computes. */
function checkBuilt(folder: string): void {
  const from = JSON.stringify(pathToFileURL(join(folder, 'package.json')).href);
  runScript(
    'Loading the tfjs-node just built',
    `const tf = await import('@tensorflow/tfjs-core'); const { loadTfjsNode } = await import('./src/backends/tensorflow.ts');
     await loadTfjsNode('@tensorflow/tfjs-node', ${from});
     if (!(await tf.setBackend('tensorflow'))) throw new Error('the backend did not initialise');
     const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync();
     if (sum[0] !== 4 || sum[1] !== 6) throw new Error('1 + 3 and 2 + 4 gave ' + Array.from(sum).join(', '));`,
  );
}

/** The tensorflow backend as the kit chooses it, in a process of its own: its description, or why it does not load. */
function check(): string {
  return runScript('Loading the tensorflow backend', `const { selectBackend } = await import('./src/backends/select.ts'); console.log((await selectBackend('tensorflow')).description);`);
}

export function main(argv: string[], log: (line: string) => void = console.log, error: (line: string) => void = console.error): number {
  try {
    const { values } = parseCommandLine('setup:tensorflow', { args: argv, options: { wheel: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      log(HELP);
      return 0;
    }
    if (values.wheel === '') throw new UsageError('--wheel needs a file or folder');
    const scratch = mkdtempSync(join(tmpdir(), 'cc6204-tensorflow-'));
    // Built beside the one in use, which stays until the new one loads.
    const building = `${SETUP_FOLDER.replace(/[/\\]$/, '')}.building`;
    rmSync(building, { recursive: true, force: true });
    try {
      const wheel = findWheel(values.wheel ?? (process.env.CC6204_TENSORFLOW_WHEEL?.trim() || undefined), join(scratch, 'wheel'), log);
      log(`Wheel: ${wheel}`);
      const from = unpacked(wheel, join(scratch, 'unpacked'));
      checkWheel(from);
      install(building, from, log);
      checkBuilt(building);
      // The one in use is moved aside first and removed last, so that a failed rename leaves it in place.
      const old = `${building.replace(/\.building$/, '')}.old`;
      rmSync(old, { recursive: true, force: true });
      if (existsSync(SETUP_FOLDER)) renameSync(SETUP_FOLDER, old);
      try {
        renameSync(building, SETUP_FOLDER);
      } catch (failure) {
        if (existsSync(old)) renameSync(old, SETUP_FOLDER);
        throw failure;
      }
      rmSync(old, { recursive: true, force: true });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      rmSync(building, { recursive: true, force: true });
    }
    log(`Backend: ${check()}`);
    log(`Done: --backend tensorflow works, and the automatic choice takes it. It is in ${relative(process.cwd(), SETUP_FOLDER) || '.'}/, which npm ci leaves as it is.`);
    return 0;
  } catch (failure) {
    return reportFailure(failure, { error, debug: Boolean(process.env.DEBUG), usageHint: ' (see --help)' });
  }
}

if (isMain(import.meta.url)) await runCommand(() => Promise.resolve(main(process.argv.slice(2))));
