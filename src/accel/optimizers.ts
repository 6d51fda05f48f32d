import * as tf from '@tensorflow/tfjs-core';
import { Adam } from '../optim/adam.ts';
import { type Optimizer, type ParameterToUpdate, updateParameters } from '../optim/optimizer.ts';
import { RMSProp } from '../optim/rmsprop.ts';
import { SGD } from '../optim/sgd.ts';
import { Parameter } from '../nn/parameter.ts';
import { type Check, setFaster } from '../core/op.ts';
import { fusable, hasFused, runFused, runKernelOutputs } from './kernels.ts';
import { OPTIMIZER_KERNELS } from './optimizers-wasm.ts';
import { positiveProbe, signedProbe } from './probes.ts';
import { hasUpdateOperations, registerTensorflowKernel, type TensorflowCall, updateInPlace } from './tensorflow-ops.ts';
import { registerWasmKernel } from './wasm-modules.ts';
import { registerWgslKernel, storageBuffersPerShader, type WgslKernel } from './wgsl.ts';

/**
 * The optimizer updates of src/optim in one kernel per parameter, on the wasm and webgpu backends. Each tfjs
 * operation is a kernel of its own, and an Adam step over the homework network's 8 parameters takes 14 per
 * parameter. On wasm each is a full pass over memory (about 11 ms a step, a third of it): the kernels of
 * optimizers.wat do each update in one SIMD pass over the backend's own memory, with the same float32 operations in
 * the same order, so their results are bit for bit those of the reference formulas. On webgpu each is a dispatch
 * with a fixed cost (see wgsl.ts). On tensorflow, TensorFlow's training operations do each update in one pass
 * (TENSORFLOW_UPDATES), the same formula with float32 rounding of their own. The cpu backend runs the reference
 * formulas.
 *
 * UPDATES is each update's signature on both backends (what it reads, in order, what it writes, and its constants)
 * and its WGSL, the formula of its optimizer's `update`; optimizers.wat has the same functions.
 */
export const UPDATES = {
  // SGD.update without momentum.
  sgd: {
    inputs: ['p', 'g'],
    outputs: ['pOut'],
    constants: ['keep', 'lr'],
    body: 'pOut[i] = p[i] * c.keep - g[i] * c.lr;',
  },
  // SGD.update with momentum.
  momentum: {
    inputs: ['p', 'g', 'v'],
    outputs: ['pOut', 'vOut'],
    constants: ['keep', 'lr', 'm'],
    body: `let v2 = v[i] * c.m - g[i] * c.lr;
    vOut[i] = v2;
    pOut[i] = p[i] * c.keep + v2;`,
  },
  // RMSProp.update.
  rmsprop: {
    inputs: ['p', 'g', 's'],
    outputs: ['pOut', 'sOut'],
    constants: ['beta', 'rest', 'lr', 'eps'],
    body: `let s2 = s[i] * c.beta + (g[i] * g[i]) * c.rest;
    sOut[i] = s2;
    pOut[i] = p[i] - (c.lr / (sqrt(s2) + c.eps)) * g[i];`,
  },
  // Adam.update.
  adam: {
    inputs: ['p', 'g', 'm', 's'],
    outputs: ['pOut', 'mOut', 'sOut'],
    constants: ['b1', 'rest1', 'b2', 'rest2', 'c1', 'c2', 'lr', 'eps'],
    body: `let m2 = m[i] * c.b1 + g[i] * c.rest1;
    let s2 = s[i] * c.b2 + (g[i] * g[i]) * c.rest2;
    mOut[i] = m2;
    sOut[i] = s2;
    pOut[i] = p[i] - (c.lr / (sqrt(s2 / c.c2) + c.eps)) * (m2 / c.c1);`,
  },
} as const satisfies Record<string, WgslKernel>;

export type FusedKernel = keyof typeof UPDATES;

/** The kernel of an optimizer's update, the state it reads after p and g (in the kernel's order), and its constants. */
interface FusedStep {
  kernel: FusedKernel;
  state: readonly (readonly tf.Variable[])[];
  constants: Record<string, number>;
}

