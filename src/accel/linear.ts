import * as tf from '@tensorflow/tfjs-core';
import { biasGrad, inputGrad, weightGrad } from '../nn/linear.ts';
import { setFaster } from '../op.ts';

/**
 * The gradients of the linear layer (src/nn/linear.ts) as the fast kernels have them.
 *
 * The fused gradient kernels (activations.ts) compute dL/du and its sum over the batch in one pass; the sum waits
 * here, keyed by its dL/du tensor, for biasGrad(dU) to ask for it. A tensor never asked for is freed with the rest of
 * the backward pass's tidy.
 */
const biasGrads = new WeakMap<tf.Tensor, tf.Tensor1D>();

/** dL/du out of a fused kernel's outputs [dU, db], with db kept for biasGrad(dU); null for null. */
export function withBiasGrad(outputs: [tf.Tensor2D, tf.Tensor1D] | null): tf.Tensor2D | null {
  if (!outputs) return null;
  const [dU, db] = outputs;
  biasGrads.set(dU, db);
  return dU;
}

function keptBiasGrad(dU: tf.Tensor2D): tf.Tensor1D | null {
  const db = biasGrads.get(dU);
  return db && !db.isDisposed ? db : null;
}

/**
 * On the wasm backend a product with a transposed operand leaves XNNPACK's fast path (1 GFLOP/s against 27), so the
 * transpose is made explicit; elsewhere the transpose flags of matMul cost nothing, and an explicit transpose is one
 * more kernel (on a GPU, one more dispatch of fixed cost).
 */
const explicitTransposes = (): boolean => tf.getBackend() === 'wasm';

/** hᵀ·dU with hᵀ made first: h is a batch of activations, which transposes quickly. */
function weightGradTransposed(h: tf.Tensor2D, dU: tf.Tensor2D): tf.Tensor2D | null {
  return explicitTransposes() ? (tf.matMul(tf.transpose(h), dU) as tf.Tensor2D) : null;
}

/**
 * dU·Wᵀ as (W·dUᵀ)ᵀ: it transposes two batch-sized matrices instead of the weights, and keeps the freshly updated W
 * out of the operand that XNNPACK repacks on every call. Measured on wasm for 512×1024 weights: 5.7 ms against 12.2.
 */
function inputGradTransposed(dU: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor2D | null {
  return explicitTransposes() ? (tf.transpose(tf.matMul(weights, tf.transpose(dU))) as tf.Tensor2D) : null;
}

/** Registers the faster versions of the linear layer's gradients. */
export function installLinearGradients(): void {
  setFaster(biasGrad, keptBiasGrad);
  setFaster(weightGrad, weightGradTransposed);
  setFaster(inputGrad, inputGradTransposed);
}
