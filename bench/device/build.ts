// `npm run device:build`: lays out .device/ for a GPU machine that has no npm registry and takes at most 64 MiB of
// files with it (a lab server without internet, say). It holds:
//   run.mjs                         bench/device/run.ts bundled into one file with esbuild (tfjs, Dawn's JS, the tests)
//   dist/linux-x64/dawn.node.xz     Dawn's Node.js binding from the `webgpu` package, compressed (21 MB -> 5 MB)
//   data/fashion-mnist/*.xz         Fashion-MNIST's IDX files, for the real epoch (from Debian's
//                                   dataset-fashion-mnist; xz takes 4 MB less than gzip)
// and, from ../shared/gpu/prepare.sh when it is there, Node.js itself and the Vulkan loader's .deb files.
// bench/device/device.sh is what runs there: it unpacks all this and runs the checks.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { DATASET_SOURCES } from '../../src/data/sources.ts';
import { isMain } from '../../src/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, '.device');
const PREPARE = join(ROOT, '..', 'shared', 'gpu', 'prepare.sh');
const LIMIT_MIB = 64;
const LEFT_OUT = ['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@resvg/resvg-js'];

function sizeMiB(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.size / 2 ** 20;
  return readdirSync(path).reduce((sum, name) => sum + sizeMiB(join(path, name)), 0);
}

/** The test files the device program runs (the numeric tests of nn, optim, training and the questions), by name. */
export const DEVICE_TEST_FILES: [name: string, path: string][] = [
  ['webgpu', 'test/accel/webgpu.test.ts'],
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

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const prepared = existsSync(join(OUT, 'node.xz')) && existsSync(join(OUT, 'debs')) && readdirSync(join(OUT, 'debs')).length > 0;
  if (prepared) {
    console.log('.device/ already holds Node.js and the Vulkan loader (delete .device/ to lay it out again).');
  } else if (existsSync(PREPARE)) {
    console.log(`Running ${relative(ROOT, PREPARE)} (Node.js and the Vulkan loader for the device)...`);
    execFileSync('bash', [PREPARE], { cwd: ROOT, stdio: 'inherit' });
  } else {
    console.log(`No ${relative(ROOT, PREPARE)} here: bring Node.js and a Vulkan loader to the GPU machine yourself.`);
  }

  console.log('Bundling bench/device/run.ts...');
  await bundleDeviceProgram(join(OUT, 'run.mjs'));

  const dawn = join(ROOT, 'node_modules/webgpu/dist/linux-x64/dawn.node');
  const dawnOut = join(OUT, 'dist/linux-x64/dawn.node.xz');
  if (!existsSync(dawn)) throw new Error(`${relative(ROOT, dawn)} is missing: run npm ci (webgpu is an optional dependency).`);
  if (!existsSync(dawnOut) || statSync(dawnOut).mtimeMs < statSync(dawn).mtimeMs) {
    console.log('Compressing dawn.node...');
    mkdirSync(dirname(dawnOut), { recursive: true });
    writeFileSync(dawnOut, execFileSync('xz', ['-T2', '-6', '-c', dawn], { maxBuffer: 64 * 2 ** 20 }));
  }

  const source = DATASET_SOURCES['fashion-mnist'];
  const dataOut = join(OUT, 'data', source.name);
  mkdirSync(dataOut, { recursive: true });
  for (const file of Object.values(source.files).flatMap((split) => Object.values(split))) {
    const from = join(source.localDir ?? '', file.name);
    const to = join(dataOut, `${basename(file.name, '.gz')}.xz`);
    if (!existsSync(from)) {
      console.log(`No ${from}: the epoch check will need Fashion-MNIST (apt-get install dataset-fashion-mnist).`);
      break;
    }
    if (existsSync(to)) continue;
    console.log(`Recompressing ${file.name}...`);
    const raw = execFileSync('gzip', ['-dc', from], { maxBuffer: 128 * 2 ** 20 });
    writeFileSync(to, execFileSync('xz', ['-T2', '-9e', '-c'], { input: raw, maxBuffer: 128 * 2 ** 20 }));
  }

  const total = sizeMiB(OUT);
  console.log(`.device/ holds ${total.toFixed(1)} MiB (at most ${LIMIT_MIB} MiB travel with the tree).`);
  if (total > LIMIT_MIB - 2) process.exitCode = 1;
  console.log('On the GPU machine, from the project root: bash bench/device/device.sh [tests] [bench] [profile] [epoch] [torch]');
  console.log('(or, where that crashes or hangs, bash bench/device/device.sh diagnose: each check in a process of its own)');
}

if (isMain(import.meta.url)) await main();