/** The fused step of the kit's optimizers, with the constants computed as their `update` computes them; null for others. */
function fusedStep(optimizer: Optimizer): FusedStep | null {
  if (optimizer instanceof SGD) {
    const keep = 1 - optimizer.beta;
    const { lr, momentum: m } = optimizer;
    return m === 0 ? { kernel: 'sgd', state: [], constants: { keep, lr } } : { kernel: 'momentum', state: [optimizer.state.V], constants: { keep, lr, m } };
  }
  if (optimizer instanceof RMSProp) {
    const { beta, lr, epsilon: eps } = optimizer;
    return { kernel: 'rmsprop', state: [optimizer.state.S], constants: { beta, rest: 1 - beta, lr, eps } };
  }
  if (optimizer instanceof Adam) {
    const { beta1: b1, beta2: b2, lr, epsilon: eps } = optimizer;
    const [c1, c2] = optimizer.corrections();
    return { kernel: 'adam', state: [optimizer.state.P, optimizer.state.S], constants: { b1, rest1: 1 - b1, b2, rest2: 1 - b2, c1, c2, lr, eps } };
  }
  return null;
}

/**
 * An update of two parameters in one dispatch: invocations below `c.split` (the first parameter's size) update the
 * first with `update`'s body, the others the second, whose tensors are named with a `B` suffix (`pB`, `gB`, … and
 * `pOutB`, …). It binds twice the storage buffers, within what the device allows only where it allows more than
 * WebGPU's default of 8 for Adam, momentum and RMSProp.
 */
export function pairedUpdate(update: WgslKernel): WgslKernel {
  const tensors = [...update.inputs, ...update.outputs];
  const second = update.body.replace(new RegExp(`\\b(${tensors.join('|')})\\[i\\]`, 'g'), '$1B[j]');
  return {
    inputs: [...update.inputs, ...update.inputs.map((name) => `${name}B`)],
    outputs: [...update.outputs, ...update.outputs.map((name) => `${name}B`)],
    constants: [...update.constants, 'split'],
    body: `let split = u32(c.split);
  if (i < split) {
    ${update.body}
  } else {
    let j = i - split;
    ${second}
  }`,
  };
}

/**
 * optimizers.wat's exports: each takes the addresses of its inputs then its outputs, the element count, then its
 * float32 constants, in the order UPDATES lists them.
 */
type KernelExports = Record<FusedKernel, (...args: number[]) => void>;

const kernelName = (kernel: FusedKernel) => `CC6204Fused_${kernel}`;
const pairName = (kernel: FusedKernel) => `CC6204Fused_${kernel}_pair`;
const groupName = (kernel: FusedKernel) => `CC6204Fused_${kernel}_group`;

/** The most parameters one of the kit's update operations takes on tensorflow (optimizers.c takes up to 256). */
const MAX_GROUP = 64;

/** The split point reaches the shader as a float32 constant, exact for integers up to 2^24. */
const MAX_PAIRED_FIRST = 2 ** 24;

/**
 * Runs a fused update when the current backend has it (and the fused kernels are on): returns the new tensors in the
 * kernel's output order (parameter first, then its state), or null.
 */
export function fusedUpdate(kernel: FusedKernel, inputs: Record<string, tf.Tensor>, attrs: Record<string, number>): tf.Tensor[] | null {
  return runFused(kernelName(kernel), inputs, attrs);
}

/** Whether fusedUpdate(kernel, …) would run the fused kernel on the current backend. */
export const hasFusedUpdate = (kernel: FusedKernel): boolean => hasFused(kernelName(kernel));

/**
 * The fused update of several parameters with the same constants: `parameters` holds per parameter its tensors in
 * the kernel's input order (the parameter, its gradient, then its state). Returns per parameter its new tensors in
 * the kernel's output order, or null (for all of them). On webgpu two parameters share a dispatch where the device
 * allows a shader the buffers (pairedUpdate): a layer's weights and bias in one; on tensorflow all of them share one
 * of the kit's update operations, where setup:tensorflow built them. The results are those of one kernel per
 * parameter, bit for bit.
 */
