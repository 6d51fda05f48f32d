// 1b, inverted dropout (src/nn/dropout.ts): `npm test -- 1b`.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { toAnswerJson } from '../../grader/answer.ts';
import { type GradingClient, GradingSession } from '../../grader/session.ts';
import { question } from '../../questions/1b.ts';
import { dropoutChecks } from '../../questions/checks.ts';
import { applyInvertedDropout, invertedDropoutMask } from '../../src/nn/dropout.ts';
import { FFNN } from '../../src/nn/ffnn.ts';
import { BACKENDS_UNDER_TEST, useBackend, values } from '../helpers/backends.ts';
import { BACKWARD_CASES, backwardMatchesAutodiff } from './backward-check.ts';
import { questionPasses } from './check.ts';

questionPasses('1b');
// Dropout's backward pass, the mask multiplied in again (in the backward piece's code).
backwardMatchesAutodiff(BACKWARD_CASES.filter((c) => c.keepProb !== undefined));

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

describe.each(BACKENDS_UNDER_TEST)('inverted dropout on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('a mask holds 0 and 1/keep only, keeps about keep of the units, and is the same for the same seed', async () => {
    for (const keep of [0.5, 0.8, 0.3]) {
      const mask = await values(invertedDropoutMask([200, 100], keep, 11));
      expect([...new Set(mask)].sort(), `keep ${keep}: the values of the mask, 0 and 1/keep`).toEqual([0, Math.fround(1 / keep)].sort());
      // 20000 units each kept with probability keep: the share is within 0.015 of it but for odds below 1e-6.
      const kept = mask.filter((v) => v !== 0).length / mask.length;
      expect(Math.abs(kept - keep), `keep ${keep}: the share of units kept is ${kept.toFixed(4)}, expected ${keep} ± 0.015`).toBeLessThan(0.015);
      expect(await values(invertedDropoutMask([200, 100], keep, 11))).toEqual(mask);
      expect(await values(invertedDropoutMask([200, 100], keep, 12))).not.toEqual(mask);
    }
  });

  it("passes 1b's own checks, as npm run submit 1b runs them: masks of 0 and 1/keep keeping about keep, applied as returned, and a backward pass that gives dropped units no gradient", async () => {
    expect(await dropoutChecks()).toEqual([]);
  });

  it('applying it multiplies by the mask it returns, and keeps the mean activation (inverted: no rescaling later)', async () => {
    const h = tf.fill([300, 200], 2) as tf.Tensor2D;
    const { output, mask } = applyInvertedDropout(h, 0.6, 5);
    expect(await values(output)).toEqual(await values(tf.mul(h, mask)));
    expect(await values(mask)).toEqual(await values(invertedDropoutMask([300, 200], 0.6, 5)));
    const mean = (await values(output)).reduce((s, v) => s + v, 0) / output.size;
    expect(Math.abs(mean - 2)).toBeLessThan(0.04);
    tf.dispose([h, output, mask]);
  });
});
