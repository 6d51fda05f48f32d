import * as tf from '@tensorflow/tfjs-core';
import { Parameter } from '../src/nn/parameter.ts';
import { Adam } from '../src/optim/adam.ts';
import { weightAndGrad } from './test-data.ts';
import type { Question } from './types.ts';

/**
 * 2d: Adam (lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8) with bias correction. Test 1 after one step; after the
 * second, the same answer goes to tests 2 and 3, of which at least one must pass. With the same gradient g at both
 * steps, bias correction makes each step lr·g/(eps + |g|) whatever beta1 and beta2 are, so these tests check the
 * update and its correction, not the betas; the kit's own tests vary the gradient.
 */
export const question: Question = {
  id: '2d',
  title: 'Adam',
  async run(session) {
    const [weight, grad] = weightAndGrad(await session.getTestData('2d', 1), '2d');
    const p = new Parameter('weight', weight);
    p.setGrad(grad);
    const optimizer = new Adam([p], { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    optimizer.step();
    await session.submit('2d', 1, p.value, 'after one step');
    optimizer.step();
    await session.submitCheckSome('2d', [2, 3], { 2: p.value, 3: p.value }, 1);
    optimizer.dispose();
    p.dispose();
    tf.dispose(weight);
  },
};
