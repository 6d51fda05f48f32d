// `npm run bench -- --profile`: where a training step's time goes, on the backend at hand. On a GPU the step is
// bounded below by the JavaScript that records its kernels and by the GPU's work on them; this says how big each
// is, what one kernel costs to record and run whatever its size, and which code the JavaScript time is spent in.
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { fusedUpdate, hasFusedUpdate } from '../src/accel/optimizers.ts';
import { dawnBackend } from '../src/backends/webgpu.ts';
import { BATCH, BLOCK, benchStep, isWorkingKernel, type MeasureOptions, median, onBackend, timeBlocks, warmUp } from './measure.ts';

export interface StepProfile {
  backend: string;
  description: string;
  batch: number;
  steps: number;
  kernelsPerStep: number;
  /** Median over blocks of BLOCK steps ended by one read, as the bench times them. */
  msPerStep: number;
  /** Of it, the JavaScript that records the steps. */
  jsMsPerStep: number;
  /**
   * One step's kernels each timed alone (tf.profile): on webgpu the GPU's timestamps around each kernel, so the sum
   * is the GPU's own work, without the gaps between kernels; on wasm and cpu the kernels' wall time.
   */
  kernelMsPerStep: number;
  /** What timed the kernels: the GPU's timestamps, the wall clock, or nothing (a GPU without timestamp queries: 0s). */
  kernelClock: 'gpu' | 'wall' | 'none';
  /** The same by kernel name, largest first. */
  kernels: { name: string; count: number; ms: number }[];
  /** What one small kernel costs (a chain of them, then one read): tfjs's add of 100 numbers, and one of the kit's own (an SGD update) where the backend has them. */
  perKernel: { tfjs: KernelCost; kit: KernelCost | null };
  /** Sampled JavaScript time per step by where the code comes from, largest first. */
  jsByPart: { part: string; ms: number }[];
  /** The functions with the most time of their own per step. */
  jsTop: { fn: string; part: string; ms: number }[];
}

/** Microseconds per kernel in all, and of that the JavaScript that records it. */
export interface KernelCost {
  us: number;
  jsUs: number;
}

/** Cost of a chain of `count` kernels, `next` making each from the last, median over 5 chains after a warm-up. */
async function chainCost(start: tf.Tensor, next: (t: tf.Tensor) => tf.Tensor, count = 200): Promise<KernelCost> {
  const total: number[] = [];
  const js: number[] = [];
  for (let round = 0; round < 6; round++) {
    const began = performance.now();
    let t = start;
    for (let i = 0; i < count; i++) {
      const made = next(t);
      if (t !== start) t.dispose();
      t = made;
    }
    const recorded = performance.now();
    await t.data();
    const ended = performance.now();
    t.dispose();
    if (round === 0) continue;
    js.push(((recorded - began) * 1000) / count);
    total.push(((ended - began) * 1000) / count);
  }
  return { us: median(total), jsUs: median(js) };
}

async function perKernelCost(): Promise<StepProfile['perKernel']> {
  const start = tf.fill([100], 1);
  const step = tf.fill([100], 0.5);
  const tfjs = await chainCost(start, (t) => tf.add(t, step));
  const kit = hasFusedUpdate('sgd')
    ? await chainCost(start, (t) => (fusedUpdate('sgd', { p: t, g: step }, { keep: 1, lr: 0.001 }) as tf.Tensor[])[0] as tf.Tensor)
    : null;
  tf.dispose([start, step]);
  return { tfjs, kit };
}

