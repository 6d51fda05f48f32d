import { describe, expect, it } from 'vitest';
import { Random } from '../src/random.ts';

describe('Random (mulberry32)', () => {
  it('repeats for a seed and stays in [0, 1)', () => {
    const a = new Random(42);
    const b = new Random(42);
    const draws = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(draws).size).toBe(1000);
  });
});
