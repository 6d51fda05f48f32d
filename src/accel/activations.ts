import * as tf from '@tensorflow/tfjs-core';
import { type Activation, type ActivationName, activate, activationGrad, type ParamValue } from '../nn/activations.ts';
// kit only: begin
import { softmaxCrossEntropyGrad } from '../nn/loss.ts';
// kit only: end
import { type Check, setFaster } from '../core/op.ts';
import { ACTIVATION_KERNELS } from './activations-wasm.ts';
import { runFused } from './kernels.ts';
import { signedProbe } from './probes.ts';
// kit only: begin
import { classesProbe, plainCheck } from './probes.ts';
// kit only: end
import { withBiasGrad } from './linear.ts';
import { registerTensorflowKernel, type TensorflowCall } from './tensorflow-ops.ts';
import { registerWasmKernel, type WasmCall } from './wasm-modules.ts';
import { registerWgslKernel, type WgslKernel, type WgslLaunch } from './wgsl.ts';

/**
 * The activations, and in the backward pass dh·f'(u) or the output layer's (ŷ − y)/batch together with its sum over
 * the batch (the bias gradient), in one kernel each on the webgpu and wasm backends. Written with tfjs operations
 * (src/nn/activations.ts and loss.ts, the reference formulas, checked against float64 references), celu takes
 * 7 kernels forward and 4 back, swish 3 and 8, softmax 5, and a sum over the batch 2 (tfjs transposes first): on a
 * GPU, where each kernel is a dispatch of fixed cost, that is most of a training step of the 2e network; on wasm each
 * is a pass over memory, and celu's clamp and exp alone took a seventh of a step. These WGSL formulas, and those of
 * activations.wat (celu, swish and the derivatives; softmax, on 10 classes, stays with tfjs there), are the same
 * ones, in the same order; the network uses them where the backend has them and falls back to the tfjs operations
 * elsewhere.
 */

/**
 * WGSL for element i: f(u) and d·f'(u), with `d` the upstream gradient dL/dh of element i and `a` the activation's
 * parameter (celu's alpha, swish's beta).
 */
const FORMULAS: Partial<Record<ActivationName, { f?: string; grad: string }>> = {
  // relu.dfdx, tf.step(u, 0): the derivative at 0 is taken as 0.
  relu: { grad: 'du[i] = select(0.0, d, u[i] > 0.0);' },
  // celu.f and celu.dfdx.
  celu: {
    f: 'h[i] = max(u[i], 0.0) + a * (exp(min(u[i], 0.0) / a) - 1.0);',
    grad: 'du[i] = d * exp(min(u[i], 0.0) / a);',
  },
  // swish.f and swish.dfdx.
  swish: {
    f: 'h[i] = u[i] * (1.0 / (1.0 + exp(-(a * u[i]))));',
    // sigmoid(bu) + bu·sigmoid(bu)·sigmoid(−bu), as activations.ts has it.
    grad: `let bu = a * u[i];
    let s = 1.0 / (1.0 + exp(-bu));
    du[i] = d * (s + bu * (s * (1.0 / (1.0 + exp(bu)))));`,
  },
};

/** How the activation's parameter reaches the kernel: none, a constant (a fixed default) or a one-element tensor (a trained parameter). */
type ParamRead = 'none' | 'constant' | 'tensor';

const readParam = (param: ParamRead): string => (param === 'constant' ? 'let a = c.a;\n    ' : param === 'tensor' ? 'let a = pa[0];\n    ' : '');
const paramInput = (param: ParamRead): string[] => (param === 'tensor' ? ['pa'] : []);
const paramConstant = (param: ParamRead): string[] => (param === 'constant' ? ['a'] : []);

/** h = f(u), element i. */
function forwardKernel(formula: string, param: ParamRead): WgslKernel {
  return { inputs: ['u', ...paramInput(param)], outputs: ['h'], constants: paramConstant(param), body: readParam(param) + formula };
}

/**
 * One invocation per column of a [rows, columns] batch: walks the column's rows, each row's element i written by
 * `formula` into `out`, and adds them up into `sum` (the bias gradient: the bias is added to every row).
 */