export function fusedUpdates(kernel: FusedKernel, parameters: tf.Tensor[][], constants: Record<string, number>): tf.Tensor[][] | null {
  // Checked once for all: each parameter then runs unchecked, so that none is updated unless all are.
  if (!hasFusedUpdate(kernel) || !fusable(parameters.flat())) return null;
  const { inputs, outputs } = UPDATES[kernel];
  const named = (tensors: tf.Tensor[], suffix = '') => Object.fromEntries(inputs.map((name, j) => [`${name}${suffix}`, tensors[j] as tf.Tensor]));
  if (hasUpdateOperations()) {
    // On tensorflow, up to MAX_GROUP of them in one of the kit's update operations: its outputs name by name,
    // parameter by parameter.
    const results: tf.Tensor[][] = [];
    for (let from = 0; from < parameters.length; from += MAX_GROUP) {
      const group = parameters.slice(from, from + MAX_GROUP);
      const all = runKernelOutputs(groupName(kernel), Object.fromEntries(group.flatMap((tensors, k) => Object.entries(named(tensors, `${k}`)))), constants);
      results.push(...group.map((_, k) => outputs.map((__, j) => all[j * group.length + k] as tf.Tensor)));
    }
    return results;
  }
  const pairs = hasFused(pairName(kernel)) && storageBuffersPerShader() >= 2 * (inputs.length + outputs.length);
  const results: tf.Tensor[][] = [];
  for (let k = 0; k < parameters.length; ) {
    const first = parameters[k] as tf.Tensor[];
    const second = parameters[k + 1];
    const split = (first[0] as tf.Tensor).size;
    if (pairs && second && split < MAX_PAIRED_FIRST) {
      const both = runKernelOutputs(pairName(kernel), { ...named(first), ...named(second, 'B') }, { ...constants, split });
      results.push(both.slice(0, outputs.length), both.slice(outputs.length));
      k += 2;
    } else {
      results.push(runKernelOutputs(kernelName(kernel), named(first), constants));
      k += 1;
    }
  }
  return results;
}

/**
 * updateParameters in one fused kernel per parameter (or pair of them), where the backend has it; on tensorflow by the
 * kit's update operation (optimizers.c) where setup:tensorflow built it, else by a training operation on the variables
 * themselves where they can be changed in place (updateInPlace).
 */
function fusedUpdateParameters(optimizer: Optimizer, allParameters: ParameterToUpdate[]): void | null {
  const step = fusedStep(optimizer);
  if (!step) return null;
  const { kernel, state, constants } = step;
  const inPlace = hasUpdateOperations() ? undefined : TENSORFLOW_UPDATES[kernel];
  const stateOf = (i: number) => state.map((perParameter) => perParameter[i] as tf.Variable);
  // Checked once for all, as fusedUpdates does: each parameter is then updated one way or the other, never twice.
  if (!hasFusedUpdate(kernel) || !fusable(allParameters.flatMap(({ p, grad, i }) => [p.value, grad, ...stateOf(i)]))) return null;
  const parameters: ParameterToUpdate[] = [];
  for (const parameter of allParameters) {
    const { p, grad, i } = parameter;
    if (!inPlace || !updateInPlace([p.value, ...stateOf(i)], { g: grad }, constants, inPlace)) parameters.push(parameter);
  }
  if (parameters.length === 0) return;
  const fused = fusedUpdates(kernel, parameters.map(({ p, grad, i }) => [p.value, grad, ...stateOf(i)]), constants);
  if (!fused) throw new Error(`The fused ${kernel} update declined parameters it had accepted.`);
  parameters.forEach(({ p, i }, k) => {
    const [value, ...newState] = fused[k] as tf.Tensor[];
    newState.forEach((t, j) => (state[j]?.[i] as tf.Variable).assign(t));
    p.value.assign(value as tf.Tensor);
  });
}

/**
 * The updates on the tensorflow backend, each by one of TensorFlow's training operations on scratch variables that
 * hold, in order, the parameter and its state (UPDATES' inputs but the gradient, which is `call.inputs.g`): the
 * operation updates them in place. As a kernel (registered below) the scratch variables are given the inputs' values
 * and read out as new tensors; updateParameters puts the variables themselves there where it can (updateInPlace).
 */
