// A training run's state at the end of an epoch, in one file, so that an interrupted run goes on from its last
// finished epoch with the numbers it would have had: the parameters, the optimizer's state and step count, and where
// the network's random source (dropout masks) stands. The batch order needs nothing: it follows from seed and epoch.
//
// The file is safetensors (src/training/safetensors.ts), so Python's safetensors and PyTorch load it: tensors
// `network/<parameter>` and `optimizer/<state>/<parameter index>`, and the rest in its metadata, with a checksum.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { partialPath, removeFolderIfEmpty, writeWhole } from '../core/files.ts';
import type { FFNN } from '../nn/ffnn.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { decodeSafetensors, encodeSafetensors, type NamedValues, SafetensorsError } from './safetensors.ts';

/** What the metadata says the file is: a file of another kind or version is not taken up. */
const FORMAT = 'cc6204-kit checkpoint 2';

export interface TrainingState {
  network: FFNN;
  optimizer: Optimizer;
}

/** Every tensor of the state, by its name in the file, in a fixed order. */
function namedTensors({ network, optimizer }: TrainingState): { name: string; tensor: tf.Variable }[] {
  return [
    ...network.parameters().map((p) => ({ name: `network/${p.name}`, tensor: p.value })),
    ...Object.entries(optimizer.state).flatMap(([state, perParameter]) => perParameter.map((tensor, i) => ({ name: `optimizer/${state}/${i}`, tensor }))),
  ];
}

/** The state of `network` and `optimizer` after `epoch` finished epochs, as the bytes of a checkpoint file. */
export async function encodeCheckpoint(key: string, epoch: number, state: TrainingState): Promise<Buffer> {
  const named = namedTensors(state);
  const values = await Promise.all(named.map(({ tensor }) => tensor.data() as Promise<Float32Array>));
  return encodeSafetensors({
    metadata: {
      format: FORMAT,
      key,
      epoch: String(epoch),
      optimizerSteps: String(state.optimizer.steps),
      randomState: String(state.network.randomState()),
    },
    tensors: named.map(({ name, tensor }, i) => ({ name, shape: tensor.shape, values: values[i] as Float32Array })),
  });
}

/** Writes a checkpoint's bytes to `path` (its folder made if need be), whole or not at all. */
export function writeCheckpoint(path: string, bytes: Buffer): void {
  writeWhole(path, bytes);
}

/** encodeCheckpoint, then writeCheckpoint. */
export async function saveCheckpoint(path: string, key: string, epoch: number, state: TrainingState): Promise<void> {
  writeCheckpoint(path, await encodeCheckpoint(key, epoch, state));
}

/**
 * A trained network alone, as safetensors (`network/<parameter>` tensors, whole or not at all), with `metadata` (the
 * run's settings, say): for Python's safetensors or PyTorch to load.
 */
export async function saveNetwork(path: string, network: FFNN, metadata: Record<string, string>): Promise<void> {
  const parameters = network.parameters();
  const values = await Promise.all(parameters.map((p) => p.value.data() as Promise<Float32Array>));
  const tensors = parameters.map((p, i) => ({ name: `network/${p.name}`, shape: p.shape, values: values[i] as Float32Array }));
  writeWhole(path, encodeSafetensors({ metadata: { format: 'cc6204-kit network', ...metadata }, tensors }));
}

const wholeNumber = (text: string | undefined): number | undefined => (text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined);

/**
 * Restores into `network` and `optimizer` the checkpoint at `path` if it exists, is whole (its checksum), was saved
 * under `key` after `epoch` finished epochs, and holds tensors of the same names and shapes; else changes nothing and
 * says why it cannot be used.
 */
export function loadCheckpoint(path: string, key: string, epoch: number, state: TrainingState): { restored: true } | { unusable: string } {
  if (!existsSync(path)) return { unusable: 'no checkpoint' };
  let file: { metadata: Record<string, string>; tensors: NamedValues[] };
  try {
    file = decodeSafetensors(readFileSync(path));
  } catch (error) {
    if (error instanceof SafetensorsError) return { unusable: error.message };
    throw error;
  }
  const { metadata, tensors } = file;
  if (metadata.format !== FORMAT) return { unusable: `it is not a checkpoint of this kit's (${metadata.format ?? 'no format'})` };
  if (metadata.key !== key) return { unusable: 'it was saved with other settings' };
  const [savedEpoch, steps, randomState] = [metadata.epoch, metadata.optimizerSteps, metadata.randomState].map(wholeNumber);
  if (savedEpoch === undefined || steps === undefined || randomState === undefined || randomState >= 2 ** 32) {
    return { unusable: 'its metadata cannot be read' };
  }
  if (savedEpoch !== epoch) return { unusable: `it was saved after epoch ${savedEpoch}, not ${epoch}` };
  const named = namedTensors(state);
  const fits =
    tensors.length === named.length &&
    named.every(({ name, tensor }, i) => tensors[i]?.name === name && tf.util.arraysEqual(tensors[i].shape, tensor.shape));
  if (!fits) return { unusable: 'its tensors do not fit this network and optimizer' };
  named.forEach(({ tensor }, i) => tf.tidy(() => tensor.assign(tf.tensor((tensors[i] as NamedValues).values, tensor.shape, 'float32'))));
  state.optimizer.restoreSteps(steps);
  state.network.restoreRandomState(randomState);
  return { restored: true };
}

/** Removes the checkpoint at `path`, if any, and its folder once no other checkpoint is left there. */
export function removeCheckpoint(path: string): void {
  rmSync(path, { force: true });
  rmSync(partialPath(path), { force: true });
  // Left while another run's checkpoint is there.
  removeFolderIfEmpty(dirname(path));
}
