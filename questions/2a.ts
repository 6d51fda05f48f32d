import * as tf from '@tensorflow/tfjs-core';
import { heInit, xavierInit } from '../src/nn/init.ts';
import { asTensor } from './test-data.ts';
import type { Question } from './types.ts';

/** 2a: Xavier, r·√(1/n_in), and He, r·√(2/n_in), of a 50×50 draw r given by the server. */
export const question: Question = {
  id: '2a',
  title: 'Xavier and He initialization',
  async run(session) {
    const rXavier = asTensor(await session.getTestData('2a', 1), '2a test 1') as tf.Tensor2D;
    const rHe = asTensor(await session.getTestData('2a', 2), '2a test 2') as tf.Tensor2D;
    const wXavier = xavierInit(50, 50, rXavier);
    const wHe = heInit(50, 50, rHe);
    await session.submit('2a', 1, wXavier, 'Xavier');
    await session.submit('2a', 2, wHe, 'He');
    tf.dispose([rXavier, rHe, wXavier, wHe]);
  },
};
