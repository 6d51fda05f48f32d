import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { forgetGraphs, graphRuns, onGraphSetAside } from '../../src/accel/graphs.ts';
import { ATTR, savedModel } from '../../src/accel/saved-model.ts';
import type { Parameter } from '../../src/nn/parameter.ts';
import { compiled, useFusedKernels, verdictsSettled } from '../../src/core/op.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';
import { relativeError } from '../helpers/reference64.ts';
import { oneByOne, trainer } from '../helpers/training-steps.ts';

/** What the tests use of tfjs-node's binding. */
interface Binding {
  createTensor(shape: number[], dtype: number, values: Float32Array | Int32Array): number;
  deleteTensor(id: number): void;
  tensorDataSync(id: number): Float32Array;
  loadSavedModel(dir: string, tags: string): number;
  runSavedModel(model: number, inputs: number[], inputNames: string, outputNames: string): { id: number; shape: number[] }[];
  deleteSavedModel(model: number): void;
  executeOp(name: string, attrs: unknown[], inputs: number[], outputs: number): { id: number }[];
  getNumOfTensors(): number;
  TF_FLOAT: number;
  TF_INT32: number;
}
const bindingOf = (): Binding => (tf.backend() as unknown as { binding: Binding }).binding;

const adam = (params: Parameter[]) => new Adam(params, { lr: 0.01 });

/**
 * Trains two like networks on batches of `rows`, one step as a graph, the other operation by operation (`between`
 * after the first step), and holds their parameters to float32 rounding of each other.
 */
async function agreesOneByOne(make: (params: Parameter[]) => Optimizer, rows: number[], between?: () => Promise<void>): Promise<void> {
  const graph = trainer(make);
  const plain = trainer(make);
  try {
    for (const [k, n] of rows.entries()) {
      graph.step(n);
      oneByOne(() => plain.step(n));
      if (k === 0) await between?.();
    }
    const expected = plain.params();
    graph.params().forEach((v, i) => expect(relativeError(v, expected[i]!), `parameter ${i}`).toBeLessThan(1e-5));
  } finally {
    graph.dispose();
    plain.dispose();
  }
}

