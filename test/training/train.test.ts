import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchIndices, gatherBatch } from '../../src/data/batches.ts';
import { FFNN } from '../../src/nn/ffnn.ts';
import { Adam } from '../../src/optim/adam.ts';
import { Optimizer } from '../../src/optim/optimizer.ts';
import { type EpochMetrics, type EvaluationMetrics, evaluate, formatEpoch, formatTest, heldOutDue, train } from '../../src/training/train.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';
import { toyData } from '../helpers/toy-data.ts';

function network(seed: number) {
  return new FFNN(8, [16, 8], ['relu', 'swish', 'softmax'], 2, { keepProb: [1, 0.9, 1], seed });
}

/** An optimizer that leaves the parameters as they are, so that every batch of an epoch sees the same network. */
class Frozen extends Optimizer {
  readonly state = {};
  update(): void {}
}

/** Per sample, in float64: cross-entropy (probabilities floored at 1e-8, as crossEntropy does) and whether argmax is right. */
async function perSample(net: FFNN, data: ReturnType<typeof toyData>): Promise<{ losses: number[]; right: boolean[] }> {
  const x = tf.tensor2d(Float32Array.from(data.pixels, (v) => v / 255), [data.count, data.features]);
  const probs = net.forward(x, { predict: true });
  const p = await probs.data();
  tf.dispose([x, probs]);
  const losses: number[] = [];
  const right: boolean[] = [];
  for (let i = 0; i < data.count; i++) {
    const row = Array.from(p.subarray(i * data.classes, (i + 1) * data.classes));
    const label = data.labels[i]!;
    losses.push(-Math.log(Math.max(row[label]!, 1e-8)));
    right.push(row.indexOf(Math.max(...row)) === label);
  }
  return { losses, right };
}

