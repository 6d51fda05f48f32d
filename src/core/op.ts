/**
 * Named operations: the places where the homework's reference formulas let a faster implementation of the same
 * formula take over, as a tfjs op finds a backend's kernel by name. A formula file defines its operation with
 * `op(name, reference)` and imports no fast path; src/accel registers faster versions with `setFaster` when a backend
 * is chosen. A faster version may decline a call (by returning null): the reference then runs. `useFusedKernels(false)`
 * turns them all off, so that the reference formulas run alone.
 *
 * The formula in the source is the truth. A faster version is a second copy of a formula, and the formula can be
 * edited (a student's work) or replaced (a subclass, an object of one's own), so a faster version takes a call only
 * once it has been seen to compute what the formula computes now: the first time a call comes with given settings (the
 * optimizer's class and hyper-parameters, the activation, the keep probability, the backend), both run on small probe
 * inputs made for those settings and their results are compared. Where they differ, one line says so, once, and the
 * formula runs as written for every call with those settings. Where the backend cannot read a tensor at once
 * (webgpu), the formula runs while the comparison is read.
 */
import * as tf from '@tensorflow/tfjs-core';

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

/** How a faster version is held to the formula: what a verdict depends on, and the probe that gives it. */
export interface Check<A extends unknown[], R> {
  /**
   * The settings of a call that the agreement depends on, beyond the formula's code: calls whose settings are equal
   * (objects and functions by identity, other values by value) share one verdict.
   */
  settings(...args: A): readonly unknown[];
  /**
   * Calls `run` (the formula, then the faster version) on small inputs made afresh with the settings of `args`, as
   * many times as the check needs, and returns the tensors to compare, or null where `run` returned null.
   */
  probe(run: Fn<A, R | null>, args: A): tf.Tensor[] | null;
  /** What the line says when they differ: the formula's name and the faster version's. */
  names(...args: A): { formula: string; faster: string };
  /** Whether the probes' values agree; by default element by element within float32 rounding (`close`). */
  agree?(formula: Float32Array[], fast: Float32Array[]): boolean;
}

interface Registered<A extends unknown[], R> {
  version: Faster<A, R>;
  check: Check<A, R>;
}

/** A verdict: the faster version agrees, differs (or cannot run the probe), or is being compared. */
type Verdict = 'agrees' | 'differs' | 'declines' | 'pending';

const faster = new Map<string, Registered<never[], unknown>>();
/** Verdicts by operation, then by the settings, one level of the tree per setting. */
const verdicts = new Map<string, VerdictTree>();
interface VerdictTree {
  verdict?: Verdict;
  next: Map<unknown, VerdictTree>;
}
const saidOnce = new Set<string>();
/** How many verdicts each operation holds, and the most it takes: see verdictFor. */
const verdictCounts = new Map<string, number>();
const MAX_VERDICTS = 64;
/** The comparisons being read (webgpu's). */
const pending = new Set<Promise<unknown>>();
let enabled = true;
let say: (line: string) => void = (line) => console.warn(line);

/** Defines the operation `opName` by its reference formula. */
export function op<A extends unknown[], R>(opName: string, reference: Fn<A, R>): Op<A, R> {
  const run = (...args: A): R => {
    const fast = enabled ? (faster.get(opName) as Registered<A, R> | undefined) : undefined;
    if (fast && verdictFor(opName, reference, fast, args) === 'agrees') {
      const result = fast.version(...args);
      if (result !== null) return result;
    }
    return reference(...args);
  };
  return Object.assign(run, { opName, reference });
}

