import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFNN } from '../../src/nn/ffnn.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { loadCheckpoint, removeCheckpoint, saveCheckpoint } from '../../src/training/checkpoint.ts';
import { type EpochMetrics, train } from '../../src/training/train.ts';
import { makeTempDir } from '../data/helpers.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';
import { toyData } from '../helpers/toy-data.ts';

/** Dropout on the input and both hidden layers, and swish's beta trained: every kind of state a run carries. */
function network(seed: number) {
  return new FFNN(8, [16, 8], ['relu', 'swish', 'softmax'], 2, { keepProb: [0.9, 0.8, 0.9], activationParams: [null, 1, null], seed });
}

const OPTIMIZERS: [string, (net: FFNN) => Optimizer][] = [
  ['SGD with momentum and weight decay', (net) => new SGD(net.parameters(), { lr: 0.05, momentum: 0.9, beta: 1e-3 })],
  ['RMSProp', (net) => new RMSProp(net.parameters(), { lr: 0.01 })],
  ['Adam', (net) => new Adam(net.parameters(), { lr: 0.01 })],
];

const data = toyData(300);
const options = { epochs: 4, batchSize: 32, seed: 3, log: () => {} };
const withoutSeconds = (history: EpochMetrics[]) => history.map(({ seconds, ...rest }) => rest);

async function values(net: FFNN): Promise<number[][]> {
  return Promise.all(net.parameters().map(async (p) => Array.from(await p.value.data())));
}

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());

describe.each(BACKENDS_UNDER_TEST)('checkpoints on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each(OPTIMIZERS)('%s: stopped after epoch 2 and taken up by a fresh network, a run ends as if never stopped', async (_, makeOptimizer) => {
    const straightNet = network(1);
    const straightOptimizer = makeOptimizer(straightNet);
    const straight = await train(straightNet, data, straightOptimizer, options);

    const path = join(dir, `${backend}-${makeOptimizer.name}-${Math.random()}.ckpt`);
    const firstNet = network(1);
    const firstOptimizer = makeOptimizer(firstNet);
    const first = await train(firstNet, data, firstOptimizer, {
      ...options,
      onEpoch: async (metrics) => {
        if (metrics.epoch === 2) await saveCheckpoint(path, 'settings', 2, { network: firstNet, optimizer: firstOptimizer });
      },
    });
    // A network drawn from another seed, so that nothing but the checkpoint can make it the first one.
    const resumedNet = network(99);
    const resumedOptimizer = makeOptimizer(resumedNet);
    const before = tf.memory().numTensors;
    expect(loadCheckpoint(path, 'settings', 2, { network: resumedNet, optimizer: resumedOptimizer })).toEqual({ restored: true });
    expect(tf.memory().numTensors).toBe(before);
    expect(resumedOptimizer.steps).toBe(2 * Math.ceil(data.count / options.batchSize));
    const rest = await train(resumedNet, data, resumedOptimizer, { ...options, startEpoch: 2 });

    // NaN equals NaN in toEqual: a run gone NaN would resume to the same NaN, so the numbers must be finite too.
    expect(straight.every((m) => Number.isFinite(m.loss) && Number.isFinite(m.acc))).toBe(true);
    expect(withoutSeconds(first)).toEqual(withoutSeconds(straight));
    expect(rest.map((m) => m.epoch)).toEqual([3, 4]);
    expect(withoutSeconds(rest)).toEqual(withoutSeconds(straight.slice(2)));
    expect(await values(resumedNet)).toEqual(await values(straightNet));
    expect(resumedOptimizer.steps).toBe(straightOptimizer.steps);
    for (const t of resumedOptimizer.stateTensors().keys()) {
      expect(Array.from(await (resumedOptimizer.stateTensors()[t] as tf.Variable).data())).toEqual(
        Array.from(await (straightOptimizer.stateTensors()[t] as tf.Variable).data()),
      );
    }
    for (const disposable of [straightNet, straightOptimizer, firstNet, firstOptimizer, resumedNet, resumedOptimizer]) disposable.dispose();
  });

  it('saving and loading leave the tensor count as it was', async () => {
    const net = network(1);
    const adam = new Adam(net.parameters());
    const path = join(dir, `${backend}-count.ckpt`);
    const before = tf.memory().numTensors;
    await saveCheckpoint(path, 'k', 1, { network: net, optimizer: adam });
    expect(loadCheckpoint(path, 'k', 1, { network: net, optimizer: adam })).toEqual({ restored: true });
    expect(tf.memory().numTensors).toBe(before);
    adam.dispose();
    net.dispose();
  });
});

