import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENT_1C, EXPERIMENT_2E, type RunDefinition } from '../../src/experiments/definitions.ts';
import { useBackend } from '../helpers/backends.ts';

beforeAll(() => useBackend('cpu'));

/** Builds a run's network and optimizer as the runner does, and gives what to check of them. */
async function built(run: RunDefinition) {
  const network = run.network({ seed: 0, inputSize: 784, classes: 10 });
  const optimizer = run.optimizer(network);
  const firstWeights = network.parameters()[0]!.value;
  const weights = await firstWeights.data();
  let sum = 0;
  let sumSquares = 0;
  let maxAbs = 0;
  for (const w of weights) {
    sum += w;
    sumSquares += w * w;
    maxAbs = Math.max(maxAbs, Math.abs(w));
  }
  const mean = sum / weights.length;
  const result = {
    optimizer,
    keepProb: [...network.keepProb],
    shape: firstWeights.shape,
    std: Math.sqrt(sumSquares / weights.length - mean * mean),
    maxAbs,
  };
  network.dispose();
  optimizer.dispose();
  return result;
}

describe('the experiments, as the homework sets them', () => {
  it('1c: four SGD runs, lr 1e-5, batch 200, N(0, 1) weights, with the notebook epochs, dropout and weight decay', () => {
    expect(EXPERIMENT_1C.runs.map((r) => [r.id, r.epochs, r.batchSize, r.settings])).toEqual([
      ['baseline', 20, 200, { optimizer: 'SGD', lr: 1e-5, beta: 0, keepProb: 'none', init: 'randn' }],
      ['dropout', 40, 200, { optimizer: 'SGD', lr: 1e-5, beta: 0, keepProb: [1.0, 0.8, 0.8, 0.9], init: 'randn' }],
      ['weight-decay', 20, 200, { optimizer: 'SGD', lr: 1e-5, beta: 1e-4, keepProb: 'none', init: 'randn' }],
      ['dropout-weight-decay', 30, 200, { optimizer: 'SGD', lr: 1e-5, beta: 1e-5, keepProb: [1.0, 0.8, 0.8, 0.9], init: 'randn' }],
    ]);
  });

  it('2e: SGD with momentum, RMSProp and Adam crossed with six initializations, lr 1e-3, batch 100, 10 epochs', () => {
    const inits = ['xavier', 'he', 'heuristic', 'randn', 'xavier-uniform', 'he-uniform'];
    expect(EXPERIMENT_2E.runs.map((r) => r.id)).toEqual(inits.flatMap((init) => ['sgd', 'rmsprop', 'adam'].map((o) => `${o}:${init}`)));
    for (const run of EXPERIMENT_2E.runs) {
      expect([run.epochs, run.batchSize, run.settings.lr], run.id).toEqual([10, 100, 1e-3]);
    }
  });
});

describe('what a run builds is what its settings (shown in the report) say', () => {
  // Standard deviation of the first layer's weights (784 inputs, relu) for each initialization, and whether it is uniform.
  const expected: Record<string, { std: number; uniform: boolean }> = {
    randn: { std: 1, uniform: false },
    xavier: { std: Math.sqrt(1 / 784), uniform: false },
    he: { std: Math.sqrt(2 / 784), uniform: false },
    heuristic: { std: Math.sqrt(2 / 784), uniform: false },
    'xavier-uniform': { std: Math.sqrt(1 / 784), uniform: true },
    'he-uniform': { std: Math.sqrt(2 / 784), uniform: true },
  };

  it.each([...EXPERIMENT_1C.runs, ...EXPERIMENT_2E.runs].map((run) => [run.id, run]))('%s', async (_, run) => {
    const { optimizer, keepProb, shape, std, maxAbs } = await built(run);
    const { optimizer: name, init, keepProb: keep, ...hyperParameters } = run.settings;
    expect(optimizer.constructor.name).toBe(name);
    for (const [key, value] of Object.entries(hyperParameters)) {
      expect((optimizer as unknown as Record<string, unknown>)[key], key).toBe(value);
    }
    expect(keepProb).toEqual(Array.isArray(keep) ? keep : [1, 1, 1, 1]);
    expect(shape).toEqual([784, 512]);
    const want = expected[init as string]!;
    expect(std / want.std).toBeCloseTo(1, 1);
    // A uniform draw of that deviation stays within √3·σ; 401,408 normal draws go well past 3σ.
    if (want.uniform) expect(maxAbs).toBeLessThanOrEqual(Math.sqrt(3) * want.std * 1.001);
    else expect(maxAbs).toBeGreaterThan(3 * want.std);
    expect(tf.memory().numTensors).toBe(0);
  });
});
