// The faster versions step aside for a formula that is not theirs: an optimizer's update overridden by a subclass, an
// activation of one's own, any named operation whose reference is another formula. On every backend under test; the
// student edition keeps the tests of the faster versions it keeps.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchSource } from '../../src/data/batches.ts';
import { activate, activationGrad, celu, relu, swish, type Activation } from '../../src/nn/activations.ts';
import { applyInvertedDropout } from '../../src/nn/dropout.ts';
import { biasGrad, linear } from '../../src/nn/linear.ts';
import { softmaxCrossEntropyGrad } from '../../src/nn/loss.ts';
import { onFormulaDiffers, op, type Op, verdictsSettled } from '../../src/core/op.ts';
import { addToTotals, zeroTotals } from '../../src/training/metrics.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { relativeError } from '../helpers/reference64.ts';
// kit only: begin
import type { Parameter } from '../../src/nn/parameter.ts';
import { forgetVerdicts } from '../../src/core/op.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { afterSteps, OPTIMIZERS } from './optimizer-steps.ts';
// kit only: end

const said: string[] = [];
let before: (line: string) => void;
beforeAll(() => {
  before = onFormulaDiffers((line) => said.push(line));
});
afterAll(() => void onFormulaDiffers(before));
afterEach(() => void (said.length = 0));

// kit only: begin
/** Each kit optimizer's class made with other hyper-parameters than any other test's, so that each test compares afresh. */
const lr = (backend: string, k: number) => 0.01 + 0.001 * BACKENDS_UNDER_TEST.indexOf(backend as never) + 0.0001 * k;
// kit only: end

