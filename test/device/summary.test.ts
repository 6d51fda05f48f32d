import { describe, expect, it } from 'vitest';
import { limit, summarize, type DeviceResults } from '../../bench/device/summary.ts';
import type { Result } from '../../bench/measure.ts';
import type { StepProfile } from '../../bench/profile.ts';

const bench = (variant: string, msPerStepMedian: number): Result => ({
  backend: 'webgpu',
  description: 'webgpu (NVIDIA H100 80GB HBM3, nvidia, hopper)',
  variant,
  steps: 200,
  batch: 100,
  kernelsPerStep: 27,
  msPerStepMedian,
  jsMsPerStepMedian: 1.5,
  msPerStepMean: msPerStepMedian + 0.1,
  secondsPerEpoch: 1.8,
  tensorsBefore: 34,
  tensorsAfter: 34,
  peakRssMiB: 400,
});

const profile: StepProfile = {
  backend: 'webgpu',
  description: 'webgpu (NVIDIA H100 80GB HBM3, nvidia, hopper)',
  batch: 100,
  steps: 100,
  kernelsPerStep: 27,
  msPerStep: 3,
  jsMsPerStep: 2.4,
  kernelMsPerStep: 0.6,
  kernelClock: 'gpu',
  kernels: [{ name: 'BatchMatMul', count: 7, ms: 0.3 }],
  perKernel: { tfjs: { us: 60, jsUs: 50 }, kit: { us: 40, jsUs: 35 } },
  jsByPart: [{ part: '@tensorflow/tfjs-backend-webgpu', ms: 0.9 }],
  jsTop: [],
};

describe('the device results summary', () => {
  it('gives each bench variant its ratio to PyTorch, the tests, the profile and the epoch', () => {
    const results: DeviceResults = {
      automatic: { name: 'webgpu', description: 'webgpu (NVIDIA H100 80GB HBM3, nvidia, hopper)' },
      adapterLimits: { maxStorageBuffersPerShaderStage: 16, maxComputeWorkgroupSizeX: 1024 },
      tests: { passed: 95, failed: 1, skipped: 0, failures: [{ name: 'ffnn > backward', error: 'expected 1 to be 2\nstack' }] },
      bench: [bench('default', 3), bench('no fused kernels', 12)],
      profile,
      epoch: { backend: 'webgpu', epoch: { epoch: 1, loss: 0.5, acc: 0.8284, seconds: 2.5 }, test: { loss: 0.45, acc: 0.846, seconds: 0.3 } },
      epochError: 'out of memory',
    };
    const text = summarize(results, { torch: '2.4.0', device: 'NVIDIA H100 80GB HBM3', msPerStep: 2.9 }, { bench: [bench('no fused kernels', 9), bench('default', 1.2)] });
    expect(text).toContain("CPU side alone (the same steps on Dawn's null device, which runs nothing; 27 kernels/step): 1.20 ms/step, of it JavaScript 1.50 ms");
    expect(text).toContain('GPU: webgpu (NVIDIA H100 80GB HBM3, nvidia, hopper)');
    expect(text).toContain('Adapter limits: maxStorageBuffersPerShaderStage 16, maxComputeWorkgroupSizeX 1024');
    expect(text).toContain('Numeric tests: 95 passed, 1 failed, 0 skipped');
    expect(text).toContain('  failed: ffnn > backward: expected 1 to be 2');
    expect(text).toContain('epoch failed: out of memory');
    expect(text).toContain('| default | 27 | 3.00 | 1.50 | 3.10 | 1.8 | 1.03× |');
    expect(text).toContain('| no fused kernels | 27 | 12.00 | 1.50 | 12.10 | 1.8 | 4.14× |');
    expect(text).toContain('One small kernel: tfjs 60.0 µs (JS 50.0 µs), the kit\'s 40.0 µs (JS 35.0 µs)');
    expect(text).toContain('Limited by: the JavaScript that records the kernels (80% of the step)');
    expect(text).toContain('train 82.84% loss 0.500 in 2.50 s; test 84.60% loss 0.450 in 0.30 s');
  });

  it('says when the GPU could not time its kernels', () => {
    const text = summarize({ profile: { ...profile, kernelClock: 'none', kernelMsPerStep: 0 } }, null);
    expect(text).toContain('its 27 kernels not timed (no timestamp queries on this GPU)');
    expect(text).toContain('Limited by: the JavaScript that records the kernels (80% of the step)');
  });

  it('without PyTorch\'s result, leaves the ratio out', () => {
    const text = summarize({ bench: [bench('default', 3)] }, null);
    expect(text).toContain('| default | 27 | 3.00 | 1.50 | 3.10 | 1.8 |');
    expect(text).not.toContain('×');
    expect(text).not.toContain('PyTorch');
  });

  it('names what limits the step', () => {
    const gpu = 'gpu' as const;
    expect(limit({ msPerStep: 10, jsMsPerStep: 2, kernelMsPerStep: 8, kernelClock: gpu })).toMatch(/^the GPU's work \(its kernels are 80%/);
    expect(limit({ msPerStep: 10, jsMsPerStep: 9, kernelMsPerStep: 1, kernelClock: gpu })).toMatch(/^the JavaScript .* \(90% of the step\)/);
    expect(limit({ msPerStep: 10, jsMsPerStep: 4, kernelMsPerStep: 0, kernelClock: 'none' })).toBe(
      'not the JavaScript alone (40% of the step); the GPU\'s share is unknown (no timestamp queries)',
    );
    expect(limit({ msPerStep: 10, jsMsPerStep: 4, kernelMsPerStep: 3, kernelClock: gpu })).toBe(
      'neither alone: recording is 40% of the step, the kernels\' GPU time 30%; the rest is latency between them',
    );
  });
});
