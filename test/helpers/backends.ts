import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, selectBackend, usableBackends } from '../../src/backends/select.ts';

/**
 * The backends the numeric tests run on: every one the automatic choice would consider here (wasm and cpu at least;
 * webgpu where a hardware GPU is found), or the list in CC6204_TEST_BACKENDS (comma-separated): CI names webgpu to
 * test it on Mesa's software driver, a GPU machine names it alone.
 */
async function testBackends(): Promise<BackendName[]> {
  const listed = process.env.CC6204_TEST_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (listed?.length) return listed as BackendName[];
  return usableBackends(undefined, { automatic: true });
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
