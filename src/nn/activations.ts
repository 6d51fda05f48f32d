import * as tf from '@tensorflow/tfjs-core';
import { op } from '../core/op.ts';

/** A value for an activation's parameter: a plain number, or a scalar tensor when the parameter is trained. */
export type ParamValue = number | tf.Scalar;

/**
 * An activation function with its derivatives, side by side. `f` and `dfdx` act element-wise on the
 * pre-activation `x`; `dfdparam` is the element-wise derivative with respect to the activation's own parameter
 * (celu's alpha, swish's beta), which the network sums over units and samples when that parameter is trained.
 */
export interface Activation {
  readonly name: ActivationName;
  /** The activation's own parameter, if it has one, with its default value. */
  readonly param?: { readonly name: 'alpha' | 'beta'; readonly initial: number };
  f(x: tf.Tensor, param?: ParamValue): tf.Tensor;
  dfdx(x: tf.Tensor, param?: ParamValue): tf.Tensor;
  dfdparam?(x: tf.Tensor, param: ParamValue): tf.Tensor;
}

export const ACTIVATION_NAMES = ['relu', 'sigmoid', 'tanh', 'celu', 'swish', 'softmax'] as const;
export type ActivationName = (typeof ACTIVATION_NAMES)[number];

export const relu: Activation = {
  name: 'relu',
  f: (x) => tf.relu(x),
  // The derivative at 0 is taken as 0, as tfjs and PyTorch do. (tf.step is one fast kernel; greater-then-cast is two
  // slow ones on wasm.)
  dfdx: (x) => tf.step(x, 0),
};

export const sigmoid: Activation = {
  name: 'sigmoid',
  f: (x) => tf.sigmoid(x),
  // sigmoid(x)·(1 − sigmoid(x)), with 1 − sigmoid(x) taken as sigmoid(−x): where sigmoid(x) rounds to nearly 1,
  // subtracting it from 1 keeps only a few correct bits.
  dfdx: (x) => tf.mul(tf.sigmoid(x), tf.sigmoid(tf.neg(x))),
};

export const tanh: Activation = {
  name: 'tanh',
  f: (x) => tf.tanh(x),
  dfdx: (x) => tf.sub(1, tf.square(tf.tanh(x))),
};

/** min(x, 0). A clamp: on wasm, tf.minimum with a scalar takes a broadcasting path about 30 times slower. */
function negativePart(x: tf.Tensor): tf.Tensor {
  return tf.clipByValue(x, -Infinity, 0);
}

/**
 * celu(x) = max(0, x) + min(0, alpha·(exp(x/alpha) − 1)). Only the negative side depends on alpha, so exp is taken
 * of min(x, 0)/alpha: it never overflows, and it is exactly 1 where x > 0, which is celu's derivative there.
 */
export const celu: Activation = {
  name: 'celu',
  param: { name: 'alpha', initial: 1 },
  f: (x, alpha = 1) => tf.add(tf.relu(x), tf.mul(alpha, tf.sub(tf.exp(tf.div(negativePart(x), alpha)), 1))),
  dfdx: (x, alpha = 1) => tf.exp(tf.div(negativePart(x), alpha)),
  dfdparam: (x, alpha) => {
    // d/dalpha of alpha·(exp(x/alpha) − 1) is exp(x/alpha)·(1 − x/alpha) − 1 on the negative side, 0 elsewhere.
    const ratio = tf.div(negativePart(x), alpha);
    return tf.sub(tf.mul(tf.exp(ratio), tf.sub(1, ratio)), 1);
  },
};

/** swish(x) = x·sigmoid(beta·x). */
export const swish: Activation = {
  name: 'swish',
  param: { name: 'beta', initial: 1 },
  f: (x, beta = 1) => tf.mul(x, tf.sigmoid(tf.mul(beta, x))),
  // sigmoid(bx) + b·x·sigmoid(bx)·(1 − sigmoid(bx)), with 1 − sigmoid(bx) as sigmoid(−bx) (see sigmoid).
  dfdx: (x, beta = 1) => {
    const bx = tf.mul(beta, x);
    const s = tf.sigmoid(bx);
    return tf.add(s, tf.mul(bx, tf.mul(s, tf.sigmoid(tf.neg(bx)))));
  },
  // d/dbeta of x·sigmoid(beta·x) = x²·sigmoid(bx)·(1 − sigmoid(bx))
  dfdparam: (x, beta) => {
    const bx = tf.mul(beta, x);
    return tf.mul(tf.square(x), tf.mul(tf.sigmoid(bx), tf.sigmoid(tf.neg(bx))));
  },
};

/**
 * softmax over the last axis, shifted by the row maximum so that exp never overflows. Its derivative is not
 * element-wise: `dfdx` returns the Jacobian of each row, shape [..., C, C], J[i][j] = s_i·(δ_ij − s_j). The network's
 * backward pass never builds it: with cross-entropy the chain rule collapses to (ŷ − y)/batch.
 */
export const softmax: Activation = {
  name: 'softmax',
  f: (x) => {
    const shifted = tf.sub(x, tf.max(x, -1, true));
    const e = tf.exp(shifted);
    return tf.div(e, tf.sum(e, -1, true));
  },
  dfdx: (x) => {
    const s = softmax.f(x);
    const size = s.shape[s.shape.length - 1] ?? 1;
    const column = tf.expandDims(s, -1);
    const row = tf.expandDims(s, -2);
    const eye = tf.eye(size);
    return tf.mul(column, tf.sub(eye, row));
  },
};

export const ACTIVATIONS: Record<ActivationName, Activation> = { relu, sigmoid, tanh, celu, swish, softmax };

/** The activation called `name`, or an error listing the valid names. */
export function activationByName(name: string): Activation {
  if (!(ACTIVATION_NAMES as readonly string[]).includes(name)) {
    throw new Error(`Unknown activation "${name}": choose one of ${ACTIVATION_NAMES.join(', ')}.`);
  }
  return ACTIVATIONS[name as ActivationName];
}

/** h = f(u): a layer's activation, element-wise (softmax: over each row). */
export const activate = op('activate', (activation: Activation, u: tf.Tensor, param?: ParamValue): tf.Tensor => activation.f(u, param));

/** dL/du = dL/dh ⊙ f'(u): back through a layer's activation, element-wise. */
export const activationGrad = op('activationGrad', (activation: Activation, dH: tf.Tensor2D, u: tf.Tensor2D, param?: ParamValue): tf.Tensor2D =>
  tf.mul(dH, activation.dfdx(u, param)),
);