const TENSORFLOW_UPDATES: Partial<Record<FusedKernel, (call: TensorflowCall, slots: number[]) => void>> = {
  // p ← p − lr·g, after the weight decay.
  sgd: (call, [p]) => {
    const { attrs, run, handle, scalar, bool, typeAttr } = call;
    decay(call, p as number);
    run('ResourceApplyGradientDescent', [p as number, scalar(attrs.lr as number), handle(call.inputs.g as tf.TensorInfo)], 0, [typeAttr(), bool('use_locking', false)]);
  },
  // Keras's momentum is the course's: V ← m·V − lr·g, p ← p + V, after the weight decay.
  momentum: (call, [p, v]) => {
    const { attrs, run, handle, scalar, bool, typeAttr } = call;
    decay(call, p as number);
    run('ResourceApplyKerasMomentum', [p as number, v as number, scalar(attrs.lr as number), handle(call.inputs.g as tf.TensorInfo), scalar(attrs.m as number)], 0, [
      typeAttr(),
      bool('use_locking', false),
      bool('use_nesterov', false),
    ]);
  },
  // Adam with beta1 = 0 and the Nesterov form is RMSProp: p ← p − lr·(g·1 + 0·m)/(√S + eps), m set to g first.
  rmsprop: (call, [p, s]) => {
    const { attrs, handle, variable, assign } = call;
    const g = handle(call.inputs.g as tf.TensorInfo);
    const m = variable(2);
    assign(m, g);
    applyAdam(call, [p as number, m, s as number], g, { lr: attrs.lr as number, b1: 0, b2: attrs.beta as number, eps: attrs.eps as number }, true);
  },
  // TensorFlow's Adam divides by √S + eps, not √(S/c2) + eps: with the corrections folded into lr and eps it is
  // the course's p ← p − lr/(√(S/c2) + eps)·(P/c1).
  adam: (call, slots) => {
    const { b1, b2, c1, c2, lr, eps } = call.attrs as Record<string, number>;
    const root = Math.sqrt(c2 as number);
    const constants = { lr: ((lr as number) * root) / (c1 as number), b1: b1 as number, b2: b2 as number, eps: (eps as number) * root };
    applyAdam(call, slots, call.handle(call.inputs.g as tf.TensorInfo), constants, false);
  },
};

/**
 * The weight decay, p ← keep·p (keep = 1 − beta), on the scratch variable p; nothing for keep 1. The handles are
 * freed at once, so that the variable holds its new memory alone and the training operation updates it in place.
 */
function decay({ attrs, run, assign, free, scalar, dtypeAttr }: TensorflowCall, p: number): void {
  if (attrs.keep === 1) return;
  const value = (run('ReadVariableOp', [p], 1, [dtypeAttr()])[0] as { id: number }).id;
  const kept = (run('Mul', [value, scalar(attrs.keep as number)])[0] as { id: number }).id;
  free(value);
  assign(p, kept);
  free(kept);
}

/** The tensors a TensorFlow update changes, in the order of its scratch variables: UPDATES' inputs but the gradient. */
const updatedBy = (kernel: FusedKernel): string[] => UPDATES[kernel].inputs.filter((name) => name !== 'g');

/**
 * TensorFlow's ResourceApplyAdam with its bias corrections off (beta powers 0), on scratch variables holding p, m and
 * s: m ← m + (g − m)·(1 − b1), s ← s + (g² − s)·(1 − b2), p ← p − lr·m/(√s + eps), or with `nesterov`
 * p ← p − lr·(g·(1 − b1) + b1·m)/(√s + eps).
 */
function applyAdam(call: TensorflowCall, [p, m, s]: number[], g: number, c: { lr: number; b1: number; b2: number; eps: number }, nesterov: boolean): void {
  const { run, scalar, bool } = call;
  const constants = [0, 0, c.lr, c.b1, c.b2, c.eps].map(scalar);
  run('ResourceApplyAdam', [p as number, m as number, s as number, ...constants, g], 0, [call.typeAttr(), bool('use_locking', false), bool('use_nesterov', nesterov)]);
}

/**
 * An update as the kit's own TensorFlow operation (optimizers.c, built by setup:tensorflow): one pass over the
 * parameter, its gradient and its state, bit for bit the reference formula, its outputs new tensors.
 */
