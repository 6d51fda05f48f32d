// `npm run device:build`: lays out .device/ for running the bench and the numeric tests on a GPU node that has no
// network (a lab or cluster node without internet), where npm cannot install anything. The project goes there with
// .device/ in it, and bench/device/device.sh runs the checks from what .device/ holds (see HELP).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { DATASET_SOURCES } from '../../src/data/sources.ts';
import { isMain, parseCommandLine, reportFailure, runCommand, wholeNumberOption } from '../../src/core/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, '.device');
const LEFT_OUT = ['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@resvg/resvg-js'];
/** What NVIDIA's Vulkan driver needs beside it and a bare NVIDIA container lacks: the Vulkan loader, GL's vendor-neutral libraries. */
export const VULKAN_PACKAGES = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];

export const HELP = `Usage: npm run device:build -- [--max-mib N] [--with-node] [--with-vulkan]

Lays out .device/ (ignored by git) for running the bench and the numeric tests on a GPU node that has no network
(a lab or cluster node without internet): take the project there with .device/ in it and run
bash bench/device/device.sh from its root. .device/ holds:
  run.mjs                      bench/device/run.ts, the numeric test files it runs and everything they import
                               in one file, with a small stand-in for vitest's runner
  dist/linux-x64/dawn.node.xz  Dawn's Node.js binding (the webgpu package), xz-compressed
  data/fashion-mnist/*.xz      Fashion-MNIST's IDX files, for the epoch check (when Debian's copy is here:
                               ${DATASET_SOURCES['fashion-mnist'].localDir})
and, as asked, Node.js and the Vulkan libraries. Files already there and up to date are kept; what the options do
not ask for is removed. Ends with the size of .device/.

Options:
  --max-mib N    fail (exit 1) when .device/ takes more than N MiB, for a node that takes only so much
                 (default: no limit)
  --with-node    include the Node.js binary running this (${process.version}), xz-compressed, as node.xz, for a node
                 without Node.js; device.sh runs it there
  --with-vulkan  download with apt-get (amd64) into debs/ the Vulkan loader and the GL libraries that NVIDIA's
                 Vulkan driver needs and a bare NVIDIA container lacks:
                 ${VULKAN_PACKAGES.join(' ')}
                 (device.sh unpacks them there, as root). Needs apt-get and a network here
  --help         this text

Exit status: 0 when .device/ is laid out, 1 if a step failed or .device/ is over --max-mib, 2 for bad options.`;

export interface BuildOptions {
  help: boolean;
  /** The most MiB .device/ may take; undefined for no limit. */
  maxMib: number | undefined;
  withNode: boolean;
  withVulkan: boolean;
}

