// The optimizers' checks (questions/checks.ts) recognise the mistakes students write by name: each is written here
// as a subclass, and the checks must say which it is. The kit's own optimizers pass them.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { dropoutChecks, type MakeOptimizer, optimizerChecks } from '../../questions/checks.ts';
import { FFNN } from '../../src/nn/ffnn.ts';
import type { Parameter } from '../../src/nn/parameter.ts';
import { Adam } from '../../src/optim/adam.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';

class TextbookDecay extends SGD {
  override update(p: Parameter, grad: tf.Tensor): void {
    p.value.assign(tf.sub(tf.mul(p.value, 1 - this.lr * this.beta), tf.mul(grad, this.lr)));
  }
}

class NoDecay extends SGD {
  override update(p: Parameter, grad: tf.Tensor): void {
    p.value.assign(tf.sub(p.value, tf.mul(grad, this.lr)));
  }
}

class MomentumSign extends SGD {
  override update(p: Parameter, grad: tf.Tensor, i: number): void {
    const V = this.state.V[i] as tf.Variable;
    V.assign(tf.add(tf.mul(V, this.momentum), tf.mul(grad, this.lr)));
    p.value.assign(tf.add(tf.mul(p.value, 1 - this.beta), V));
  }
}

class NoMomentum extends SGD {
  override update(p: Parameter, grad: tf.Tensor): void {
    p.value.assign(tf.sub(tf.mul(p.value, 1 - this.beta), tf.mul(grad, this.lr)));
  }
}

class EpsilonInsideRMSProp extends RMSProp {
  override update(p: Parameter, grad: tf.Tensor, i: number): void {
    const S = this.state.S[i] as tf.Variable;
    S.assign(tf.add(tf.mul(S, this.beta), tf.mul(tf.square(grad), 1 - this.beta)));
    p.value.assign(tf.sub(p.value, tf.mul(tf.div(this.lr, tf.sqrt(tf.add(S, this.epsilon))), grad)));
  }
}

class NoOneMinusBeta extends RMSProp {
  override update(p: Parameter, grad: tf.Tensor, i: number): void {
    const S = this.state.S[i] as tf.Variable;
    S.assign(tf.add(tf.mul(S, this.beta), tf.square(grad)));
    p.value.assign(tf.sub(p.value, tf.mul(tf.div(this.lr, tf.add(tf.sqrt(S), this.epsilon)), grad)));
  }
}

/** Adam with its corrections for step `t` and epsilon added where `inside` says, as a student might write it. */
class AdamAs extends Adam {
  calls = 0;
  constructor(
    params: Parameter[],
    options: Record<string, number>,
    readonly how: { t?: 'per parameter'; corrected?: boolean; epsilonInside?: boolean },
  ) {
    super(params, options);
  }

  override update(p: Parameter, grad: tf.Tensor, i: number): void {
    this.calls += 1;
    const t = this.how.t === 'per parameter' ? this.calls : this.steps;
    const [c1, c2] = this.how.corrected === false ? [1, 1] : [1 - this.beta1 ** t, 1 - this.beta2 ** t];
    const P = this.state.P[i] as tf.Variable;
    const S = this.state.S[i] as tf.Variable;
    P.assign(tf.add(tf.mul(P, this.beta1), tf.mul(grad, 1 - this.beta1)));
    S.assign(tf.add(tf.mul(S, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2)));
    const sHat = tf.div(S, c2);
    const root = this.how.epsilonInside ? tf.sqrt(tf.add(sHat, this.epsilon)) : tf.add(tf.sqrt(sHat), this.epsilon);
    p.value.assign(tf.sub(p.value, tf.mul(tf.div(this.lr, root), tf.div(P, c1))));
  }
}

const adamAs = (how: AdamAs['how']): MakeOptimizer => (params, options) => new AdamAs(params, options, how);

