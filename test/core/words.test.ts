import { describe, expect, it } from 'vitest';
import { count } from '../../src/core/words.ts';

describe('count', () => {
  it('puts the noun in the plural unless the number is 1', () => {
    expect(count(1, 'epoch')).toBe('1 epoch');
    expect(count(0, 'test')).toBe('0 tests');
    expect(count(10, 'run')).toBe('10 runs');
  });
});