/** The options node:util's parseArgs reads; HELP describes each. */
export const OPTIONS = {
  'max-mib': { type: 'string' },
  'with-node': { type: 'boolean', default: false },
  'with-vulkan': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** The options of `npm run device:build`, or a UsageError. */
export function parseBuildOptions(argv: string[]): BuildOptions {
  const { values } = parseCommandLine('device:build', { args: argv, options: OPTIONS });
  const maxMib = values['max-mib'];
  return {
    help: values.help,
    maxMib: maxMib === undefined ? undefined : wholeNumberOption('max-mib', maxMib),
    withNode: values['with-node'],
    withVulkan: values['with-vulkan'],
  };
}

/** The MiB a file or a folder with everything in it takes. */
export function sizeMiB(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.size / 2 ** 20;
  return readdirSync(path).reduce((sum, name) => sum + sizeMiB(join(path, name)), 0);
}

/** The test files the device program runs (the numeric tests of nn, optim, training and the questions), by name. */
export const DEVICE_TEST_FILES: [name: string, path: string][] = [
  ['webgpu', 'test/accel/wgsl.test.ts'],
  ['fused-batches', 'test/accel/batches.test.ts'],
  ['activations', 'test/nn/activations.test.ts'],
  ['dropout', 'test/nn/dropout.test.ts'],
  ['fused-activations', 'test/accel/activations.test.ts'],
  ['ffnn', 'test/nn/ffnn.test.ts'],
  ['init', 'test/nn/init.test.ts'],
  ['memory', 'test/nn/memory.test.ts'],
  ['optimizers', 'test/optim/optimizers.test.ts'],
  ['fused-webgpu', 'test/accel/optimizers-webgpu.test.ts'],
  ['train', 'test/training/train.test.ts'],
  ['fused-metrics', 'test/accel/metrics.test.ts'],
  ['checkpoint', 'test/training/checkpoint.test.ts'],
  ...(['1a', '1b', '2a', '2b', '2c', '2d', 'backward'].map((piece) => [piece, `test/homework/${piece}.test.ts`]) as [string, string][]),
];

/** The bundle's entry: lists the test files for run.ts (bench/device/test-files.ts), then starts it. */
function entrySource(): string {
  const lines = DEVICE_TEST_FILES.map(([name, path]) => `TEST_FILES.set(${JSON.stringify(name)}, () => import(${JSON.stringify(`./${path}`)}));`);
  return ["import { TEST_FILES } from './bench/device/test-files.ts';", ...lines, "await import('./bench/device/run.ts');"].join('\n');
}

/** Bundles bench/device/run.ts with the test files it runs and everything they import into one ES module file, `outfile`. */
export async function bundleDeviceProgram(outfile: string): Promise<void> {
  await build({
    stdin: { contents: entrySource(), resolveDir: ROOT, sourcefile: 'device-entry.ts', loader: 'ts' },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // tfjs packages name their ES module build in `module` and register kernels as side effects that esbuild would
    // otherwise drop as unused.
    mainFields: ['main', 'module'],
    ignoreAnnotations: true,
    // The other backends are not used there and stay out of the bundle: importing one fails as if not installed.
    alias: {
      vitest: join(ROOT, 'bench/device/vitest-shim.ts'),
      ...Object.fromEntries(LEFT_OUT.map((name) => [name, join(ROOT, 'bench/device/absent.ts')])),
    },
    // Native bindings load from disk.
    external: ['*.node'],
    // Bundled CommonJS modules call require() for Node's own modules.
    banner: { js: "import { createRequire as __cc6204Require } from 'node:module'; const require = __cc6204Require(import.meta.url);" },
    logLevel: 'warning',
  });
}

/** Whether `to` is missing or older than `from`, the file it is made from. */
const stale = (from: string, to: string) => !existsSync(to) || statSync(to).mtimeMs < statSync(from).mtimeMs;

/**
 * Writes `from` (a file, or the bytes given) xz-compressed at `level` to `to`, through a file beside it renamed at the
 * end, so that a run cut short leaves no part of a file that a later one would keep.
 */
function compress(from: string | Buffer, to: string, level: string): void {
  mkdirSync(dirname(to), { recursive: true });
  const part = `${to}.part`;
  const fd = openSync(part, 'w');
  try {
    const file = typeof from === 'string';
    const args = ['-T0', level, '-c', ...(file ? [from] : [])];
    execFileSync('xz', args, { input: file ? undefined : from, stdio: [file ? 'ignore' : 'pipe', fd, 'inherit'] });
  } finally {
    closeSync(fd);
  }
  renameSync(part, to);
}

/** `rm -rf path`, saying so when there was something there. */
function remove(path: string, why: string): void {
  if (!existsSync(path)) return;
  rmSync(path, { recursive: true, force: true });
  console.log(`Removed ${relative(ROOT, path)} (${why}).`);
}

/**
 * Downloads the Vulkan packages' .deb files for amd64 into `dir`, with package lists of their own in a temporary
 * folder: apt-get needs no root for that, and the machine's own lists may be for another architecture or out of date.
 */
function downloadVulkan(dir: string): void {
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).error) {
    const debs = VULKAN_PACKAGES.join(' ');
    throw new Error(`--with-vulkan downloads with apt-get, which is not here: run it on Debian or Ubuntu, or put the .deb files of ${debs} in .device/debs/`);
  }
  const lists = mkdtempSync(join(tmpdir(), 'cc6204-apt-lists-'));
  try {
    mkdirSync(join(lists, 'partial'));
    // No cache files either: the machine's own stay as they were.
    const settings = ['APT::Architecture=amd64', 'APT::Architectures=amd64', `Dir::State::Lists=${lists}`, 'Dir::Cache::pkgcache=', 'Dir::Cache::srcpkgcache='];
    const apt = settings.flatMap((setting) => ['-o', setting]);
    console.log('Updating package lists (amd64)...');
    const update = spawnSync('apt-get', [...apt, 'update'], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    console.log(`Downloading ${VULKAN_PACKAGES.join(' ')}...`);
    const download = spawnSync('apt-get', [...apt, 'download', ...VULKAN_PACKAGES], { cwd: dir, encoding: 'utf8' });
    if (download.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      const said = [download.stderr, update.stderr].flatMap((text) => text.split('\n')).find((line) => /^(E|Err):/.test(line));
      throw new Error(`apt-get could not download the Vulkan packages${said ? `: ${said.trim()}` : ` (exit ${download.status})`}`);
    }
  } finally {
    rmSync(lists, { recursive: true, force: true });
  }
}

