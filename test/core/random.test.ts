import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.ts';

describe('Random (mulberry32)', () => {
  it('repeats for a seed and stays in [0, 1)', () => {
    const a = new Random(42);
    const b = new Random(42);
    const draws = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(draws).size).toBe(1000);
  });

  it('save and restore take a generator back to where it stood, or refuse a state that is no 32-bit number', () => {
    const a = new Random(7);
    a.next();
    const saved = a.save();
    const ahead = [a.next(), a.nextSeed()];
    const b = new Random(12345);
    b.restore(saved);
    expect([b.next(), b.nextSeed()]).toEqual(ahead);
    expect(() => b.restore(2 ** 32)).toThrow('A generator state is a 32-bit whole number, got 4294967296.');
    expect(() => b.restore(1.5)).toThrow('got 1.5');
  });
});
