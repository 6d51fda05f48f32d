// The backward pass against tfjs autodiff: `npm test -- backward` checks every case, `npm test -- 1b` those with
// dropout, since dropout's backward pass (the mask multiplied in again) is part of 1b.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ActivationName } from '../../src/nn/activations.ts';
import { FFNN } from '../../src/nn/ffnn.ts';
import { autodiffGradients } from '../helpers/autodiff.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { normals, relativeError } from '../helpers/reference64.ts';

const ACTS: ActivationName[] = ['relu', 'sigmoid', 'tanh', 'celu', 'swish', 'softmax'];
const SIZES = [6, 7, 6, 5, 5, 4, 3];
const BATCH = 8;

/** A network's settings to check backward with: keep probabilities and trained activation parameters. */
export interface BackwardCase {
  label: string;
  keepProb: number[] | undefined;
  activationParams: (number | null)[] | undefined;
}

export const BACKWARD_CASES: BackwardCase[] = [
  { label: 'every activation', keepProb: undefined, activationParams: undefined },
  { label: "trained celu alpha and swish beta: each one's gradient summed over units and samples", keepProb: undefined, activationParams: [null, null, null, 0.8, 1.3, null] },
  { label: 'inverted dropout on every layer', keepProb: [0.9, 0.8, 0.7, 0.75, 0.6, 0.85], activationParams: undefined },
  { label: 'dropout and trained parameters', keepProb: [1, 0.8, 1, 0.7, 0.6, 0.9], activationParams: [null, null, null, 1.4, 0.7, null] },
];

/** Weights drawn here (not by an initializer, 2a's piece) and zero biases, for each layer. */
function weights(seed: number): [number[][], number[]][] {
  const data = normals(seed);
  return SIZES.slice(1).map((nOut, k) => [data.matrix(SIZES[k]!, nOut, 0.7), new Array<number>(nOut).fill(0)]);
}

/** Checks each case's every gradient against tfjs autodiff through the same masks, on every backend under test. */
export function backwardMatchesAutodiff(cases: BackwardCase[]): void {
  describe.each(BACKENDS_UNDER_TEST)('backward on %s', (backend) => {
    beforeAll(() => useBackend(backend));

    for (const { label, keepProb, activationParams } of cases) {
      it(`every gradient matches tfjs autodiff (${label})`, async () => {
        const data = normals(21);
        const net = new FFNN(SIZES[0]!, SIZES.slice(1, -1), ACTS, SIZES.at(-1)!, { keepProb, activationParams, initialWeights: weights(5), seed: 3 });
        const x = tf.tensor2d(data.matrix(BATCH, SIZES[0]!, 1.5));
        const y = tf.cast(tf.oneHot(tf.tensor1d([0, 2, 1, 1, 0, 2, 2, 1], 'int32'), 3), 'float32') as tf.Tensor2D;
        const yPred = net.forward(x);
        const masks = net.lastDropoutMasks();
        expect(masks.filter((m) => m !== null).length).toBe((keepProb ?? []).filter((k) => k < 1).length);
        net.backward(x, y, yPred);
        const expected = autodiffGradients(net, ACTS, x, y, masks);
        const params = net.parameters();
        expect(params.length).toBe(12 + (activationParams ? 2 : 0));
        for (const [i, p] of params.entries()) {
          expect(p.grad, `${p.name}: no gradient`).not.toBeNull();
          expect(p.grad!.shape, p.name).toEqual(p.shape);
          const error = relativeError(await values(p.grad!), await values(expected[i]!));
          expect(error, `${p.name}: relative error ${error.toExponential(2)} against autodiff${keepProb ? ' (is the dropout mask multiplied in again?)' : ''}`).toBeLessThan(1e-4);
        }
        tf.dispose([x, y, yPred, ...expected, ...masks.filter((m) => m !== null)]);
        net.dispose();
      });
    }
  });
}
