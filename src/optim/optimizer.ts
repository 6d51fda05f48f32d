import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../nn/parameter.ts';
import { op } from '../core/op.ts';

/** The optimizer's state by name: per name, one tensor per parameter (velocity V, moving averages P and S). */
export type OptimizerState = Readonly<Record<string, readonly tf.Variable[]>>;

/** A parameter with its gradient, and its index among the optimizer's parameters (its state's index). */
export interface ParameterToUpdate {
  p: Parameter;
  grad: tf.Tensor;
  i: number;
}

/**
 * An optimizer updates its parameters in place from their gradients. State (velocities, moving averages) is made
 * once, one tensor per parameter, named in `state`, and freed by `dispose()`; a parameter without a gradient is left
 * alone. A subclass writes its formula with tfjs operations in `update`.
 */
export abstract class Optimizer {
  protected readonly params: readonly Parameter[];
  /** Steps taken so far (Adam's t). */
  protected t = 0;

  constructor(parameters: Iterable<Parameter>) {
    this.params = [...parameters];
    if (this.params.length === 0) throw new Error(`${this.constructor.name}: no parameters to optimize.`);
  }

  /** The state, by name (empty for an optimizer without state). */
  abstract readonly state: OptimizerState;

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    this.t += 1;
    const withGrad = this.params.flatMap((p, i) => (p.grad ? [{ p, grad: p.grad, i }] : []));
    tf.tidy(() => updateParameters(this, withGrad));
  }

  /** Updates parameter `i` (and its state) from its gradient: the optimizer's formula, inside step's tidy. */
  abstract update(p: Parameter, grad: tf.Tensor, i: number): void;

  /** Takes up the step count saved in a checkpoint, with the state tensors restored. */
  restoreSteps(steps: number): void {
    if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`${this.constructor.name}: a step count must be a whole number, got ${steps}.`);
    this.t = steps;
  }

  /** The state's tensors, name by name in the order `state` lists them: what a checkpoint saves and restores in place. */
  stateTensors(): tf.Variable[] {
    return Object.values(this.state).flat();
  }

  /** Frees the optimizer's state, not the parameters. */
  dispose(): void {
    tf.dispose(this.stateTensors());
  }
}

/** One optimizer step over the parameters that have a gradient, each by the optimizer's `update`. */
export const updateParameters = op('updateParameters', (optimizer: Optimizer, parameters: ParameterToUpdate[]): void => {
  for (const { p, grad, i } of parameters) optimizer.update(p, grad, i);
});

/** One zero tensor per parameter, shaped like it, for optimizer state. */
export function zerosLike(parameters: readonly Parameter[]): tf.Variable[] {
  return parameters.map((p) => tf.tidy(() => tf.variable(tf.zeros(p.shape), false)));
}

/** A hyper-parameter check with the one-line message the kit uses everywhere. */
export function checkOption(owner: string, name: string, value: number, valid: boolean, range: string): void {
  if (!Number.isFinite(value) || !valid) throw new Error(`${owner}: ${name} must be ${range}, got ${value}.`);
}
