// The course's optimizers in plain float64, written apart from src/optim: the oracle of test/optim.

/**
 * Optimizer references over lists of flat parameters, float64, following the course's formulas; `mistake` gives
 * instead one of the wrong versions students write (MISTAKES), for the checks to recognise by name.
 */
export function sgd64(
  params: number[][],
  grads: number[][][],
  { lr, beta = 0, momentum = 0 }: { lr: number; beta?: number; momentum?: number },
  mistake?: SgdMistake,
) {
  const p = params.map((x) => [...x]);
  const v = params.map((x) => x.map(() => 0));
  for (const stepGrads of grads) {
    p.forEach((x, i) => {
      const g = stepGrads[i] as number[];
      const vi = v[i] as number[];
      x.forEach((value, j) => {
        const gj = g[j] as number;
        vi[j] = momentum * (vi[j] as number) + (mistake === 'sign' ? lr * gj : -lr * gj);
        const decayed = mistake === 'textbook decay' ? (1 - lr * beta) * value : mistake === 'no decay' ? value : (1 - beta) * value;
        x[j] = decayed + (momentum > 0 && mistake !== 'no momentum' ? vi[j] : -lr * gj);
      });
    });
  }
  return p;
}

export function rmsprop64(
  params: number[][],
  grads: number[][][],
  { lr, beta, epsilon }: { lr: number; beta: number; epsilon: number },
  mistake?: RmspropMistake,
) {
  const p = params.map((x) => [...x]);
  const s = params.map((x) => x.map(() => 0));
  for (const stepGrads of grads) {
    p.forEach((x, i) => {
      const g = stepGrads[i] as number[];
      const si = s[i] as number[];
      x.forEach((value, j) => {
        const gj = g[j] as number;
        si[j] = beta * (si[j] as number) + (mistake === 'no (1 - beta)' ? 1 : 1 - beta) * gj * gj;
        x[j] = value - (lr / (mistake === 'epsilon inside' ? Math.sqrt(si[j] + epsilon) : epsilon + Math.sqrt(si[j]))) * gj;
      });
    });
  }
  return p;
}

export function adam64(
  params: number[][],
  grads: number[][][],
  { lr, beta1, beta2, epsilon }: { lr: number; beta1: number; beta2: number; epsilon: number },
  mistake?: AdamMistake,
) {
  const p = params.map((x) => [...x]);
  const m = params.map((x) => x.map(() => 0));
  const s = params.map((x) => x.map(() => 0));
  grads.forEach((stepGrads, step) => {
    p.forEach((x, i) => {
      // t counted once a step; counted by every parameter's update, it runs ahead for all but the first.
      const t = mistake === 't per parameter' ? step * p.length + i + 1 : step + 1;
      const [c1, c2] = mistake === 'no bias correction' ? [1, 1] : [1 - beta1 ** t, 1 - beta2 ** t];
      const g = stepGrads[i] as number[];
      const mi = m[i] as number[];
      const si = s[i] as number[];
      x.forEach((value, j) => {
        const gj = g[j] as number;
        mi[j] = beta1 * (mi[j] as number) + (1 - beta1) * gj;
        si[j] = beta2 * (si[j] as number) + (1 - beta2) * gj * gj;
        const mHat = (mi[j] as number) / c1;
        const sHat = (si[j] as number) / c2;
        x[j] = value - (lr / (mistake === 'epsilon inside' ? Math.sqrt(sHat + epsilon) : epsilon + Math.sqrt(sHat))) * mHat;
      });
    });
  });
  return p;
}

export type SgdMistake = 'textbook decay' | 'no decay' | 'sign' | 'no momentum';
export type RmspropMistake = 'epsilon inside' | 'no (1 - beta)';
export type AdamMistake = 't per parameter' | 'no bias correction' | 'epsilon inside';
