/**
 * A small seeded random source (mulberry32). Everything random in the kit (initial weights, dropout masks, batch
 * order) draws from one of these, so a seed reproduces a run on the same backend.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`A random seed must be an integer, got ${seed}.`);
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A fresh 32-bit seed for a tfjs random op, so tensors drawn on the backend follow this generator too. */
  nextSeed(): number {
    return Math.floor(this.next() * 4294967296);
  }
}

/** A seed taken from the clock, for callers that give none. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296);
}
