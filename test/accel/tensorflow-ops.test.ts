import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fusedActivationGrad } from '../../src/accel/activations.ts';
import { fusedUpdate } from '../../src/accel/optimizers.ts';
import { hasUpdateOperations, registerTensorflowKernel, updateInPlace, useUpdateOperations } from '../../src/accel/tensorflow-ops.ts';
import { SETUP_FOLDER, TFJS_NODE_PLACES, UPDATE_OPERATIONS_FILE } from '../../src/backends/tensorflow.ts';
import { ACTIVATIONS } from '../../src/nn/activations.ts';
import { linear } from '../../src/nn/linear.ts';
import { Parameter } from '../../src/nn/parameter.ts';
import { settle, useFusedKernels } from '../../src/core/op.ts';
import { Adam } from '../../src/optim/adam.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { normals, relativeError } from '../helpers/reference64.ts';
import { afterSteps, grads, largeAdamSteps, OPTIMIZERS, SHAPES } from './optimizer-steps.ts';

/** Adam's constants for an update operation called directly: b1 0.9, b2 0.999, at a step whose corrections are 0.1 and 0.001. */
const ADAM_CONSTANTS = { b1: 0.9, rest1: 0.1, b2: 0.999, rest2: 0.001, c1: 0.1, c2: 0.001, lr: 0.01, eps: 1e-8 };

const kernelsOf = async (run: () => tf.TensorContainer) => (await tf.profile(run)).kernels.map((k) => k.name);

