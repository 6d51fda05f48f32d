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

  /** Where the generator is in its sequence, for a checkpoint; `restore` takes it back there. */
  save(): number {
    return this.state;
  }

  restore(state: number): void {
    if (!(Number.isInteger(state) && state >= 0 && state < 2 ** 32)) throw new Error(`A generator state is a 32-bit whole number, got ${state}.`);
    this.state = state;
  }

  /** A fresh 32-bit seed for a tfjs random op or a dropout mask, so what they draw follows this generator too. */
  nextSeed(): number {
    return Math.floor(this.next() * 4294967296);
  }
}

/**
 * Chris Wellons' lowbias32: a 32-bit integer hash whose output bits each depend on every input bit. Counter-based
 * draws (dropout masks) hash an index instead of advancing a generator; `HASH32_WGSL` is the same function for a
 * shader, so a GPU draws the same numbers.
 */
export function hash32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export const HASH32_WGSL = `fn hash32(value: u32) -> u32 {
  var x = value;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}`;

/** A seed taken from the clock, for callers that give none. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296);
}
