import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleDeviceProgram } from '../../bench/device/build.ts';
import type { StepProfile } from '../../bench/profile.ts';

// The GPU machine gets one bundled file and no npm (bench/device/): this keeps it building and running between the
// rare sessions that have a GPU, here on the cpu backend.
describe('the GPU machine bundle', () => {
  it('builds into one file whose numeric tests and profile run without vitest and write their results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc6204-device-'));
    try {
      await bundleDeviceProgram(join(dir, 'device', 'run.mjs'));
      // The questions' test reads the fixture beside the bundle's folder, as device.sh lays it out.
      mkdirSync(join(dir, 'fixtures'));
      copyFileSync(new URL('../fixtures/hw3-tests.json', import.meta.url), join(dir, 'fixtures', 'hw3-tests.json'));
      const child = spawnSync(process.execPath, [join(dir, 'device', 'run.mjs'), 'tests', 'profile', '--backend', 'cpu', '--steps', '10', '--batch', '10'], {
        cwd: dir,
        env: { ...process.env, CC6204_TEST_BACKENDS: 'cpu', OUT: dir },
        encoding: 'utf8',
        timeout: 120_000,
      });
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
