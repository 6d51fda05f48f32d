import * as tf from '@tensorflow/tfjs-core';
import { Parameter } from '../src/nn/parameter.ts';
import { RMSProp } from '../src/optim/rmsprop.ts';
import { weightAndGrad } from './test-data.ts';
import type { Question } from './types.ts';

/** 2c: RMSProp (lr 0.001, beta 0.9, eps 1e-8); test 1 after one step, test 2 after a second with the same grad. */
export const question: Question = {
  id: '2c',
  title: 'RMSProp',
  async run(session) {
    const [weight, grad] = weightAndGrad(await session.getTestData('2c', 1), '2c');
    const p = new Parameter('weight', weight);
    p.setGrad(grad);
    const optimizer = new RMSProp([p], { lr: 0.001, beta: 0.9, epsilon: 1e-8 });
    optimizer.step();
    await session.submit('2c', 1, p.value, 'after one step');
    optimizer.step();
    await session.submit('2c', 2, p.value, 'after two steps');
    optimizer.dispose();
    p.dispose();
    tf.dispose(weight);
  },
};
