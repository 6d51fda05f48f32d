// The GPU node's one program: `npm run device:build` bundles it into .device/run.mjs with everything it needs
// (see bench/device/build.ts); device.sh runs it there. It does every check in one process, so that one command on
// the GPU node covers them all:
//   tests   the core's numeric tests (nn, optim, training, the questions against the fixture) on CC6204_TEST_BACKENDS
//           (default webgpu), through a small stand-in for vitest's runner with vitest's own `expect`;
//   bench   training steps of the 2e network on webgpu, with the fused kernels and without, with larger batches of
//           dispatches per submit, with smaller matMul tiles, with batches of 1000 rows instead of 100, and with
//           split-K products;
//   profile where a step's time goes (bench/profile.ts): GPU time of each kernel, cost of one small kernel, the
//           step's JavaScript by package and function;
//   epoch   one epoch of 2e adam:heuristic on Fashion-MNIST, then the test pass, as `npm run experiment` runs it.
//   step    (diagnostics) the bench's step with a line at each stage and no tf.profile;
//   raw     (diagnostics) Dawn and tfjs's webgpu backend as their documentation sets them up, none of the kit's code
//           (bench/device/raw.ts), instead of everything else.
// Usage: node .device/run.mjs [tests] [bench] [profile] [epoch] [step] [raw] [--steps N] [--batch N (profile)]
// [--data-dir DIR] [--backend NAME] (default: tests, bench, profile and epoch, on webgpu). For `device.sh diagnose`,
// each of the kit's additions can be left out: --skip-auto (no automatic choice first), --no-trap, --fresh-reads,
// --default-storage-buffers, --no-bind-group-cache, --no-exact-timestamps, --no-timestamps; --no-fused (step only)
// takes the tfjs operations; --files names the test files to run, --variants the bench's variants (by index),
// --dawn-flag raw's Dawn flags.
// Writes device-results.json to $OUT (or the current folder) as well as printing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backends/select.ts';
import { deviceAdaptations } from '../../src/backends/webgpu.ts';
import { formatEpoch, formatTest } from '../../src/training/train.ts';
import { BATCH, benchStep, measure, median, onBackend, realEpoch, type Result, timeBlocks } from '../measure.ts';
import { formatProfile, profileSteps } from '../profile.ts';
import { TEST_FILES } from './test-files.ts';
import { runRegistered } from './vitest-shim.ts';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    steps: { type: 'string', default: '200' },
    batch: { type: 'string', default: String(BATCH) },
    'data-dir': { type: 'string' },
    backend: { type: 'string', default: 'webgpu' },
    // Diagnostics, to tell a driver's fault from the kit's (see `step` and `raw` below).
    files: { type: 'string' },
    'no-fused': { type: 'boolean', default: false },
    'fresh-reads': { type: 'boolean', default: false },
    'default-storage-buffers': { type: 'boolean', default: false },
    'no-bind-group-cache': { type: 'boolean', default: false },
    'no-timestamps': { type: 'boolean', default: false },
    variants: { type: 'string' },
    'dawn-flag': { type: 'string', multiple: true, default: [] },
    'no-exact-timestamps': { type: 'boolean', default: false },
    'no-trap': { type: 'boolean', default: false },
    'skip-auto': { type: 'boolean', default: false },
  },
});
// Before any backend starts: they change the GPU device when tfjs requests it.
if (values['default-storage-buffers']) deviceAdaptations.raiseStorageBuffers = false;
if (values['no-bind-group-cache']) deviceAdaptations.reuseBindGroups = false;
if (values['no-exact-timestamps']) deviceAdaptations.exactTimestamps = false;
if (values['no-trap']) deviceAdaptations.trapErrors = false;
const startedAt = performance.now();
/** A line with the milliseconds since the process started: where a step hangs, the last one says where. */
const trace = (line: string) => console.log(`[${(performance.now() - startedAt).toFixed(0).padStart(6)} ms] ${line}`);
const parts = positionals.length ? positionals : ['tests', 'bench', 'profile', 'epoch'];
if (parts[0] === 'raw') {
  // Before the kit touches Dawn, and instead of everything else.
  const { rawProbe } = await import('./raw.ts');
  await rawProbe(values['dawn-flag'] ?? [], Number(values.steps), trace);
  process.exit(0);
}
const backend = values.backend;
const report: Record<string, unknown> = { startedAt: new Date().toISOString(), parts };
const save = () => writeFileSync(join(process.env.OUT ?? '.', 'device-results.json'), `${JSON.stringify(report, null, 2)}\n`);
let failed = false;

