import * as tf from '@tensorflow/tfjs-core';
import { op } from '../core/op.ts';

/**
 * Mean cross-entropy of predicted probabilities `probs` against one-hot (or soft) `targets`, both [batch, C]:
 * mean over the batch of −Σ_c y_c·log(q_c). Probabilities are clamped below by `epsilon` so that a zero never
 * yields −∞; the clamp makes a new tensor and leaves `probs` as it was.
 */
export function crossEntropy(probs: tf.Tensor2D, targets: tf.Tensor2D, epsilon = 1e-8): tf.Scalar {
  return tf.tidy(() => {
    const logq = tf.log(tf.maximum(probs, epsilon));
    return tf.mean(tf.neg(tf.sum(tf.mul(targets, logq), -1)));
  });
}

/**
 * Gradient of the mean cross-entropy with respect to the logits of a softmax output layer: (ŷ − y)/batch. The
 * softmax Jacobian and the loss's derivative cancel to this, which is why the network's backward starts here.
 */
export const softmaxCrossEntropyGrad = op('softmaxCrossEntropyGrad', (probs: tf.Tensor2D, targets: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    // graded backward: begin
    return tf.div(tf.sub(probs, targets), probs.shape[0]);
    // graded backward: end
  }),
);
