import { describe, expect, it } from 'vitest';
import { toAnswerJson } from '../../grader/answer.ts';
import { UserError } from '../../grader/errors.ts';

async function refusal(answer: unknown): Promise<UserError> {
  try {
    await toAnswerJson(answer);
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error('toAnswerJson accepted the answer');
}

describe('toAnswerJson', () => {
  it('passes plain numbers and nested arrays of them', async () => {
    expect(await toAnswerJson(0.25)).toBe(0.25);
    expect(await toAnswerJson(3)).toBe(3);
    expect(await toAnswerJson([[1, 2], [3, 4]])).toEqual([[1, 2], [3, 4]]);
  });

  it('turns typed arrays into plain arrays, keeping the float32 values', async () => {
    const converted = await toAnswerJson(new Float32Array([0.1, -2.5]));
    expect(Array.isArray(converted)).toBe(true);
    expect(converted).toEqual([Math.fround(0.1), -2.5]);
    expect(await toAnswerJson([new Int32Array([1, 2]), new Float64Array([3, 4])])).toEqual([[1, 2], [3, 4]]);
  });

  it('reads tensors through array(), also inside lists, without needing tfjs', async () => {
    const tensor = (value: unknown): { array(): Promise<unknown> } => ({ array: async () => value });
    expect(await toAnswerJson(tensor([[1, 2], [3, 4]]))).toEqual([[1, 2], [3, 4]]);
    expect(await toAnswerJson(tensor(0.5))).toBe(0.5);
    expect(await toAnswerJson([tensor([1]), tensor([2])])).toEqual([[1], [2]]);
  });

  it('refuses NaN and infinities, saying where they are', async () => {
    const nan = await refusal([[1, 2], [NaN, 4]]);
    expect(nan.code).toBe('invalid_answer');
    expect(nan.message).toBe('answer[1][0] is NaN; the autograder only takes finite numbers');
    expect((await refusal([1, 2, Infinity])).message).toMatch(/^answer\[2\] is Infinity;/);
    expect((await refusal(-Infinity)).message).toMatch(/^answer is -Infinity;/);
    expect((await refusal(new Float32Array([0, NaN]))).message).toMatch(/^answer\[1\] is NaN;/);
    expect((await refusal({ array: async () => [[0, NaN]] })).message).toMatch(/^answer\[0\]\[1\] is NaN;/);
  });

  it('refuses anything else, saying what and where', async () => {
    expect((await refusal([1, 'x'])).message).toBe(
      'answer[1] is a string ("x"); the autograder takes numbers, (nested) arrays of numbers, typed arrays and tensors',
    );
    expect((await refusal([[1], [null]])).message).toMatch(/^answer\[1\]\[0\] is null;/);
    expect((await refusal(undefined)).message).toMatch(/^answer is undefined;/);
    expect((await refusal([true])).message).toMatch(/^answer\[0\] is a boolean;/);
    expect((await refusal({ weight: 1 })).message).toMatch(/^answer is an object \(Object\);/);
    expect((await refusal(new BigInt64Array([1n]))).message).toMatch(/^answer\[0\] is a bigint;/);
  });
});
