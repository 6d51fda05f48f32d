import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../bench/bench.ts';
import * as tf from '@tensorflow/tfjs-core';
import { onBackend, parseFlag, type Result, workingKernels } from '../../bench/measure.ts';
import { hasFusedUpdate } from '../../src/accel/optimizers.ts';
import { formatProfile, partOf, profileSteps, summarizeSamples } from '../../bench/profile.ts';
import { epochSeconds, medianRow } from '../../bench/peers.ts';
import { summaryTable } from '../../src/report/markdown.ts';
import type { RunResult } from '../../src/report/results.ts';
import { DAWN_INSTALLED } from '../helpers/backends.ts';

const BENCH = fileURLToPath(new URL('../../bench/bench.ts', import.meta.url));
describe('bench helpers', () => {
  it('parseFlag types a tfjs flag as tfjs does, and rejects text without NAME=', () => {
    expect(parseFlag('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64')).toEqual(['WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 64]);
    expect(parseFlag('DEBUG=true')).toEqual(['DEBUG', true]);
    expect(parseFlag('X=false')).toEqual(['X', false]);
    expect(parseFlag('X=abc')).toEqual(['X', 'abc']);
    expect(parseFlag('X=')).toEqual(['X', '']);
    expect(() => parseFlag('=3')).toThrow(/NAME=VALUE/);
    expect(() => parseFlag('DEBUG')).toThrow(/NAME=VALUE/);
  });

  it('workingKernels leaves out reshapes and custom-gradient wrappers', () => {
    expect(workingKernels(['Reshape', '_FusedMatMul', 'fusedMatMul__op', 'Relu'])).toBe(2);
  });

  it('partOf names the package, the kit or the runtime a function comes from', () => {
    expect(partOf('/x/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js', 'f')).toBe('@tensorflow/tfjs-core');
    expect(partOf('node_modules/webgpu/index.js', 'f')).toBe('webgpu');
    expect(partOf('/work/kit/src/nn/ffnn.ts', 'forward')).toBe('the kit (src)');
    expect(partOf('src/accel/wgsl.ts', 'runWgsl')).toBe('the kit (src)');
    expect(partOf('bench/measure.ts', 'step')).toBe('bench');
    expect(partOf('node:internal/timers', 'f')).toBe('Node.js');
    expect(partOf('wasm://wasm/001a96ee', 'wasm-function[3]')).toMatch(/^WebAssembly/);
    expect(partOf('', '(garbage collector)')).toBe('garbage collection');
    expect(partOf('', 'createBindGroup')).toMatch(/^native calls/);
  });

  it('summarizeSamples adds self time per part and per function, per step, leaving out the inspector', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
        { id: 2, callFrame: frame('step', 'file:///k/src/nn/ffnn.ts'), children: [3] },
        { id: 3, callFrame: frame('runKernel', 'file:///k/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js') },
        { id: 4, callFrame: frame('post', 'node:inspector'), children: [5] },
        { id: 5, callFrame: frame('dispatch', '') },
      ],
      samples: [2, 3, 3, 5, 3],
      timeDeltas: [1000, 2000, 2000, 50_000, 1000],
    };
    const { jsByPart, jsTop } = summarizeSamples([profile, profile], 4);
    // Two profiles of 1 ms in ffnn.ts and 5 ms in tfjs-core, over 4 steps; the 50 ms in the inspector are not counted.
    expect(jsByPart).toEqual([
      { part: '@tensorflow/tfjs-core', ms: 2.5 },
      { part: 'the kit (src)', ms: 0.5 },
    ]);
    expect(jsTop[0]).toEqual({ fn: 'runKernel tf-core.node.js', part: '@tensorflow/tfjs-core', ms: 2.5 });
  });
});

