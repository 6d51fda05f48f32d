import { describe, expect, it } from 'vitest';
import {
  formatShape,
  inspectNested,
  isClose,
  judge,
  pythonFloatRepr,
  pythonTypeName,
} from '../../grader/protocol.ts';

describe('formatShape', () => {
  it.each([
    [[], '()'],
    [[2], '(2,)'],
    [[3, 3], '(3, 3)'],
    [[50, 50, 1], '(50, 50, 1)'],
  ])('%j prints as %s, as numpy does', (shape, text) => {
    expect(formatShape(shape)).toBe(text);
  });
});

describe('pythonFloatRepr', () => {
  it.each([
    [1, '1.0'],
    [0, '0.0'],
    [0.5, '0.5'],
    [0.96, '0.96'],
    [0.75, '0.75'],
    [1 / 3, '0.3333333333333333'],
    [0.0004, '0.0004'],
    [0.0001, '0.0001'],
    [4e-5, '4e-05'],
    [1.5e-7, '1.5e-07'],
    [123, '123.0'],
    [123.25, '123.25'],
    [1e15, '1000000000000000.0'],
    [1e16, '1e+16'],
    [2.5e120, '2.5e+120'],
    [-0.25, '-0.25'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
  ])('%s prints as %s', (value, text) => {
    expect(pythonFloatRepr(value)).toBe(text);
  });
});

describe('pythonTypeName', () => {
  it.each([
    [[1], "<class 'list'>"],
    ['x', "<class 'str'>"],
    [true, "<class 'bool'>"],
    [null, "<class 'NoneType'>"],
    [{ a: 1 }, "<class 'dict'>"],
    [3, "<class 'int'>"],
    [3.5, "<class 'float'>"],
  ])('%j is %s', (value, name) => {
    expect(pythonTypeName(value)).toBe(name);
  });
});

describe('inspectNested', () => {
  it('reads the shape of regular lists and finds the first leaf that is not a number', () => {
    expect(inspectNested([[1, 2, 3], [4, 5, 6]])).toEqual({ shape: [2, 3], ragged: false });
    expect(inspectNested(7)).toEqual({ shape: [], ragged: false });
    expect(inspectNested([])).toEqual({ shape: [0], ragged: false });
    expect(inspectNested([[1, 'a'], [null, 2]])).toEqual({ shape: [2, 2], ragged: false, firstNonNumber: { value: 'a' } });
  });

  it('reports ragged lists with their regular outer shape', () => {
    expect(inspectNested([[1, 2], [3]])).toEqual({ shape: [2], ragged: true });
    expect(inspectNested([1, [2]])).toEqual({ shape: [2], ragged: true });
    expect(inspectNested([[1], 2])).toEqual({ shape: [2], ragged: true });
  });

  it('handles nesting far deeper than the call stack allows', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(inspectNested(deep).shape).toHaveLength(200_000);
  });
});

describe('isClose (numpy defaults: atol 1e-8, rtol 1e-5 of the expected value)', () => {
  it('accepts up to the absolute tolerance around zero and no further', () => {
    expect(isClose(1e-8, 0)).toBe(true);
    expect(isClose(-1e-8, 0)).toBe(true);
    expect(isClose(1.1e-8, 0)).toBe(false);
  });

  it('scales with the expected value', () => {
    expect(isClose(100.001, 100)).toBe(true);
    expect(isClose(100.0011, 100)).toBe(false);
    expect(isClose(-100.001, -100)).toBe(true);
  });

  it('takes the relative tolerance of the expected value, not of the answer, as numpy does', () => {
    // 1e-5 of 1000 is 0.01; of the answer 1000.01000005 it would be 0.0100001, which would take this answer.
    expect(isClose(1000.01000005, 1000)).toBe(false);
    expect(isClose(1000, 1000.01000005)).toBe(true);
  });

  it('never counts NaN as close, but equal infinities are', () => {
    expect(isClose(NaN, NaN)).toBe(false);
    expect(isClose(NaN, 1)).toBe(false);
    expect(isClose(1, NaN)).toBe(false);
    expect(isClose(Infinity, Infinity)).toBe(true);
    expect(isClose(-Infinity, Infinity)).toBe(false);
    expect(isClose(5, Infinity)).toBe(false);
    expect(isClose(Infinity, 5)).toBe(false);
  });
});

