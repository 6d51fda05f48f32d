import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Check, fusedKernelsOn, onFormulaDiffers, op, setFaster, useFusedKernels } from '../../src/core/op.ts';

/** A check on [1, -2, 3] (and a factor, the operation's setting), naming the formula `name`. */
function check(name: string): Check<[tf.Tensor, number], tf.Tensor> {
  return {
    settings: (_x, factor) => [factor],
    probe: (run, [, factor]) => {
      const result = run(tf.tensor1d([1, -2, 3]), factor);
      return result && [result];
    },
    names: () => ({ formula: name, faster: 'the fast scale' }),
  };
}

describe('named operations', () => {
  const calls: string[] = [];
  const said: string[] = [];
  let before: (line: string) => void;
  const scale = op('test.scale', (x: tf.Tensor, factor: number): tf.Tensor => {
    calls.push('reference');
    return tf.mul(x, factor);
  });
  const read = (t: tf.Tensor) => Array.from(t.dataSync());
  beforeAll(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });
  beforeAll(() => {
    before = onFormulaDiffers((line) => said.push(line));
    return () => void onFormulaDiffers(before);
  });
  afterEach(() => {
    setFaster(scale, null);
    useFusedKernels(true);
    calls.length = 0;
    said.length = 0;
  });

  it('run their reference formula when no faster version is registered', () => {
    expect(read(scale(tf.tensor1d([1, 2]), 3))).toEqual([3, 6]);
    expect(scale.opName).toBe('test.scale');
    expect(calls).toEqual(['reference']);
  });

  it('run a faster version that computes what the formula computes, once the probe has shown it; the reference where it declines a call', () => {
    setFaster(scale, (x, factor) => (x.size < 10 ? tf.mul(factor, x) : null), check('scale'));
    expect(read(scale(tf.tensor1d([1, 2]), 3))).toEqual([3, 6]);
    // The probe ran the formula once; the call itself went to the faster version.
    expect(calls).toEqual(['reference']);
    expect(read(scale(tf.tensor1d([5]), 3))).toEqual([15]);
    expect(calls).toEqual(['reference']);
    expect(read(scale(tf.zeros([10]), 3))).toEqual(Array(10).fill(0));
    expect(calls).toEqual(['reference', 'reference']);
    expect(said).toEqual([]);
  });

  it('set aside a faster version that differs from the formula, for the settings where it differs, saying so once', () => {
    // Right for a factor of 2 only.
    setFaster(scale, (x) => tf.add(x, x), check('scale'));
    expect(read(scale(tf.tensor1d([1, 2]), 3))).toEqual([3, 6]);
    expect(read(scale(tf.tensor1d([4]), 3))).toEqual([12]);
    expect(said).toEqual(['scale differs from the fast scale: running scale as written.']);
    calls.length = 0;
    expect(read(scale(tf.tensor1d([4]), 2))).toEqual([8]);
    expect(calls).toEqual(['reference']);
    expect(read(scale(tf.tensor1d([4]), 2))).toEqual([8]);
    expect(calls).toEqual(['reference']);
    expect(said).toHaveLength(1);
  });

  it('give a formula replaced under the same name a probe of its own', () => {
    setFaster(scale, (x, factor) => tf.mul(x, factor), check('test.scale'));
    expect(read(scale(tf.tensor1d([1]), 3))).toEqual([3]);
    const edited = op('test.scale', (x: tf.Tensor, factor: number): tf.Tensor => tf.mul(x, factor + 1));
    expect(read(edited(tf.tensor1d([1]), 3))).toEqual([4]);
    expect(said).toEqual(['test.scale differs from the fast scale: running scale as written.']);
  });

  it('run as written a formula that throws on the probe (a piece not written yet), saying nothing', () => {
    const stub = op('test.scale', (_x: tf.Tensor, _factor: number): tf.Tensor => {
      throw new Error('2d: not implemented yet');
    });
    setFaster(scale, (x, factor) => tf.mul(x, factor), check('scale'));
    expect(() => stub(tf.tensor1d([1]), 3)).toThrow('2d: not implemented yet');
    expect(said).toEqual([]);
  });

  it('leave the calls to the reference where the faster version declines the probe, saying nothing', () => {
    let fast = 0;
    setFaster(scale, () => (fast++, null), check('scale'));
    expect(read(scale(tf.tensor1d([1]), 3))).toEqual([3]);
    expect(read(scale(tf.tensor1d([1]), 3))).toEqual([3]);
    expect([fast, said]).toEqual([1, []]);
  });

  it('take an infinity as agreeing only with the same infinity', () => {
    // Right where x is finite; where the probe's 1/x is infinite, the faster version's is 0.
    const reciprocal = op('test.reciprocal', (x: tf.Tensor, _factor: number): tf.Tensor => tf.div(1, x));
    const probe: Check<[tf.Tensor, number], tf.Tensor> = { ...check('reciprocal'), probe: (run) => [run(tf.tensor1d([0, 1, 2]), 1)!] };
    setFaster(reciprocal, (x) => tf.where(tf.equal(x, 0), tf.zerosLike(x), tf.div(1, x)), probe);
    expect(read(reciprocal(tf.tensor1d([0]), 1))).toEqual([Infinity]);
    expect(said).toEqual(['reciprocal differs from the fast scale: running reciprocal as written.']);
    setFaster(reciprocal, null);
  });

  it('stop comparing an operation whose settings change from call to call, running the formula', () => {
    let fast = 0;
    setFaster(scale, (x, factor) => (fast++, tf.mul(x, factor)), check('scale'));
    for (let factor = 1; factor <= 100; factor++) expect(read(scale(tf.tensor1d([1]), factor))).toEqual([factor]);
    // Each of the first 64 settings: the probe and the call; the rest: the formula alone.
    expect(fast).toBe(2 * 64);
    expect(calls).toHaveLength(64 + 36);
  });

  it('free what the probes make', () => {
    setFaster(scale, (x, factor) => tf.mul(x, factor), check('scale'));
    const x = tf.tensor1d([1]);
    const before = tf.memory().numTensors;
    tf.dispose([scale(x, 5), scale(x, 6), scale(x, 5)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('run the reference alone while useFusedKernels(false), and the faster version again after', () => {
    setFaster(scale, () => tf.scalar(0), { ...check('scale'), probe: () => [tf.scalar(0)] });
    useFusedKernels(false);
    expect(fusedKernelsOn()).toBe(false);
    expect(read(scale(tf.tensor1d([5]), 2))).toEqual([10]);
    expect(read(scale.reference(tf.tensor1d([5]), 2))).toEqual([10]);
    useFusedKernels(true);
    expect(read(scale(tf.tensor1d([5]), 2))).toEqual([0]);
  });

  it('refuse a faster version without a check, and forget one set to null', () => {
    expect(() => setFaster(scale, (x) => x)).toThrow('setFaster(test.scale): a faster version needs a check that holds it to the formula.');
    setFaster(scale, (x) => x, check('scale'));
    setFaster(scale, null);
    expect(read(scale(tf.tensor1d([1]), 2))).toEqual([2]);
  });
});