// CI builds tfjs-node's binding (npm run setup:tensorflow) and names tensorflow in CC6204_TEST_BACKENDS.
describe.runIf(BACKENDS_UNDER_TEST.includes('tensorflow'))('the kit\'s kernels on tensorflow', () => {
  beforeAll(() => useBackend('tensorflow'));
  afterEach(() => useFusedKernels(true));

  const kernelOf: Record<string, string> = {
    'SGD with weight decay': 'CC6204Fused_sgd',
    'SGD, plain': 'CC6204Fused_sgd',
    'SGD with momentum and weight decay': 'CC6204Fused_momentum',
    RMSProp: 'CC6204Fused_rmsprop',
    Adam: 'CC6204Fused_adam',
  };

  it("has the kit's update operations where the tfjs-node is the one setup:tensorflow built", () => {
    // CI's is; one installed by npm has none. A setup made before the operations existed is made again.
    const fromNpm = TFJS_NODE_PLACES.slice(0, 2).some(({ name, from }) => {
      try {
        return Boolean(createRequire(from).resolve(name));
      } catch {
        return false;
      }
    });
    if (!fromNpm) expect(existsSync(join(SETUP_FOLDER, UPDATE_OPERATIONS_FILE)), 'npm run setup:tensorflow builds them').toBe(true);
    expect(hasUpdateOperations()).toBe(!fromNpm);
  });

  describe.runIf(existsSync(join(SETUP_FOLDER, UPDATE_OPERATIONS_FILE)))("the kit's update operations (optimizers.c)", () => {
    for (const [name, make] of Object.entries(OPTIMIZERS)) {
      const kernel = kernelOf[name]!;
      it(`${name}: one operation a step for all the parameters, bit for bit the operation-by-operation result`, async () => {
        const fast = await afterSteps(make, true);
        const reference = await afterSteps(make, false);
        expect(fast.kernels).toEqual(new Array<string>(grads.length).fill(`${kernel}_group`));
        expect(reference.kernels.length).toBeGreaterThan(grads.length * SHAPES.length);
        fast.values.forEach((v, i) => expect(Array.from(v), `parameter ${i}`).toEqual(Array.from(reference.values[i]!)));
      });
    }

    it('parameters large enough to be split between threads, at an element no vector starts at, come out bit for bit the same', async () => {
      const [fast, reference] = [await largeAdamSteps(true), await largeAdamSteps(false)];
      expect(fast.values[1]!.some((v, i) => v !== fast.initial[1]![i])).toBe(true);
      expect(fast.values).toEqual(reference.values);
    });

    // The vectors of every width this CPU has, each in a process of its own (the addon reads the width once).
    it.each(['8', '1'])('with vectors of %s floats, every optimizer bit for bit the operation-by-operation result', (lanes) => {
      const script = `
const { selectBackend } = await import(${JSON.stringify(new URL('../../src/backends/select.ts', import.meta.url).href)});
const { afterSteps, largeAdamSteps, OPTIMIZERS } = await import(${JSON.stringify(new URL('./optimizer-steps.ts', import.meta.url).href)});
await selectBackend('tensorflow');
const differ = [];
const bits = (values) => values.map((v) => Array.from(new Uint32Array(Float32Array.from(v).buffer)).join());
for (const [name, make] of Object.entries(OPTIMIZERS)) {
  const [fast, reference] = [await afterSteps(make, true), await afterSteps(make, false)];
  if (fast.kernels.length === 0 || bits(fast.values).join() !== bits(reference.values).join()) differ.push(name);
}
const [fast, reference] = [await largeAdamSteps(true), await largeAdamSteps(false)];
if (bits(fast.values).join() !== bits(reference.values).join()) differ.push('large Adam parameters');
console.log(JSON.stringify(differ));
`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 120_000,
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: { ...process.env, CC6204_UPDATE_LANES: lanes },
      });
      expect(child.status, child.stderr.slice(-2000)).toBe(0);
      expect(JSON.parse(child.stdout.trim().split('\n').at(-1)!)).toEqual([]);
    }, 150_000);

    it('an operation given more parameters than it takes at once fails saying so', () => {
      const count = 300;
      const tensors = tf.tidy(() => Object.fromEntries(['p', 'g', 'm', 's'].flatMap((name) => Array.from({ length: count }, (_, k) => [`${name}${k}`, tf.keep(tf.ones([2]))]))));
      const before = tf.memory().numTensors;
      expect(() => tf.engine().runKernel('CC6204Fused_adam_group', tensors, ADAM_CONSTANTS)).toThrow('takes at most 256 parameters at once, got 300');
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(Object.values(tensors));
    });

    it('an operation given tensors of other sizes fails saying which, and changes nothing', async () => {
      const [p, g, m, s] = [[6, 10], [5], [6, 10], [6, 10]].map((shape) => tf.ones(shape)) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const count = tf.memory().numTensors;
      expect(() => fusedUpdate('adam', { p, g, m, s }, ADAM_CONSTANTS)).toThrow('g of parameter 0 has 5 elements, its p 60');
      expect(tf.memory().numTensors).toBe(count);
      expect(await values(p)).toEqual(new Array<number>(60).fill(1));
      tf.dispose([p, g, m, s]);
    });
  });

  describe("TensorFlow's training operations, where the kit's are not there", () => {
    beforeAll(() => useUpdateOperations(false));
    afterAll(() => useUpdateOperations(true));

    for (const [name, make] of Object.entries(OPTIMIZERS)) {
      const kernel = kernelOf[name]!;
      it(`${name}: on the variables in place or as a kernel per parameter, agreeing with the operation-by-operation result to float32 rounding`, async () => {
        const fast = await afterSteps(make, true);
        const reference = await afterSteps(make, false);
        // The first step as kernels: each parameter's variable shares its memory with the tensor it was made from,
        // which the test keeps. Then in place: no kernel.
        expect(fast.kernels).toEqual(new Array<string>(SHAPES.length).fill(kernel));
        expect(reference.kernels.length).toBeGreaterThan(grads.length * SHAPES.length);
        fast.values.forEach((v, i) => expect(relativeError(v, reference.values[i]!), `parameter ${i}`).toBeLessThan(1e-6));
      });
    }

    it('Adam updates a variable in place only where no other tensor shares its memory', async () => {
      const data = normals(44);
      const made = tf.tensor2d(data.matrix(6, 10, 1));
      const shared = new Parameter('shared', made);
      const own = new Parameter('own', tf.tensor2d(data.matrix(6, 10, 1)).clone());
      const clone = tf.clone(own.value);
      const [madeBefore, cloneBefore] = [await values(made), await values(clone)];
      const adam = new Adam([shared, own]);
      const gradient = tf.tensor2d(data.matrix(6, 10, 0.5));
      const step = async () => {
        [shared, own].forEach((p) => p.setGrad(gradient.clone()));
        return (await tf.profile(() => adam.step())).kernels.map((k) => k.name);
      };
      // Both share their memory at first (with `made` and `clone`): two kernels, and those tensors as they were.
      expect(await step()).toEqual(['CC6204Fused_adam', 'CC6204Fused_adam']);
      expect(await values(made)).toEqual(madeBefore);
      expect(await values(clone)).toEqual(cloneBefore);
      expect(await values(own.value)).not.toEqual(cloneBefore);
      // Then each variable holds its memory alone: in place, no kernel, the tensor count flat.
      const before = tf.memory().numTensors;
      const ownBefore = await values(own.value);
      expect(await step()).toEqual([]);
      expect(await values(own.value)).not.toEqual(ownBefore);
      expect(tf.memory().numTensors).toBe(before);
      adam.dispose();
      tf.dispose([made, clone, gradient]);
      [shared, own].forEach((p) => p.dispose());
    });

    it('updateInPlace declines a variable given twice, one not float32 and one given as an input too, and leaves them as they were', async () => {
      // Made in a tidy: each variable is then the one tensor on its memory.
      const v = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3])));
      const ints = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3], 'int32')));
      const g = tf.tensor1d([0.5, 0.5, 0.5]);
      let applied = 0;
      const count = () => void (applied += 1);
      expect(updateInPlace([v, v], { g }, {}, count)).toBe(false);
      expect(updateInPlace([ints], { g }, {}, count)).toBe(false);
      expect(updateInPlace([v], { g: v }, {}, count)).toBe(false);
      expect(applied).toBe(0);
      expect(await values(v)).toEqual([1, 2, 3]);
      expect(await values(ints)).toEqual([1, 2, 3]);
      // Where apply fails, the variable stays readable, with its value.
      expect(() => updateInPlace([v], { g }, {}, () => { throw new Error('apply failed'); })).toThrow('apply failed');
      expect(await values(v)).toEqual([1, 2, 3]);
      tf.dispose([v, ints, g]);
    });
  });

  for (const [kit, by] of [[true, "the kit's update operation"], [false, "TensorFlow's training operation"]] as const) it(`an update by ${by} leaves its inputs as they were`, async () => {
    useUpdateOperations(kit);
    const data = normals(41);
    const [p, g, m, s] = [1, 0.5, 0.1, 0.2].map((scale) => tf.tensor(data.matrix(1, 60, scale)[0]!.map(Math.abs), [6, 10])) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const before = await Promise.all([p, g, m, s].map(values));
    const outputs = fusedUpdate('adam', { p, g, m, s }, ADAM_CONSTANTS)!;
    expect(await Promise.all([p, g, m, s].map(values))).toEqual(before);
    // And the outputs are Adam's step: P and S moved toward g and g², p by lr/(√(S/c2) + eps)·(P/c1).
    const [pOut, mOut, sOut] = await Promise.all(outputs.map(values));
    before[0]!.forEach((p0, i) => {
      const [g0, m0, s0] = [before[1]![i]!, before[2]![i]!, before[3]![i]!];
      const m1 = 0.9 * m0 + 0.1 * g0;
      const s1 = 0.999 * s0 + 0.001 * g0 * g0;
      expect(mOut![i]).toBeCloseTo(m1, 6);
      expect(sOut![i]).toBeCloseTo(s1, 6);
      expect(pOut![i]).toBeCloseTo(p0 - (0.01 / (Math.sqrt(s1 / 0.001) + 1e-8)) * (m1 / 0.1), 6);
    });
    useUpdateOperations(true);
  });

  it('Adam over many steps keeps the tensor count flat', () => {
    const params = SHAPES.map((shape, i) => new Parameter(`p${i}`, tf.ones([...shape])));
    const adam = new Adam(params);
    const step = () => {
      params.forEach((p) => p.setGrad(tf.onesLike(p.value)));
      adam.step();
    };
    step();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 50; k++) step();
    expect(tf.memory().numTensors).toBe(before);
    adam.dispose();
    params.forEach((p) => p.dispose());
  });

  it("a kernel's call, handed out again, has each run's own inputs and attributes; the tensor count stays flat", async () => {
    // x·factor + 1: a constant made by the call at each run (freed when the kernel returns) and an attribute.
    registerTensorflowKernel('CC6204TestScaleAndShift', ({ inputs, attrs, handle, scalar, temp, result }) => {
      const scaled = temp('Mul', [handle(inputs.x as tf.TensorInfo), scalar(attrs.factor as number)]);
      return [result('AddV2', [scaled, scalar(1)])];
    });
    try {
      const before = tf.memory().numTensors;
      for (const [x, factor] of [[[1, -2], 3], [[0.5, 4, 8], -1], [[2], 0]] as const) {
        const input = tf.tensor1d([...x]);
        const [out] = tf.engine().runKernel('CC6204TestScaleAndShift', { x: input }, { factor }) as tf.Tensor[];
        expect(await values(out!)).toEqual(x.map((v) => v * factor + 1));
        tf.dispose([input, out!]);
      }
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      tf.unregisterKernel('CC6204TestScaleAndShift', 'tensorflow');
    }
  });

  it('a linear layer is one kernel (BatchMatMulV2 and BiasAdd), agreeing with tfjs\'s fused product', async () => {
    const data = normals(42);
    const h = tf.tensor2d(data.matrix(7, 13, 1));
    const w = tf.tensor2d(data.matrix(13, 5, 1));
    const b = tf.tensor1d(data.matrix(1, 5, 1)[0]!);
    let fast: tf.Tensor | undefined;
    // Compared with the formula first (src/core/op.ts), on a probe of its own.
    await settle(linear, h, w, b);
    expect(await kernelsOf(() => (fast = linear(h, w, b)))).toEqual(['CC6204Linear']);
    expect(relativeError(await values(fast!), await values(linear.reference(h, w, b)))).toBeLessThan(1e-6);
  });

  it('relu\'s gradient and its sum over the batch are one kernel (ReluGrad, BiasAddGrad), 0 where u is 0', async () => {
    const data = normals(43);
    const u = tf.tensor2d([[0, ...data.matrix(1, 8, 1)[0]!], ...data.matrix(4, 9, 1)]);
    const dh = tf.tensor2d(data.matrix(5, 9, 1));
    let grads: tf.Tensor[] = [];
    expect(await kernelsOf(() => (grads = fusedActivationGrad(ACTIVATIONS.relu, dh, u as tf.Tensor2D) ?? []))).toEqual(['CC6204ActivationGrad_relu']);
    const expected = tf.mul(dh, tf.step(u, 0));
    // Equal as numbers: ReluGrad writes +0 where dh·0 is −0 for a negative dh.
    const asNumbers = async (t: tf.Tensor) => (await values(t)).map((v) => v + 0);
    expect(await asNumbers(grads[0]!)).toEqual(await asNumbers(expected));
    expect((await asNumbers(grads[0]!))[0]).toBe(0);
    expect(relativeError(await values(grads[1]!), await values(tf.sum(expected, 0)))).toBeLessThan(1e-6);
  });

  // oneDNN's JIT products (TensorFlow's MatMul on x86) point the stack pointer into the heap while they run, so a
  // signal arriving then (the sampling profiler's, a terminal's resize, Ctrl+C) writes its frame over the heap and
  // the process aborts later in free(). The kit's products must not go through them.
  it('training goes on while signals arrive: 40 steps under the sampling profiler, at 20,000 signals a second', () => {
    const cache = fileURLToPath(new URL('../../node_modules/.cache/', import.meta.url));
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, 'cc6204-signals-'));
    try {
      const src = (file: string) => new URL(`../../src/${file}`, import.meta.url).href;
      const script = join(dir, 'signals.mts');
      writeFileSync(
        script,
        `
import { Session } from 'node:inspector/promises';
import * as tf from '@tensorflow/tfjs-core';
const { selectBackend } = await import('${src('backends/select.ts')}');
const { FFNN } = await import('${src('nn/ffnn.ts')}');
const { Adam } = await import('${src('optim/adam.ts')}');
await selectBackend('tensorflow');
const net = new FFNN(784, [512, 1024, 128], ['relu', 'celu', 'swish', 'softmax'], 10, { seed: 3 });
const adam = new Adam(net.parameters());
const x = tf.randomUniform([100, 784], 0, 1, 'float32', 1);
const y = tf.cast(tf.oneHot(tf.randomUniform([100], 0, 10, 'int32', 2), 10), 'float32');
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 50 });
await session.post('Profiler.start');
for (let i = 0; i < 40; i++) { const p = net.forward(x); net.backward(x, y, p); p.dispose(); adam.step(); }
await session.post('Profiler.stop');
console.log(Array.from(net.parameters().at(-1).value.dataSync()).every(Number.isFinite));
`,
      );
      const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 120_000, cwd: fileURLToPath(new URL('../..', import.meta.url)) });
      expect(child.signal, child.stderr.slice(-2000)).toBeNull();
      expect(child.status, child.stderr.slice(-2000)).toBe(0);
      expect(child.stdout.trim()).toBe('true');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
