import * as tf from '@tensorflow/tfjs-core';
import { biasGrad, linear } from '../nn/linear.ts';
// kit only: begin
import { inputGrad, weightGrad } from '../nn/linear.ts';
// kit only: end
import { setFaster } from '../op.ts';
import { runFused } from './kernels.ts';
import { registerTensorflowKernel } from './tensorflow.ts';

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

// kit only: begin
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
// kit only: end

/**
 * On the tensorflow backend, tfjs's fused product with a bias is a batched product (reshaped to 3 dimensions,
 * BatchMatMul) then a broadcast Add, in a tidy of its own: one product of the two matrices as they are and BiasAdd do
 * it in less time. The product is BatchMatMulV2 (Eigen's), not MatMul: on x86 TensorFlow runs MatMul through oneDNN's
 * JIT code, which points the stack pointer into the heap while it runs, so that a signal arriving then (the sampling
 * profiler's, a terminal's resize, Ctrl+C) corrupts the heap. The gradients' products stay tfjs's (BatchMatMul).
 */
function tensorflowLinear(h: tf.Tensor2D, weights: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D | null {
  return (runFused('CC6204Linear', { h, weights, bias })?.[0] as tf.Tensor2D | undefined) ?? null;
}

// kit only: begin
/**
 * dU·Wᵀ as (W·dUᵀ)ᵀ: it transposes two batch-sized matrices instead of the weights, and keeps the freshly updated W
 * out of the operand that XNNPACK repacks on every call. Measured on wasm for 512×1024 weights: 5.7 ms against 12.2.
 */
function inputGradTransposed(dU: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor2D | null {
  return explicitTransposes() ? (tf.transpose(tf.matMul(weights, tf.transpose(dU))) as tf.Tensor2D) : null;
}
// kit only: end

/** Registers the linear layer's kernel on tensorflow, and the faster versions of the linear layer and its gradients. */
export function installLinearKernels(): void {
  registerTensorflowKernel('CC6204Linear', ({ inputs, handle, temp, result, bool, typeAttr }) => {
    const [h, weights, bias] = [inputs.h, inputs.weights, inputs.bias].map((t) => handle(t as tf.TensorInfo)) as [number, number, number];
    const product = temp('BatchMatMulV2', [h, weights], [typeAttr(), bool('adj_x', false), bool('adj_y', false)]);
    return [result('BiasAdd', [product, bias])];
  });
  setFaster(linear, tensorflowLinear);
  setFaster(biasGrad, keptBiasGrad);
  // kit only: begin
  setFaster(weightGrad, weightGradTransposed);
  setFaster(inputGrad, inputGradTransposed);
  // kit only: end
}
