import * as tf from '@tensorflow/tfjs-core';
import { hasFused, runFused } from '../kernels/fused.ts';
import { registerWgslKernel, type WgslKernel } from '../kernels/webgpu.ts';

/**
 * The training loop's running loss and count of right answers in one kernel per batch on the webgpu backend, where
 * tfjs takes 13 (cross-entropy, two argMax, the comparison, the sums and the two running totals): on a GPU each is a
 * dispatch of fixed cost. The totals are kept per row of the batch and summed once, when the epoch ends.
 *
 * Row i adds −Σ_j y_ij·log(max(q_ij, eps)) times `scale` to its loss total (1/batch in training, so that the rows
 * sum to the sum of the batch means, as crossEntropy averages each batch; 1 in evaluation) and 1 to its count when
 * the first largest q_i and y_i are in the same column (as tf.argMax picks). Rows past the batch (a short last
 * batch) keep their totals.
 */
const METRICS: WgslKernel = {
  inputs: ['q', 'y', 'loss', 'right'],
  outputs: ['lossOut', 'rightOut'],
  constants: ['rows', 'classes', 'eps', 'scale'],
  body: `var l = loss[i];
    var k = right[i];
    if (i < u32(c.rows)) {
      let classes = u32(c.classes);
      let start = i * classes;
      var sum = 0.0;
      var bestQ = q[start];
      var atQ = 0u;
      var bestY = y[start];
      var atY = 0u;
      for (var j = 0u; j < classes; j = j + 1u) {
        let qj = q[start + j];
        let yj = y[start + j];
        sum = sum + yj * log(max(qj, c.eps));
        if (qj > bestQ) {
          bestQ = qj;
          atQ = j;
        }
        if (yj > bestY) {
          bestY = yj;
          atY = j;
        }
      }
      l = l + (-sum) * c.scale;
      k = k + select(0.0, 1.0, atQ == atY);
    }
    lossOut[i] = l;
    rightOut[i] = k;`,
};

const KERNEL = 'CC6204TrainingMetrics';
const EPSILON = 1e-8;

// The totals are as long as the largest batch, not as the one given.
registerWgslKernel(KERNEL, METRICS, (inputs) => {
  const shape = (inputs.loss as tf.TensorInfo).shape;
  return { outputs: [shape, shape], invocations: tf.util.sizeFromShape(shape) };
});

/**
 * New running totals, per row: `loss` and `right` (each of as many rows as the largest batch) plus this batch of
 * predictions `probs` against one-hot `targets`, each row's loss times `scale`; or null where the backend has no
 * such kernel.
 */
export function fusedMetrics(
  probs: tf.Tensor2D,
  targets: tf.Tensor2D,
  loss: tf.Tensor1D,
  right: tf.Tensor1D,
  scale: number,
): [tf.Tensor1D, tf.Tensor1D] | null {
  const [rows, classes] = probs.shape;
  if (rows > loss.shape[0]) return null;
  const result = runFused(KERNEL, { q: probs, y: targets, loss, right }, { rows, classes, eps: EPSILON, scale });
  return result ? [result[0] as tf.Tensor1D, result[1] as tf.Tensor1D] : null;
}

/** Whether the current backend has the fused metrics kernel (and the fused kernels are on). */
export const hasFusedMetrics = (): boolean => hasFused(KERNEL);
