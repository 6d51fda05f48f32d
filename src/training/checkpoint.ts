// A training run's state at the end of an epoch, in one file, so that an interrupted run goes on from its last
// finished epoch with the numbers it would have had: the parameters, the optimizer's state and step count, and where
// the network's random source (dropout masks) stands. The batch order needs nothing: it follows from seed and epoch.
//
// File: "CC6204CK", the header's length (uint32, little-endian), the header (JSON), zeros to a multiple of 4, then
// every tensor's float32 values in the header's order, little-endian.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { partialPath, removeFolderIfEmpty, writeWhole } from '../files.ts';
import type { FFNN } from '../nn/ffnn.ts';
import type { Optimizer } from '../optim/optimizer.ts';

const MAGIC = 'CC6204CK';
// Float32Array's bytes are the file's as they are on such a machine (nearly every one); elsewhere one value at a time.
const LITTLE_ENDIAN = endianness() === 'LE';

/** The format's version: a file of another is not taken up. */
const VERSION = 1;

interface Header {
  version: number;
  /** What the state belongs to (the run's settings); a checkpoint is taken up only by the same key. */
  key: string;
  /** Epochs finished. */
  epoch: number;
  optimizerSteps: number;
  randomState: number;
  shapes: number[][];
}

export interface TrainingState {
  network: FFNN;
  optimizer: Optimizer;
}

function tensorsOf({ network, optimizer }: TrainingState): tf.Variable[] {
  return [...network.parameters().map((p) => p.value), ...optimizer.stateTensors()];
}

/** The state of `network` and `optimizer` after `epoch` finished epochs, as the bytes of a checkpoint file. */
export async function encodeCheckpoint(key: string, epoch: number, state: TrainingState): Promise<Buffer> {
  const tensors = tensorsOf(state);
  const header: Header = {
    version: VERSION,
    key,
    epoch,
    optimizerSteps: state.optimizer.steps,
    randomState: state.network.randomState(),
    shapes: tensors.map((t) => t.shape),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const start = align4(MAGIC.length + 4 + headerBytes.length);
  const values = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>));
  const file = Buffer.alloc(start + 4 * values.reduce((sum, v) => sum + v.length, 0));
  file.write(MAGIC, 0, 'latin1');
  file.writeUInt32LE(headerBytes.length, MAGIC.length);
  headerBytes.copy(file, MAGIC.length + 4);
  let offset = start;
  for (const v of values) {
    if (LITTLE_ENDIAN) offset += Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(file, offset);
    else for (const x of v) offset = file.writeFloatLE(x, offset);
  }
  return file;
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
 * Restores into `network` and `optimizer` the checkpoint at `path` if it exists, was saved under `key` after `epoch`
 * finished epochs, and holds tensors of the same shapes; else changes nothing and says why it cannot be used.
 */
export function loadCheckpoint(path: string, key: string, epoch: number, state: TrainingState): { restored: true } | { unusable: string } {
  if (!existsSync(path)) return { unusable: 'no checkpoint' };
  const file = readFileSync(path);
  if (file.length < MAGIC.length + 4 || file.toString('latin1', 0, MAGIC.length) !== MAGIC) return { unusable: 'not a checkpoint file' };
  const headerLength = file.readUInt32LE(MAGIC.length);
  let header: Header;
  try {
    header = JSON.parse(file.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerLength)) as Header;
  } catch {
    return { unusable: 'its header cannot be read' };
  }
  if (!isHeader(header)) return { unusable: 'its header cannot be read' };
  if (header.version !== VERSION) return { unusable: `version ${String(header.version)} is not this kit's` };
  if (header.key !== key) return { unusable: 'it was saved with other settings' };
  if (header.epoch !== epoch) return { unusable: `it was saved after epoch ${header.epoch}, not ${epoch}` };
  const tensors = tensorsOf(state);
  const sameShapes = header.shapes.length === tensors.length && tensors.every((t, i) => tf.util.arraysEqual(t.shape, header.shapes[i] as number[]));
  if (!sameShapes) return { unusable: 'its tensors do not fit this network and optimizer' };
  const start = align4(MAGIC.length + 4 + headerLength);
  const total = tensors.reduce((sum, t) => sum + t.size, 0);
  if (file.length !== start + 4 * total) return { unusable: `it has ${file.length} bytes, not ${start + 4 * total}` };

  let offset = start;
  for (const t of tensors) {
    const values = new Float32Array(t.size);
    if (LITTLE_ENDIAN) offset += file.copy(Buffer.from(values.buffer), 0, offset, offset + values.byteLength);
    else for (let i = 0; i < values.length; i++, offset += 4) values[i] = file.readFloatLE(offset);
    tf.tidy(() => t.assign(tf.tensor(values, t.shape, 'float32')));
  }
  state.optimizer.restoreSteps(header.optimizerSteps);
  state.network.restoreRandomState(header.randomState);
  return { restored: true };
}

/** Removes the checkpoint at `path`, if any, and its folder once no other checkpoint is left there. */
export function removeCheckpoint(path: string): void {
  rmSync(path, { force: true });
  rmSync(partialPath(path), { force: true });
  // Left while another run's checkpoint is there.
  removeFolderIfEmpty(dirname(path));
}

/** Whether `value` has every field of a header, of the right kind (its values are checked where they are used). */
function isHeader(value: unknown): value is Header {
  const h = value as Header | null;
  const whole = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  return (
    typeof h === 'object' && h !== null && typeof h.key === 'string' && whole(h.epoch) && whole(h.optimizerSteps) &&
    whole(h.randomState) && h.randomState < 2 ** 32 && Array.isArray(h.shapes) && h.shapes.every((shape) => Array.isArray(shape) && shape.every(whole))
  );
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