/** Registers (or with null, removes) the faster version of `operation`, held to the formula by `check`. */
export function setFaster<A extends unknown[], R>(operation: Op<A, R>, version: Faster<A, R> | null, check?: Check<A, R>): void {
  verdicts.delete(operation.opName);
  verdictCounts.delete(operation.opName);
  if (!version) {
    faster.delete(operation.opName);
    return;
  }
  if (!check) throw new Error(`setFaster(${operation.opName}): a faster version needs a check that holds it to the formula.`);
  faster.set(operation.opName, { version, check } as unknown as Registered<never[], unknown>);
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

/** Where the line saying that a formula and its faster version differ goes (stderr by default); the previous one. */
export function onFormulaDiffers(sink: (line: string) => void): (line: string) => void {
  const before = say;
  say = sink;
  return before;
}

/** Resolves once the comparisons being read have given their verdicts (on webgpu; at once elsewhere). */
export async function verdictsSettled(): Promise<void> {
  while (pending.size > 0) await Promise.all(pending);
}

/**
 * Compares the faster version of `operation` with its formula for calls with the settings of `args`, without running
 * the operation (the arguments the settings do not depend on may be anything); resolves once the verdict is in.
 */
export async function settle<A extends unknown[], R>(operation: Op<A, R>, ...args: A): Promise<void> {
  const fast = enabled ? (faster.get(operation.opName) as Registered<A, R> | undefined) : undefined;
  if (fast) verdictFor(operation.opName, operation.reference, fast, args);
  await verdictsSettled();
}

/** Forgets every verdict and every line said, so that the next calls compare again (after a formula is replaced). */
export function forgetVerdicts(): void {
  verdicts.clear();
  verdictCounts.clear();
  saidOnce.clear();
}

/** The largest difference allowed, relative to the larger value: float32 rounding in another order. */
const RELATIVE = 1e-4;
/** And in absolute terms, relative to the largest value of the tensor: the rounding of values near 0. */
const ABSOLUTE = 1e-6;

function leaf(opName: string, settings: readonly unknown[]): VerdictTree {
  let node: VerdictTree = verdicts.get(opName) ?? { next: new Map<unknown, VerdictTree>() };
  verdicts.set(opName, node);
  for (const setting of settings) {
    const next: VerdictTree = node.next.get(setting) ?? { next: new Map<unknown, VerdictTree>() };
    node.next.set(setting, next);
    node = next;
  }
  return node;
}

/** What a probe gave: the tensors to compare (null where the version declined), or 'threw'. */
type Probed = tf.Tensor[] | null | 'threw';

function verdictFor<A extends unknown[], R>(opName: string, reference: Fn<A, R>, { version, check }: Registered<A, R>, args: A): Verdict {
  let settings: readonly unknown[];
  try {
    settings = check.settings(...args);
  } catch {
    // Arguments the check cannot read: the formula runs, and says what is wrong with them.
    return 'differs';
  }
  const node = leaf(opName, [reference, tf.getBackend(), ...settings]);
  if (node.verdict) return node.verdict;
  // Settings that change from call to call (a schedule, a counter) would probe every call: past a few, the formula runs.
  const count = (verdictCounts.get(opName) ?? 0) + 1;
  verdictCounts.set(opName, count);
  if (count > MAX_VERDICTS) return (node.verdict = 'differs');
  const probe = (run: Fn<A, R | null>): Probed => {
    try {
      return check.probe(run, args);
    } catch {
      return 'threw';
    }
  };
  // The formula as it stands first: where it throws on the probe (a piece not written yet, say), it runs as written.
  const both = (): [Probed, Probed] => {
    const formula = probe(reference);
    return [formula, formula === 'threw' ? 'threw' : probe(version)];
  };
  const decide = (formula: Float32Array[] | null | 'threw', fast: Float32Array[] | null | 'threw'): Verdict => {
    if (formula === 'threw' || fast === 'threw' || formula === null) return 'differs';
    if (fast === null) return 'declines';
    if ((check.agree ?? close)(formula, fast)) return 'agrees';
    let formulaName = opName;
    let fasterName = 'its faster version';
    try {
      ({ formula: formulaName, faster: fasterName } = check.names(...args));
    } catch {
      // The names are for the line only.
    }
    const line = `${formulaName} differs from ${fasterName}: running ${formulaName.split('.').at(-1) ?? formulaName} as written.`;
    if (!saidOnce.has(line)) {
      saidOnce.add(line);
      say(line);
    }
    return 'differs';
  };
  const readSync = (probed: Probed) => (Array.isArray(probed) ? probed.map((t) => t.dataSync() as Float32Array) : probed);
  if (tf.getBackend() !== 'webgpu') {
    node.verdict = tf.tidy(() => {
      const [formula, fast] = both();
      return decide(readSync(formula), readSync(fast));
    });
    return node.verdict;
  }
  // webgpu reads a tensor only asynchronously: the formula runs until the comparison is read.
  node.verdict = 'pending';
  const [formula, fast] = tf.tidy(() => both() as unknown as tf.TensorContainer) as unknown as [Probed, Probed];
  // Kept past the tidy that this call may run in, until they are read.
  for (const probed of [formula, fast]) if (Array.isArray(probed)) probed.forEach((t) => tf.keep(t));
  const read = (probed: Probed) => (Array.isArray(probed) ? Promise.all(probed.map((t) => t.data() as Promise<Float32Array>)) : Promise.resolve(probed));
  const reading = Promise.all([read(formula), read(fast)])
    .then(([a, b]) => (node.verdict = decide(a, b)))
    .catch(() => (node.verdict = 'differs'))
    .finally(() => {
      for (const probed of [formula, fast]) if (Array.isArray(probed)) tf.dispose(probed);
      pending.delete(reading);
    });
  pending.add(reading);
  return 'pending';
}

/** Whether two lists of tensors' values agree, element by element, within float32 rounding. */
function close(a: Float32Array[], b: Float32Array[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, k) => {
    const y = b[k] as Float32Array;
    if (x.length !== y.length) return false;
    let scale = 0;
    for (const v of x) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < x.length; i++) {
      const [u, v] = [x[i] as number, y[i] as number];
      // A value that is not finite agrees only with the same value (NaN with NaN).
      if (!Number.isFinite(u) || !Number.isFinite(v)) {
        if (u !== v && !(Number.isNaN(u) && Number.isNaN(v))) return false;
      } else if (Math.abs(u - v) > RELATIVE * Math.max(Math.abs(u), Math.abs(v)) + ABSOLUTE * scale) return false;
    }
    return true;
  });
}

/**
 * Runs `body`, the stretch of work `name` (a training step, say), by the compiler a backend set, or as it is. A
 * compiler runs the body's JavaScript as written every time, and may run the tensor operations it calls together, as
 * one graph (src/accel/graphs.ts, on tensorflow): the formulas as they stand, faster.
 */
export function compiled<R>(name: string, body: () => R): R {
  return compiler ? compiler(name, body) : body();
}

/** How a backend runs a named stretch of work: `body` as written, its operations perhaps run together. */
export type Compiler = <R>(name: string, body: () => R) => R;

let compiler: Compiler | null = null;

/** Sets (or with null, removes) the compiler that compiled() calls; the previous one. */
export function setCompiler(next: Compiler | null): Compiler | null {
  const before = compiler;
  compiler = next;
  return before;
}