describe.runIf(BACKENDS_UNDER_TEST.includes('tensorflow'))('a training step as one TensorFlow graph', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
  });
  afterEach(() => {
    useFusedKernels(true);
    forgetGraphs();
  });

  it('a graph written by hand loads and computes: feeds with shapes, int, bool, float and list attributes', () => {
    const b = bindingOf();
    const float = { name: 'T', type: ATTR.TYPE, value: b.TF_FLOAT };
    const nodes = [
      { name: 'x', op: 'Placeholder', inputs: [], attrs: [{ name: 'dtype', type: ATTR.TYPE, value: b.TF_FLOAT }, { name: 'shape', type: ATTR.SHAPE, value: [1, 3] }] },
      { name: 'axis', op: 'Placeholder', inputs: [], attrs: [{ name: 'dtype', type: ATTR.TYPE, value: b.TF_INT32 }, { name: 'shape', type: ATTR.SHAPE, value: [-1] }] },
      { name: 'leaky', op: 'LeakyRelu', inputs: ['x:0'], attrs: [float, { name: 'alpha', type: ATTR.FLOAT, value: 0.25 }] },
      { name: 'row', op: 'Squeeze', inputs: ['leaky'], attrs: [float, { name: 'squeeze_dims', type: ATTR.INT, value: [0] }] },
      { name: 'sum', op: 'Sum', inputs: ['row:0', 'axis:0'], attrs: [float, { name: 'Tidx', type: ATTR.TYPE, value: b.TF_INT32 }, { name: 'keep_dims', type: ATTR.BOOL, value: true }] },
    ];
    const folder = mkdtempSync(join(tmpdir(), 'graph-test-'));
    writeFileSync(join(folder, 'saved_model.pb'), savedModel(nodes, 'serve'));
    const model = b.loadSavedModel(folder, 'serve');
    rmSync(folder, { recursive: true });
    const x = b.createTensor([1, 3], b.TF_FLOAT, Float32Array.of(-4, 2, 3));
    const axis = b.createTensor([1], b.TF_INT32, Int32Array.of(0));
    const [row, sum] = b.runSavedModel(model, [x, axis], 'x:0,axis:0', 'row:0,sum:0') as [{ id: number; shape: number[] }, { id: number; shape: number[] }];
    expect(row.shape).toEqual([3]);
    expect(Array.from(b.tensorDataSync(row.id))).toEqual([-1, 2, 3]);
    expect(sum.shape).toEqual([1]);
    expect(Array.from(b.tensorDataSync(sum.id))).toEqual([4]);
    [x, axis, row.id, sum.id].forEach((id) => b.deleteTensor(id));
    b.deleteSavedModel(model);
  });

  it('computes what the operations one by one compute, step after step, and runs as a graph', async () => {
    const before = graphRuns.get('trainingStep') ?? 0;
    await agreesOneByOne(adam, [12, 12, 12, 12, 12, 12]);
    expect((graphRuns.get('trainingStep') ?? 0) - before).toBeGreaterThanOrEqual(6);
  });

  it('computes the same numbers whether the sequence was seen before or not: a resumed run takes the same steps', () => {
    const first = trainer(adam);
    for (let i = 0; i < 3; i++) first.step();
    const firstParams = first.params();
    // The same run again: every step now replays what the first run recorded.
    const again = trainer(adam);
    for (let i = 0; i < 3; i++) again.step();
    expect(again.params()).toEqual(firstParams);
    first.dispose();
    again.dispose();
  });

  it('runs an edited formula as edited: an optimizer whose update does nothing leaves the parameters alone', async () => {
    class Still extends Adam {
      override update(): void {}
    }
    const run = trainer((params) => new Still(params));
    const before = run.params();
    for (let i = 0; i < 3; i++) run.step();
    expect(run.params()).toEqual(before);
    run.dispose();
    // And a formula of one's own: plain SGD written out again, as the operations one by one compute it.
    class Own extends SGD {
      override update(p: Parameter, grad: tf.Tensor): void {
        p.value.assign(tf.sub(p.value, tf.mul(grad, 0.5)));
      }
    }
    await agreesOneByOne((params) => new Own(params, { lr: 0.1 }), [12, 12, 12]);
  });

  it('follows a sequence that changes: batches of other sizes, in turn', async () => {
    await agreesOneByOne(adam, [12, 7, 12, 7, 5, 12]);
  });

  it('lets the JavaScript read a value inside the stretch, and goes on', () => {
    const x = tf.tensor2d([[1, -2], [3, 4]]);
    let read: number[] = [];
    const out = compiled('reading', () => {
      const y = tf.relu(tf.mul(x, 2));
      read = Array.from(y.dataSync());
      return tf.add(y, read[0]!);
    });
    expect(read).toEqual([2, 0, 6, 8]);
    expect(Array.from(out.dataSync())).toEqual([4, 2, 8, 10]);
    tf.dispose([x, out]);
  });

  it("takes the kit's fused kernels as they are: the graph ends before an operation with state of its own", async () => {
    useFusedKernels(true);
    await agreesOneByOne(adam, [12, 12, 12, 12, 12], verdictsSettled);
  });

  it('where TensorFlow cannot build the graph, runs the operations one by one and says so once', () => {
    const lines: string[] = [];
    const before = onGraphSetAside((line) => lines.push(line));
    const backend = tf.backend() as unknown as { executeSingleOutput(op: string, attrs: unknown[], inputs: tf.Tensor[]): tf.Tensor };
    const x = tf.tensor1d([1, 2, 3]);
    try {
      for (let i = 0; i < 3; i++) {
        // An Identity with its type left for eager execution to infer: a graph's node must state it.
        const out = compiled('unbuildable', () => tf.mul(backend.executeSingleOutput('Identity', [], [x]), 2));
        expect(Array.from(out.dataSync())).toEqual([2, 4, 6]);
        out.dispose();
      }
    } finally {
      onGraphSetAside(before);
      x.dispose();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^unbuildable cannot run as a graph \(.+\): its operations run one by one\.$/);
  });

  it('keeps memory flat: tfjs tensors and TensorFlow handles the same before and after many steps', () => {
    const run = trainer(adam);
    run.step();
    run.step();
    const tensors = tf.memory().numTensors;
    const handles = bindingOf().getNumOfTensors();
    for (let i = 0; i < 30; i++) run.step(i % 3 === 0 ? 7 : 12);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(bindingOf().getNumOfTensors()).toBe(handles);
    run.dispose();
  });
});
