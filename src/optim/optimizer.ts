import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../nn/parameter.ts';

/**
 * An optimizer updates its parameters in place from their gradients. State (velocities, moving averages) is made
 * once, one tensor per parameter, and freed by `dispose()`; a parameter without a gradient is left alone.
 */
export abstract class Optimizer {
  protected readonly params: readonly Parameter[];

  constructor(parameters: Iterable<Parameter>) {
    this.params = [...parameters];
    if (this.params.length === 0) throw new Error(`${this.constructor.name}: no parameters to optimize.`);
  }

  abstract step(): void;

  /** Frees the optimizer's state, not the parameters. */
  abstract dispose(): void;
}

/** One zero tensor per parameter, shaped like it, for optimizer state. */
export function zerosLike(parameters: readonly Parameter[]): tf.Variable[] {
  return parameters.map((p) => tf.tidy(() => tf.variable(tf.zeros(p.shape), false)));
}

/** A hyper-parameter check with the one-line message the kit uses everywhere. */
export function checkOption(owner: string, name: string, value: number, valid: boolean, range: string): void {
  if (!Number.isFinite(value) || !valid) throw new Error(`${owner}: ${name} must be ${range}, got ${value}.`);
}
