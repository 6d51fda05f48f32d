import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chainRuns, encodeLoop } from '../../src/accel/chains.ts';
import type { Parameter } from '../../src/nn/parameter.ts';
import { compiled, useFusedKernels } from '../../src/core/op.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';
import { oneByOne, trainer } from '../helpers/training-steps.ts';

const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

/** How many loops and operations `work` ran as chains. */
function counted(work: () => void): { loops: number; operations: number } {
  const [loops, operations] = [chainRuns.loops, chainRuns.operations];
  work();
  return { loops: chainRuns.loops - loops, operations: chainRuns.operations - operations };
}

describe.runIf(BACKENDS_UNDER_TEST.includes('wasm'))('element-wise chains as one pass on wasm', () => {
  beforeAll(() => useBackend('wasm'));
  afterEach(() => useFusedKernels(true));

  // Every operation recorded, with a number and a one-element tensor as scalars, an operand used twice and a value
  // read by two later operations; sizes that are and are not multiples of the SIMD width.
  const formula = (a: tf.Tensor, b: tf.Tensor, s: tf.Tensor) => {
    const x = tf.add(tf.mul(a, 0.9), tf.mul(tf.square(b), s));
    const y = tf.sub(a, tf.neg(x));
    return tf.div(y, tf.add(tf.sqrt(tf.abs(x)), 1e-8));
  };
  for (const size of [4, 1003]) {
    it(`computes, bit for bit, what the operations compute one by one (${size} elements)`, () => {
      const a = tf.randomNormal([size], 0, 1, 'float32', 1);
      const b = tf.randomNormal([size], 0, 1, 'float32', 2);
      const s = tf.scalar(0.3);
      const expected = tf.tidy(() => formula(a, b, s));
      const before = tf.memory().numTensors;
      let got: tf.Tensor | undefined;
      const runs = counted(() => (got = compiled('chain', () => tf.tidy(() => formula(a, b, s)))));
      expect(runs).toEqual({ loops: 1, operations: 10 });
      expect(bits(got!)).toEqual(bits(expected));
      expect(tf.memory().numTensors).toBe(before + 1);
      tf.dispose([a, b, s, expected, got!]);
    });
  }

  it('runs what is recorded where a value is read, or taken by another kernel, and goes on recording', () => {
    const a = tf.randomNormal([50, 8], 0, 1, 'float32', 3);
    const w = tf.randomNormal([8, 3], 0, 1, 'float32', 4);
    const work = () =>
      tf.tidy(() => {
        const doubled = tf.mul(a, 2);
        const seen = doubled.dataSync()[7];
        const product = tf.matMul(tf.add(doubled, 1), w);
        return tf.mul(tf.sub(product, tf.scalar(seen ?? 0)), product);
      });
    const expected = work();
    let got: tf.Tensor | undefined;
    expect(counted(() => (got = compiled('reads', work))).loops).toBe(3);
    expect(bits(got!)).toEqual(bits(expected));
    tf.dispose([a, w, expected, got!]);
  });

  it('keeps the memory of a tensor disposed before the chain that reads it has run', () => {
    const make = () => tf.randomNormal([333], 0, 1, 'float32', 5);
    const expectedInput = make();
    const expected = tf.tidy(() => tf.mul(tf.add(expectedInput, 1), 3));
    const got = compiled('disposed', () => {
      const x = make();
      const y = tf.add(x, 1);
      x.dispose();
      // Memory freed here would be what the next allocations take.
      const filler = tf.tidy(() => tf.fill([333], 7));
      const z = tf.mul(y, 3);
      y.dispose();
      filler.dispose();
      return z;
    });
    expect(bits(got)).toEqual(bits(expected));
    tf.dispose([expectedInput, expected, got]);
  });

  it("takes a row broadcast over a matrix, another type or a one-element result one by one", () => {
    const m = tf.randomNormal([6, 5], 0, 1, 'float32', 6);
    const row = tf.randomNormal([5], 0, 1, 'float32', 7);
    const work = () => tf.tidy(() => [tf.add(m, row), tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')), tf.mul(tf.scalar(2), tf.scalar(3))]);
    const expected = work();
    let got: tf.Tensor[] = [];
    expect(counted(() => (got = compiled('as is', work))).loops).toBe(0);
    got.forEach((t, k) => expect(Array.from(t.dataSync())).toEqual(Array.from(expected[k]!.dataSync())));
    tf.dispose([m, row, ...expected, ...got]);
  });

  const OPTIMIZERS: Record<string, (params: Parameter[]) => Optimizer> = {
    'SGD with momentum and weight decay': (params) => new SGD(params, { lr: 0.1, momentum: 0.9, beta: 0.01 }),
    RMSProp: (params) => new RMSProp(params, { lr: 0.001, beta: 0.9, epsilon: 1e-8 }),
    Adam: (params) => new Adam(params, { lr: 0.01 }),
  };
  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`training steps with ${name} as written: bit for bit one by one, a loop per size of parameter`, () => {
      useFusedKernels(false);
      const chained = trainer(make);
      const plain = trainer(make);
      try {
        const runs = counted(() => [12, 12, 5].forEach((n) => chained.step(n)));
        [12, 12, 5].forEach((n) => oneByOne(() => plain.step(n)));
        expect(chained.params()).toEqual(plain.params());
        // The update of the network's six parameters alone is six loops a step.
        expect(runs.loops).toBeGreaterThanOrEqual(18);
      } finally {
        chained.dispose();
        plain.dispose();
      }
    });
  }

  it("an edited formula is what runs: an Adam whose update does nothing, an SGD of one's own", () => {
    useFusedKernels(false);
    class Idle extends Adam {
      override update(): void {}
    }
    class Halved extends SGD {
      override update(p: Parameter, grad: tf.Tensor): void {
        p.value.assign(tf.sub(p.value, tf.mul(grad, this.lr / 2)));
      }
    }
    for (const [make, moves] of [
      [(params: Parameter[]) => new Idle(params, { lr: 0.01 }), false],
      [(params: Parameter[]) => new Halved(params, { lr: 0.2 }), true],
    ] as [(params: Parameter[]) => Optimizer, boolean][]) {
      const chained = trainer(make);
      const plain = trainer(make);
      try {
        const initial = chained.params();
        chained.step();
        oneByOne(() => plain.step());
        expect(chained.params()).toEqual(plain.params());
        expect(chained.params()[0]).not.toEqual(moves ? initial[0] : undefined);
        if (!moves) expect(chained.params()).toEqual(initial);
      } finally {
        chained.dispose();
        plain.dispose();
      }
    }
  });

  it('tensors and the backend memory stay flat over many steps', () => {
    useFusedKernels(false);
    const t = trainer((params) => new Adam(params, { lr: 0.01 }));
    try {
      t.step();
      const before = { tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() };
      for (let k = 0; k < 20; k++) t.step();
      expect({ tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() }).toEqual(before);
    } finally {
      t.dispose();
    }
  });

  it('encodes a loop that WebAssembly validates, with more locals than one byte numbers', () => {
    const nodes = Array.from({ length: 150 }, (_, k) => ({ op: 'Add', operands: [k ? { node: k - 1 } : { array: 0 }, { scalar: 0 }], dataId: {} }));
    const live = nodes.map((_, k) => k % 50 === 0);
    for (const shared of [false, true]) expect(WebAssembly.validate(encodeLoop({ nodes, arrays: [{}], scalars: [{}] }, live, shared))).toBe(true);
  });
});
