import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BackendName } from '../../src/backends/select.ts';
import { useFusedKernels } from '../../src/core/op.ts';
import { ACTIVATIONS } from '../../src/nn/activations.ts';
import { fusedActivation, fusedActivationGrad, fusedSoftmaxCrossEntropyGrad } from '../../src/accel/activations.ts';
import { softmaxCrossEntropyGrad } from '../../src/nn/loss.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { normals, relativeError, softmaxRows, sumRows } from '../helpers/reference64.ts';

// Pre-activations from about −9 to 9 (swish with beta 1.7 reaches ±15), and an upstream gradient. 15 × 39: neither a
// row nor the whole is a multiple of 4 elements, which wasm's kernels take four at a time.
const [ROWS, COLUMNS] = [15, 39];
const inputs = normals(21).matrix(ROWS, COLUMNS, 3);
// And a few exact zeros, where relu's derivative is taken as 0 (tf.step) and celu's kink is (not the last element,
// which wasm's forward kernels take on their own, and where 0 would be right for nothing written).
for (const [row, column] of [[0, 0], [5, 7], [14, 37]] as const) inputs[row]![column] = 0;
const upstream = normals(22).matrix(ROWS, COLUMNS, 1);

/** The kernels a function runs, and its results' values (each tensor's, in order). */
async function profiled(run: () => tf.Tensor | tf.Tensor[] | null): Promise<{ kernels: string[]; values: number[][] }> {
  let result: tf.Tensor[] = [];
  const profile = await tf.profile(() => {
    const out = run();
    result = out === null ? [] : Array.isArray(out) ? out : [out];
    return result;
  });
  return { kernels: profile.kernels.map((k) => k.name), values: await Promise.all(result.map(values)) };
}

// The backends with the kit's fused activations. CI installs Mesa's software Vulkan driver, so webgpu runs there too;
// CC6204_TEST_BACKENDS=webgpu runs it on a GPU. On tensorflow they are TensorFlow's own operations.
const FUSED: BackendName[] = BACKENDS_UNDER_TEST.filter((name) => name === 'webgpu' || name === 'wasm' || name === 'tensorflow');

