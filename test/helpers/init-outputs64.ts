// The recorded outputs of questions/init-outputs.json: Xavier and He of a given draw r, in float64, and the same by
// the wrong versions students write, by name. test/nn checks the committed file against this; the student edition
// judges by the file alone.
import type { InitOutputs } from '../../questions/checks.ts';
import { normals } from './reference64.ts';

export function recordInitOutputs(): InitOutputs {
  // n_in and n_out apart, so that a factor taken from the wrong one shows (the course's test is 50 × 50).
  const [nIn, nOut] = [3, 7];
  const r = normals(62042).matrix(nIn, nOut, 1).map((row) => row.map(Math.fround));
  const times = (factor: number) => r.map((row) => row.map((v) => v * factor));
  return {
    nIn,
    nOut,
    r,
    xavier: times(Math.sqrt(1 / nIn)),
    he: times(Math.sqrt(2 / nIn)),
    variants: {
      xavier: [
        { name: 'Xavier with n_out in place of n_in', values: times(Math.sqrt(1 / nOut)) },
        { name: "Xavier with He's 2/n_in", values: times(Math.sqrt(2 / nIn)) },
        { name: 'Xavier without the square root, r·(1/n_in)', values: times(1 / nIn) },
      ],
      he: [
        { name: "He with Xavier's 1/n_in", values: times(Math.sqrt(1 / nIn)) },
        { name: 'He with n_out in place of n_in', values: times(Math.sqrt(2 / nOut)) },
        { name: 'He without the square root, r·(2/n_in)', values: times(2 / nIn) },
      ],
    },
  };
}

