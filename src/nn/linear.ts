import * as tf from '@tensorflow/tfjs-core';
import { op } from '../core/op.ts';

/**
 * A layer's linear part, u = h·W + b, for a batch h [batch, nIn], weights W [nIn, nOut] and bias b [nOut], and its
 * gradients from dL/du (dU, [batch, nOut]): dW = hᵀ·dU, db = Σ dU over the batch (b is added to every row), and
 * dL/dh = dU·Wᵀ for the layer below.
 */
export const linear = op('linear', (h: tf.Tensor2D, weights: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D =>
  tf.fused.matMul({ a: h, b: weights, bias }) as tf.Tensor2D,
);

/** dW = hᵀ·dU. */
export const weightGrad = op('weightGrad', (h: tf.Tensor2D, dU: tf.Tensor2D): tf.Tensor2D => {
  // graded backward: begin
  return tf.matMul(h, dU, true, false);
  // graded backward: end
});

/** db = Σ dU over the batch. */
export const biasGrad = op('biasGrad', (dU: tf.Tensor2D): tf.Tensor1D => {
  // graded backward: begin
  return tf.sum(dU, 0);
  // graded backward: end
});

/** dL/dh = dU·Wᵀ. */
export const inputGrad = op('inputGrad', (dU: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor2D => {
  // graded backward: begin
  return tf.matMul(dU, weights, false, true);
  // graded backward: end
});
