import * as tf from '@tensorflow/tfjs-core';

/**
 * `tf.tidy` for a function that returns a structure of tensors (objects, arrays, nulls): everything the function
 * made is freed except the tensors reachable from what it returns. tfjs types that return value loosely.
 */
export function tidyKeeping<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}
