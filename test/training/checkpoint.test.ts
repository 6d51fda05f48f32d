import { spawnSync } from 'node:child_process';
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
import { encodeSafetensors } from '../../src/training/safetensors.ts';
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

    const path = join(dir, `${backend}-${makeOptimizer.name}-${Math.random()}.safetensors`);
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
    const path = join(dir, `${backend}-count.safetensors`);
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

  it('is safetensors: header length, JSON header padded to 8 bytes with the state in __metadata__, float32 LE values', async () => {
    const net = network(4);
    const adam = new Adam(net.parameters());
    const path = join(dir, 'format.safetensors');
    await saveCheckpoint(path, 'the key', 7, { network: net, optimizer: adam });
    const file = readFileSync(path);
    const headerLength = Number(file.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(file.toString('utf8', 8, 8 + headerLength));
    const { sha256, ...metadata } = header.__metadata__;
    expect(metadata).toEqual({ format: 'cc6204-kit checkpoint 2', key: 'the key', epoch: '7', optimizerSteps: '0', randomState: String(net.randomState()) });
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    const names = [
      ...net.parameters().map((p) => `network/${p.name}`),
      ...['P', 'S'].flatMap((state) => net.parameters().map((_, i) => `optimizer/${state}/${i}`)),
    ];
    expect(Object.keys(header as object).slice(1)).toEqual(names);
    const tensors = [...net.parameters().map((p) => p.value), ...adam.stateTensors()];
    let offset = 0;
    for (const [i, t] of tensors.entries()) {
      const entry = header[names[i]!];
      expect(entry).toEqual({ dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * t.size] });
      const expected = Array.from(await t.data());
      expect(expected.map((_, j) => file.readFloatLE(8 + headerLength + offset + 4 * j))).toEqual(expected);
      offset += 4 * t.size;
    }
    expect(8 + headerLength + offset).toBe(file.length);
    adam.dispose();
    net.dispose();
  });

  // CI installs Python's safetensors where it can; elsewhere this says so and is skipped.
  const python = spawnSync('python3', ['-c', 'import safetensors.numpy'], { encoding: 'utf8' });
  it.skipIf(python.status !== 0)("loads in Python's safetensors, values and metadata as the kit wrote them", async () => {
    const net = network(5);
    const sgd = new SGD(net.parameters(), { momentum: 0.9 });
    const path = join(dir, 'python.safetensors');
    await saveCheckpoint(path, 'k', 3, { network: net, optimizer: sgd });
    const script = [
      'import json, sys',
      'from safetensors import safe_open',
      'from safetensors.numpy import load_file',
      'tensors = load_file(sys.argv[1])',
      "with safe_open(sys.argv[1], framework='numpy') as f: metadata = f.metadata()",
      "print(json.dumps({'metadata': metadata, 'tensors': {k: v.astype(float).ravel().tolist() for k, v in tensors.items()}, 'shapes': {k: list(v.shape) for k, v in tensors.items()}}))",
    ].join('\n');
    const child = spawnSync('python3', ['-c', script, path], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const loaded = JSON.parse(child.stdout) as { metadata: Record<string, string>; tensors: Record<string, number[]>; shapes: Record<string, number[]> };
    expect(loaded.metadata).toMatchObject({ key: 'k', epoch: '3' });
    for (const p of net.parameters()) {
      expect(loaded.shapes[`network/${p.name}`]).toEqual(p.shape);
      expect(loaded.tensors[`network/${p.name}`]).toEqual(Array.from(await p.value.data()));
    }
    expect(Object.keys(loaded.tensors).filter((name) => name.startsWith('optimizer/V/'))).toHaveLength(net.parameters().length);
    sgd.dispose();
    net.dispose();
  });
  if (python.status !== 0) console.log("note: Python's safetensors is not installed here, so the test that loads a checkpoint in it is skipped");
});

/** Overwrites `count` bytes of the file at `path` from `at` (from the end when negative), keeping its size. */
function overwrite(path: string, at: number, count: number): void {
  const file = readFileSync(path);
  const start = at < 0 ? file.length + at : at;
  for (let i = start; i < start + count; i++) file[i] = (file[i]! + 1) & 0xff;
  writeFileSync(path, file);
}

/** A file of the kit's format with other metadata and no tensors, its checksum right. */
function writeMetadata(path: string, metadata: Record<string, string>): void {
  writeFileSync(path, encodeSafetensors({ metadata, tensors: [] }));
}

describe('a checkpoint that cannot be used is reported, and changes nothing', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    ['absent', (path: string) => removeCheckpoint(path), 'settings', 'no checkpoint'],
    ['saved with other settings', () => {}, 'other settings', 'it was saved with other settings'],
    ['not a checkpoint', (path: string) => writeFileSync(path, 'epoch 2\n'), 'settings', 'its header claims'],
    ['cut short', (path: string) => writeFileSync(path, readFileSync(path).subarray(0, -100)), 'settings', 'the file is damaged'],
    ['damaged in place: 12 bytes of its values overwritten', (path: string) => overwrite(path, -40, 12), 'settings', 'the file is damaged'],
    ['damaged in place: its epoch in the header', (path: string) => {
      const file = readFileSync(path);
      writeFileSync(path, Buffer.from(file.toString('latin1').replace('"epoch":"2"', '"epoch":"1"'), 'latin1'));
    }, 'settings', 'the file is damaged', 1],
    ['saved after another epoch', () => {}, 'settings', 'it was saved after epoch 2, not 3', 3],
    ['with metadata of the wrong kind', (path: string) => {
      writeMetadata(path, { format: 'cc6204-kit checkpoint 2', key: 'settings', epoch: '2', optimizerSteps: '-5', randomState: '1' });
    }, 'settings', 'its metadata cannot be read'],
    ['of another format', (path: string) => {
      writeMetadata(path, { format: 'cc6204-kit checkpoint 1', key: 'settings', epoch: '2', optimizerSteps: '0', randomState: '1' });
    }, 'settings', "it is not a checkpoint of this kit's (cc6204-kit checkpoint 1)"],
  ])('%s', async (_, spoil, key, reason, epoch = 2) => {
    const path = join(dir, `spoiled-${Math.random()}.safetensors`);
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
    const path = join(dir, `shape-${Math.random()}.safetensors`);
    const saved = network(1);
    const adam = new Adam(saved.parameters());
    await saveCheckpoint(path, 'settings', 2, { network: saved, optimizer: adam });
    const wider = new FFNN(8, [17, 8], ['relu', 'swish', 'softmax'], 2, { activationParams: [null, 1, null], seed: 1 });
    const widerAdam = new Adam(wider.parameters());
    expect(loadCheckpoint(path, 'settings', 2, { network: wider, optimizer: widerAdam })).toEqual({ unusable: 'its tensors do not fit this network and optimizer' });
    for (const disposable of [saved, adam, wider, widerAdam]) disposable.dispose();
  });
});
