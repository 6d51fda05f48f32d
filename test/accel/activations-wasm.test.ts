import { describe, expect, it } from 'vitest';
import { ACTIVATION_KERNELS } from '../../src/accel/activations-wasm.ts';
import { type ActivationExports, WASM_DERIVATIVE, WASM_FORWARD } from '../../src/accel/activations.ts';
import { normals } from '../helpers/reference64.ts';

// activations.wat on a memory of its own, without tfjs: each array followed by guard words, so that a kernel that
// writes past its output shows (inside tfjs it would overwrite a neighbouring tensor, or the allocator's records).
// The elements that do not fill a group of four go through the kernels one at a time: they must come out as they do
// four at a time.

const GUARD_WORDS = 8;
// Negative: celu and swish give back a large positive input as it is.
const SENTINEL = -1234.5;

function module() {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = Buffer.from(ACTIVATION_KERNELS.plain, 'base64');
  const kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as ActivationExports;
  const arrays: { offset: number; length: number }[] = [];
  let next = 64;
  /** An array of `values` (or of that many zeros) in the memory, with guard words after it: its byte offset. */
  const array = (values: number[] | number): number => {
    const length = typeof values === 'number' ? values : values.length;
    const offset = next;
    const view = new Float32Array(memory.buffer, offset, length + GUARD_WORDS);
    view.fill(SENTINEL);
    if (typeof values === 'number') view.fill(0, 0, length);
    else view.set(values);
    arrays.push({ offset, length });
    next += (length + GUARD_WORDS) * 4;
    return offset;
  };
  const read = (offset: number, length: number) => Array.from(new Float32Array(memory.buffer, offset, length));
  const guardsIntact = () => arrays.every(({ offset, length }) => read(offset + length * 4, GUARD_WORDS).every((v) => v === SENTINEL));
  return { kernels, array, read, guardsIntact };
}

const fourTimes = (values: number[]) => values.flatMap((v) => [v, v, v, v]);
const everyFourth = (values: number[]) => values.filter((_, i) => i % 4 === 0);

describe('activations.wat, on a memory of its own', () => {
  for (const n of [1, 3, 4, 5, 7, 13]) {
    it(`forward over ${n} elements: writes exactly n, the ones past a multiple of 4 as the others`, () => {
      const u = normals(30 + n).matrix(1, n, 4)[0]!;
      for (const [activation, a] of [[WASM_FORWARD.celu, 0.7], [WASM_FORWARD.swish, 1.3]] as const) {
        const { kernels, array, read, guardsIntact } = module();
        const [uAt, hAt] = [array(u), array(n)];
        kernels.forward(activation, uAt, hAt, n, a);
        // Each value four times over: all of them go through the four-at-a-time path.
        const [u4At, h4At] = [array(fourTimes(u)), array(4 * n)];
        kernels.forward(activation, u4At, h4At, 4 * n, a);
        expect(read(hAt, n)).toEqual(everyFourth(read(h4At, 4 * n)));
        expect(read(hAt, n).every((h, i) => h !== 0 || u[i] === 0)).toBe(true);
        expect(guardsIntact()).toBe(true);
      }
    });
  }

  for (const [rows, columns] of [[1, 1], [3, 5], [2, 7], [4, 4], [5, 6]] as const) {
    it(`grad over ${rows} × ${columns}: du and the bias gradient written exactly, the row sums in row order in float32`, () => {
      const size = rows * columns;
      const u = normals(40 + size).matrix(1, size, 4)[0]!;
      const dh = normals(41 + size).matrix(1, size, 1)[0]!;
      for (const derivative of Object.values(WASM_DERIVATIVE)) {
        const { kernels, array, read, guardsIntact } = module();
        // The bias gradient's memory starts with stale values, which the kernel must not add to.
        const [dhAt, uAt, duAt, dbAt] = [array(dh), array(u), array(size), array(Array<number>(columns).fill(99))];
        kernels.grad(derivative, dhAt, uAt, duAt, dbAt, rows, columns, 1.1);
        // One row of every value four times over: all of them four at a time.
        const [dh4At, u4At, du4At, db4At] = [array(fourTimes(dh)), array(fourTimes(u)), array(4 * size), array(4 * size)];
        kernels.grad(derivative, dh4At, u4At, du4At, db4At, 1, 4 * size, 1.1);
        const du = read(duAt, size);
        expect(du).toEqual(everyFourth(read(du4At, 4 * size)));
        const sums = Array.from({ length: columns }, (_, c) => {
          let total = 0;
          for (let r = 0; r < rows; r++) total = Math.fround(total + du[r * columns + c]!);
          return total;
        });
        expect(read(dbAt, columns)).toEqual(sums);
        expect(guardsIntact()).toBe(true);
      }
    });
  }
});
