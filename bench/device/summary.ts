// Back from the GPU node: `npx tsx bench/device/summary.ts DIR` reads what device.sh left in DIR (its $OUT):
// device-results.json, torch-step.json and null/device-results.json. It prints the lines docs/performance.md takes:
// the GPU, the tests, each bench variant against PyTorch's step, the profile and the epoch.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EpochMetrics, EvaluationMetrics } from '../../src/training/train.ts';
import type { Result } from '../measure.ts';
import { markdownTable } from '../../src/report/markdown.ts';
import { formatKernelCost, type StepProfile } from '../profile.ts';
import type { RunSummary } from './vitest-shim.ts';
import { isMain } from '../../src/core/cli.ts';

export interface DeviceResults {
  automatic?: { name: string; description: string };
  adapterLimits?: Record<string, number>;
  tests?: RunSummary;
  bench?: Result[];
  profile?: StepProfile;
  epoch?: { backend: string; epoch: EpochMetrics; test: EvaluationMetrics };
  [error: `${string}Error`]: string;
}

export interface TorchStep {
  torch: string;
  device: string;
  msPerStep: number;
}

const ms = (x: number) => x.toFixed(2);

/** The summary as markdown lines. */
export function summarize(results: DeviceResults, torch: TorchStep | null, onNullDevice: DeviceResults | null = null): string {
  const lines: string[] = [];
  const gpu = results.bench?.[0]?.description ?? results.profile?.description ?? results.epoch?.backend;
  lines.push(`GPU: ${gpu ?? 'unknown (no bench, profile or epoch result)'}`);
  if (results.automatic) lines.push(`Chosen with no --backend: ${results.automatic.description}`);
  if (results.adapterLimits) {
    lines.push(`Adapter limits: ${Object.entries(results.adapterLimits).map(([name, value]) => `${name} ${value}`).join(', ')}`);
  }
  if (results.tests) {
    const { passed, failed, skipped, failures } = results.tests;
    lines.push(`Numeric tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
    for (const failure of failures) lines.push(`  failed: ${failure.name}: ${failure.error.split('\n')[0]}`);
  }
  for (const [key, value] of Object.entries(results)) {
    if (key.endsWith('Error')) lines.push(`${key.slice(0, -'Error'.length)} failed: ${value}`);
  }
  if (torch) lines.push(`PyTorch ${torch.torch} on ${torch.device}, the notebook's manual backward and Adam: ${ms(torch.msPerStep)} ms/step`);
  if (results.bench?.length) {
    const vsTorch = torch ? [`vs PyTorch's ${ms(torch.msPerStep)} ms`] : [];
    const header = ['variant', 'kernels/step', 'ms/step (median)', 'of it JavaScript', 'ms/step (mean)', 's per epoch', ...vsTorch];
    const rows = results.bench.map((r) => {
      const ratio = torch ? [`${(r.msPerStepMedian / torch.msPerStep).toFixed(2)}×`] : [];
      return [r.variant, String(r.kernelsPerStep), ms(r.msPerStepMedian), ms(r.jsMsPerStepMedian), ms(r.msPerStepMean), r.secondsPerEpoch.toFixed(1), ...ratio];
    });
    lines.push('', markdownTable({ header, rows, align: header.map((_, i) => (i === 0 ? 'left' : 'right')) }));
  }
  const cpuSide = onNullDevice?.bench?.find((r) => r.variant === 'default');
  if (cpuSide) {
    lines.push(
      `CPU side alone (the same steps on Dawn's null device, which runs nothing; ${cpuSide.kernelsPerStep} kernels/step): ` +
        `${ms(cpuSide.msPerStepMedian)} ms/step, of it JavaScript ${ms(cpuSide.jsMsPerStepMedian)} ms`,
    );
  }
  const p = results.profile;
  if (p) {
    const parts = p.jsByPart.slice(0, 4).map((part) => `${part.part} ${ms(part.ms)}`).join(', ');
    const largest = p.kernels.slice(0, 3).map((k) => `${k.name} ×${k.count} ${ms(k.ms)}`).join(', ');
    const kernels =
      p.kernelClock === 'none'
        ? `its ${p.kernelsPerStep} kernels not timed (no timestamp queries on this GPU)`
        : `its ${p.kernelsPerStep} kernels each timed alone ${p.kernelClock === 'gpu' ? 'on the GPU' : 'by the wall clock'} ${ms(p.kernelMsPerStep)} ms (largest: ${largest})`;
    lines.push(
      `Profile (batch ${p.batch}): step ${ms(p.msPerStep)} ms, recording it in JavaScript ${ms(p.jsMsPerStep)} ms, ${kernels}`,
      `One small kernel: tfjs ${formatKernelCost(p.perKernel.tfjs)}` +
        (p.perKernel.kit ? `, the kit's ${formatKernelCost(p.perKernel.kit)}` : ''),
      `JavaScript per step, sampled, ms: ${parts}`,
      `Limited by: ${limit(p)}`,
    );
  }
  if (results.epoch) {
    const { epoch, test } = results.epoch;
    lines.push(
      `2e adam:heuristic, one Fashion-MNIST epoch: train ${(epoch.acc * 100).toFixed(2)}% loss ${epoch.loss.toFixed(3)} in ` +
        `${epoch.seconds.toFixed(2)} s; test ${(test.acc * 100).toFixed(2)}% loss ${test.loss.toFixed(3)} in ${test.seconds.toFixed(2)} s`,
    );
  }
  return lines.join('\n');
}

/**
 * Which side bounds the step: the GPU when its kernels' own time is most of the step, the CPU when recording them
 * is; otherwise neither alone (the gaps: waiting for the GPU to start each kernel, and for the block's read).
 */
export function limit(p: Pick<StepProfile, 'msPerStep' | 'jsMsPerStep' | 'kernelMsPerStep' | 'kernelClock'>): string {
  const gpu = p.kernelMsPerStep / p.msPerStep;
  const js = p.jsMsPerStep / p.msPerStep;
  const share = (x: number) => `${Math.round(x * 100)}%`;
  if (p.kernelClock !== 'none' && gpu >= 0.7) return `the GPU's work (its kernels are ${share(gpu)} of the step)`;
  if (js >= 0.7) return `the JavaScript that records the kernels (${share(js)} of the step)`;
  if (p.kernelClock === 'none') return `not the JavaScript alone (${share(js)} of the step); the GPU's share is unknown (no timestamp queries)`;
  return `neither alone: recording is ${share(js)} of the step, the kernels' GPU time ${share(gpu)}; the rest is latency between them`;
}

function readJson<T>(path: string): T | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : null;
}

if (isMain(import.meta.url)) {
  const dir = process.argv[2];
  const results = dir ? readJson<DeviceResults>(join(dir, 'device-results.json')) : null;
  if (!dir || !results) {
    console.error('Usage: npx tsx bench/device/summary.ts DIR, with DIR holding device-results.json (from bench/device/device.sh).');
    process.exitCode = 2;
  } else {
    console.log(summarize(results, readJson<TorchStep>(join(dir, 'torch-step.json')), readJson<DeviceResults>(join(dir, 'null', 'device-results.json'))));
  }
}
