import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FFNN } from '../../src/nn/ffnn.ts';
import { crossEntropy } from '../../src/nn/loss.ts';
import { verdictsSettled } from '../../src/core/op.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { RMSProp } from '../../src/optim/rmsprop.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';

const OPTIMIZERS: Record<string, (net: FFNN) => Optimizer> = {
  'SGD with momentum and weight decay': (net) => new SGD(net.parameters(), { lr: 0.01, momentum: 0.9, beta: 1e-4 }),
  RMSProp: (net) => new RMSProp(net.parameters()),
  Adam: (net) => new Adam(net.parameters()),
};

describe.each(BACKENDS_UNDER_TEST)('tensor memory on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name}: the tensor count is the same before and after 100 training steps, and zero after dispose`, async () => {
      const start = tf.memory().numTensors;
      const net = new FFNN(20, [16, 12, 8], ['relu', 'celu', 'swish', 'softmax'], 4, {
        keepProb: [0.9, 0.8, 0.8, 0.9],
        activationParams: [null, 1, 1, null],
        seed: 8,
      });
      const optimizer = make(net);
      const x = tf.randomNormal([10, 20], 0, 1, 'float32', 1) as tf.Tensor2D;
      const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3, 0, 1], 'int32'), 4), 'float32')) as tf.Tensor2D;
      const trainStep = () => {
        const yPred = net.forward(x);
        tf.dispose(crossEntropy(yPred, y));
        net.backward(x, y, yPred);
        yPred.dispose();
        optimizer.step();
        tf.dispose(net.forward(x, { predict: true }));
      };
      trainStep(); // gradients now exist for every parameter
      // The comparisons of the faster versions with the formulas (src/core/op.ts) keep their probes until they are read.
      await verdictsSettled();
      const before = tf.memory().numTensors;
      for (let i = 1; i <= 100; i++) {
        trainStep();
        // As the training loop does: a GPU backend recycles its per-dispatch resources only once work is read back.
        if (i % 10 === 0) await net.parameters()[0]!.value.data();
      }
      expect(tf.memory().numTensors).toBe(before);
      optimizer.dispose();
      net.dispose();
      tf.dispose([x, y]);
      expect(tf.memory().numTensors).toBe(start);
    });
  }
});
