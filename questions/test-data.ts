import * as tf from '@tensorflow/tfjs-core';

/** Nested lists of numbers as the autograder sends them: a matrix, a vector or deeper. */
type NumberList = number | NumberList[];

function isNumberList(value: unknown): value is NumberList {
  return typeof value === 'number' ? Number.isFinite(value) : Array.isArray(value) && value.every(isNumberList);
}

/** The shape of a nested list whose rows all have the same length at every depth; undefined if it is ragged. */
function shapeOf(value: NumberList): number[] | undefined {
  if (!Array.isArray(value)) return [];
  const shapes = value.map(shapeOf);
  const first = shapes[0] ?? [];
  const same = shapes.every((shape) => shape !== undefined && shape.length === first.length && shape.every((n, i) => n === first[i]));
  return same ? [value.length, ...first] : undefined;
}

/** The test data as a float32 tensor, or a clear error saying what the server sent instead. */
export function asTensor(value: unknown, what: string): tf.Tensor {
  if (!Array.isArray(value) || !isNumberList(value)) {
    throw new Error(`The server's test data for ${what} is not a list of numbers: ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  // Checked here: in production mode, which the kit turns on, tfjs takes a ragged list without a word.
  const shape = shapeOf(value);
  if (shape === undefined) throw new Error(`The server's test data for ${what} is a ragged list, not a matrix.`);
  return tf.tensor(value, shape, 'float32');
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