function columnSumBody(formula: string, out: string, sum: string): string {
  return `let column = i;
    var total = 0.0;
    for (var row = 0u; row < u32(c.rows); row = row + 1u) {
      let i = row * c.n + column;
      ${formula}
      total = total + ${out}[i];
    }
    ${sum}[column] = total;`;
}

/** du = dh·f'(u) and db = du summed over the rows. */
function gradKernel(formula: string, param: ParamRead): WgslKernel {
  return {
    inputs: ['dh', 'u', ...paramInput(param)],
    outputs: ['du', 'db'],
    constants: ['rows', ...paramConstant(param)],
    body: readParam(param) + columnSumBody(`let d = dh[i];\n      ${formula}`, 'du', 'db'),
  };
}

/** A [rows, columns] result and its [columns] sum over the rows, one invocation per column. */
function withColumnSums(input: string) {
  return (inputs: tf.NamedTensorInfoMap): WgslLaunch => {
    const [rows, columns] = (inputs[input] as tf.TensorInfo).shape as [number, number];
    return { outputs: [[rows, columns], [columns]], invocations: columns };
  };
}

/** softmax.f: over each row of `classes` values, shifted by the row's maximum. */
const SOFTMAX: WgslKernel = {
  inputs: ['u'],
  outputs: ['h'],
  constants: ['classes'],
  body: `let classes = u32(c.classes);
    let start = (i / classes) * classes;
    var top = u[start];
    for (var j = 1u; j < classes; j = j + 1u) {
      top = max(top, u[start + j]);
    }
    var sum = 0.0;
    for (var j = 0u; j < classes; j = j + 1u) {
      sum = sum + exp(u[start + j] - top);
    }
    h[i] = exp(u[i] - top) / sum;`,
};

// kit only: begin
/** softmaxCrossEntropyGrad, (ŷ − y)/batch, and its sum over the batch. */
const SOFTMAX_CROSS_ENTROPY_GRAD: WgslKernel = {
  inputs: ['q', 'y'],
  outputs: ['g', 'db'],
  constants: ['rows'],
  body: columnSumBody('g[i] = (q[i] - y[i]) / c.rows;', 'g', 'db'),
};
// kit only: end

/**
 * On tensorflow, the same formulas as TensorFlow's own operations, where tfjs takes several: tfjs makes celu 7
 * operations forward and 4 back, swish's derivative 8, softmax 5, relu's derivative tf.step's 7 (NaN checks, a
 * select) and a sum over the batch 2. TensorFlow's Elu is celu with alpha 1 (alpha·Elu(u/alpha) for a positive alpha),
 * SigmoidGrad(s, d) is d·s·(1 − s), ReluGrad is dh·(u > 0) (0.015 ms against 0.85 for the 100×512 layer of the 2e
 * network), Softmax shifts each row by its maximum as softmax.f does, and BiasAddGrad sums over the batch.
 */
const TENSORFLOW_FORWARD: Partial<Record<ActivationName, (call: TensorflowCall) => tf.Tensor>> = {
  // alpha·Elu(u/alpha) is celu for alpha > 0 only: a trained alpha, whose sign may change, takes celu.f's formula.
  celu: (call) => {
    const { inputs, attrs, handle, temp, result, scalar } = call;
    const [u, a] = [handle(inputs.u as tf.TensorInfo), tensorflowParam(call)];
    if (a === null) return result('Elu', [u]);
    if (!inputs.pa && (attrs.a as number) > 0) return result('Mul', [temp('Elu', [temp('RealDiv', [u, a])]), a]);
    const negative = temp('Sub', [temp('Exp', [temp('RealDiv', [temp('Minimum', [u, scalar(0)]), a])]), scalar(1)]);
    return result('AddV2', [temp('Relu', [u]), temp('Mul', [a, negative])]);
  },
  swish: (call) => {
    const u = call.handle(call.inputs.u as tf.TensorInfo);
    return call.result('Mul', [u, call.temp('Sigmoid', [scaled(call, u)])]);
  },
  softmax: ({ inputs, handle, result }) => result('Softmax', [handle(inputs.u as tf.TensorInfo)]),
};