describe('the checkpoint file', () => {
  beforeAll(() => useBackend('cpu'));

  it('is what its format says: "CC6204CK", header length, JSON header, zeros to a multiple of 4, float32 LE values', async () => {
    const net = network(4);
    const adam = new Adam(net.parameters());
    const path = join(dir, 'format.ckpt');
    await saveCheckpoint(path, 'the key', 7, { network: net, optimizer: adam });
    const file = readFileSync(path);
    expect(file.toString('latin1', 0, 8)).toBe('CC6204CK');
    const headerLength = file.readUInt32LE(8);
    const header = JSON.parse(file.toString('utf8', 12, 12 + headerLength));
    const tensors = [...net.parameters().map((p) => p.value), ...adam.stateTensors()];
    expect(header).toEqual({ version: 1, key: 'the key', epoch: 7, optimizerSteps: 0, randomState: net.randomState(), shapes: tensors.map((t) => t.shape) });
    let offset = Math.ceil((12 + headerLength) / 4) * 4;
    expect([...file.subarray(12 + headerLength, offset)].every((byte) => byte === 0)).toBe(true);
    for (const t of tensors) {
      const expected = Array.from(await t.data());
      const read = expected.map((_, i) => file.readFloatLE(offset + 4 * i));
      expect(read).toEqual(expected);
      offset += 4 * expected.length;
    }
    expect(offset).toBe(file.length);
    adam.dispose();
    net.dispose();
  });
});

/** A file with the checkpoint's magic and the given header, and no tensors. */
function writeHeader(path: string, fields: object): void {
  const header = Buffer.from(JSON.stringify(fields));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  writeFileSync(path, Buffer.concat([Buffer.from('CC6204CK'), length, header]));
}

describe('a checkpoint that cannot be used is reported, and changes nothing', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    ['absent', (path: string) => removeCheckpoint(path), 'settings', 'no checkpoint'],
    ['saved with other settings', () => {}, 'other settings', 'it was saved with other settings'],
    ['not a checkpoint', (path: string) => writeFileSync(path, 'epoch 2\n'), 'settings', 'not a checkpoint file'],
    ['cut short', (path: string) => writeFileSync(path, readFileSync(path).subarray(0, -100)), 'settings', 'bytes, not'],
    ['saved after another epoch', () => {}, 'settings', 'it was saved after epoch 2, not 3', 3],
    ['with a header of the wrong kind', (path: string) => {
      writeHeader(path, { version: 1, key: 'settings', epoch: 2, optimizerSteps: -5, randomState: 1, shapes: [] });
    }, 'settings', 'its header cannot be read'],
    ['of another version of the format', (path: string) => {
      writeHeader(path, { version: 2, key: 'settings', epoch: 2, optimizerSteps: 0, randomState: 1, shapes: [] });
    }, 'settings', "version 2 is not this kit's"],
  ])('%s', async (_, spoil, key, reason, epoch = 2) => {
    const path = join(dir, `spoiled-${Math.random()}.ckpt`);
    const saved = network(1);
    const adam = new Adam(saved.parameters());
    await saveCheckpoint(path, 'settings', 2, { network: saved, optimizer: adam });
    spoil(path);
    const other = network(2);
    const otherAdam = new Adam(other.parameters());
    const valuesBefore = await values(other);
    const result = loadCheckpoint(path, key, epoch, { network: other, optimizer: otherAdam });
    expect('unusable' in result && result.unusable).toContain(reason);
    expect(await values(other)).toEqual(valuesBefore);
    expect(otherAdam.steps).toBe(0);
    for (const disposable of [saved, adam, other, otherAdam]) disposable.dispose();
  });

  it('for another network shape', async () => {
    const path = join(dir, `shape-${Math.random()}.ckpt`);
    const saved = network(1);
    const adam = new Adam(saved.parameters());
    await saveCheckpoint(path, 'settings', 2, { network: saved, optimizer: adam });
    const wider = new FFNN(8, [17, 8], ['relu', 'swish', 'softmax'], 2, { activationParams: [null, 1, null], seed: 1 });
    const widerAdam = new Adam(wider.parameters());
    expect(loadCheckpoint(path, 'settings', 2, { network: wider, optimizer: widerAdam })).toEqual({ unusable: 'its tensors do not fit this network and optimizer' });
    for (const disposable of [saved, adam, wider, widerAdam]) disposable.dispose();
  });
});