describe.each(BACKENDS_UNDER_TEST)('the faster versions on %s hold to the formula as it stands', (backend) => {
  beforeAll(() => useBackend(backend));

  // kit only: begin
  it("run for the kit's own optimizers, saying nothing", async () => {
    for (const make of Object.values(OPTIMIZERS)) {
      const fast = await afterSteps(make, true);
      const reference = await afterSteps(make, false);
      fast.values.forEach((v, i) => expect(relativeError(v, reference.values[i]!)).toBeLessThan(1e-5));
    }
    expect(said).toEqual([]);
  });

  const classes: [string, (params: Parameter[], lr: number) => Optimizer][] = [
    ['SGD', (p, lr) => new (class extends SGD {})(p, { lr, beta: 0.01 })],
    ['SGD with momentum', (p, lr) => new (class extends SGD {})(p, { lr, momentum: 0.9 })],
    ['RMSProp', (p, lr) => new (class extends RMSProp {})(p, { lr })],
    ['Adam', (p, lr) => new (class extends Adam {})(p, { lr })],
  ];
  it.each(classes.map(([name, make], k) => ({ name, make, k })))(
    'run a subclass of $name that overrides update as written: one that does nothing, one with a formula of its own',
    async ({ make, k }) => {
      const idle = (p: Parameter[]) => {
        const optimizer = make(p, lr(backend, k));
        optimizer.update = () => {};
        return optimizer;
      };
      const untouched = await afterSteps(idle, false);
      const still = await afterSteps(idle, true);
      still.values.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(untouched.values[i]!)));
      // AdamW-like: the kit's update, then a decay of its own.
      const decoupled = (p: Parameter[]) => {
        const optimizer = make(p, lr(backend, k) * 2);
        const update = (Object.getPrototypeOf(optimizer) as { update: (this: Optimizer, ...args: Parameters<Optimizer['update']>) => void }).update;
        optimizer.update = function (this: Optimizer, param, grad, i) {
          update.call(this, param, grad, i);
          param.value.assign(tf.mul(param.value, 0.5));
        };
        return optimizer;
      };
      const asWritten = await afterSteps(decoupled, false);
      const run = await afterSteps(decoupled, true);
      run.values.forEach((v, i) => expect(relativeError(v, asWritten.values[i]!)).toBeLessThan(1e-5));
    },
  );

  it('run as written an update set on the optimizer itself, or an arrow function as a field, leaving its state its own', async () => {
    const make = (p: Parameter[]) => new SGD(p, { lr: lr(backend, 20), momentum: 0.9 });
    // The plain optimizer with these settings first, so that a verdict for them is there to be mistaken for another's.
    await afterSteps(make, true);
    const idle = (p: Parameter[]) => {
      const optimizer = make(p);
      optimizer.update = () => {};
      return optimizer;
    };
    const [untouched, still] = [await afterSteps(idle, false), await afterSteps(idle, true)];
    still.values.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(untouched.values[i]!)));
    class Arrow extends Adam {
      override update = (p: Parameter, grad: tf.Tensor, i: number): void => Adam.prototype.update.call(this, p, grad, i);
    }
    const arrow = (p: Parameter[]) => new Arrow(p, { lr: lr(backend, 21) });
    const [asWritten, run] = [await afterSteps(arrow, false), await afterSteps(arrow, true)];
    run.values.forEach((v, i) => expect(relativeError(v, asWritten.values[i]!)).toBeLessThan(1e-5));
    expect(said).toEqual([]);
  });

  it('hold a small step to the formula: an update 5% larger than SGD\'s, at lr 1e-4, runs as written', async () => {
    class Larger extends SGD {
      override update(p: Parameter, grad: tf.Tensor, i: number): void {
        super.update(p, tf.mul(grad, 1.05), i);
      }
    }
    const make = (p: Parameter[]) => new Larger(p, { lr: 1e-4 + lr(backend, 22) * 1e-4 });
    const initial = await afterSteps((p) => Object.assign(make(p), { update: () => {} }), false);
    const [asWritten, run] = [await afterSteps(make, false), await afterSteps(make, true)];
    const step = (values: Float32Array[]) => values.map((v, i) => Array.from(v, (x, j) => x - initial.values[i]![j]!));
    step(run.values).forEach((d, i) => expect(relativeError(d, step(asWritten.values)[i]!)).toBeLessThan(1e-2));
  });

  it('say which formula runs as written, once a process', async () => {
    forgetVerdicts();
    class Lazy extends Adam {
      override update(): void {}
    }
    await afterSteps((p) => new Lazy(p, { lr: lr(backend, 9) }), true);
    await afterSteps((p) => new Lazy(p, { lr: lr(backend, 10) }), true);
    // Where the backend has no fused Adam (cpu), there is nothing to set aside.
    if (backend !== 'cpu') expect(said).toEqual(['Lazy.update differs from the fused Adam kernel: running update as written.']);
  });

  // kit only: end

  /** The operation `operation` with `formula` as its reference, sharing its name (and faster version). */
  const edited = <A extends unknown[], R>(operation: Op<A, R>, formula: (...args: A) => R) => op(operation.opName, formula);
  const tensor = (shape: number[], salt: number, scale = 1) =>
    tf.tensor(Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => scale * Math.sin(salt + 1.7 * i)), shape, 'float32');
  const twice = (t: tf.Tensor) => tf.mul(t, 2);

  /**
   * Each named operation through a copy whose formula is not the kit's (made once, so that a second call finds the
   * verdict of the first), and what that formula gives.
   */
  const cases: { name: string; run: () => { got: tf.Tensor[]; expected: tf.Tensor[] } }[] = [
    ...[relu, celu, swish].map((activation) => {
      const own: Activation = { ...activation, f: (x, p) => twice(activation.f(x, p)) };
      const u = () => tensor([8, 12], 1, 4);
      return { name: `activate (${activation.name})`, run: () => ({ got: [activate(own, u(), activation.param?.initial)], expected: [own.f(u(), activation.param?.initial)] }) };
    }),
    ...[relu, celu, swish].map((activation) => {
      const own: Activation = { ...activation, dfdx: (x, p) => twice(activation.dfdx(x, p)) };
      const [dh, u] = [() => tensor([8, 12], 2) as tf.Tensor2D, () => tensor([8, 12], 3, 4) as tf.Tensor2D];
      return { name: `activationGrad (${activation.name})`, run: () => ({ got: [activationGrad(own, dh(), u())], expected: [tf.mul(dh(), own.dfdx(u()))] }) };
    }),
    (() => {
      const grad = edited(softmaxCrossEntropyGrad, (a, b) => tf.sub(a, b));
      const q = () => tf.softmax(tensor([6, 10], 4)) as tf.Tensor2D;
      const y = () => tf.cast(tf.oneHot(tf.tensor1d([1, 2, 3, 4, 5, 6], 'int32'), 10), 'float32') as tf.Tensor2D;
      return { name: 'softmaxCrossEntropyGrad', run: () => ({ got: [grad(q(), y())], expected: [tf.sub(q(), y())] }) };
    })(),
    (() => {
      const product = edited(linear, (x, W) => tf.matMul(x, W));
      return {
        name: 'linear',
        run: () => {
          const [h, w, b] = [tensor([8, 6], 5), tensor([6, 4], 6), tensor([4], 7)] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
          return { got: [product(h, w, b)], expected: [tf.matMul(h, w)] };
        },
      };
    })(),
    (() => {
      const mean = edited(biasGrad, (g) => tf.mean(g, 0));
      // As the backward pass meets it: after a fused activation gradient left its sum for biasGrad.
      const dU = () => activationGrad(relu, tensor([8, 6], 8) as tf.Tensor2D, tensor([8, 6], 14) as tf.Tensor2D);
      return {
        name: 'biasGrad',
        run: () => {
          const g = dU();
          return { got: [mean(g)], expected: [tf.mean(g, 0)] };
        },
      };
    })(),
    (() => {
      const keepAll = edited(applyInvertedDropout, (x) => ({ output: x, mask: tf.onesLike(x) }));
      return {
        name: 'applyInvertedDropout',
        run: () => {
          const h = tensor([8, 40], 12) as tf.Tensor2D;
          const { output, mask } = keepAll(h, 0.5, 3);
          return { got: [output, mask], expected: [h, tf.onesLike(h)] };
        },
      };
    })(),
    (() => {
      const zero = edited(zeroTotals, () => ({ loss: tf.scalar(1), right: tf.scalar(2) }));
      return {
        name: 'zeroTotals',
        run: () => {
          const totals = zero(6);
          return { got: [tf.sum(totals.loss), tf.sum(totals.right)], expected: [tf.scalar(1), tf.scalar(2)] };
        },
      };
    })(),
    (() => {
      const add = edited(addToTotals, (t) => ({ loss: tf.add(tf.sum(t.loss), 10), right: tf.sum(t.right) }));
      return {
        name: 'addToTotals',
        run: () => {
          const q = tf.softmax(tensor([6, 10], 13)) as tf.Tensor2D;
          const y = tf.cast(tf.oneHot(tf.tensor1d([1, 2, 3, 4, 5, 6], 'int32'), 10), 'float32') as tf.Tensor2D;
          // Totals kept per row, as the faster versions keep them.
          const totals = add({ loss: tf.zeros([6]), right: tf.zeros([6]) }, q, y, 'batchMean');
          return { got: [tf.sum(totals.loss), tf.sum(totals.right)], expected: [tf.scalar(10), tf.scalar(0)] };
        },
      };
    })(),
    (() => {
      const empty = edited(batchSource, () => ({ batch: () => ({ x: tf.zeros([1, 8]) as tf.Tensor2D, y: tf.zeros([1, 2]) as tf.Tensor2D }), dispose: () => {} }));
      const data = { count: 4, features: 8, classes: 2, pixels: new Uint8Array(32).fill(255), labels: new Uint8Array([0, 1, 0, 1]) };
      return {
        name: 'batchSource',
        run: () => {
          const { x, y } = empty(data).batch([0, 1]);
          return { got: [x, y], expected: [tf.zeros([1, 8]), tf.zeros([1, 2])] };
        },
      };
    })(),
  ];
  it.each(cases)('$name: a formula replaced runs as written', async ({ run }) => {
    // Twice: the first call may run the formula while the comparison is read (webgpu), the second has the verdict.
    for (const round of [0, 1]) {
      const { got, expected } = run();
      expect(got.map((t) => t.shape)).toEqual(expected.map((t) => t.shape));
      for (const [k, t] of got.entries()) expect(relativeError(await values(t), await values(expected[k]!)), `round ${round}, output ${k}`).toBeLessThan(1e-5);
      await verdictsSettled();
    }
  });
});
