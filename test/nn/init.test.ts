import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FFNN } from '../../src/nn/ffnn.ts';
import {
  heInit, heUniformInit, initializerFor, parseInitMethod, randnInit, xavierInit, xavierUniformInit,
} from '../../src/nn/init.ts';
import { Random } from '../../src/core/random.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { normals, relativeError } from '../helpers/reference64.ts';

function stats(xs: number[]) {
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
  const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length;
  const min = xs.reduce((m, v) => Math.min(m, v), Infinity);
  const max = xs.reduce((m, v) => Math.max(m, v), -Infinity);
  return { mean, variance, min, max };
}

describe.each(BACKENDS_UNDER_TEST)('initializations on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('xavier and he scale a given draw r by √(1/n_in) and √(2/n_in), as the course API does', async () => {
    const r = normals(3).matrix(50, 40);
    const x = xavierInit(50, 40, tf.tensor2d(r));
    const h = heInit(50, 40, tf.tensor2d(r));
    expect(x.shape).toEqual([50, 40]);
    expect(relativeError(await values(x), r.flat().map((v) => v * Math.sqrt(1 / 50)))).toBeLessThan(1e-6);
    expect(relativeError(await values(h), r.flat().map((v) => v * Math.sqrt(2 / 50)))).toBeLessThan(1e-6);
    expect(() => heInit(40, 50, tf.tensor2d(r))).toThrow('The given draw r has shape [50, 40], expected [40, 50].');
  });

  const cases = [
    { name: 'xavier', init: xavierInit, variance: 1 / 400, uniform: false },
    { name: 'he', init: heInit, variance: 2 / 400, uniform: false },
    { name: 'xavier-uniform', init: xavierUniformInit, variance: 1 / 400, uniform: true },
    { name: 'he-uniform', init: heUniformInit, variance: 2 / 400, uniform: true },
    { name: 'randn', init: randnInit, variance: 1, uniform: false },
  ];
  for (const { name, init, variance, uniform } of cases) {
    it(`${name} draws have mean 0 and variance ${variance}${uniform ? ', symmetric and bounded' : ''}`, async () => {
      const w = await values(init(400, 300, new Random(11)));
      const s = stats(w);
      expect(Math.abs(s.mean)).toBeLessThan(0.01 * Math.sqrt(variance));
      expect(Math.abs(s.variance / variance - 1)).toBeLessThan(0.02);
      if (uniform) {
        const bound = Math.sqrt(3 * variance);
        expect(s.min).toBeGreaterThanOrEqual(-bound);
        expect(s.max).toBeLessThanOrEqual(bound);
        expect(s.min).toBeLessThan(-0.99 * bound);
        expect(s.max).toBeGreaterThan(0.99 * bound);
      }
    });
  }

  it('the same seed gives the same weights, another seed others', async () => {
    const a = await values(xavierInit(30, 20, new Random(5)));
    expect(await values(xavierInit(30, 20, new Random(5)))).toEqual(a);
    expect(await values(xavierInit(30, 20, new Random(6)))).not.toEqual(a);
  });

  it('the heuristic chooses per layer: he for relu, xavier otherwise and for the output', async () => {
    expect(initializerFor('heuristic', 'relu', false)).toBe(heInit);
    expect(initializerFor('heuristic', 'tanh', false)).toBe(xavierInit);
    expect(initializerFor('heuristic', 'celu', false)).toBe(xavierInit);
    expect(initializerFor('heuristic', 'swish', false)).toBe(xavierInit);
    expect(initializerFor('heuristic', 'sigmoid', false)).toBe(xavierInit);
    expect(initializerFor('heuristic', 'relu', true)).toBe(xavierInit);
    // The notebook kept the first layer's choice for every later layer: a tanh layer then a relu layer must differ.
    const net = new FFNN(400, [400, 400], ['tanh', 'relu', 'softmax'], 10, { seed: 2 });
    const [w0, , w1, , w2] = (await Promise.all(net.parameters().map((p) => values(p.value)))).map((w) => stats(w).variance);
    expect(w0! * 400).toBeCloseTo(1, 1);
    expect(w1! * 400).toBeCloseTo(2, 1);
    expect(w2! * 400).toBeCloseTo(1, 1);
    net.dispose();
  });

  it('each named initialization is its own initializer, whatever the layer', () => {
    const named = { xavier: xavierInit, he: heInit, randn: randnInit, 'xavier-uniform': xavierUniformInit, 'he-uniform': heUniformInit } as const;
    for (const [name, init] of Object.entries(named)) {
      for (const [activation, isOutput] of [['relu', false], ['celu', false], ['softmax', true]] as const) {
        expect(initializerFor(parseInitMethod(name), activation, isOutput), `${name} for ${activation}`).toBe(init);
      }
    }
  });

  it('unknown initialization names are a clear error', async () => {
    expect(parseInitMethod('he-uniform')).toBe('he-uniform');
    expect(() => parseInitMethod('glorot')).toThrow(/Unknown initialization "glorot": choose one of xavier, he/);
  });
});
