import * as tf from '@tensorflow/tfjs-core';
import { runFused } from '../kernels/fused.ts';
import { registerWgslKernel, type WgslKernel } from '../kernels/webgpu.ts';
import type { Activation, ActivationName, ParamValue } from './activations.ts';

/**
 * The activations, the backward pass's dh·f'(u) and the output layer's (ŷ − y)/batch, in one kernel each on the
 * webgpu backend. Written with tfjs operations (activations.ts and loss.ts, which every backend runs and the tests
 * check against float64 references), celu takes 7 kernels forward and 4 back, swish 3 and 8, softmax 5: on a GPU,
 * where each kernel is a dispatch of fixed cost, that is most of a training step of the 2e network. These WGSL
 * formulas are the same ones, in the same order; the network uses them where the backend has them and falls back to
 * the tfjs operations elsewhere.
 */

/** WGSL for element i: f(u) and dh·f'(u), with `a` the activation's parameter (celu's alpha, swish's beta). */
const FORMULAS: Partial<Record<ActivationName, { f?: string; grad: string }>> = {
  // tf.step(u, 0): the derivative at 0 is taken as 0.
  relu: { grad: 'du[i] = select(0.0, dh[i], u[i] > 0.0);' },
  celu: {
    f: 'h[i] = max(u[i], 0.0) + a * (exp(min(u[i], 0.0) / a) - 1.0);',
    grad: 'du[i] = dh[i] * exp(min(u[i], 0.0) / a);',
  },
  swish: {
    f: 'h[i] = u[i] * (1.0 / (1.0 + exp(-(a * u[i]))));',
    // sigmoid(bu) + bu·sigmoid(bu)·sigmoid(−bu), as activations.ts has it.
    grad: `let bu = a * u[i];
    let s = 1.0 / (1.0 + exp(-bu));
    du[i] = dh[i] * (s + bu * (s * (1.0 / (1.0 + exp(bu)))));`,
  },
};

/** The parameter comes as a constant (a fixed default) or as a one-element tensor (a trained parameter). */
function kernelOf(inputs: string[], output: string, body: string, param: 'none' | 'constant' | 'tensor'): WgslKernel {
  const read = param === 'constant' ? 'let a = c.a;\n    ' : param === 'tensor' ? 'let a = pa[0];\n    ' : '';
  return {
    inputs: param === 'tensor' ? [...inputs, 'pa'] : inputs,
    outputs: [output],
    constants: param === 'constant' ? ['a'] : [],
    body: read + body,
  };
}

/** softmax over each row of `classes` values, shifted by the row's maximum, as activations.ts computes it. */
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

/** (ŷ − y)/batch: the gradient of the mean cross-entropy with respect to a softmax layer's input (loss.ts). */
const SOFTMAX_CROSS_ENTROPY_GRAD: WgslKernel = {
  inputs: ['q', 'y'],
  outputs: ['g'],
  constants: ['batch'],
  body: 'g[i] = (q[i] - y[i]) / c.batch;',
};

const forwardName = (name: ActivationName) => `CC6204Activation_${name}`;
const gradName = (name: ActivationName) => `CC6204ActivationGrad_${name}`;
const SOFTMAX_CROSS_ENTROPY_GRAD_NAME = 'CC6204SoftmaxCrossEntropyGrad';

for (const [name, formulas] of Object.entries(FORMULAS) as [ActivationName, { f?: string; grad: string }][]) {
  const hasParam = name !== 'relu';
  const register = (kernelName: string, inputs: string[], output: string, body: string) => {
    const variants = {
      none: kernelOf(inputs, output, body, 'none'),
      constant: kernelOf(inputs, output, body, 'constant'),
      tensor: kernelOf(inputs, output, body, 'tensor'),
    };
    registerWgslKernel(kernelName, (given) => (!hasParam ? variants.none : given.pa ? variants.tensor : variants.constant));
  };
  if (formulas.f) register(forwardName(name), ['u'], 'h', formulas.f);
  register(gradName(name), ['dh', 'u'], 'du', formulas.grad);
}

registerWgslKernel(forwardName('softmax'), SOFTMAX);
registerWgslKernel(SOFTMAX_CROSS_ENTROPY_GRAD_NAME, SOFTMAX_CROSS_ENTROPY_GRAD);

function paramInputs(activation: Activation, param: ParamValue | undefined): { inputs: Record<string, tf.Tensor>; attrs: Record<string, number> } {
  if (param instanceof tf.Tensor) return { inputs: { pa: param }, attrs: {} };
  return { inputs: {}, attrs: { a: param ?? activation.param?.initial ?? 0 } };
}

/** activation.f(u, param) in one kernel where the backend has it, else null. */
export function fusedActivation(activation: Activation, u: tf.Tensor, param?: ParamValue): tf.Tensor | null {
  if (activation.name === 'softmax') {
    const classes = u.shape[u.rank - 1] ?? 0;
    return u.rank === 2 ? (runFused(forwardName('softmax'), { u }, { classes })?.[0] ?? null) : null;
  }
  if (!FORMULAS[activation.name]?.f) return null;
  const { inputs, attrs } = paramInputs(activation, param);
  return runFused(forwardName(activation.name), { u, ...inputs }, attrs)?.[0] ?? null;
}

/** dh·activation.dfdx(u, param) in one kernel where the backend has it, else null. */
export function fusedActivationGrad(activation: Activation, dh: tf.Tensor, u: tf.Tensor, param?: ParamValue): tf.Tensor | null {
  if (!FORMULAS[activation.name]) return null;
  const { inputs, attrs } = paramInputs(activation, param);
  return runFused(gradName(activation.name), { dh, u, ...inputs }, attrs)?.[0] ?? null;
}

/** softmaxCrossEntropyGrad(probs, targets) of loss.ts, (ŷ − y)/batch, in one kernel where the backend has it. */
export function fusedSoftmaxCrossEntropyGrad(probs: tf.Tensor2D, targets: tf.Tensor2D): tf.Tensor2D | null {
  const result = runFused(SOFTMAX_CROSS_ENTROPY_GRAD_NAME, { q: probs, y: targets }, { batch: probs.shape[0] });
  return (result?.[0] as tf.Tensor2D | undefined) ?? null;
}
