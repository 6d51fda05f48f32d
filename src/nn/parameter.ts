import * as tf from '@tensorflow/tfjs-core';
import { float32Tensor } from '../core/tensors.ts';

/**
 * A trainable tensor with the gradient that the last backward pass left for it. Optimizers read `grad` and update
 * `value` in place; a parameter owns both tensors and frees them in `dispose()`.
 */
export class Parameter {
  readonly value: tf.Variable;
  private gradient: tf.Tensor | null = null;

  constructor(
    readonly name: string,
    initial: tf.Tensor | tf.TensorLike,
  ) {
    const tensor = initial instanceof tf.Tensor ? initial : float32Tensor(initial, `The values of ${name}`);
    this.value = tf.variable(tensor, false);
    if (!(initial instanceof tf.Tensor)) tensor.dispose();
  }

  get grad(): tf.Tensor | null {
    return this.gradient;
  }

  get shape(): number[] {
    return this.value.shape;
  }

  get size(): number {
    return this.value.size;
  }

  /** Takes ownership of `grad` (kept out of any enclosing tidy) and frees the previous gradient. */
  setGrad(grad: tf.Tensor | tf.TensorLike): void {
    const tensor = grad instanceof tf.Tensor ? grad : float32Tensor(grad, `The gradient of ${this.name}`);
    if (!tf.util.arraysEqual(tensor.shape, this.value.shape)) {
      const shape = `[${tensor.shape.join(', ')}]`;
      if (!(grad instanceof tf.Tensor)) tensor.dispose();
      throw new Error(`Gradient of ${this.name} has shape ${shape}, expected [${this.value.shape.join(', ')}].`);
    }
    this.gradient?.dispose();
    this.gradient = tf.keep(tensor);
  }

  clearGrad(): void {
    this.gradient?.dispose();
    this.gradient = null;
  }

  dispose(): void {
    this.clearGrad();
    this.value.dispose();
  }
}
