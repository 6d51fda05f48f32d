import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutograderClient } from '../../grader/client.ts';
import { FailedTest, NestedFailedTest } from '../../grader/errors.ts';
import { startLocalGrader, type LocalGrader } from '../../grader/server.ts';
import type { GradingSession } from '../../grader/session.ts';
import { DEFAULT_TEST_FILE, readTestFile } from '../../grader/test-file.ts';
import { Parameter } from '../../src/nn/parameter.ts';
import { Optimizer, zerosLike } from '../../src/optim/optimizer.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { weightAndGrad } from '../../questions/test-data.ts';
import { main } from '../../questions/submit.ts';
import type { Question } from '../../questions/types.ts';
import { Adam } from '../../src/optim/adam.ts';
import { BACKENDS_UNDER_TEST } from '../helpers/backends.ts';

const dir = mkdtempSync(join(tmpdir(), 'cc6204-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function submit(argv: string[], questions?: Question[], backend = 'wasm') {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    log: (l) => out.push(l),
    error: (l) => err.push(l),
    env: { CC6204_BACKEND: backend },
    envFile: join(dir, 'absent.env'),
    ...(questions ? { questions } : {}),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Adam as a student might get it wrong: no bias correction. */
class AdamWithoutBiasCorrection extends Optimizer {
  readonly state = { P: zerosLike(this.params), S: zerosLike(this.params) };
  update(p: Parameter, g: tf.Tensor, i: number): void {
    const [P, S] = [this.state.P[i]!, this.state.S[i]!];
    P.assign(tf.add(tf.mul(P, 0.9), tf.mul(g, 0.1)));
    S.assign(tf.add(tf.mul(S, 0.999), tf.mul(tf.mul(g, g), 0.001)));
    p.value.assign(tf.sub(p.value, tf.mul(tf.div(0.001, tf.add(tf.sqrt(S), 1e-8)), P)));
  }
}

/** Question 2d's steps with another optimizer. */
function adamQuestionWith(make: (p: Parameter[]) => Optimizer): Question {
  return {
    id: '2d',
    title: 'Adam (wrong on purpose)',
    async run(session: GradingSession) {
      const [weight, grad] = weightAndGrad(await session.getTestData('2d', 1), '2d');
      const p = new Parameter('weight', weight);
      p.setGrad(grad);
      const optimizer = make([p]);
      optimizer.step();
      await session.submit('2d', 1, p.value);
      optimizer.step();
      await session.submitCheckSome('2d', [2, 3], { 2: p.value, 3: p.value }, 1);
    },
  };
}

/** Momentum with the wrong sign: V ← m·V + lr·grad. */
const momentumWrongSign: Question = {
  id: '2b',
  title: 'Momentum (wrong on purpose)',
  async run(session) {
    const [weight, grad] = weightAndGrad(await session.getTestData('2b', 1), '2b');
    const p = new Parameter('weight', weight);
    p.setGrad(tf.neg(grad));
    const optimizer = new SGD([p], { lr: 0.1, momentum: 0.9 });
    optimizer.step();
    await session.submit('2b', 1, p.value);
    optimizer.step();
    await session.submit('2b', 2, p.value);
  },
};

describe('npm run submit, end to end against the local autograder', () => {
  it('all: ten Correct Test! and exit 0', async () => {
    const { code, out, err } = await submit(['all']);
    expect(err).toBe('');
    expect(out).toContain('Backend: wasm');
    expect(out).toMatch(/grading with the kit's local autograder at http:\/\/127\.0\.0\.1:\d+/);
    expect(out.split('\n').filter((l) => l === 'Correct Test!')).toHaveLength(10);
    expect(out).toContain('10 of 10 tests passed');
    expect(code).toBe(0);
  });

  it('Adam without bias correction fails every test of 2d and exits 1', async () => {
    const { code, out } = await submit(['2d'], [adamQuestionWith((p) => new AdamWithoutBiasCorrection(p))]);
    expect(code).toBe(1);
    expect(out).not.toContain('Correct Test!');
    expect(out).toMatch(/of 20 elements wrong/);
  });

  // A formula edited in the source is what is graded, whatever faster version the backend has (src/core/op.ts).
  it.each(BACKENDS_UNDER_TEST)('grades Adam.update as it stands: an update that does nothing fails 2d on %s', async (backend) => {
    const kit = Object.getOwnPropertyDescriptor(Adam.prototype, 'update')!;
    Adam.prototype.update = function () {};
    try {
      const { code, out } = await submit(['2d'], undefined, backend);
      expect(out).not.toContain('Correct Test!');
      expect(code).toBe(1);
    } finally {
      Object.defineProperty(Adam.prototype, 'update', kit);
    }
    expect((await submit(['2d'], undefined, backend)).code).toBe(0);
  });

  it('momentum with the wrong sign fails 2b and exits 1', async () => {
    const { code, out } = await submit(['2b'], [momentumWrongSign]);
    expect(code).toBe(1);
    expect(out).not.toContain('Correct Test!');
    expect(out).toContain('0 of 2 tests passed');
  });
});

describe('wrong answers reach the client as FailedTest with a mask of the answer shape', () => {
  let grader: LocalGrader;
  let client: AutograderClient;
  beforeAll(async () => {
    grader = await startLocalGrader({ tests: readTestFile(DEFAULT_TEST_FILE), token: 't' });
    client = new AutograderClient({ baseUrl: grader.url, token: 't', log: () => {} });
  });
  afterAll(async () => {
    await client.close();
    await grader.close();
  });

  it('Adam without bias correction', async () => {
    const [weight, grad] = weightAndGrad(await client.getTestData(3, '2d', 1), '2d');
    const p = new Parameter('weight', weight);
    p.setGrad(grad);
    const adam = new AdamWithoutBiasCorrection([p]);
    adam.step();
    const failure = await client.submit(3, '2d', 1, p.value).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FailedTest);
    const mask = (failure as FailedTest).mask as boolean[][];
    expect([mask.length, mask[0]!.length]).toEqual(weight.shape);
    expect(mask.flat().every((ok) => ok === false)).toBe(true);
    adam.step();
    const nested = await client.submitCheckSome(3, '2d', [2, 3], { 2: p.value, 3: p.value }, 1).catch((e: unknown) => e);
    expect(nested).toBeInstanceOf(NestedFailedTest);
    expect((nested as NestedFailedTest).summary).toBe('You got 0 of the 1 required tests to pass the test');
  });
});
