import * as tf from '@tensorflow/tfjs-core';
// tf.grads is the oracle here; tfjs-core registers no gradients until this is imported.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { ACTIVATIONS, type ActivationName } from '../../src/nn/activations.ts';
import type { FFNN } from '../../src/nn/ffnn.ts';
import { crossEntropy } from '../../src/nn/loss.ts';

/**
 * The gradients of `net`'s mean cross-entropy on (x, y), by tfjs autodiff: the network written again with tfjs
 * operations as a function of its parameters, with the dropout masks its last training forward drew, and
 * differentiated by tf.grads. The oracle for the hand-written backward pass; `activations` are the network's, one
 * per layer. In the order of net.parameters().
 */
export function autodiffGradients(net: FFNN, activations: ActivationName[], x: tf.Tensor2D, y: tf.Tensor2D, masks: (tf.Tensor | null)[]): tf.Tensor[] {
  const params = net.parameters();
  const layers: { w: number; b: number; p: number | null }[] = [];
  let i = 0;
  for (let k = 0; k < activations.length; k++) {
    const hasParam = params[i + 2] !== undefined && params[i + 2]!.shape.length === 0;
    layers.push({ w: i, b: i + 1, p: hasParam ? i + 2 : null });
    i += hasParam ? 3 : 2;
  }
  const loss = (...tensors: tf.Tensor[]) => {
    let h: tf.Tensor = x;
    layers.forEach((layer, k) => {
      const mask = masks[k];
      if (mask) h = tf.mul(h, mask);
      const u = tf.add(tf.matMul(h as tf.Tensor2D, tensors[layer.w] as tf.Tensor2D), tensors[layer.b]!);
      const param = layer.p === null ? undefined : (tensors[layer.p] as tf.Scalar);
      h = ACTIVATIONS[activations[k]!].f(u, param);
    });
    return crossEntropy(h as tf.Tensor2D, y);
  };
  return tf.grads(loss)(params.map((p) => p.value));
}
