// The recorded optimizer steps of questions/optimizer-steps.json, computed by the float64 optimizers: three
// steps with gradients that change from step to step (the course's tests repeat one gradient), parameters of three
// shapes, and the same steps by the wrong versions students write, by name. test/optim checks the committed file
// against this; the student edition judges by the file alone.
import type { OptimizerCase } from '../../questions/checks.ts';
import { type AdamMistake, adam64, type RmspropMistake, rmsprop64, type SgdMistake, sgd64 } from './optimizers64.ts';
import { normals } from './reference64.ts';

const STEP_SHAPES = [[5, 4], [7], []] as const;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function recordOptimizerSteps(): OptimizerCase[] {
  const data = normals(2026);
  const flat = (scale: number) => STEP_SHAPES.map((shape) => data.matrix(1, sizeOf(shape), scale)[0]!.map(Math.fround));
  const cases: Omit<OptimizerCase, 'shapes' | 'initial' | 'grads' | 'after' | 'variants'>[] = [
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
    const o = c.options;
    const run = (steps: number[][][], mistake?: Mistake) => {
      if (c.optimizer === 'SGD') return sgd64(initial, steps, { lr: o.lr!, beta: o.beta, momentum: o.momentum }, mistake as SgdMistake);
      if (c.optimizer === 'RMSProp') return rmsprop64(initial, steps, { lr: o.lr!, beta: o.beta!, epsilon: o.epsilon! }, mistake as RmspropMistake);
      return adam64(initial, steps, { lr: o.lr!, beta1: o.beta1!, beta2: o.beta2!, epsilon: o.epsilon! }, mistake as AdamMistake);
    };
    const steps = (mistake?: Mistake) => grads.map((_, k) => run(grads.slice(0, k + 1), mistake));
    const mistakes = MISTAKES[c.optimizer].filter(([mistake]) => (mistake.includes('decay') ? (o.beta ?? 0) > 0 : true) && (mistake === 'sign' || mistake === 'no momentum' ? (o.momentum ?? 0) > 0 : true));
    const variants = mistakes.map(([mistake, name]) => ({ name, after: steps(mistake) }));
    return { ...c, shapes: STEP_SHAPES.map((shape) => [...shape]), initial, grads, after: steps(), variants };
  });
}

type Mistake = SgdMistake | RmspropMistake | AdamMistake;

/** The wrong versions recorded, by optimizer, each with the name a check gives it. */
const MISTAKES: Record<OptimizerCase['optimizer'], [Mistake, string][]> = {
  SGD: [
    ['textbook decay', 'SGD with the textbook weight decay, p·(1 − lr·beta), not the course\'s (1 − beta)·p'],
    ['no decay', 'SGD without the weight decay'],
    ['sign', 'momentum with its sign turned, V ← m·V + lr·grad'],
    ['no momentum', 'SGD without the momentum'],
  ],
  RMSProp: [
    ['epsilon inside', 'RMSProp with epsilon inside the square root, lr/√(S + eps)'],
    ['no (1 - beta)', 'RMSProp with S ← beta·S + grad², without (1 − beta)'],
  ],
  Adam: [
    ['t per parameter', 'Adam with t counted per parameter, not once a step: is t counted in update?'],
    ['no bias correction', 'Adam without the bias correction'],
    ['epsilon inside', 'Adam with epsilon inside the square root, lr/√(Ŝ + eps)'],
  ],
};