describe('judge: element-wise questions', () => {
  const expected = [
    [1, 2],
    [3, 4],
  ];

  it('passes an exact answer with a full mask and `1.0% correct`', () => {
    expect(judge('2b', [[1, 2], [3, 4]], expected)).toEqual({
      valid: true,
      passed: true,
      mask: [
        [true, true],
        [true, true],
      ],
      comments: '[value] 1.0% correct',
    });
  });

  it('marks each wrong element in a mask with the answer’s nesting', () => {
    expect(judge('2b', [[1, 2.1], [3, 4]], expected)).toEqual({
      valid: true,
      passed: false,
      mask: [
        [true, false],
        [true, true],
      ],
      comments: '[value] 0.75% correct',
    });
    expect(judge('2b', [[0, 0], [0, 0]], expected)).toMatchObject({ passed: false, comments: '[value] 0.0% correct' });
  });

  it('formats the share like Python (24 of 25 is 0.96)', () => {
    const right = Array.from({ length: 25 }, (_, i) => i);
    const answer = right.map((x, i) => (i === 7 ? x + 1 : x));
    expect(judge('1a', answer, right)).toMatchObject({ passed: false, comments: '[value] 0.96% correct' });
  });

  it('accepts tiny errors within the tolerance', () => {
    expect(judge('2c', [[1 + 5e-6, 2], [3, 4 - 3e-5]], expected)).toMatchObject({ passed: true });
  });

  it('refuses any other shape, printed as numpy does', () => {
    expect(judge('2b', [1, 2], expected)).toEqual({
      valid: false,
      message: '[value] Dimensions does not match. Expected: (2, 2), Given: (2,)',
    });
    expect(judge('2b', 5, expected)).toEqual({
      valid: false,
      message: '[value] Dimensions does not match. Expected: (2, 2), Given: ()',
    });
    expect(judge('2b', [[1, 2], [3, 4]].flat().map((x) => [x]), expected)).toMatchObject({
      message: '[value] Dimensions does not match. Expected: (2, 2), Given: (4, 1)',
    });
    expect(judge('2b', [[1, 2], [3]], expected)).toEqual({
      valid: false,
      message: '[value] Dimensions does not match. Expected: (2, 2), Given: (2,) + inhomogeneous part',
    });
  });

  it('refuses elements that are not numbers, naming their Python type', () => {
    expect(judge('2b', [[1, '2'], [3, 4]], expected)).toEqual({
      valid: false,
      message: "[value] Type Error. Expected `float` or `int` but given: <class 'str'>",
    });
    expect(judge('2b', [[1, 2], [null, 4]], expected)).toMatchObject({
      message: "[value] Type Error. Expected `float` or `int` but given: <class 'NoneType'>",
    });
    expect(judge('2b', [[1, 2], [3, true]], expected)).toMatchObject({
      message: "[value] Type Error. Expected `float` or `int` but given: <class 'bool'>",
    });
  });

  it('judges scalars against scalars, and tells a list from a scalar', () => {
    expect(judge('2a', 1.5, 1.5)).toEqual({ valid: true, passed: true, mask: true, comments: '[value] 1.0% correct' });
    expect(judge('2a', 1.6, 1.5)).toEqual({ valid: true, passed: false, mask: false, comments: '[value] 0.0% correct' });
    expect(judge('2a', [1.5], 1.5)).toEqual({
      valid: false,
      message: '[value] Dimensions does not match. Expected: (), Given: (1,)',
    });
  });

  it('answers a very deeply nested list with a shape error instead of throwing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(judge('2b', deep, expected)).toMatchObject({ valid: false });
  });
});

describe('judge: 1b (a maximum)', () => {
  it('passes a number up to the maximum with `[dropout] OK`', () => {
    expect(judge('1b', 0.5, 0.6)).toEqual({ valid: true, passed: true, mask: true, comments: '[dropout] OK' });
    expect(judge('1b', 0.6, 0.6)).toMatchObject({ passed: true });
    expect(judge('1b', 0, 0.6)).toMatchObject({ passed: true });
  });

  it('fails a number over the maximum with the course’s message', () => {
    expect(judge('1b', 0.61, 0.6)).toEqual({
      valid: true,
      passed: false,
      mask: false,
      comments: '[dropout] Given value is greater that allowed maximum value',
    });
    expect(judge('1b', NaN, 0.6)).toMatchObject({ passed: false });
  });

  it('refuses anything but one plain number', () => {
    expect(judge('1b', [0.5], 0.6)).toEqual({
      valid: false,
      message: "[dropout] Type Error. Expected `float` or `int` but given: <class 'list'>",
    });
    expect(judge('1b', '0.5', 0.6)).toMatchObject({
      message: "[dropout] Type Error. Expected `float` or `int` but given: <class 'str'>",
    });
  });
});