async function section<T>(name: string, body: () => Promise<T>): Promise<T | undefined> {
  console.log(`\n== ${name}`);
  const started = performance.now();
  try {
    return await body();
  } catch (error) {
    failed = true;
    console.log(`${name} failed: ${(error as Error).stack ?? String(error)}`);
    report[`${name}Error`] = String((error as Error).message ?? error);
    return undefined;
  } finally {
    console.log(`(${name}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    save();
  }
}

if (!values['skip-auto']) await section('automatic choice', async () => {
  // What `npm run experiment` takes with no --backend: on a GPU node, webgpu (tensorflow is not in the bundle).
  const info = await selectBackend('');
  console.log(`Backend chosen with none asked for: ${info.description}`);
  report.automatic = info;
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const adapter = await gpu?.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) {
    // What would bound kernels with more buffers (an optimizer updating a layer's weights and bias at once): tfjs
    // asks its device for the default 8 storage buffers a shader.
    const names = ['maxStorageBuffersPerShaderStage', 'maxBindingsPerBindGroup', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'] as const;
    const limits = Object.fromEntries(names.map((name) => [name, adapter.limits[name]]));
    console.log(`Adapter limits: ${names.map((name) => `${name} ${limits[name]}`).join(', ')}`);
    report.adapterLimits = limits;
  }
});

/** Reads every tensor from a staging buffer of its own, destroyed after, instead of tfjs's pooled ones. */
function freshReads(): void {
  interface Gpu {
    device: { createBuffer(d: { size: number; usage: number }): StagingBuffer };
    commandEncoder: { copyBufferToBuffer(a: unknown, ao: number, b: unknown, bo: number, size: number): void };
    ensureCommandEncoderReady(): void;
    endComputePassEncoder(): void;
    submitQueue(): void;
    getBufferData(buffer: { size: number }): Promise<ArrayBuffer>;
  }
  interface StagingBuffer {
    mapAsync(mode: number): Promise<void>;
    getMappedRange(): ArrayBuffer;
    unmap(): void;
    destroy(): void;
  }
  const gpu = tf.backend() as unknown as Gpu;
  const { GPUBufferUsage, GPUMapMode } = globalThis as unknown as { GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number> };
  gpu.getBufferData = async (buffer) => {
    const staging = gpu.device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.COPY_DST! | GPUBufferUsage.MAP_READ! });
    gpu.ensureCommandEncoderReady();
    gpu.endComputePassEncoder();
    gpu.commandEncoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
    gpu.submitQueue();
    await staging.mapAsync(GPUMapMode.READ!);
    const data = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    return data;
  };
}

if (values['fresh-reads'] || values['no-timestamps']) await selectBackend(backend);
if (values['fresh-reads']) freshReads();
if (values['no-timestamps']) {
  // tf.profile and tf.time then count kernels without timing them on the GPU (the profile times them by the clock).
  Object.assign(tf.backend(), { supportTimestampQuery: false, hasTimestampQueryWarned: true });
}
trace(
  `settings: ${JSON.stringify({ parts, steps: values.steps, variants: values.variants, noFused: values['no-fused'], freshReads: values['fresh-reads'], noTimestamps: values['no-timestamps'], ...deviceAdaptations })}`,
);

if (parts.includes('step')) {
  // The bench's step with a line at each stage and no tf.profile (no timestamp queries).
  await section('step', async () => {
    const steps = Number(values.steps);
    report.step = await onBackend(backend, { fused: !values['no-fused'], flags: [] }, async (info) => {
      trace(`backend ${info.description}`);
      const bench = benchStep(Number(values.batch));
      trace('network, optimizer and batch made');
      bench.step();
      trace('first step recorded');
      await bench.finish();
      trace('first step read back');
      for (let i = 0; i < 4; i++) bench.step();
      await bench.finish();
      trace('warm-up done');
      const { times } = await timeBlocks(bench, steps, {
        blockSize: 20,
        onBlock: (from, to, ms) => trace(`steps ${from}-${to}: ${ms.toFixed(2)} ms/step`),
      });
      bench.dispose();
      const middle = median(times);
      console.log(`step [${values['no-fused'] ? 'no fused kernels' : 'fused'}]: ${middle.toFixed(2)} ms/step median of ${times.length} blocks of up to 20`);
      return { description: info.description, fused: !values['no-fused'], msPerStepMedian: middle, blocks: times };
    });
  });
}

if (parts.includes('tests')) {
  await section('tests', async () => {
    process.env.CC6204_TEST_BACKENDS ??= backend;
    const names = values.files ? values.files.split(',') : [...TEST_FILES.keys()];
    const unknown = names.filter((name) => !TEST_FILES.has(name));
    if (unknown.length) throw new Error(`no test file named ${unknown.join(', ')} (known: ${[...TEST_FILES.keys()].join(', ')})`);
    // Each file registers its tests when imported, as under vitest.
    for (const name of names) await TEST_FILES.get(name)!();
    const summary = await runRegistered();
    report.tests = summary;
    console.log(`Tests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
    if (summary.failed > 0) failed = true;
  });
}

