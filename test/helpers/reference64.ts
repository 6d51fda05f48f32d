/**
 * Float64 references in plain TypeScript, written apart from the kit's tfjs code: the oracles for its activations,
 * loss and network's forward pass, and random matrices to feed them. Matrices are arrays of rows.
 */
export type Matrix = number[][];

export function matmul(a: Matrix, b: Matrix): Matrix {
  const cols = (b[0] as number[]).length;
  return a.map((row) => {
    const out = new Array<number>(cols).fill(0);
    row.forEach((v, k) => {
      const bk = b[k] as number[];
      for (let j = 0; j < cols; j++) out[j] = (out[j] as number) + v * (bk[j] as number);
    });
    return out;
  });
}

export const transpose = (m: Matrix): Matrix => (m[0] as number[]).map((_, j) => m.map((row) => row[j] as number));
export const sumRows = (m: Matrix): number[] => transpose(m).map((col) => col.reduce((s, v) => s + v, 0));

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

export interface Activation64 {
  f(x: number, p: number): number;
  dfdx(x: number, p: number): number;
  dfdp?: (x: number, p: number) => number;
}

export const ACTIVATIONS64: Record<'relu' | 'sigmoid' | 'tanh' | 'celu' | 'swish', Activation64> = {
  relu: { f: (x) => (x > 0 ? x : 0), dfdx: (x) => (x > 0 ? 1 : 0) },
  sigmoid: { f: sig, dfdx: (x) => sig(x) * (1 - sig(x)) },
  tanh: { f: Math.tanh, dfdx: (x) => 1 - Math.tanh(x) ** 2 },
  celu: {
    f: (x, a) => (x > 0 ? x : a * (Math.exp(x / a) - 1)),
    dfdx: (x, a) => (x > 0 ? 1 : Math.exp(x / a)),
    dfdp: (x, a) => (x > 0 ? 0 : Math.exp(x / a) * (1 - x / a) - 1),
  },
  swish: {
    f: (x, b) => x * sig(b * x),
    dfdx: (x, b) => sig(b * x) + b * x * sig(b * x) * (1 - sig(b * x)),
    dfdp: (x, b) => x * x * sig(b * x) * (1 - sig(b * x)),
  },
};

export function softmaxRows(m: Matrix): Matrix {
  return m.map((row) => {
    const top = Math.max(...row);
    const e = row.map((v) => Math.exp(v - top));
    const total = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / total);
  });
}

export function crossEntropy(q: Matrix, y: Matrix, epsilon = 1e-8): number {
  const perRow = q.map((row, i) => -row.reduce((s, v, j) => s + ((y[i] as number[])[j] as number) * Math.log(Math.max(v, epsilon)), 0));
  return perRow.reduce((s, v) => s + v, 0) / q.length;
}

/** Largest element-wise difference relative to the largest reference magnitude. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Deterministic test data: a small LCG-driven normal generator (independent of the kit's Random). */
export function normals(seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  return {
    uniform,
    normal: () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()),
    matrix(rows: number, cols: number, scale = 1): Matrix {
      return Array.from({ length: rows }, () => Array.from({ length: cols }, () => scale * this.normal()));
    },
  };
}
