import * as tf from '@tensorflow/tfjs-core';
import { Parameter } from '../src/nn/parameter.ts';
import { SGD } from '../src/optim/sgd.ts';
import { weightAndGrad } from './test-data.ts';
import type { Question } from './types.ts';

/** 2b: SGD with momentum (lr 0.1, m 0.9): V ← m·V − lr·grad, p ← p + V; test 1 after one step, test 2 after two. */
export const question: Question = {
  id: '2b',
  title: 'SGD with momentum',
  async run(session) {
    const [weight, grad] = weightAndGrad(await session.getTestData('2b', 1), '2b');
    const p = new Parameter('weight', weight);
    p.setGrad(grad);
    const optimizer = new SGD([p], { lr: 0.1, momentum: 0.9 });
    optimizer.step();
    await session.submit('2b', 1, p.value, 'after one step');
    optimizer.step();
    await session.submit('2b', 2, p.value, 'after two steps');
    optimizer.dispose();
    p.dispose();
    tf.dispose(weight);
  },
};
