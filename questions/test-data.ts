import * as tf from '@tensorflow/tfjs-core';
import { float32Tensor } from '../src/core/tensors.ts';

/** Nested lists of numbers as the autograder sends them: a matrix, a vector or deeper. */
type NumberList = number | NumberList[];

function isNumberList(value: unknown): value is NumberList {
  return typeof value === 'number' ? Number.isFinite(value) : Array.isArray(value) && value.every(isNumberList);
}

/** The test data as a float32 tensor, or a clear error saying what the server sent instead. */
export function asTensor(value: unknown, what: string): tf.Tensor {
  if (!Array.isArray(value) || !isNumberList(value)) {
    throw new Error(`The server's test data for ${what} is not a list of numbers: ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  return float32Tensor(value, `The server's test data for ${what}`);
}

/** The `[weight, grad]` pair that questions 1a, 2b, 2c and 2d start from, as two tensors of the same shape. */
export function weightAndGrad(data: unknown, question: string): [tf.Tensor, tf.Tensor] {
  if (!Array.isArray(data) || data.length !== 2) {
    throw new Error(`The server's test data for ${question} should be [weight, grad]; got ${JSON.stringify(data)?.slice(0, 80)}`);
  }
  const weight = asTensor(data[0], `${question} (weight)`);
  let grad: tf.Tensor;
  try {
    grad = asTensor(data[1], `${question} (grad)`);
  } catch (error) {
    weight.dispose();
    throw error;
  }
  if (!tf.util.arraysEqual(weight.shape, grad.shape)) {
    const shapes = `[${weight.shape.join(', ')}] and [${grad.shape.join(', ')}]`;
    tf.dispose([weight, grad]);
    throw new Error(`The server's test data for ${question} has weight and grad of different shapes: ${shapes}.`);
  }
  return [weight, grad];
}