describe.each(FUSED)('fused activations on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => useFusedKernels(true));

  for (const name of ['relu', 'celu', 'swish'] as const) {
    const activation = ACTIVATIONS[name];
    // A trained parameter may turn negative: celu's alpha·Elu(u/alpha) is celu for alpha > 0 only.
    const params: (number | undefined)[] = activation.param ? [undefined, 0.6, 1.7, -0.5] : [undefined];
    for (const p of params) {
      const label = p === undefined ? `${name}, parameter left at its default` : `${name}, trained parameter ${p}`;
      it(`${label}: one kernel each way (backward with the bias gradient), agreeing with the tfjs operations to float32 rounding`, async () => {
        const u = tf.tensor2d(inputs);
        const dh = tf.tensor2d(upstream);
        const param = p === undefined ? undefined : tf.scalar(p);
        const opForward = await values(activation.f(u, param));
        const opGrad = tf.mul(dh, activation.dfdx(u, param));
        if (name !== 'relu') {
          const forward = await profiled(() => fusedActivation(activation, u, param));
          expect(forward.kernels).toEqual([`CC6204Activation_${name}`]);
          expect(relativeError(forward.values[0]!, opForward)).toBeLessThan(1e-6);
        }
        const grad = await profiled(() => fusedActivationGrad(activation, dh, u, param));
        expect(grad.kernels).toEqual([`CC6204ActivationGrad_${name}`]);
        expect(relativeError(grad.values[0]!, await values(opGrad))).toBeLessThan(1e-6);
        expect(grad.values[1]).toHaveLength(COLUMNS);
        expect(relativeError(grad.values[1]!, await values(tf.sum(opGrad, 0)))).toBeLessThan(1e-6);
        useFusedKernels(false);
        expect(fusedActivationGrad(activation, dh, u, param)).toBeNull();
        tf.dispose([u, dh, opGrad, ...(param ? [param] : [])]);
      });
    }
  }

  it('celu with its alpha as a number, positive and negative, agrees with the tfjs operations', async () => {
    const u = tf.tensor2d(inputs);
    const dh = tf.tensor2d(upstream);
    for (const alpha of [0.6, -0.5]) {
      const forward = fusedActivation(ACTIVATIONS.celu, u, alpha)!;
      expect(relativeError(await values(forward), await values(ACTIVATIONS.celu.f(u, alpha))), `alpha ${alpha}`).toBeLessThan(1e-6);
      const [du, db] = fusedActivationGrad(ACTIVATIONS.celu, dh, u, alpha)!;
      expect(relativeError(await values(du), await values(tf.mul(dh, ACTIVATIONS.celu.dfdx(u, alpha)))), `alpha ${alpha}`).toBeLessThan(1e-6);
      tf.dispose([forward, du, db]);
    }
    tf.dispose([u, dh]);
  });

  if (backend === 'wasm') {
    it("exp, computed by activations.wat (celu's derivative is exp(u/alpha) for u <= 0), is within one unit in the last place of float64's, overflow, underflow and NaN included", async () => {
      // alpha 1 takes u from −104 to 0; alpha −1 (no celu's, a probe of exp) takes −u, from 0 to 89.
      const grid = (from: number, to: number, count: number) => Array.from({ length: count }, (_, i) => Math.fround(from + ((to - from) * i) / (count - 1)));
      for (const [alpha, us] of [[1, grid(-104, 0, 20000)], [-1, grid(-89, 0, 20000)]] as const) {
        const u = tf.tensor2d([us]);
        const ones = tf.onesLike(u);
        const [du, db] = fusedActivationGrad(ACTIVATIONS.celu, ones, u, alpha)!;
        const got = await values(du);
        const worst = Math.max(...us.map((x, i) => {
          const exact = Math.exp(x / alpha);
          if (exact > 3.4028234663852886e38) return got[i] === Infinity ? 0 : Infinity;
          const ulp = 2 ** (Math.max(Math.floor(Math.log2(exact)), -126) - 23);
          return Math.abs(got[i]! - exact) / ulp;
        }));
        expect(worst).toBeLessThanOrEqual(1);
        tf.dispose([u, ones, du, db]);
      }
      const special = tf.tensor2d([[-Infinity, -200, -104, Number.NaN, 0]]);
      const ones = tf.onesLike(special);
      for (const [alpha, expected] of [[1, [0, 0, 0, Number.NaN, 1]], [-1, [Infinity, Infinity, Infinity, Number.NaN, 1]]] as const) {
        const [du, db] = fusedActivationGrad(ACTIVATIONS.celu, ones, special, alpha)!;
        expect(await values(du)).toEqual(expected);
        tf.dispose([du, db]);
      }
      tf.dispose([special, ones]);
    });

    it('softmax and its gradient with cross-entropy stay with tfjs on wasm (10 classes: a few kernels of little work)', () => {
      const u = tf.tensor2d(inputs);
      expect(fusedActivation(ACTIVATIONS.softmax, u)).toBeNull();
      expect(fusedSoftmaxCrossEntropyGrad(u, u)).toBeNull();
      u.dispose();
    });
  }

  if (backend === 'webgpu' || backend === 'tensorflow') {
    it('softmax: one kernel, agreeing with the tfjs operations, and finite for huge logits', async () => {
      const u = tf.tensor2d(inputs);
      const fused = await profiled(() => fusedActivation(ACTIVATIONS.softmax, u));
      expect(fused.kernels).toEqual(['CC6204Activation_softmax']);
      expect(relativeError(fused.values[0]!, await values(ACTIVATIONS.softmax.f(u)))).toBeLessThan(1e-6);
      // The largest logit, wherever it is, is what keeps exp from overflowing.
      const huge = await values(fusedActivation(ACTIVATIONS.softmax, tf.tensor2d([[-1000, 1000, 0], [-1000, -1000, -1000]]))!);
      expect(huge.slice(0, 3)).toEqual([0, 1, 0]);
      expect(huge.slice(3)).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
      u.dispose();
    });

    it('(ŷ − y)/batch of softmax and cross-entropy and its sum over the batch: one kernel, agreeing with loss.ts', async () => {
      const probs = tf.tensor2d(softmaxRows(inputs));
      const targets = tf.tensor2d(inputs.map((row, i) => row.map((_, j) => (j === (i * 3) % row.length ? 1 : 0))));
      const fused = await profiled(() => fusedSoftmaxCrossEntropyGrad(probs, targets));
      expect(fused.kernels).toEqual(['CC6204SoftmaxCrossEntropyGrad']);
      const opGrad = softmaxCrossEntropyGrad(probs, targets);
      expect(relativeError(fused.values[0]!, await values(opGrad))).toBeLessThan(1e-6);
      expect(relativeError(fused.values[1]!, await values(tf.sum(opGrad, 0)))).toBeLessThan(1e-6);
      tf.dispose([probs, targets, opGrad]);
    });
  }

  it('the bias gradient of a batch of 100 and 1500 units (several workgroups) is the float64 column sum', async () => {
    const dhRows = normals(23).matrix(100, 1500, 1);
    const uRows = normals(24).matrix(100, 1500, 2);
    const [du, db] = fusedActivationGrad(ACTIVATIONS.relu, tf.tensor2d(dhRows), tf.tensor2d(uRows))!;
    const expected = dhRows.map((row, i) => row.map((d, j) => (uRows[i]![j]! > 0 ? d : 0)));
    expect(du.shape).toEqual([100, 1500]);
    expect(db.shape).toEqual([1500]);
    expect(relativeError(await values(du), expected.flat())).toBeLessThan(1e-7);
    expect(relativeError(await values(db), sumRows(expected))).toBeLessThan(1e-5);
    tf.dispose([du, db]);
  });

  it('relu forward stays one tfjs kernel', () => {
    const u = tf.tensor2d(inputs);
    expect(fusedActivation(ACTIVATIONS.relu, u)).toBeNull();
    expect(fusedActivationGrad(ACTIVATIONS.softmax, u, u)).toBeNull();
    u.dispose();
  });

  it('u of another shape than dh (which tfjs broadcasts) takes the tfjs path', () => {
    const dh = tf.tensor2d(upstream);
    const row = tf.tensor2d([inputs[0]!]);
    expect(fusedActivationGrad(ACTIVATIONS.celu, dh, row)).toBeNull();
    tf.dispose([dh, row]);
  });
});

describe.each(BACKENDS_UNDER_TEST.filter((name) => !FUSED.includes(name)))('fused activations on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('are not there: the network takes the tfjs operations', () => {
    const u = tf.tensor2d(inputs);
    expect(fusedActivation(ACTIVATIONS.celu, u)).toBeNull();
    expect(fusedActivationGrad(ACTIVATIONS.swish, u, u)).toBeNull();
    expect(fusedActivation(ACTIVATIONS.softmax, u)).toBeNull();
    expect(fusedSoftmaxCrossEntropyGrad(u, u)).toBeNull();
    u.dispose();
  });
});