/** dL/du = dh·f'(u); the kernel adds its sum over the batch. */
const TENSORFLOW_GRAD: Partial<Record<ActivationName, (call: TensorflowCall) => tf.Tensor>> = {
  relu: ({ inputs, handle, result }) => result('ReluGrad', [handle(inputs.dh as tf.TensorInfo), handle(inputs.u as tf.TensorInfo)]),
  // dh·exp(min(u, 0)/alpha).
  celu: (call) => {
    const { inputs, handle, temp, result, scalar } = call;
    const [dh, u, a] = [handle(inputs.dh as tf.TensorInfo), handle(inputs.u as tf.TensorInfo), tensorflowParam(call)];
    const negative = temp('Minimum', [u, scalar(0)]);
    return result('Mul', [dh, temp('Exp', [a === null ? negative : temp('RealDiv', [negative, a])])]);
  },
  // dh·(s + bu·s·(1 − s)) with s = sigmoid(bu). Where s rounds to 1 (bu from about 17 to 21) 1 − s is 0 and the term
  // bu·e^(−bu) is lost, a few units in the last place of 1; swish.dfdx's sigmoid(−bu) keeps it.
  swish: (call) => {
    const { inputs, handle, temp, result } = call;
    const [dh, u] = [handle(inputs.dh as tf.TensorInfo), handle(inputs.u as tf.TensorInfo)];
    const bu = scaled(call, u);
    const s = temp('Sigmoid', [bu]);
    return result('Mul', [dh, temp('AddV2', [s, temp('SigmoidGrad', [s, bu])])]);
  },
};

/** The activation's parameter as a handle (a trained one's tensor, else the constant), or null for a constant 1. */
function tensorflowParam({ inputs, attrs, handle, scalar }: TensorflowCall): number | null {
  if (inputs.pa) return handle(inputs.pa as tf.TensorInfo);
  return attrs.a === 1 ? null : scalar(attrs.a as number);
}

/** parameter·u, or u itself for a constant parameter of 1. */
function scaled(call: TensorflowCall, u: number): number {
  const a = tensorflowParam(call);
  return a === null ? u : call.temp('Mul', [a, u]);
}

const forwardName = (name: ActivationName) => `CC6204Activation_${name}`;
const gradName = (name: ActivationName) => `CC6204ActivationGrad_${name}`;
// kit only: begin
const SOFTMAX_CROSS_ENTROPY_GRAD_NAME = 'CC6204SoftmaxCrossEntropyGrad';
// kit only: end

/**
 * activations.wat's exports. `activation` and `derivative` are indices into its table of f and f'; `a` is the
 * activation's parameter.
 */
export interface ActivationExports {
  forward(activation: number, u: number, h: number, n: number, a: number): void;
  grad(derivative: number, dh: number, u: number, du: number, db: number, rows: number, columns: number, a: number): void;
}

/** activations.wat's table: each activation's f, and f', by index. */
export const WASM_FORWARD = { celu: 0, swish: 1 } as const;
export const WASM_DERIVATIVE = { relu: 2, celu: 3, swish: 4 } as const;

/** The parameter's value: from its one-element tensor when trained, else the constant `a` (none for relu). */
const paramOf = ({ inputs, attrs, read }: WasmCall<ActivationExports>): number => (inputs.pa ? (read(inputs.pa)[0] as number) : (attrs.a ?? 0));

function paramInputs(activation: Activation, param: ParamValue | undefined): { inputs: Record<string, tf.Tensor>; attrs: Record<string, number> } {
  if (param instanceof tf.Tensor) return { inputs: { pa: param }, attrs: {} };
  return { inputs: {}, attrs: { a: param ?? activation.param?.initial ?? 0 } };
}

/** activate(activation, u, param) in one kernel where the backend has it, else null. */
export function fusedActivation(activation: Activation, u: tf.Tensor, param?: ParamValue): tf.Tensor | null {
  if (activation.name === 'softmax') {
    const classes = u.shape[u.rank - 1] ?? 0;
    return u.rank === 2 ? (runFused(forwardName('softmax'), { u }, { classes })?.[0] ?? null) : null;
  }
  if (!FORMULAS[activation.name]?.f) return null;
  const { inputs, attrs } = paramInputs(activation, param);
  return runFused(forwardName(activation.name), { u, ...inputs }, attrs)?.[0] ?? null;
}