/** Where a sampled function's code comes from: a package, the kit, or the runtime. */
export function partOf(path: string, functionName: string): string {
  if (!path) {
    if (functionName === '(garbage collector)') return 'garbage collection';
    if (functionName === '(program)' || functionName === '(idle)') return 'V8 and Node.js';
    return 'native calls (Dawn, V8 built-ins)';
  }
  if (path.startsWith('node:')) return 'Node.js';
  if (path.startsWith('wasm://')) return 'WebAssembly (tfjs-backend-wasm, the kit\'s kernels)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1] as string;
  if (/(^|\/)(src|questions|grader)\//.test(path)) return 'the kit (src)';
  if (/(^|\/)bench\//.test(path)) return 'bench';
  return path.split('/').at(-1) ?? path;
}

/**
 * The source file each line of a bundle came from, read from the `// path` lines esbuild writes before each module
 * (the GPU node's program runs the kit as one bundled file).
 */
const bundleMaps = new Map<string, { line: number; path: string }[]>();
function sourceOf(url: string, line: number): string {
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (!path.endsWith('.mjs')) return path;
  let markers = bundleMaps.get(path);
  if (!markers) {
    markers = [];
    try {
      readFileSync(path, 'utf8').split('\n').forEach((text, at) => {
        // A package's path may climb out of the project first: node_modules in a parent folder, or reached by a link.
        const module = /^\/\/ ((?:\.\.\/\S*)?node_modules\/\S+|(?:src|bench|test|questions|grader)\/\S+)$/.exec(text);
        if (module) markers!.push({ line: at, path: module[1] as string });
      });
    } catch {
      // Not readable: attributed to the file itself.
    }
    bundleMaps.set(path, markers);
  }
  let found = path;
  for (const marker of markers) {
    if (marker.line > line) break;
    found = marker.path;
  }
  return found;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Samples the JavaScript of `blocks` blocks of BLOCK steps (not the waits between them). */
async function sampleSteps(step: () => void, finish: () => Promise<void>, blocks: number): Promise<CpuProfile[]> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    const profiles: CpuProfile[] = [];
    for (let b = 0; b < blocks; b++) {
      await session.post('Profiler.start');
      for (let i = 0; i < BLOCK; i++) step();
      profiles.push((await session.post('Profiler.stop')).profile as CpuProfile);
      await finish();
    }
    return profiles;
  } finally {
    session.disconnect();
  }
}

/**
 * Self time per function and per part, in ms per step, from the sampled profiles; samples taken inside the
 * inspector (the call that stops the profiler) are left out.
 */
export function summarizeSamples(profiles: CpuProfile[], steps: number, top = 15): Pick<StepProfile, 'jsByPart' | 'jsTop'> {
  const byPart = new Map<string, number>();
  const byFunction = new Map<string, { part: string; us: number }>();
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    const parents = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
    const inInspector = (id: number): boolean => {
      for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
        if (nodes.get(at)?.url.startsWith('node:inspector')) return true;
      }
      return false;
    };
    profile.samples.forEach((id, i) => {
      const frame = nodes.get(id);
      const us = profile.timeDeltas[i] ?? 0;
      if (!frame || inInspector(id)) return;
      const name = frame.functionName || '(anonymous)';
      const source = frame.url ? sourceOf(frame.url, frame.lineNumber) : '';
      const part = partOf(source, name);
      byPart.set(part, (byPart.get(part) ?? 0) + us);
      const key = `${name} ${source.split('/').at(-1) ?? ''}`.trim();
      const entry = byFunction.get(key) ?? { part, us: 0 };
      entry.us += us;
      byFunction.set(key, entry);
    });
  }
  const perStep = (us: number) => us / 1000 / steps;
  return {
    jsByPart: [...byPart].map(([part, us]) => ({ part, ms: perStep(us) })).sort((a, b) => b.ms - a.ms),
    jsTop: [...byFunction]
      .map(([fn, { part, us }]) => ({ fn, part, ms: perStep(us) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

export type ProfileOptions = Omit<MeasureOptions, 'realEpoch'>;

/** Profiles one backend in this process. */
export async function profileSteps(backend: string, { steps, fused, together, updateOperations, flags, batch = BATCH }: ProfileOptions): Promise<StepProfile> {
  return onBackend(backend, { fused, together, updateOperations, flags }, async (info): Promise<StepProfile> => {
    const bench = benchStep(batch);
    await warmUp(bench);
    // Each kernel alone, over three steps.
    const PROFILED = 3;
    const working: Awaited<ReturnType<typeof tf.profile>>['kernels'] = [];
    for (let i = 0; i < PROFILED; i++) working.push(...(await tf.profile(bench.step)).kernels.filter((k) => isWorkingKernel(k.name)));
    await bench.finish();
    // Dawn's null device answers timestamp queries with whatever its buffers hold (negative spans among them).
    const timestamps =
      (tf.backend() as { supportTimestampQuery?: boolean }).supportTimestampQuery === true &&
      dawnBackend() !== 'null' &&
      working.every((k) => Number.isFinite(k.kernelTimeMs) && (k.kernelTimeMs as number) >= 0);
    const kernelClock = info.name !== 'webgpu' ? 'wall' : timestamps ? 'gpu' : 'none';
    const byName = new Map<string, { count: number; ms: number }>();
    for (const k of working) {
      const entry = byName.get(k.name) ?? { count: 0, ms: 0 };
      entry.count += 1;
      entry.ms += k.kernelTimeMs as number;
      byName.set(k.name, entry);
    }
    const kernels = [...byName]
      .map(([name, e]) => ({ name, count: e.count / PROFILED, ms: e.ms / PROFILED }))
      .sort((a, b) => b.ms - a.ms);
    // Timed as the bench times them, then sampled.
    const blocks = Math.max(1, Math.ceil(steps / BLOCK));
    const { times, jsTimes } = await timeBlocks(bench, blocks * BLOCK);
    const sampled = summarizeSamples(await sampleSteps(bench.step, bench.finish, blocks), blocks * BLOCK);
    bench.dispose();
    return {
      backend: info.name,
      description: info.description,
      batch,
      steps: blocks * BLOCK,
      kernelsPerStep: working.length / PROFILED,
      msPerStep: median(times),
      jsMsPerStep: median(jsTimes),
      kernelMsPerStep: kernels.reduce((sum, k) => sum + k.ms, 0),
      kernelClock,
      kernels,
      perKernel: await perKernelCost(),
      ...sampled,
    };
  });
}

/** `12.3 µs (JS 10.1 µs)`. */
export function formatKernelCost({ us, jsUs }: KernelCost): string {
  return `${us.toFixed(1)} µs (JS ${jsUs.toFixed(1)} µs)`;
}

/** The profile as text. */
export function formatProfile(p: StepProfile): string {
  const f = (ms: number) => ms.toFixed(3);
  const lines = [
    `${p.description}, batch ${p.batch}, ${p.steps} steps`,
    `  step: ${p.msPerStep.toFixed(2)} ms (median), of it recording in JavaScript ${p.jsMsPerStep.toFixed(2)} ms`,
    p.kernelClock === 'none'
      ? `  kernels: ${p.kernelsPerStep} a step (not timed: no usable GPU timestamps here)`
      : `  kernels: ${p.kernelsPerStep} a step, each timed alone ${f(p.kernelMsPerStep)} ms in all (${p.kernelClock === 'gpu' ? "the GPU's timestamps" : 'wall clock'})`,
    ...p.kernels.slice(0, 12).map((k) => `    ${k.name.padEnd(36)} ×${String(k.count).padEnd(3)} ${p.kernelClock === 'none' ? '' : `${f(k.ms)} ms`}`),
    `  one small kernel: tfjs ${formatKernelCost(p.perKernel.tfjs)}${p.perKernel.kit ? `, the kit's ${formatKernelCost(p.perKernel.kit)}` : ''}`,
    '  JavaScript per step by part (sampled):',
    ...p.jsByPart.map((part) => `    ${part.part.padEnd(36)} ${f(part.ms)} ms`),
    '  functions with the most time of their own, per step:',
    ...p.jsTop.map((fn) => `    ${fn.fn.slice(0, 60).padEnd(60)} ${f(fn.ms)} ms  (${fn.part})`),
  ];
  return lines.join('\n');
}