/** Lays out .device/ as `options` ask. */
async function layOut(options: BuildOptions): Promise<void> {
  mkdirSync(OUT, { recursive: true });

  const node = join(OUT, 'node.xz');
  if (!options.withNode) remove(node, 'no --with-node');
  else if (stale(process.execPath, node)) {
    console.log(`Compressing Node.js ${process.version} (${process.execPath})...`);
    compress(process.execPath, node, '-6');
  }

  const debs = join(OUT, 'debs');
  const downloaded = existsSync(debs) ? readdirSync(debs) : [];
  if (!options.withVulkan) remove(debs, 'no --with-vulkan');
  else if (!VULKAN_PACKAGES.every((name) => downloaded.some((file) => file.startsWith(`${name}_`)))) downloadVulkan(debs);

  console.log('Bundling bench/device/run.ts...');
  await bundleDeviceProgram(join(OUT, 'run.mjs'));

  const dawn = join(ROOT, 'node_modules/webgpu/dist/linux-x64/dawn.node');
  const dawnOut = join(OUT, 'dist/linux-x64/dawn.node.xz');
  if (!existsSync(dawn)) throw new Error(`${relative(ROOT, dawn)} is missing: run npm ci (webgpu is an optional dependency)`);
  if (stale(dawn, dawnOut)) {
    console.log('Compressing dawn.node...');
    compress(dawn, dawnOut, '-6');
  }

  const source = DATASET_SOURCES['fashion-mnist'];
  const dataOut = join(OUT, 'data', source.name);
  for (const file of Object.values(source.files).flatMap((split) => Object.values(split))) {
    const from = join(source.localDir ?? '', file.name);
    const to = join(dataOut, `${basename(file.name, '.gz')}.xz`);
    if (!existsSync(from)) {
      console.log(`No ${from}: the epoch check will need Fashion-MNIST on the node (Debian: apt-get install dataset-fashion-mnist).`);
      break;
    }
    if (!stale(from, to)) continue;
    // xz at its strongest takes a few MiB less than the gzip files as they come.
    console.log(`Recompressing ${file.name}...`);
    compress(execFileSync('gzip', ['-dc', from], { maxBuffer: 128 * 2 ** 20 }), to, '-9e');
  }

  const total = sizeMiB(OUT);
  if (options.maxMib !== undefined && total > options.maxMib) {
    throw new Error(`.device/ takes ${total.toFixed(1)} MiB, more than --max-mib ${options.maxMib}`);
  }
  console.log(`.device/ takes ${total.toFixed(1)} MiB.`);
  console.log('On the GPU node, from the project root: bash bench/device/device.sh [tests] [bench] [profile] [epoch] [torch]');
  console.log('(or, where that crashes or hangs, bash bench/device/device.sh diagnose: each check in a process of its own)');
}

/** `npm run device:build` with the arguments `argv`; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const debug = Boolean(process.env.DEBUG);
  let options;
  try {
    options = parseBuildOptions(argv);
  } catch (failure) {
    return reportFailure(failure, { error: console.error, debug, usageHint: ' (see --help)' });
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  try {
    await layOut(options);
    return 0;
  } catch (failure) {
    return reportFailure(failure, { error: console.error, debug });
  }
}

if (isMain(import.meta.url)) await runCommand(() => main(process.argv.slice(2)));
