/**
 * Named operations: the places where the homework's reference formulas let a faster implementation of the same
 * formula take over, as a tfjs op finds a backend's kernel by name. A formula file defines its operation with
 * `op(name, reference)` and imports no fast path; src/accel registers faster versions with `setFaster` when a backend
 * is chosen. A faster version may decline a call (by returning null): the reference then runs. `useFusedKernels(false)`
 * turns them all off, so that the reference formulas run alone.
 */

type Fn<A extends unknown[], R> = (...args: A) => R;

/** A named operation: called like its reference formula, which it runs unless a faster version takes the call. */
export interface Op<A extends unknown[], R> {
  (...args: A): R;
  readonly opName: string;
  /** The formula itself, whatever faster version is registered. */
  readonly reference: Fn<A, R>;
}

/** A faster version of an operation: the same result, or null to leave this call to the reference. */
export type Faster<A extends unknown[], R> = (...args: A) => R | null;

const faster = new Map<string, Faster<never[], unknown>>();
let enabled = true;

/** Defines the operation `opName` by its reference formula. */
export function op<A extends unknown[], R>(opName: string, reference: Fn<A, R>): Op<A, R> {
  const run = (...args: A): R => {
    const fast = enabled ? (faster.get(opName) as Faster<A, R> | undefined) : undefined;
    if (fast) {
      const result = fast(...args);
      if (result !== null) return result;
    }
    return reference(...args);
  };
  return Object.assign(run, { opName, reference });
}

/** Registers (or with null, removes) the faster version of `operation`. */
export function setFaster<A extends unknown[], R>(operation: Op<A, R>, version: Faster<A, R> | null): void {
  if (version) faster.set(operation.opName, version as Faster<never[], unknown>);
  else faster.delete(operation.opName);
}

/** Whether a faster version of `operation` is registered (whether or not they are turned on). */
export function hasFaster(operation: Op<never[], unknown>): boolean {
  return faster.has(operation.opName);
}

/** Turns the faster versions off, so that every operation runs its reference formula (or back on). */
export function useFusedKernels(on: boolean): void {
  enabled = on;
}

/** Whether the faster versions are on (see useFusedKernels). */
export function fusedKernelsOn(): boolean {
  return enabled;
}