describe('the peers\' medians', () => {
  it('epochSeconds takes the mean of a peer\'s epoch lines, or the kit\'s s/epoch column, or says there is none', () => {
    const peer = ['Epoch: 1 | Acc: 48.72% | loss: 6617.021  (2.5 s)', 'Epoch: 2 | Acc: 64.53% | loss: 2963.417  (1.5 s)', 'Test Results: Acc: 68.68% | loss: 2210.271'];
    expect(epochSeconds(peer.join('\n'))).toBe(2);
    // The kit's summary table as the experiment prints it: epochs of 2.1, 1.9 and 1.97 s, 1.99 s an epoch.
    const run: RunResult = {
      spec: { id: 'baseline', label: 'Baseline', groups: { all: 'all' }, config: {} },
      epochs: [2.1, 1.9, 1.97].map((seconds, k) => ({ epoch: k + 1, loss: 6 - k, acc: 0.5 + k / 10, seconds })),
      test: { loss: 5.76, acc: 0.687, seconds: 0.2, train: { loss: 5.565, acc: 0.6975 } },
      finished: true,
    };
    const kit = ['Epoch: 1 | Acc: 50.11% | loss: 9.187', ...summaryTable([run]).trimEnd().split('\n')];
    expect(epochSeconds(kit.join('\n'))).toBe(1.99);
    expect(epochSeconds(kit.slice(0, 2).join('\n'))).toBeNull();
    expect(epochSeconds('whole process: 6.2 s')).toBeNull();
  });

  it('medianRow gives each ratio\'s median pair by pair and each side\'s median epoch, a dash where a side has none', () => {
    const pair = (torchRatio: number, jaxRatio: number | null, kit: number) => ({ torchRatio, jaxRatio, epochs: { torch: 2, jax: null, kit } });
    expect(medianRow('2e', [pair(0.8, 0.64, 3.5), pair(1.11, null, 4.1), pair(0.76, 0.56, 3.2)])).toEqual(['2e', '3', '0.80', '0.60', '2.00 / — / 3.50']);
  });
});

describe('onBackend', () => {
  it('puts the tfjs flags and the fused kernels back afterwards, also after a failure', async () => {
    const before = tf.env().getBool('TENSORLIKE_CHECK_SHAPE_CONSISTENCY');
    const settings = { fused: false, flags: [`TENSORLIKE_CHECK_SHAPE_CONSISTENCY=${!before}`] };
    await onBackend('wasm', settings, async () => {
      expect(tf.env().getBool('TENSORLIKE_CHECK_SHAPE_CONSISTENCY')).toBe(!before);
      expect(hasFusedUpdate('sgd')).toBe(false);
    });
    expect(tf.env().getBool('TENSORLIKE_CHECK_SHAPE_CONSISTENCY')).toBe(before);
    expect(hasFusedUpdate('sgd')).toBe(true);
    await expect(onBackend('wasm', settings, async () => Promise.reject(new Error('stop')))).rejects.toThrow('stop');
    expect(tf.env().getBool('TENSORLIKE_CHECK_SHAPE_CONSISTENCY')).toBe(before);
    expect(hasFusedUpdate('sgd')).toBe(true);
  });
});