/** dL/du for a batch [rows, units] and its sum over the batch [units], the gradient of the layer's bias. */
export type GradAndBiasGrad = [tf.Tensor2D, tf.Tensor1D];

/**
 * activationGrad(activation, dh, u, param), dh·f'(u), and its sum over the batch, in one kernel where the backend has
 * it, else null. The kernel reads u element by element, so a u of another shape than dh's (which tfjs would
 * broadcast) takes the reference.
 */
export function fusedActivationGrad(activation: Activation, dh: tf.Tensor2D, u: tf.Tensor2D, param?: ParamValue): GradAndBiasGrad | null {
  if (!FORMULAS[activation.name] || dh.rank !== 2 || !tf.util.arraysEqual(u.shape, dh.shape)) return null;
  const { inputs, attrs } = paramInputs(activation, param);
  return runFused(gradName(activation.name), { dh, u, ...inputs }, { rows: dh.shape[0], ...attrs }) as GradAndBiasGrad | null;
}

// kit only: begin
/** softmaxCrossEntropyGrad(probs, targets), (ŷ − y)/batch, and its sum over the batch in one kernel where the backend has it. */
export function fusedSoftmaxCrossEntropyGrad(probs: tf.Tensor2D, targets: tf.Tensor2D): GradAndBiasGrad | null {
  return runFused(SOFTMAX_CROSS_ENTROPY_GRAD_NAME, { q: probs, y: targets }, { rows: probs.shape[0] }) as GradAndBiasGrad | null;
}
// kit only: end

/** The activation's function `name` as it is now, a setting by its identity (an activation of one's own, replaced). */
const formulaOf = (activation: Activation, name: 'f' | 'dfdx'): unknown => (activation as unknown as Record<string, unknown>)[name];

/** A call's parameter as a setting: its value where it is a constant, 'tensor' where it is trained. */
const paramSetting = (param: ParamValue | undefined): unknown => (param instanceof tf.Tensor ? 'tensor' : param);

/** The probe's parameter: the call's constant as it is, a trained one as a tensor of its shape holding 0.8. */
const probeParam = (param: ParamValue | undefined): ParamValue | undefined => (param instanceof tf.Tensor ? (tf.fill(param.shape, 0.8) as tf.Scalar) : param);

/** The fused activations are held to the activation's `f` as it stands (an activation of one's own included). */
const activateCheck: Check<[Activation, tf.Tensor, ParamValue?], tf.Tensor> = {
  settings: (activation, _u, param) => [activation, formulaOf(activation, 'f'), paramSetting(param)],
  probe: (run, [activation, , param]) => {
    const h = run(activation, signedProbe([4, 6], 1, 6), probeParam(param));
    return h && [h];
  },
  names: (activation) => ({ formula: `${activation.name}.f`, faster: `the fused ${activation.name} kernel` }),
};

/** The fused gradients are held to activationGrad with the activation's `dfdx` as they stand. */
const activationGradCheck: Check<[Activation, tf.Tensor2D, tf.Tensor2D, ParamValue?], tf.Tensor2D> = {
  settings: (activation, _dh, _u, param) => [activation, formulaOf(activation, 'dfdx'), paramSetting(param)],
  probe: (run, [activation, , , param]) => {
    const du = run(activation, signedProbe([4, 6], 2) as tf.Tensor2D, signedProbe([4, 6], 3, 6) as tf.Tensor2D, probeParam(param));
    return du && [du];
  },
  names: (activation) => ({ formula: `${activation.name}.dfdx`, faster: `the fused ${activation.name} gradient kernel` }),
};

// kit only: begin
const softmaxCrossEntropyGradCheck = plainCheck(
  () => {
    const { probs, targets } = classesProbe(4, 5, 4);
    return [probs, targets] as [tf.Tensor2D, tf.Tensor2D];
  },
  'softmaxCrossEntropyGrad',
  'the fused softmax cross-entropy gradient kernel',
);
// kit only: end