describe.each(BACKENDS_UNDER_TEST)("the optimizers' checks on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it("find nothing wrong with the kit's optimizers", async () => {
    for (const piece of ['1a', '2b', '2c', '2d']) expect(await optimizerChecks(piece), piece).toEqual([]);
  });

  const mistakes: [piece: string, make: Partial<Record<'SGD' | 'RMSProp' | 'Adam', MakeOptimizer>>, name: RegExp][] = [
    ['1a', { SGD: (params, options) => new TextbookDecay(params, options) }, /SGD with the textbook weight decay, p·\(1 − lr·beta\)/],
    ['1a', { SGD: (params, options) => new NoDecay(params, options) }, /SGD without the weight decay/],
    ['2b', { SGD: (params, options) => new MomentumSign(params, options) }, /momentum with its sign turned/],
    ['2b', { SGD: (params, options) => new NoMomentum(params, options) }, /SGD without the momentum/],
    ['2c', { RMSProp: (params, options) => new EpsilonInsideRMSProp(params, options) }, /RMSProp with epsilon inside the square root/],
    ['2c', { RMSProp: (params, options) => new NoOneMinusBeta(params, options) }, /RMSProp with S ← beta·S \+ grad², without \(1 − beta\)/],
    ['2d', { Adam: adamAs({ t: 'per parameter' }) }, /^step 1 of Adam .* differs from the expected update for parameters 1, 2 and not for parameter 0 .*: your update matches Adam with t counted per parameter/],
    ['2d', { Adam: adamAs({ corrected: false }) }, /Adam without the bias correction/],
    ['2d', { Adam: adamAs({ epsilonInside: true }) }, /Adam with epsilon inside the square root/],
  ];
  for (const [piece, make, name] of mistakes) {
    it(`${piece}: name ${name.source.replace(/\\/g, '').slice(0, 60)}`, async () => {
      const lines = await optimizerChecks(piece, make);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.some((line) => name.test(line)), lines.join('\n')).toBe(true);
      // Each line says where with both values.
      for (const line of lines) expect(line).toMatch(/\(parameter \d+, element \d+: yours [-\d.e]+, expected [-\d.e]+\)/);
    });
  }
});

describe.each(BACKENDS_UNDER_TEST)("dropout's checks on %s", (backend) => {
  beforeAll(() => useBackend(backend));
  const drawn = (shape: number[], keepWith: number, scale: number) =>
    tf.tidy(() => tf.mul(tf.cast(tf.less(tf.randomUniform(shape, 0, 1, 'float32', 3), keepWith), 'float32'), scale));

  it("find nothing wrong with the kit's dropout and backward pass", async () => {
    expect(await dropoutChecks()).toEqual([]);
  });

  it('name a mask without the 1/keep scaling, and one that keeps with probability 1 − keep', async () => {
    const unscaled = await dropoutChecks({ invertedDropoutMask: (shape, keep) => drawn(shape, keep, 1) });
    expect(unscaled).toContainEqual('keep 0.8: a kept unit of the mask is 1, expected 1/keep = 1.25: your mask matches dropout without the 1/keep scaling');
    const flipped = await dropoutChecks({ invertedDropoutMask: (shape, keep) => drawn(shape, 1 - keep, Math.fround(1 / keep)) });
    expect(flipped).toContainEqual(expect.stringMatching(/^keep 0\.8: the mask keeps 0\.\d+ of the units, expected 0\.8 ± 0\.02: your mask matches dropout that keeps with probability 1 − keep$/));
    // A natural mask of the right law passes.
    expect(await dropoutChecks({ invertedDropoutMask: (shape, keep) => drawn(shape, keep, Math.fround(1 / keep)) })).toEqual([]);
  });

  it('find a backward pass that gives gradients to dropped units', async () => {
    class Unmasked extends FFNN {
      override backward(x: tf.Tensor2D, y: tf.Tensor2D, yPred: tf.Tensor2D): void {
        super.backward(x, y, yPred);
        // As a backward pass that forgets the mask: every unit of each hidden layer gets a gradient.
        for (const p of this.parameters()) if (p.shape.length === 1) p.setGrad(tf.onesLike(p.value));
      }
    }
    const lines = await dropoutChecks({ Network: Unmasked });
    expect(lines).toContainEqual(expect.stringMatching(/^the backward pass gives a gradient to a unit dropout dropped \(hidden layer 1, unit \d+: bias gradient 1, expected 0\): is the dropout mask multiplied in again\?$/));
  });
});