describe.each(BACKENDS_UNDER_TEST)('training on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const data = toyData(250);

  it("reports an epoch's loss as the mean of its batch losses and its accuracy over every sample, as computed in float64", async () => {
    // No dropout and no update: every batch meets the same network, whose outputs the reference reads once.
    const net = new FFNN(8, [16, 8], ['relu', 'swish', 'softmax'], 2, { seed: 4 });
    const { losses, right } = await perSample(net, data);
    // 250 = 31·8 + 2: the short last batch counts as one batch among 32, and 32 batches take train() past its
    // pipelined reads of the running loss (one every 16 batches) twice.
    const batchSize = 8;
    const batchMeans = batchIndices(data.count, batchSize, 9, 0).map((batch) => [...batch].reduce((sum, i) => sum + losses[i]!, 0) / batch.length);
    const [epoch] = await train(net, data, new Frozen(net.parameters()), { epochs: 1, batchSize, seed: 9, log: () => {} });
    expect(epoch!.loss).toBeCloseTo(batchMeans.reduce((a, b) => a + b) / batchMeans.length, 5);
    expect(epoch!.acc).toBeCloseTo(right.filter(Boolean).length / data.count, 10);
    // evaluate(): the mean over samples, whatever the batch size.
    const test = await evaluate(net, data, { batchSize: 64 });
    expect(test.loss).toBeCloseTo(losses.reduce((a, b) => a + b) / data.count, 5);
    expect(test.acc).toBeCloseTo(right.filter(Boolean).length / data.count, 10);
    net.dispose();
  });

  it('the same seed gives the same numbers; it learns; epochs are reported as they end', async () => {
    const histories: { history: EpochMetrics[]; test: EvaluationMetrics }[] = [];
    for (let i = 0; i < 2; i++) {
      const net = network(3);
      const adam = new Adam(net.parameters(), { lr: 0.01 });
      const seen: number[] = [];
      const lines: string[] = [];
      const history = await train(net, data, adam, { epochs: 4, batchSize: 32, seed: 5, log: (l) => lines.push(l), onEpoch: (m) => void seen.push(m.epoch) });
      expect(seen).toEqual([1, 2, 3, 4]);
      expect(lines).toEqual(history.map(formatEpoch));
      const test = await evaluate(net, data, { batchSize: 64 });
      adam.dispose();
      net.dispose();
      histories.push({ history, test });
    }
    const strip = (h: typeof histories[number]) => ({ ...h, history: h.history.map(({ seconds, ...rest }) => rest), test: { ...h.test, seconds: 0 } });
    expect(strip(histories[0]!)).toEqual(strip(histories[1]!));
    const { history, test } = histories[0]!;
    expect(history.at(-1)!.loss).toBeLessThan(history[0]!.loss);
    expect(test.acc).toBeGreaterThan(0.9);
  });

  it('startEpoch: trains the epochs after it only, and refuses one outside 0..epochs', async () => {
    const net = network(3);
    const adam = new Adam(net.parameters(), { lr: 0.01 });
    const options = { epochs: 3, batchSize: 32, seed: 5, log: () => {} };
    expect(await train(net, data, adam, { ...options, startEpoch: 3 })).toEqual([]);
    expect(adam.steps).toBe(0);
    expect((await train(net, data, adam, { ...options, startEpoch: 2 })).map((m) => m.epoch)).toEqual([3]);
    expect(adam.steps).toBe(Math.ceil(data.count / 32));
    await expect(train(net, data, adam, { ...options, startEpoch: 4 })).rejects.toThrow('startEpoch must be a whole number from 0 to epochs (3), got 4.');
    await expect(train(net, data, adam, { ...options, startEpoch: -1 })).rejects.toThrow('got -1');
    adam.dispose();
    net.dispose();
  });

  it("gives Node.js's event loop a turn while it trains and evaluates, so that timers and signal handlers run on time", async () => {
    const net = network(3);
    const adam = new Adam(net.parameters(), { lr: 0.01 });
    let turns = 0;
    const count = () => {
      turns += 1;
      timer = setImmediate(count);
    };
    let timer = setImmediate(count);
    const turnsAtEpochEnd: number[] = [];
    await train(net, data, adam, { epochs: 2, batchSize: 32, seed: 5, log: () => {}, onEpoch: () => void turnsAtEpochEnd.push(turns) });
    const before = turns;
    await evaluate(net, data, { batchSize: 25 });
    clearImmediate(timer);
    // One turn at least for each of the 8 batches of an epoch, and for each of evaluate's 10.
    expect(turnsAtEpochEnd[0]).toBeGreaterThanOrEqual(Math.ceil(data.count / 32));
    expect(turnsAtEpochEnd[1]! - turnsAtEpochEnd[0]!).toBeGreaterThanOrEqual(Math.ceil(data.count / 32));
    expect(turns - before).toBeGreaterThanOrEqual(data.count / 25);
    adam.dispose();
    net.dispose();
  });

  it('evaluate counts right answers and averages the loss per sample, short last batch included', async () => {
    const net = network(1);
    const all = gatherBatch(data, Uint32Array.from({ length: data.count }, (_, i) => i));
    const probs = net.forward(tf.tensor2d(all.x, [data.count, 8]), { predict: true });
    const predicted = await tf.argMax(probs, 1).data();
    const q = (await probs.array());
    const right = Array.from(predicted).filter((p, i) => p === data.labels[i]).length;
    const loss = q.reduce((s, row, i) => s - Math.log(Math.max(row[data.labels[i]!]!, 1e-8)), 0) / data.count;
    const metrics = await evaluate(net, data, { batchSize: 64 });
    expect(metrics.acc).toBe(right / data.count);
    expect(metrics.loss).toBeCloseTo(loss, 5);
    expect(formatTest(metrics)).toMatch(/^Test Results: Acc: \d+\.\d\d% \| loss: \d\.\d{3}$/);
    net.dispose();
  });

  it('measures the held-out set after the epochs it is due, as evaluate() measures the same weights, and says so in the line', async () => {
    const net = network(6);
    const adam = new Adam(net.parameters(), { lr: 0.01 });
    const heldOutData = toyData(130);
    const lines: string[] = [];
    const separately: (EvaluationMetrics | undefined)[] = [];
    const history = await train(net, data, adam, {
      epochs: 5,
      batchSize: 32,
      seed: 5,
      log: (l) => lines.push(l),
      // Batches of 40: three and a short one, as the pass takes them.
      heldOut: { set: 'test', data: heldOutData, every: 2, batchSize: 40 },
      // The weights as the epoch left them, measured on their own.
      onEpoch: async (m) => void separately.push(m.heldOut && (await evaluate(net, heldOutData, { batchSize: 40 }))),
    });
    expect(history.map((m) => m.heldOut !== undefined)).toEqual([false, true, false, true, true]);
    const untimed = (m: EvaluationMetrics | undefined) => m && { loss: m.loss, acc: m.acc };
    expect(history.map((m) => untimed(m.heldOut))).toEqual(separately.map(untimed));
    expect(history[1]!.heldOut!.set).toBe('test');
    expect(history[4]!.heldOut!.acc).toBeGreaterThan(0.9);
    expect(lines[0]).toMatch(/^Epoch: 1 \| Acc: \d+\.\d\d% \| loss: \d\.\d{3}$/);
    expect(lines[1]).toMatch(/^Epoch: 2 \| Acc: \d+\.\d\d% \| loss: \d\.\d{3} \| Test acc: \d+\.\d\d% \| loss: \d\.\d{3}$/);
    const { acc, loss } = history[1]!.heldOut!;
    expect(lines[1]!.endsWith(`| Test acc: ${(acc * 100).toFixed(2)}% | loss: ${loss.toFixed(3)}`)).toBe(true);
    await expect(train(net, data, adam, { epochs: 1, batchSize: 32, seed: 5, heldOut: { set: 'test', data, every: 0 } })).rejects.toThrow(
      'heldOut.every must be a positive integer, got 0.',
    );
    adam.dispose();
    net.dispose();
  });

  it('keeps the tensor count flat across epochs', async () => {
    const net = network(2);
    const adam = new Adam(net.parameters());
    await train(net, data, adam, { epochs: 1, batchSize: 50, seed: 1, log: () => {} });
    const before = tf.memory().numTensors;
    // Batches of 10: 25 an epoch, past the pipelined read of the running loss every 16 batches; the held-out set
    // after each epoch, in batches of 30 and a short one.
    await train(net, data, adam, { epochs: 3, batchSize: 10, seed: 2, log: () => {}, heldOut: { set: 'validation', data: toyData(100), every: 1, batchSize: 30 } });
    await evaluate(net, data);
    expect(tf.memory().numTensors).toBe(before);
    adam.dispose();
    net.dispose();
  });
});

