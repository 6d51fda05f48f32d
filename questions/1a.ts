import * as tf from '@tensorflow/tfjs-core';
import { Parameter } from '../src/nn/parameter.ts';
import { SGD } from '../src/optim/sgd.ts';
import { weightAndGrad } from './test-data.ts';
import type { Question } from './types.ts';

/** 1a: one step of SGD with the course's weight decay, p ← (1 − beta)·p − lr·grad, with lr 0.1 and beta 0.1. */
export const question: Question = {
  id: '1a',
  title: 'SGD with weight decay',
  async run(session) {
    const [weight, grad] = weightAndGrad(await session.getTestData('1a', 1), '1a');
    const p = new Parameter('weight', weight);
    p.setGrad(grad);
    const optimizer = new SGD([p], { lr: 0.1, beta: 0.1 });
    optimizer.step();
    await session.submit('1a', 1, p.value, 'one step');
    optimizer.dispose();
    p.dispose();
    tf.dispose(weight);
  },
};
