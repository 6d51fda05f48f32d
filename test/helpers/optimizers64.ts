// The course's optimizers in plain float64, written apart from src/optim: the oracle of test/optim.

/** Optimizer references over lists of flat parameters, float64, following the course's formulas. */
export function sgd64(params: number[][], grads: number[][][], { lr, beta = 0, momentum = 0 }: { lr: number; beta?: number; momentum?: number }) {
  const p = params.map((x) => [...x]);
  const v = params.map((x) => x.map(() => 0));
  for (const stepGrads of grads) {
    p.forEach((x, i) => {
      const g = stepGrads[i] as number[];
      const vi = v[i] as number[];
      x.forEach((value, j) => {
        vi[j] = momentum * (vi[j] as number) - lr * (g[j] as number);
        x[j] = (1 - beta) * value + (momentum > 0 ? vi[j] : -lr * (g[j] as number));
      });
    });
  }
  return p;
}

export function rmsprop64(params: number[][], grads: number[][][], { lr, beta, epsilon }: { lr: number; beta: number; epsilon: number }) {
  const p = params.map((x) => [...x]);
  const s = params.map((x) => x.map(() => 0));
  for (const stepGrads of grads) {
    p.forEach((x, i) => {
      const g = stepGrads[i] as number[];
      const si = s[i] as number[];
      x.forEach((value, j) => {
        const gj = g[j] as number;
        si[j] = beta * (si[j] as number) + (1 - beta) * gj * gj;
        x[j] = value - (lr / (epsilon + Math.sqrt(si[j]))) * gj;
      });
    });
  }
  return p;
}

export function adam64(
  params: number[][],
  grads: number[][][],
  { lr, beta1, beta2, epsilon }: { lr: number; beta1: number; beta2: number; epsilon: number },
) {
  const p = params.map((x) => [...x]);
  const m = params.map((x) => x.map(() => 0));
  const s = params.map((x) => x.map(() => 0));
  grads.forEach((stepGrads, step) => {
    const t = step + 1;
    p.forEach((x, i) => {
      const g = stepGrads[i] as number[];
      const mi = m[i] as number[];
      const si = s[i] as number[];
      x.forEach((value, j) => {
        const gj = g[j] as number;
        mi[j] = beta1 * (mi[j] as number) + (1 - beta1) * gj;
        si[j] = beta2 * (si[j] as number) + (1 - beta2) * gj * gj;
        const mHat = (mi[j]) / (1 - beta1 ** t);
        const sHat = (si[j]) / (1 - beta2 ** t);
        x[j] = value - (lr / (epsilon + Math.sqrt(sHat))) * mHat;
      });
    });
  });
  return p;
}
