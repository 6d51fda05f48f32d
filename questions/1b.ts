import * as tf from '@tensorflow/tfjs-core';
import { FFNN } from '../src/nn/ffnn.ts';
import type { Question } from './types.ts';

/**
 * 1b: inverted dropout. A network with one 1000-unit sigmoid hidden layer whose output is kept with probability
 * 0.5; the answer is the share of that layer's units zeroed for one input (about a half; the server sets a maximum).
 */
export const question: Question = {
  id: '1b',
  title: 'Inverted dropout',
  async run(session) {
    const seed = 0;
    const net = new FFNN(10, [1000], ['sigmoid', 'softmax'], 1, { keepProb: [1.0, 0.5], init: 'randn', seed });
    const share = tf.tidy(() => {
      const sample = tf.randomUniform([1, 10], 0, 1, 'float32', seed) as tf.Tensor2D;
      const hidden = net.forward(sample, { outputLayer: 0 });
      // Sigmoid is never exactly 0, so every zero here is a dropped unit.
      return tf.mean(tf.cast(tf.equal(hidden, 0), 'float32'));
    });
    net.dispose();
    await session.submit('1b', 1, share, 'the share of units dropped');
    share.dispose();
  },
};