describe('the epoch line and when the held-out set is due', () => {
  it('names the held-out set: test or validation', () => {
    const epoch = { epoch: 3, loss: 0.4412, acc: 0.841, seconds: 1 };
    expect(formatEpoch(epoch)).toBe('Epoch: 3 | Acc: 84.10% | loss: 0.441');
    expect(formatEpoch({ ...epoch, heldOut: { set: 'test', loss: 0.4721, acc: 0.832, seconds: 1 } })).toBe(
      'Epoch: 3 | Acc: 84.10% | loss: 0.441 | Test acc: 83.20% | loss: 0.472',
    );
    expect(formatEpoch({ ...epoch, heldOut: { set: 'validation', loss: 0.5, acc: 0.8, seconds: 1 } })).toBe(
      'Epoch: 3 | Acc: 84.10% | loss: 0.441 | Validation acc: 80.00% | loss: 0.500',
    );
  });

  it('is due every `every` epochs and after the last', () => {
    const due = (epochs: number, every: number) => Array.from({ length: epochs }, (_, e) => e + 1).filter((e) => heldOutDue(e, epochs, every));
    expect(due(5, 1)).toEqual([1, 2, 3, 4, 5]);
    expect(due(5, 2)).toEqual([2, 4, 5]);
    expect(due(3, 10)).toEqual([3]);
  });
});
