import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, selectBackend, usableBackends } from '../../src/backend.ts';

/**
 * The backends the numeric tests run on: every one that loads here (wasm and cpu at least), or the list in
 * CC6204_TEST_BACKENDS (comma-separated), e.g. to run them on a GPU machine.
 */
async function testBackends(): Promise<BackendName[]> {
  const listed = process.env.CC6204_TEST_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (listed?.length) return listed as BackendName[];
  return usableBackends();
}

export const BACKENDS_UNDER_TEST = await testBackends();

/** Whether Dawn's binding (npm package webgpu, an optional dependency) is installed, GPU or not. */
export const DAWN_INSTALLED = await import('webgpu').then(
  () => true,
  () => false,
);

export async function useBackend(name: BackendName): Promise<void> {
  await selectBackend(name);
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not become current`);
}

/** A tensor's values as a plain array, for comparing with the float64 references (read asynchronously: webgpu has no synchronous read in Node.js). */
export const values = async (t: tf.Tensor): Promise<number[]> => Array.from(await t.data());
