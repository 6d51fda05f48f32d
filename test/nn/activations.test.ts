import * as tf from '@tensorflow/tfjs-core';
// tf.grad is the oracle here; tfjs-core registers no gradients until this is imported.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, activationByName, celu, softmax, swish, tanh } from '../../src/nn/activations.ts';
import { crossEntropy as crossEntropyTf } from '../../src/nn/loss.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { ACTIVATIONS64, crossEntropy, normals, relativeError, softmaxRows } from '../helpers/reference64.ts';

const TOLERANCE = 1e-5;
// Pre-activations from −6 to 6, none at exactly 0 where relu and celu have a kink.
const inputs = normals(7).matrix(8, 25, 2.5);
const flat = inputs.flat();

describe.each(BACKENDS_UNDER_TEST)('activations on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  for (const name of ['relu', 'sigmoid', 'tanh', 'celu', 'swish'] as const) {
    const reference = ACTIVATIONS64[name];
    const activation = ACTIVATIONS[name];
    for (const p of activation.param ? [1, 0.6, 1.7] : [1]) {
      const label = activation.param ? `${name}(${activation.param.name}=${p})` : name;

      it(`${label}: value and derivative match the float64 reference`, async () => {
        const x = tf.tensor2d(inputs);
        const param = activation.param ? p : undefined;
        expect(relativeError(await values(activation.f(x, param)), flat.map((v) => reference.f(v, p)))).toBeLessThan(TOLERANCE);
        expect(relativeError(await values(activation.dfdx(x, param)), flat.map((v) => reference.dfdx(v, p)))).toBeLessThan(TOLERANCE);
        x.dispose();
      });

      it(`${label}: derivative agrees with tfjs autodiff`, async () => {
        const x = tf.tensor2d(inputs);
        const param = activation.param ? p : undefined;
        const auto = tf.grad((t: tf.Tensor) => activation.f(t, param))(x);
        expect(relativeError(await values(activation.dfdx(x, param)), await values(auto))).toBeLessThan(TOLERANCE);
        x.dispose();
      });

      if (activation.dfdparam && reference.dfdp) {
        const dfdp = reference.dfdp;
        it(`${label}: derivative with respect to ${activation.param?.name} matches the reference and autodiff`, async () => {
          const x = tf.tensor2d(inputs);
          const got = await values(activation.dfdparam!(x, p));
          expect(relativeError(got, flat.map((v) => dfdp(v, p)))).toBeLessThan(TOLERANCE);
          // Autodiff of the sum gives the summed derivative: compare totals.
          const auto = tf.grad((a: tf.Tensor) => tf.sum(activation.f(x, a as tf.Scalar)))(tf.scalar(p));
          expect(relativeError([got.reduce((s, v) => s + v, 0)], await values(auto))).toBeLessThan(TOLERANCE);
          x.dispose();
        });
      }
    }
  }

  it('celu has derivative 1 for positive inputs and exp(x/alpha) for negative ones', async () => {
    const x = tf.tensor1d([0.5, 3, 40, -1]);
    expect(await values(celu.dfdx(x, 2))).toEqual([1, 1, 1, Math.fround(Math.exp(-0.5))]);
    expect((await values(celu.f(x, 2))).every(Number.isFinite)).toBe(true);
  });

  it("relu's derivative at exactly 0 is 0, as tfjs and PyTorch take it", async () => {
    const x = tf.tensor1d([-1, 0, 1]);
    expect(await values(ACTIVATIONS.relu.dfdx(x))).toEqual([0, 0, 1]);
    x.dispose();
  });

  it('tanh derivative is 1 − tanh², not a bitwise xor', async () => {
    const x = tf.tensor1d([0.5, -2]);
    const got = await values(tanh.dfdx(x));
    expect(got[0]).toBeCloseTo(1 - Math.tanh(0.5) ** 2, 6);
    expect(got[1]).toBeCloseTo(1 - Math.tanh(-2) ** 2, 6);
  });

  it("sigmoid's and swish's derivatives keep their precision where sigmoid(x) rounds to 1 in float32", async () => {
    // At x = 12 and beyond, float32 sigmoid(x) is 1 or within an ulp of it, so 1 − sigmoid(x) would be 0 or one ulp:
    // the derivatives here are e^−x-small and must still come out right to a few parts in a million, element by element.
    const tail = [12, 16, 20, -16];
    const x = tf.tensor1d(tail);
    const sigmoidPrime = await values(ACTIVATIONS.sigmoid.dfdx(x));
    const swishByBeta = await values(swish.dfdparam!(x, 1));
    tail.forEach((v, i) => {
      expect(sigmoidPrime[i]! / ACTIVATIONS64.sigmoid.dfdx(v, 1) - 1, `sigmoid'(${v})`).toBeCloseTo(0, 4);
      expect(swishByBeta[i]! / ACTIVATIONS64.swish.dfdp!(v, 1) - 1, `d swish/d beta at ${v}`).toBeCloseTo(0, 4);
    });
    x.dispose();
  });

  it('swish with beta 1 is x·sigmoid(x)', async () => {
    const x = tf.tensor1d([-3, 0.25, 4]);
    const expected = [-3, 0.25, 4].map((v) => v / (1 + Math.exp(-v)));
    expect(relativeError(await values(swish.f(x)), expected)).toBeLessThan(TOLERANCE);
  });

  it('softmax matches the reference, sums to 1 per row, and survives huge logits', async () => {
    const x = tf.tensor2d(inputs);
    expect(relativeError(await values(softmax.f(x)), softmaxRows(inputs).flat())).toBeLessThan(TOLERANCE);
    const huge = await values(softmax.f(tf.tensor2d([[1000, 1001, 999], [-1000, -1000, -1000]])));
    expect(huge.every(Number.isFinite)).toBe(true);
    expect(huge.slice(0, 3).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    expect(huge.slice(3)).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
  });

  it('softmax Jacobian matches the reference s_i(δij − s_j) and tfjs autodiff', async () => {
    const row = inputs[0]!.slice(0, 5);
    const s = softmaxRows([row])[0]!;
    const expected = s.flatMap((si, i) => s.map((sj, j) => si * ((i === j ? 1 : 0) - sj)));
    const jac = softmax.dfdx(tf.tensor2d([row]));
    expect(jac.shape).toEqual([1, 5, 5]);
    expect(relativeError(await values(jac), expected)).toBeLessThan(TOLERANCE);
    // Row j of the Jacobian is the gradient of output j.
    const auto = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(softmax.f(t), tf.oneHot([2], 5))))(tf.tensor2d([row]));
    expect(relativeError(await values(auto), expected.slice(10, 15))).toBeLessThan(TOLERANCE);
  });

  it('cross-entropy matches the reference, clamps zeros, and leaves its input untouched', async () => {
    const q = softmaxRows(inputs.map((r) => r.slice(0, 10)));
    q[0]![3] = 0;
    const y = q.map((_, i) => Array.from({ length: 10 }, (_, j) => (j === (i * 3) % 10 ? 1 : 0)));
    const probs = tf.tensor2d(q);
    const before = await values(probs);
    const loss = crossEntropyTf(probs, tf.tensor2d(y));
    expect(relativeError(await values(loss), [crossEntropy(q, y)])).toBeLessThan(TOLERANCE);
    expect(Number.isFinite((await values(loss))[0])).toBe(true);
    expect(await values(probs)).toEqual(before);
  });

  it('unknown activation names are a clear error', async () => {
    expect(() => activationByName('gelu')).toThrow(/Unknown activation "gelu": choose one of relu, sigmoid/);
  });
});
