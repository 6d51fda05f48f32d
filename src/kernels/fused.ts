import * as tf from '@tensorflow/tfjs-core';

/**
 * The kit's fused kernels (optimizer updates and activations on wasm and webgpu) do in one kernel what tfjs
 * does in several. Each has an operation-by-operation path that computes the same, which the other backends take,
 * and which this switch selects everywhere, e.g. to compare the two.
 */
let enabled = true;

/** Turns the fused kernels off (or back on). */
export function useFusedKernels(on: boolean): void {
  enabled = on;
}

/** Whether `runFused(kernelName, …)` would run the kernel on the current backend (for float32 inputs). */
export function hasFused(kernelName: string): boolean {
  return enabled && tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** Whether the fused kernels can take these tensors: every one float32 and not empty. */
export function fusable(tensors: Iterable<tf.Tensor>): boolean {
  for (const t of tensors) if (t.dtype !== 'float32' || t.size === 0) return false;
  return true;
}

/** Runs the kernel `kernelName` on the current backend, unchecked: its outputs in order. */
export function runKernelOutputs(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor[] {
  const result = tf.engine().runKernel(kernelName, inputs, attrs);
  return Array.isArray(result) ? result : [result];
}

/**
 * Runs the fused kernel `kernelName` when it is on, the current backend has it, and every input is float32 and not
 * empty: returns its outputs in order, or null so that the caller takes the operation-by-operation path.
 */
export function runFused(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor[] | null {
  if (!hasFused(kernelName) || !fusable(Object.values(inputs))) return null;
  return runKernelOutputs(kernelName, inputs, attrs);
}