if (parts.includes('bench')) {
  await section('bench', async () => {
    const steps = Number(values.steps);
    const variants = [
      { fused: true, flags: [] },
      { fused: false, flags: [] },
      { fused: true, flags: ['WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64'] },
      { fused: true, flags: ['WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=1000'] },
      // tfjs tiles a product's output 32×32 a workgroup unless that makes 8 or fewer workgroups; a batch of 100 makes
      // 4 to 128 here, few for a large GPU. This threshold gives every product of the network smaller tiles.
      { fused: true, flags: ['WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL=1000'] },
      // Ten times the rows: how much of the step grows with the work.
      { fused: true, flags: [], batch: 1000 },
      // Every product split along its inner dimension (atomic adds into a zeroed output): more workgroups for the
      // forward products, whose inner dimensions are 128 to 1024. Last, so that a failure of this path loses no other.
      { fused: true, flags: ['WEBGPU_MATMUL_PROGRAM_TYPE=1'] },
    ];
    const results: Result[] = [];
    const chosen = values.variants ? values.variants.split(',').map(Number) : variants.map((_, i) => i);
    const wrong = chosen.filter((i) => !Number.isInteger(i) || !variants[i]);
    if (wrong.length) throw new Error(`--variants takes indices 0 to ${variants.length - 1}, comma-separated, not ${values.variants}`);
    for (const variant of chosen.map((i) => variants[i]!)) {
      trace(`variant ${JSON.stringify(variant)}`);
      results.push(await measure(backend, { steps, realEpoch: false, ...variant }));
      const r = results.at(-1)!;
      console.log(`${r.description} [${r.variant}]: ${r.kernelsPerStep} kernels/step, ${r.msPerStepMedian.toFixed(2)} ms/step median (JS ${r.jsMsPerStepMedian.toFixed(2)}), ${r.msPerStepMean.toFixed(2)} mean, tensors ${r.tensorsBefore} -> ${r.tensorsAfter}`);
    }
    report.bench = results;
  });
}

if (parts.includes('profile')) {
  await section('profile', async () => {
    const steps = Math.min(Number(values.steps), 100);
    const profile = await profileSteps(backend, { steps, fused: true, flags: [], batch: Number(values.batch) });
    console.log(formatProfile(profile));
    report.profile = profile;
  });
}

if (parts.includes('epoch')) {
  await section('epoch', async () => {
    const info = await selectBackend(backend);
    console.log(`Backend: ${info.description}`);
    const { epoch, batches, test } = await realEpoch({ dataDir: values['data-dir'], withTest: true, log: console.log });
    console.log(`${formatEpoch(epoch)} (${epoch.seconds.toFixed(2)} s, ${((epoch.seconds * 1000) / batches).toFixed(2)} ms/batch)`);
    console.log(`${formatTest(test!)} (${test!.seconds.toFixed(2)} s)`);
    report.epoch = { backend: info.description, epoch, test };
  });
}

save();
console.log(failed ? '\nSome device checks failed.' : '\nAll device checks ran.');
console.log(`run.mjs finished its work ${(performance.now() / 1000).toFixed(1)} s after it started.`);
// No process.exit(): that the process ends by itself with Dawn loaded is one of the checks (device.sh times it).
process.exitCode = failed ? 1 : 0;
