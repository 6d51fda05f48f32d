import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../nn/parameter.ts';
import { type FusedKernel, fusedUpdates } from './fused.ts';

/** The fused kernel that does an optimizer's `update` (src/optim/fused.ts), and what it reads besides p and grad. */
export interface FusedStep {
  kernel: FusedKernel;
  /** The optimizer's state, in the kernel's input order after the parameter and its gradient: one tensor per parameter each. */
  state: tf.Variable[][];
  constants: Record<string, number>;
}

/**
 * An optimizer updates its parameters in place from their gradients. State (velocities, moving averages) is made
 * once, one tensor per parameter, and freed by `dispose()`; a parameter without a gradient is left alone.
 *
 * A subclass writes its formula with tfjs operations in `update`, and may name in `fusedStep` a kernel that computes
 * the same in one pass (wasm, webgpu), which `step` then takes where the backend has it.
 */
export abstract class Optimizer {
  protected readonly params: readonly Parameter[];
  /** Steps taken so far (Adam's t). */
  protected t = 0;

  constructor(parameters: Iterable<Parameter>) {
    this.params = [...parameters];
    if (this.params.length === 0) throw new Error(`${this.constructor.name}: no parameters to optimize.`);
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    this.t += 1;
    tf.tidy(() => {
      const active = this.params.flatMap((p, i) => (p.grad ? [{ p, grad: p.grad, i }] : []));
      const fusedStep = this.fusedStep();
      if (fusedStep) {
        const { kernel, state, constants } = fusedStep;
        const tensors = active.map(({ p, grad, i }) => [p.value, grad, ...state.map((perParameter) => perParameter[i] as tf.Variable)]);
        const fused = fusedUpdates(kernel, tensors, constants);
        if (fused) {
          active.forEach(({ p, i }, k) => {
            const [value, ...newState] = fused[k] as tf.Tensor[];
            newState.forEach((t, j) => (state[j]?.[i] as tf.Variable).assign(t));
            p.value.assign(value as tf.Tensor);
          });
          return;
        }
      }
      for (const { p, grad, i } of active) this.update(p, grad, i);
    });
  }

  /** Updates parameter `i` from its gradient with tfjs operations (inside step's tidy). */
  protected abstract update(p: Parameter, grad: tf.Tensor, i: number): void;

  /** The fused kernel of this step and its inputs; none by default (an optimizer of your own needs none). */
  protected fusedStep(): FusedStep | null {
    return null;
  }

  /**
   * The tensors of its state, which a checkpoint saves and restores in place: those its fused step reads (an
   * optimizer of your own with state and no fused step names them here).
   */
  stateTensors(): tf.Variable[] {
    return this.fusedStep()?.state.flat() ?? [];
  }

  /** Takes up the step count saved in a checkpoint, with the state tensors restored. */
  restoreSteps(steps: number): void {
    if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`${this.constructor.name}: a step count must be a whole number, got ${steps}.`);
    this.t = steps;
  }

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
