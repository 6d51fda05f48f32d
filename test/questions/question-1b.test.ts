import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { toAnswerJson } from '../../grader/answer.ts';
import { type GradingClient, GradingSession } from '../../grader/session.ts';
import { question } from '../../questions/1b.ts';
import { FFNN } from '../../src/nn/ffnn.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';

/**
 * 1b is judged against a maximum share of zeros (0.6 in the kit's file), so a share of kept units, a keep
 * probability of 0.6 or no dropout at all would pass it. What the question must submit is the share its network's
 * mask dropped: this test reads that layer's mask for the same network and input and compares.
 */
class RecordingClient implements GradingClient {
  readonly answers: unknown[] = [];
  getTestData(): Promise<unknown> {
    throw new Error('1b fetches no test data');
  }
  async submit(_homework: number | string, _question: string, _test: number | string, answer: unknown): Promise<void> {
    this.answers.push(await toAnswerJson(answer));
  }
  submitCheckSome(): Promise<void> {
    throw new Error('1b submits one test');
  }
}

describe.each(BACKENDS_UNDER_TEST)('question 1b on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('submits the share of the hidden layer that its dropout mask dropped, about a half', async () => {
    const client = new RecordingClient();
    await question.run(new GradingSession(client, { log: () => {} }));
    expect(client.answers).toHaveLength(1);
    const answer = client.answers[0] as number;

    // The question's network and input (1000 sigmoid units kept with probability 0.5, seed 0), its mask read directly.
    const net = new FFNN(10, [1000], ['sigmoid', 'softmax'], 1, { keepProb: [1.0, 0.5], init: 'randn', seed: 0 });
    const sample = tf.randomUniform([1, 10], 0, 1, 'float32', 0) as tf.Tensor2D;
    tf.dispose(net.forward(sample));
    const masks = net.lastDropoutMasks();
    const dropped = (await values(masks[1]!)).filter((v) => v === 0).length / 1000;
    tf.dispose([sample, ...masks.filter((m) => m !== null)]);
    net.dispose();

    expect(dropped).not.toBe(0.5); // else the share kept would be the same number
    expect(answer).toBeCloseTo(dropped, 6);
    // 1000 units each dropped with probability 0.5: the share is within 0.06 of a half but for odds of about 1e-4.
    expect(Math.abs(answer - 0.5)).toBeLessThan(0.06);
  });
});
