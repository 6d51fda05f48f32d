// The recorded optimizer steps of test/fixtures/optimizer-steps.json, computed by the float64 optimizers: three
// steps with gradients that change from step to step (the course's tests repeat one gradient), parameters of three
// shapes. test/optim checks the committed file against this; the student edition judges by the file alone.
import type { OptimizerCase } from '../homework/check.ts';
import { adam64, rmsprop64, sgd64 } from './optimizers64.ts';
import { normals } from './reference64.ts';

const STEP_SHAPES = [[5, 4], [7], []] as const;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function recordOptimizerSteps(): OptimizerCase[] {
  const data = normals(2026);
  const flat = (scale: number) => STEP_SHAPES.map((shape) => data.matrix(1, sizeOf(shape), scale)[0]!.map(Math.fround));
  const cases: Omit<OptimizerCase, 'shapes' | 'initial' | 'grads' | 'after'>[] = [
    { piece: '1a', optimizer: 'SGD', options: { lr: 0.1, beta: 0.1 } },
    { piece: '2b', optimizer: 'SGD', options: { lr: 0.1, momentum: 0.9 } },
    { piece: '2b', optimizer: 'SGD', options: { lr: 0.05, momentum: 0.8, beta: 0.01 } },
    { piece: '2c', optimizer: 'RMSProp', options: { lr: 0.01, beta: 0.9, epsilon: 1e-8 } },
    { piece: '2d', optimizer: 'Adam', options: { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } },
    { piece: '2d', optimizer: 'Adam', options: { lr: 0.003, beta1: 0.5, beta2: 0.9, epsilon: 1e-6 } },
    // A large epsilon tells eps + √S from √(S + eps), which agree at 1e-8.
    { piece: '2c', optimizer: 'RMSProp', options: { lr: 0.01, beta: 0.8, epsilon: 0.1 } },
  ];
  return cases.map((c) => {
    const initial = flat(1);
    const grads = [0.5, 2, 0.1].map((scale) => flat(scale));
    const run = (steps: number[][][]) => {
      const o = c.options as Record<string, number>;
      if (c.optimizer === 'SGD') return sgd64(initial, steps, { lr: o.lr!, beta: o.beta, momentum: o.momentum });
      if (c.optimizer === 'RMSProp') return rmsprop64(initial, steps, { lr: o.lr!, beta: o.beta!, epsilon: o.epsilon! });
      return adam64(initial, steps, { lr: o.lr!, beta1: o.beta1!, beta2: o.beta2!, epsilon: o.epsilon! });
    };
    const after = grads.map((_, k) => run(grads.slice(0, k + 1)));
    return { ...c, shapes: STEP_SHAPES.map((shape) => [...shape]), initial, grads, after };
  });
}
