import { endianness } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Whether this machine stores a number's low byte first (x86 and ARM: yes), as Float32Array's bytes are in a
 * safetensors file and as the batches' copies read four pixel bytes from one word.
 */
export const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * `tf.tidy` for a function that returns a structure of tensors (objects, arrays, nulls): everything the function
 * made is freed except the tensors reachable from what it returns. tfjs types that return value loosely.
 */
export function tidyKeeping<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}

/**
 * The shape of nested arrays (of numbers or typed arrays) whose rows agree in length at every depth, or undefined
 * where they do not. tfjs in production mode, which the kit turns on, takes the shape from the first row alone.
 */
export function nestedShape(value: unknown): number[] | undefined {
  if (ArrayBuffer.isView(value)) return [(value as unknown as ArrayLike<number>).length];
  if (!Array.isArray(value)) return [];
  const shapes = value.map(nestedShape);
  const first = shapes[0] ?? [];
  const same = shapes.every((shape) => shape !== undefined && shape.length === first.length && shape.every((n, i) => n === first[i]));
  return same ? [value.length, ...first] : undefined;
}

/** `value` as a float32 tensor; a ragged list is an error naming `what`, not a tensor of the wrong numbers. */
export function float32Tensor(value: tf.TensorLike, what: string): tf.Tensor {
  const shape = nestedShape(value);
  if (shape === undefined) throw new Error(`${what}: a ragged list (rows of different lengths), not a tensor.`);
  return tf.tensor(value, shape, 'float32');
}
