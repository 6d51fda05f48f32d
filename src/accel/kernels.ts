import * as tf from '@tensorflow/tfjs-core';
import { fusedKernelsOn } from '../core/op.ts';
import { storedAsFloat32 } from './wgsl.ts';

/**
 * The kit's own kernels (optimizer updates, activations, dropout, metrics and batches, each on the backends that
 * have it: tensorflow, webgpu, wasm) do in one kernel what the reference formulas do in several tfjs operations.
 * They are registered with tfjs by name for the backends that have them; these helpers run one where the current
 * backend has it.
 */

/** Whether `runFused(kernelName, …)` would run the kernel on the current backend (for float32 inputs). */
export function hasFused(kernelName: string): boolean {
  return fusedKernelsOn() && tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/**
 * Whether the fused kernels can take these tensors: every one float32 and not empty, and on webgpu stored as float32
 * too (see storedAsFloat32).
 */
export function fusable(tensors: Iterable<tf.Tensor>): boolean {
  const onWebgpu = tf.getBackend() === 'webgpu';
  for (const t of tensors) if (t.dtype !== 'float32' || t.size === 0 || (onWebgpu && !storedAsFloat32(t))) return false;
  return true;
}

/** Runs the kernel `kernelName` on the current backend, unchecked: its outputs in order. */
export function runKernelOutputs(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor[] {
  const result = tf.engine().runKernel(kernelName, inputs, attrs);
  return Array.isArray(result) ? result : [result];
}

/**
 * Runs the kernel `kernelName` when it is on, the current backend has it, and every input is float32 and not empty:
 * returns its outputs in order, or null so that the caller takes the reference formula.
 */
export function runFused(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor[] | null {
  if (!hasFused(kernelName) || !fusable(Object.values(inputs))) return null;
  return runKernelOutputs(kernelName, inputs, attrs);
}
