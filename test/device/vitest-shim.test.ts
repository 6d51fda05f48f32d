import { describe as vDescribe, expect as vExpect, it as vIt } from 'vitest';
import { afterEach, beforeAll, describe, expect, it, runRegistered } from '../../bench/device/vitest-shim.ts';

// The stand-in for vitest that the GPU node's bundle runs the numeric tests with (bench/device/run.ts).
vDescribe('the vitest stand-in of the device bundle', () => {
  vIt('runs suites in order with their hooks, names .each cases, skips runIf(false), and reports failures', async () => {
    const events: string[] = [];
    describe.each(['webgpu', 'cpu'])('on %s', (backend) => {
      beforeAll(() => void events.push(`beforeAll ${String(backend)}`));
      afterEach(() => void events.push(`afterEach ${String(backend)}`));
      it('passes', async () => {
        events.push(`passes ${String(backend)}`);
        expect([1, 2]).toEqual([1, 2]);
        expect('CC6204Fused_adam').toEqual(expect.stringMatching(/^CC6204Fused_/));
        await expect(Promise.reject(new Error('no'))).rejects.toThrow('no');
      });
      it('fails', () => {
        expect(0.5).toBeLessThan(0.25);
      });
    });
    describe.runIf(false)('never', () => {
      it('is skipped', () => {
        throw new Error('ran');
      });
    });
    const lines: string[] = [];
    const summary = await runRegistered((line) => lines.push(line));
    vExpect(summary).toMatchObject({ passed: 2, failed: 2, skipped: 1 });
    vExpect(summary.failures.map((f) => f.name)).toEqual(['on webgpu > fails', 'on cpu > fails']);
    vExpect(summary.failures[0]!.error).toMatch(/expected 0\.5 to be less than 0\.25/);
    vExpect(events).toEqual([
      'beforeAll webgpu', 'passes webgpu', 'afterEach webgpu', 'afterEach webgpu',
      'beforeAll cpu', 'passes cpu', 'afterEach cpu', 'afterEach cpu',
    ]);
    vExpect(lines.filter((l) => l.startsWith('  ✓')).length).toBe(2);
  });
});