function updateOperation(kernel: FusedKernel, call: TensorflowCall, suffixes = ['']): tf.Tensor[] {
  const { inputs, outputs, constants } = UPDATES[kernel];
  // The operation takes each input name's tensors, one per parameter (its inputs named with its suffix), then the constants.
  const handles = inputs.flatMap((name) => suffixes.map((suffix) => call.handle(call.inputs[`${name}${suffix}`] as tf.TensorInfo)));
  const values = constants.map((name) => call.attrs[name] as number);
  return call.results(`CC6204Update_${kernel}`, [...handles, call.floats(values)], outputs.length * suffixes.length, [call.int('N', suffixes.length)]);
}

const KERNEL_NAMES: Record<FusedKernel, string> = { sgd: 'SGD', momentum: 'momentum', rmsprop: 'RMSProp', adam: 'Adam' };

/** The optimizer's own properties that a probe optimizer replaces with its own (probeOptimizer). */
const REPLACED = new Set(['params', 'state', 't']);

/**
 * Whether `optimizer`'s own properties are all plain values (numbers, strings, booleans) but those a probe replaces:
 * a method of its own (an update assigned to it, an arrow function as a field) or an object of its own would be
 * shared with the probe optimizer, which could then change the optimizer itself, so no probe is taken and its
 * `update` runs as written.
 */
function probeable(optimizer: Optimizer): boolean {
  return Object.entries(optimizer as object).every(([name, value]: [string, unknown]) => REPLACED.has(name) || value === null || ['number', 'string', 'boolean', 'undefined'].includes(typeof value));
}

/**
 * What the fused update's agreement with an optimizer depends on: its methods (update and those it calls, on its
 * class and its own) and its hyper-parameters, its own plain values but the step count, which the probe sets itself.
 */
function optimizerSettings(optimizer: Optimizer): unknown[] {
  const methods: unknown[] = [];
  for (let prototype = Object.getPrototypeOf(optimizer) as object | null; prototype && prototype !== Object.prototype; prototype = Object.getPrototypeOf(prototype) as object | null) {
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const value = Object.getOwnPropertyDescriptor(prototype, name)?.value as unknown;
      if (typeof value === 'function') methods.push(name, value);
    }
  }
  const own = Object.entries(optimizer as object).flatMap(([name, value]: [string, unknown]) => (REPLACED.has(name) ? [] : [name, value]));
  return [...methods, ...own];
}

/** The steps at which the probe compares, the same whenever the comparison is made. */
const PROBE_STEPS = [1, 2, 10, 1000];

/**
 * An optimizer of the same class, hyper-parameters and methods as `optimizer`, at step `t`, on two small parameters
 * (a weight matrix and a bias) with gradients, and state of its own named as the optimizer names its state: the
 * optimizer's `update` runs on it as written, and leaves the optimizer itself alone.
 */
function probeOptimizer(optimizer: Optimizer, t: number): { probe: Optimizer; parameters: ParameterToUpdate[]; tensors: tf.Tensor[] } {
  const shapes = [[3, 5], [5]];
  const params = shapes.map((shape, k) => new Parameter(`probe ${k}`, signedProbe(shape, 10 + k)));
  params.forEach((p, k) => p.setGrad(signedProbe(p.shape, 20 + k)));
  const state = Object.fromEntries(
    Object.keys(optimizer.state).map((name, j) => [name, params.map((p, k) => tf.variable(positiveProbe(p.shape, 30 + 2 * j + k), false))]),
  );
  const probe = Object.create(optimizer, {
    params: { value: params },
    state: { value: state },
    t: { value: t, writable: true },
  }) as Optimizer;
  const parameters = params.map((p, i) => ({ p, grad: p.grad as tf.Tensor, i }));
  return { probe, parameters, tensors: [...params.map((p) => p.value), ...Object.values(state).flat()] };
}

/**
 * Whether two updates of the same tensor, from `start` to `a` and to `b`, agree: their changes within 1e-3 of each
 * other, give or take the float32 rounding of the values themselves. A step is small beside the parameter it changes,
 * so an error in it would be lost in the parameter's own size; a value that is not finite agrees with itself only.
 */
