// A training step as the training loop takes it, inside compiled() or with every operation one by one: what the
// tests of each backend's compiler (graphs on tensorflow, chains on wasm) compare.
import * as tf from '@tensorflow/tfjs-core';
import { FFNN } from '../../src/nn/ffnn.ts';
import type { Parameter } from '../../src/nn/parameter.ts';
import { compiled, setCompiler } from '../../src/core/op.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';

/** A training step of a small network with dropout, as the training loop takes it: inside compiled() or not. */
export function trainer(make: (params: Parameter[]) => Optimizer, { seed = 3, rows = 12 }: { seed?: number; rows?: number } = {}) {
  const net = new FFNN(20, [16, 12], ['relu', 'celu', 'softmax'], 4, { keepProb: [0.8, 0.9, 1], activationParams: [null, 1, null], seed });
  const optimizer = make(net.parameters());
  const data = (n: number) => {
    const x = tf.randomNormal([n, 20], 0, 1, 'float32', n) as tf.Tensor2D;
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 4), 'int32'), 4), 'float32')) as tf.Tensor2D;
    return { x, y };
  };
  const step = (n = rows) => {
    const { x, y } = data(n);
    compiled('trainingStep', () => {
      const yPred = net.forward(x);
      net.backward(x, y, yPred);
      yPred.dispose();
      optimizer.step();
    });
    tf.dispose([x, y]);
  };
  const params = () => net.parameters().map((p) => Array.from(p.value.dataSync()));
  const dispose = () => {
    optimizer.dispose();
    net.dispose();
  };
  return { step, params, dispose, net };
}

/** Runs `work` with the compiler off: every operation one by one, as tfjs-node runs them. */
export function oneByOne<T>(work: () => T): T {
  const compiler = setCompiler(null);
  try {
    return work();
  } finally {
    setCompiler(compiler);
  }
}
