import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleDeviceProgram } from '../../bench/device/build.ts';
import type { StepProfile } from '../../bench/profile.ts';

// A GPU node without network gets one bundled file and no npm (bench/device/): this keeps it building and running
// where there is no GPU, on the cpu backend.
describe('the GPU node bundle', () => {
  let dir = '';
  let program = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc6204-device-'));
    program = join(dir, 'device', 'run.mjs');
    await bundleDeviceProgram(program);
    // The pieces' checks read the recorded files from the working folder, the project root on the GPU node.
    for (const file of ['grader/hw3-tests.json', 'test/fixtures/hw3-tests.json', 'questions/optimizer-steps.json', 'questions/init-outputs.json']) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      copyFileSync(new URL(`../../${file}`, import.meta.url), join(dir, file));
    }
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) =>
    spawnSync(process.execPath, [program, ...args], {
      cwd: dir,
      env: { ...process.env, CC6204_TEST_BACKENDS: 'cpu', OUT: dir },
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('builds into one file whose numeric tests and profile run without vitest and write their results', () => {
    const child = run('tests', 'profile', '--backend', 'cpu', '--steps', '10', '--batch', '10');
    expect(child.stderr).not.toMatch(/Error/);
    expect(child.stdout).toMatch(/Tests: \d+ passed, 0 failed, \d+ skipped/);
    expect(child.status).toBe(0);
    const results = JSON.parse(readFileSync(join(dir, 'device-results.json'), 'utf8')) as {
      tests: { passed: number };
      profile: StepProfile;
    };
    expect(results.tests.passed).toBeGreaterThan(40);
    // The profile tells the bundle's modules apart, by the comments esbuild writes before each.
    expect(results.profile.batch).toBe(10);
    expect(results.profile.jsByPart.map((p) => p.part)).toEqual(expect.arrayContaining(['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu']));
    expect(child.stdout).toMatch(/kernels: \d+ a step, each timed alone/);
  });

  it("runs the diagnostics' parts: one test file, the traced step without the automatic choice", () => {
    const one = run('tests', '--files', '2d', '--backend', 'cpu', '--skip-auto');
    expect(one.stdout).toMatch(/Tests: 4 passed, 0 failed, 0 skipped/);
    expect(one.stdout).not.toMatch(/automatic choice/);
    expect(one.status).toBe(0);
    const unknown = run('tests', '--files', 'no-such-file', '--backend', 'cpu', '--skip-auto');
    expect(unknown.stdout).toMatch(/no test file named no-such-file \(known: webgpu, fused-batches, /);
    expect(unknown.status).toBe(1);
    const step = run('step', '--backend', 'cpu', '--steps', '20', '--batch', '10', '--skip-auto', '--no-trap');
    expect(step.stdout).toMatch(/"trapErrors":false/);
    expect(step.stdout).toMatch(/ms\] first step read back\n/);
    expect(step.stdout).toMatch(/step \[fused\]: [\d.]+ ms\/step median of 1 blocks of up to 20/);
    expect(step.status).toBe(0);
  });
});