function stepsAgree(start: Float32Array, a: Float32Array, b: Float32Array): boolean {
  for (let i = 0; i < start.length; i++) {
    const [s, u, v] = [start[i] as number, a[i] as number, b[i] as number];
    if (!Number.isFinite(u) || !Number.isFinite(v)) {
      if (u !== v && !(Number.isNaN(u) && Number.isNaN(v))) return false;
      continue;
    }
    const [du, dv] = [u - s, v - s];
    if (Math.abs(du - dv) > 1e-3 * Math.max(Math.abs(du), Math.abs(dv)) + 2 ** -20 * Math.max(Math.abs(u), Math.abs(v), Math.abs(s))) return false;
  }
  return true;
}

/**
 * The fused updates are held to the optimizer's `update` (and `corrections`) as they stand, at several steps: each
 * tensor before and after, compared by its change (stepsAgree).
 */
const updateCheck: Check<[Optimizer, ParameterToUpdate[]], void> = {
  settings: optimizerSettings,
  probe(run, [optimizer]) {
    if (!probeable(optimizer)) return null;
    const compared: tf.Tensor[] = [];
    for (const t of PROBE_STEPS) {
      const { probe, parameters, tensors } = probeOptimizer(optimizer, t);
      try {
        const before = tensors.map((tensor) => tf.clone(tensor));
        if (run(probe, parameters) === null) return null;
        compared.push(...before.flatMap((start, k) => [start, tf.clone(tensors[k] as tf.Tensor)]));
      } finally {
        tf.dispose([...tensors, ...parameters.map(({ grad }) => grad)]);
      }
    }
    return compared;
  },
  agree: (formula, fast) => formula.every((start, k) => k % 2 === 1 || stepsAgree(start, formula[k + 1] as Float32Array, fast[k + 1] as Float32Array)),
  names: (optimizer) => {
    const kernel = fusedStep(optimizer)?.kernel;
    return { formula: `${optimizer.constructor.name}.update`, faster: kernel ? `the fused ${KERNEL_NAMES[kernel]} kernel` : 'its fused kernel' };
  },
};

/** Registers the update kernels on wasm, webgpu and tensorflow, and the fused version of updateParameters. */
export function installOptimizerKernels(): void {
  for (const [kernel, update] of Object.entries(UPDATES) as [FusedKernel, (typeof UPDATES)[FusedKernel]][]) {
    registerWasmKernel<KernelExports>(kernelName(kernel), OPTIMIZER_KERNELS, ({ exports, inputs, attrs, output, at }) => {
      const tensors = update.inputs.map((name) => inputs[name] as tf.TensorInfo);
      const shape = (tensors[0] as tf.TensorInfo).shape;
      const outputs = update.outputs.map(() => output(shape));
      const constants = update.constants.map((name) => attrs[name] as number);
      exports[kernel](...[...tensors, ...outputs].map(at), tf.util.sizeFromShape(shape), ...constants);
      return outputs;
    });
    registerWgslKernel(kernelName(kernel), update);
    // Each half's outputs shaped like its parameter; one invocation per element of both.
    registerWgslKernel(pairName(kernel), pairedUpdate(update), ({ p, pB }) => {
      const [first, second] = [p as tf.TensorInfo, pB as tf.TensorInfo];
      return {
        outputs: [...update.outputs.map(() => first.shape), ...update.outputs.map(() => second.shape)],
        invocations: tf.util.sizeFromShape(first.shape) + tf.util.sizeFromShape(second.shape),
      };
    });
  }
  for (const [kernel, apply] of Object.entries(TENSORFLOW_UPDATES) as [FusedKernel, (call: TensorflowCall, slots: number[]) => void][]) {
    registerTensorflowKernel(kernelName(kernel), (call) => {
      if (hasUpdateOperations()) return updateOperation(kernel, call);
      const slots = updatedBy(kernel).map((name, k) => {
        const slot = call.variable(k);
        call.assign(slot, call.handle(call.inputs[name] as tf.TensorInfo));
        return slot;
      });
      apply(call, slots);
      return slots.map(call.read);
    });
    // Any number of parameters, their inputs named p0, g0, …, p1, g1, …: used only with the kit's update operations.
    registerTensorflowKernel(groupName(kernel), (call) => {
      const count = Object.keys(call.inputs).length / UPDATES[kernel].inputs.length;
      return updateOperation(kernel, call, Array.from({ length: count }, (_, k) => `${k}`));
    });
  }
  setFaster(updateParameters, fusedUpdateParameters, updateCheck);
}