/** Registers the activation kernels on wasm and webgpu, and the fused versions of activate and activationGrad. */
export function installActivationKernels(): void {
  for (const [name, formulas] of Object.entries(FORMULAS) as [ActivationName, { f?: string; grad: string }][]) {
    const hasParam = name !== 'relu';
    // The variant by how the parameter comes: in a tensor (`pa` given), as a constant, or not at all (relu).
    const variant = (given: tf.NamedTensorInfoMap): ParamRead => (!hasParam ? 'none' : given.pa ? 'tensor' : 'constant');
    const variants = <T>(make: (param: ParamRead) => T) => ({ none: make('none'), constant: make('constant'), tensor: make('tensor') });
    if (formulas.f) {
      const forward = variants((param) => forwardKernel(formulas.f as string, param));
      registerWgslKernel(forwardName(name), (given) => forward[variant(given)]);
    }
    const grad = variants((param) => gradKernel(formulas.grad, param));
    registerWgslKernel(gradName(name), (given) => grad[variant(given)], withColumnSums('dh'));
  }

  registerWgslKernel(forwardName('softmax'), SOFTMAX);
  // kit only: begin
  registerWgslKernel(SOFTMAX_CROSS_ENTROPY_GRAD_NAME, SOFTMAX_CROSS_ENTROPY_GRAD, withColumnSums('q'));
  // kit only: end

  for (const [name, index] of Object.entries(WASM_FORWARD) as [ActivationName, number][]) {
    registerWasmKernel<ActivationExports>(forwardName(name), ACTIVATION_KERNELS, (call) => {
      const u = call.inputs.u as tf.TensorInfo;
      const h = call.output(u.shape);
      call.exports.forward(index, call.at(u), call.at(h), tf.util.sizeFromShape(u.shape), paramOf(call));
      return h;
    });
  }

  for (const [name, index] of Object.entries(WASM_DERIVATIVE) as [ActivationName, number][]) {
    registerWasmKernel<ActivationExports>(gradName(name), ACTIVATION_KERNELS, (call) => {
      const { inputs, output, at } = call;
      const [dh, u] = [inputs.dh, inputs.u] as [tf.TensorInfo, tf.TensorInfo];
      const [rows, columns] = dh.shape as [number, number];
      const [du, db] = [output([rows, columns]), output([columns])];
      call.exports.grad(index, at(dh), at(u), at(du), at(db), rows, columns, paramOf(call));
      return [du, db];
    });
  }

  for (const [name, kernel] of Object.entries(TENSORFLOW_FORWARD)) registerTensorflowKernel(forwardName(name as ActivationName), (call) => [kernel(call)]);
  for (const [name, kernel] of Object.entries(TENSORFLOW_GRAD)) {
    registerTensorflowKernel(gradName(name as ActivationName), (call) => {
      const du = kernel(call);
      return [du, call.result('BiasAddGrad', [call.handle(du)])];
    });
  }
  // kit only: begin
  registerTensorflowKernel(SOFTMAX_CROSS_ENTROPY_GRAD_NAME, ({ inputs, handle, scalar, temp, result }) => {
    const [q, y] = [inputs.q, inputs.y].map((t) => handle(t as tf.TensorInfo)) as [number, number];
    const g = result('RealDiv', [temp('Sub', [q, y]), scalar((inputs.q as tf.TensorInfo).shape[0] as number)]);
    return [g, result('BiasAddGrad', [handle(g)])];
  });
  // kit only: end

  setFaster(activate, fusedActivation, activateCheck);
  // The bias gradients wait for biasGrad (linear.ts).
  setFaster(activationGrad, (activation, dh, u, param) => withBiasGrad(fusedActivationGrad(activation, dh, u, param)), activationGradCheck);
  // kit only: begin
  setFaster(softmaxCrossEntropyGrad, (probs, targets) => withBiasGrad(fusedSoftmaxCrossEntropyGrad(probs, targets)), softmaxCrossEntropyGradCheck);
  // kit only: end
}
