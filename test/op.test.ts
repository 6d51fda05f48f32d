import { afterEach, describe, expect, it } from 'vitest';
import { fusedKernelsOn, op, setFaster, useFusedKernels } from '../src/op.ts';

describe('named operations', () => {
  const calls: string[] = [];
  const double = op('test.double', (x: number): number => {
    calls.push('reference');
    return 2 * x;
  });
  afterEach(() => {
    setFaster(double, null);
    useFusedKernels(true);
    calls.length = 0;
  });

  it('run their reference formula when no faster version is registered', () => {
    expect(double(3)).toBe(6);
    expect(double.opName).toBe('test.double');
    expect(calls).toEqual(['reference']);
  });

  it('run the faster version where one is registered, and the reference where it declines with null', () => {
    setFaster(double, (x) => (x > 0 ? x + x : null));
    expect(double(4)).toBe(8);
    expect(calls).toEqual([]);
    expect(double(-1)).toBe(-2);
    expect(calls).toEqual(['reference']);
  });

  it('take a faster version that returns undefined (an operation without a result) as having done the work', () => {
    let done = 0;
    const work = op('test.work', (): void => {
      calls.push('reference');
    });
    setFaster(work, () => {
      done += 1;
    });
    work();
    expect([done, calls]).toEqual([1, []]);
    setFaster(work, null);
  });

  it('run the reference alone while useFusedKernels(false), and the faster version again after', () => {
    setFaster(double, () => 0);
    useFusedKernels(false);
    expect(fusedKernelsOn()).toBe(false);
    expect(double(5)).toBe(10);
    expect(double.reference(5)).toBe(10);
    useFusedKernels(true);
    expect(double(5)).toBe(0);
  });

  it('forget a faster version set to null', () => {
    setFaster(double, () => 0);
    setFaster(double, null);
    expect(double(1)).toBe(2);
  });
});
