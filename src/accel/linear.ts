import * as tf from '@tensorflow/tfjs-core';
import { linear } from '../nn/linear.ts';
// kit only: begin
import { biasGrad } from '../nn/linear.ts';
// kit only: end
import { setFaster } from '../core/op.ts';
import { runFused } from './kernels.ts';
import { plainCheck, signedProbe } from './probes.ts';
import { registerTensorflowKernel } from './tensorflow-ops.ts';

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

// kit only: begin
function keptBiasGrad(dU: tf.Tensor2D): tf.Tensor1D | null {
  const db = biasGrads.get(dU);
  return db && !db.isDisposed ? db : null;
}
// kit only: end

/**
 * On the tensorflow backend, tfjs's fused product with a bias is a batched product (reshaped to 3 dimensions,
 * BatchMatMul) then a broadcast Add, in a tidy of its own: one product of the two matrices as they are and BiasAdd do
 * it in less time. The product is BatchMatMulV2, not MatMul: on x86 TensorFlow runs MatMul through oneDNN's JIT code,
 * which points the stack pointer into the heap while it runs, so that a signal arriving then (the sampling
 * profiler's, a terminal's resize, Ctrl+C) corrupts the heap. The gradients' products stay tfjs's (BatchMatMul).
 */
function tensorflowLinear(h: tf.Tensor2D, weights: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D | null {
  return (runFused('CC6204Linear', { h, weights, bias })?.[0] as tf.Tensor2D | undefined) ?? null;
}

/** Registers the linear layer's kernel on tensorflow, and the faster versions of the linear layer and its bias gradient. */
export function installLinearKernels(): void {
  registerTensorflowKernel('CC6204Linear', ({ inputs, handle, temp, result, bool, typeAttr }) => {
    const [h, weights, bias] = [inputs.h, inputs.weights, inputs.bias].map((t) => handle(t as tf.TensorInfo)) as [number, number, number];
    const product = temp('BatchMatMulV2', [h, weights], [typeAttr(), bool('adj_x', false), bool('adj_y', false)]);
    return [result('BiasAdd', [product, bias])];
  });
  const layer = () => [signedProbe([4, 6], 5), signedProbe([6, 5], 6), signedProbe([5], 8)] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
  setFaster(linear, tensorflowLinear, plainCheck(layer, 'linear', 'the fused linear kernel'));
  // kit only: begin
  // The bias gradient the fused activation kernels computed, the sum over the batch, held to biasGrad as it stands.
  const keptSum = () => {
    const g = signedProbe([4, 5], 7) as tf.Tensor2D;
    biasGrads.set(g, tf.sum(g, 0));
    return [g] as [tf.Tensor2D];
  };
  setFaster(biasGrad, keptBiasGrad, plainCheck(keptSum, 'biasGrad', 'the bias gradient of the fused activation kernels'));
  // kit only: end
}