describe('npm run bench', () => {
  it('rejects a bad --batch, --steps, --backend or --tfjs-flag with one line and exit code 2', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['--batch', '0'])).toBe(2);
      expect(await main(['--steps', 'x'])).toBe(2);
      expect(await main(['--backend', 'wasm,gpu'])).toBe(2);
      expect(await main(['--tfjs-flag', 'WEBGPU'])).toBe(2);
      expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([
        'Usage error: --batch must be a positive whole number, got "0" (see --help)',
        'Usage error: --steps must be a positive whole number, got "x" (see --help)',
        'Usage error: Unknown backend "gpu": choose one of tensorflow, webgpu, wasm, cpu (see --help)',
        expect.stringMatching(/^Usage error: .*WEBGPU.* \(see --help\)$/),
      ]);
    } finally {
      errors.mockRestore();
    }
  });

  it('--pytorch: an unknown setting is a usage error (2); a Python without torch one line saying what to do (1)', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.stubEnv('CC6204_PYTHON', '/bin/false');
    try {
      expect(await main(['--pytorch', '2e,3x'])).toBe(2);
      expect(await main(['--pytorch', '2e', '--pairs', '0'])).toBe(2);
      expect(await main(['--pytorch', '1c-dropout'])).toBe(1);
      expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([
        'Usage error: --pytorch takes settings among 2e, 1c-baseline, 1c-dropout, comma-separated; got "2e,3x" (see --help)',
        'Usage error: --pairs must be a positive whole number, got "0" (see --help)',
        'Error: /bin/false cannot import torch: install PyTorch for it (Debian: apt-get install python3-torch) or name another Python in CC6204_PYTHON.',
      ]);
    } finally {
      errors.mockRestore();
      vi.unstubAllEnvs();
    }
  });

  it('takes its backends from CC6204_BACKEND when --backend is not given, as the other commands do', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.stubEnv('CC6204_BACKEND', 'gpu');
    try {
      expect(await main(['--steps', '1'])).toBe(2);
      expect(await main(['--backend', 'nope'])).toBe(2);
      expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([
        'Usage error: Unknown backend "gpu": choose one of tensorflow, webgpu, wasm, cpu (see --help)',
        'Usage error: Unknown backend "nope": choose one of tensorflow, webgpu, wasm, cpu (see --help)',
      ]);
    } finally {
      vi.unstubAllEnvs();
      errors.mockRestore();
    }
  });

  it.runIf(DAWN_INSTALLED)("--null-gpu times webgpu on Dawn's null device: the CPU side of a step alone, with no GPU", () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', BENCH, '--null-gpu', '--steps', '10', '--json'], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const [result] = JSON.parse(child.stdout) as Result[];
    expect(result!.backend).toBe('webgpu');
    expect(result!.description).toContain("Dawn's null device");
    expect(result!.kernelsPerStep).toBeGreaterThan(20);
    expect(result!.msPerStepMedian).toBeGreaterThan(0);
    // Nothing runs on the device: the step is its JavaScript, with the read that ends each block.
    expect(result!.jsMsPerStepMedian).toBeLessThanOrEqual(result!.msPerStepMedian);
    expect(result!.realEpoch).toBeUndefined();
    expect(result!.tensorsAfter).toBe(result!.tensorsBefore);
  });

  it('with no options times every backend that loads but cpu, no real epoch, with a line of progress a block', () => {
    const env = { ...process.env };
    delete env.CC6204_BACKEND;
    const child = spawnSync(process.execPath, ['--import', 'tsx', BENCH, '--steps', '20'], { encoding: 'utf8', env });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stderr).toMatch(/^Timing wasm \(20 steps\)\.\.\.$/m);
    expect(child.stderr).toMatch(/^ {2}wasm: 10\/20 steps, [\d.]+ ms a step in the last block$/m);
    expect(child.stderr).toMatch(/^ {2}wasm: 20\/20 steps/m);
    expect(child.stderr).not.toMatch(/Timing cpu/);
    const rows = child.stdout.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| backend') && !line.startsWith('| :'));
    expect(rows.some((row) => row.startsWith('| wasm'))).toBe(true);
    expect(rows.every((row) => !row.startsWith('| cpu') && row.includes('| — |'))).toBe(true);
  }, 120_000);

  it('--profile on wasm: the kernels of a step each timed, one small kernel’s cost, and the JavaScript by part', async () => {
    const profile = await profileSteps('wasm', { steps: 10, fused: true, flags: [], batch: 20 });
    expect(profile.batch).toBe(20);
    expect(profile.kernelsPerStep).toBeGreaterThan(20);
    expect(profile.kernels.reduce((n, k) => n + k.count, 0)).toBe(profile.kernelsPerStep);
    expect(profile.kernels.map((k) => k.name)).toContain('BatchMatMul');
    expect(profile.kernelMsPerStep).toBeCloseTo(profile.kernels.reduce((ms, k) => ms + k.ms, 0), 9);
    expect(profile.kernelClock).toBe('wall');
    expect(profile.perKernel.tfjs.us).toBeGreaterThan(0);
    expect(profile.jsByPart.map((p) => p.part)).toContain('@tensorflow/tfjs-core');
    expect(profile.perKernel.kit).not.toBeNull();
    expect(formatProfile(profile)).toMatch(/kernels: \d+ a step, each timed alone [\d.]+ ms in all \(wall clock\)/);
    expect(formatProfile({ ...profile, kernelClock: 'none' })).toMatch(/kernels: \d+ a step \(not timed: no usable GPU timestamps here\)/);
  });
});
