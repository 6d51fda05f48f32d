import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';

/**
 * The kit's kernels on the tensorflow backend (tfjs-node). Its kernels run TensorFlow's own operations by name, one
 * at a time, and a kernel of the kit's does the same: it runs the TensorFlow operations that compute its formula in
 * fewer passes. For the optimizer updates those are TensorFlow's training operations (ResourceApplyAdam and its kin),
 * which update a variable in place: as a kernel, each call puts its inputs into scratch variables, applies the update
 * and reads the results out as new tensors, so that the inputs stay as they were, as a kernel's must; updateInPlace
 * applies them to tfjs variables themselves. Both reach into tfjs-node 4.22's backend (its binding, its map of
 * tensors): the tests run against that version.
 */

/** What tfjs-node's backend offers that the kernels use: its native binding and the binding's handle of a tensor. */
interface TensorflowBackend {
  binding: Binding;
  getInputTensorIds(tensors: tf.TensorInfo[]): number[];
  createOutputTensor(metadata: OutputMetadata): tf.Tensor;
  /** Per tensor memory: its TensorFlow handle, and how many tfjs tensors share it. */
  tensorMap: { get(dataId: tf.DataId): TensorEntry | undefined };
}

interface TensorEntry {
  id: number;
  refCount: number;
}

interface OutputMetadata {
  id: number;
  shape: number[];
  dtype: number;
}

interface Binding {
  executeOp(name: string, attrs: Attr[], inputIds: number[], outputs: number): OutputMetadata[];
  createTensor(shape: number[], dtype: number, values: Float32Array | Int32Array): number;
  deleteTensor(id: number): void;
  TF_FLOAT: number;
  TF_INT32: number;
  TF_BOOL: number;
  TF_UINT8: number;
  TF_ATTR_STRING: number;
  TF_ATTR_INT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_SHAPE: number;
}

export interface Attr {
  name: string;
  type: number;
  value: string | boolean | number | number[];
}

/** A kernel's body: the backend's operations on tensors by handle, and constants as handles. */
export interface TensorflowCall {
  inputs: tf.NamedTensorInfoMap;
  attrs: Record<string, number>;
  /** Runs a TensorFlow operation on handles, float32 throughout (attribute T and the like); its outputs' metadata. */
  run: (op: string, inputs: number[], outputs?: number, attrs?: Attr[]) => OutputMetadata[];
  /** The handle of an input tensor. */
  handle: (tensor: tf.TensorInfo) => number;
  /** The handle of a float32 scalar, freed when the kernel returns. */
  scalar: (value: number) => number;
  /** The handle of an int32 tensor (an axis, paddings), freed when the kernel returns. */
  ints: (values: number[], shape: number[]) => number;
  /** The handle of a float32 vector, freed when the kernel returns. */
  floats: (values: number[]) => number;
  /** A scratch resource variable (one per slot, made once): what TensorFlow's training operations update in place. */
  variable: (slot: number) => number;
  /**
   * Puts a value into a scratch variable. TensorFlow shares the value's memory; a training operation then updates a
   * copy of it, since the value's tensor still holds it.
   */
  assign: (variable: number, value: number) => void;
  /** The value of a scratch variable as a new tensor, the kernel's output. */
  read: (variable: number) => tf.Tensor;
  /** Runs a one-output TensorFlow operation (attribute T = float32 unless `attrs` says otherwise): its output as a tensor. */
  result: (op: string, inputs: number[], attrs?: Attr[]) => tf.Tensor;
  /** Runs a TensorFlow operation of `outputs` outputs with the attributes given: its outputs as tensors. */
  results: (op: string, inputs: number[], outputs: number, attrs: Attr[]) => tf.Tensor[];
  /** The same, for a value the kernel uses and does not return: its handle, freed when the kernel returns. */
  temp: (op: string, inputs: number[], attrs?: Attr[]) => number;
  /** Frees a handle now: one from `run` that nothing returns, so that a variable given its value holds it alone. */
  free: (handle: number) => void;
  /** A boolean attribute. */
  bool: (name: string, value: boolean) => Attr;
  /** An integer attribute. */
  int: (name: string, value: number) => Attr;
  /** The attribute T = float32, which most operations take. */
  typeAttr: () => Attr;
  /** A type attribute: `name` = `dtype`. */
  typeOf: (name: string, dtype: 'float32' | 'int32' | 'bool' | 'uint8') => Attr;
  /** The attribute dtype = float32, which the variables' operations take. */
  dtypeAttr: () => Attr;
}

const variables: number[] = [];

/** Whether the kit's update operations (optimizers.c) are registered with TensorFlow, and whether they are used. */
let updateOperations: { loaded: boolean; on: boolean } = { loaded: false, on: true };

/**
 * Loads the kit's update operations (optimizers.c as an addon) into the TensorFlow that tfjs-node just loaded, and
 * checks that one runs: whether they are there now. A file that is missing, does not load, or whose operation does
 * not run leaves TensorFlow's training operations to update the parameters, as with a tfjs-node installed by npm.
 */
export function loadUpdateOperations(file: string): boolean {
  if (updateOperations.loaded) return true;
  if (!existsSync(file) || tf.getBackend() !== 'tensorflow') return false;
  try {
    process.dlopen({ exports: {} }, file);
    // p − 1·g with keep 1: 3 − 1 = 2.
    const out = tf.tidy(() => {
      const backend = tf.backend() as unknown as TensorflowBackend;
      const [p, g] = [tf.tensor1d([3]), tf.tensor1d([1])];
      const { call, release } = makeCall(backend, {}, {});
      try {
        const result = call.run('CC6204Update_sgd', [call.handle(p), call.handle(g), call.floats([1, 1])], 1, [call.int('N', 1)]);
        return backend.createOutputTensor(result[0] as OutputMetadata).dataSync()[0] as number;
      } finally {
        release();
      }
    });
    updateOperations = { ...updateOperations, loaded: out === 2 };
  } catch {
    // An addon built for another TensorFlow or CPU: the training operations stay.
  }
  return updateOperations.loaded;
}

/** Whether the parameters' updates run as the kit's update operations (loadUpdateOperations) on tensorflow. */
export const hasUpdateOperations = (): boolean => updateOperations.loaded && updateOperations.on && tf.getBackend() === 'tensorflow';

/** Turns the kit's update operations off (TensorFlow's training operations then update) or back on: for tests and the bench. */
export function useUpdateOperations(on: boolean): void {
  updateOperations = { ...updateOperations, on };
}

/** A kernel's call as makeCall hands it out, whether a kernel holds it now, and its release. */
interface CallSlot {
  call: TensorflowCall;
  busy: boolean;
  release: () => void;
}

/** Each backend's calls, made once and handed out again: a kernel's call is a score of functions, too many to make at every kernel. */
const callSlots = new WeakMap<TensorflowBackend, CallSlot[]>();

/**
 * A kernel's call over `inputs` and `attrs`, and `release`, which frees the handles it made and does not return and
 * gives the call back. A call is not kept past its release: the next kernel is handed the same one.
 */
function makeCall(tfBackend: TensorflowBackend, inputs: tf.NamedTensorInfoMap, attrs: Record<string, number>): { call: TensorflowCall; release: () => void } {
  let slots = callSlots.get(tfBackend);
  if (!slots) callSlots.set(tfBackend, (slots = []));
  // A call made while another is held (a kernel's body running another of the kit's kernels) takes a slot of its own.
  const slot = slots.find((s) => !s.busy) ?? newCallSlot(tfBackend, slots);
  slot.busy = true;
  slot.call.inputs = inputs;
  slot.call.attrs = attrs;
  return { call: slot.call, release: slot.release };
}

function newCallSlot(tfBackend: TensorflowBackend, slots: CallSlot[]): CallSlot {
  // The binding as it is at each use: graphs.ts stands in for it while a stretch records (the constants are the same).
  const { binding: constants } = tfBackend;
  const float: Attr = { name: 'dtype', type: constants.TF_ATTR_TYPE, value: constants.TF_FLOAT };
  const typeAttr: Attr = { ...float, name: 'T' };
  // Handles the kernel made and does not return: its constants and intermediate values.
  const temps: number[] = [];
  const run = (op: string, ids: number[], outputs = 1, opAttrs: Attr[] = []) => tfBackend.binding.executeOp(op, opAttrs, ids, outputs);
  const call: TensorflowCall = {
    inputs: {},
    attrs: {},
    run: (op, ids, outputs = 1, opAttrs = [typeAttr]) => run(op, ids, outputs, opAttrs),
    handle: (tensor) => tfBackend.getInputTensorIds([tensor])[0] as number,
    scalar: (value) => {
      const id = tfBackend.binding.createTensor([], constants.TF_FLOAT, Float32Array.of(value));
      temps.push(id);
      return id;
    },
    ints: (values, shape) => {
      const id = tfBackend.binding.createTensor(shape, constants.TF_INT32, Int32Array.from(values));
      temps.push(id);
      return id;
    },
    floats: (values) => {
      const id = tfBackend.binding.createTensor([values.length], constants.TF_FLOAT, Float32Array.from(values));
      temps.push(id);
      return id;
    },
    variable: (slot) => {
      variables[slot] ??= (run('VarHandleOp', [], 1, [
        { name: 'container', type: constants.TF_ATTR_STRING, value: '' },
        { name: 'shared_name', type: constants.TF_ATTR_STRING, value: `cc6204-scratch-${slot}` },
        float,
        // Unknown rank: a slot takes values of any shape.
        { name: 'shape', type: constants.TF_ATTR_SHAPE, value: [-1] },
      ])[0] as OutputMetadata).id;
      return variables[slot];
    },
    assign: (variable, value) => {
      run('AssignVariableOp', [variable, value], 0, [float, { name: 'validate_shape', type: constants.TF_ATTR_BOOL, value: false }]);
    },
    read: (variable) => tfBackend.createOutputTensor(run('ReadVariableOp', [variable], 1, [float])[0] as OutputMetadata),
    result: (op, ids, opAttrs = [typeAttr]) => tfBackend.createOutputTensor(run(op, ids, 1, opAttrs)[0] as OutputMetadata),
    results: (op, ids, outputs, opAttrs) => run(op, ids, outputs, opAttrs).map((meta) => tfBackend.createOutputTensor(meta)),
    temp: (op, ids, opAttrs = [typeAttr]) => {
      const { id } = run(op, ids, 1, opAttrs)[0] as OutputMetadata;
      temps.push(id);
      return id;
    },
    free: (handle) => tfBackend.binding.deleteTensor(handle),
    bool: (name, value) => ({ name, type: constants.TF_ATTR_BOOL, value }),
    int: (name, value) => ({ name, type: constants.TF_ATTR_INT, value }),
    typeAttr: () => typeAttr,
    typeOf: (name, dtype) => ({ name, type: constants.TF_ATTR_TYPE, value: { float32: constants.TF_FLOAT, int32: constants.TF_INT32, bool: constants.TF_BOOL, uint8: constants.TF_UINT8 }[dtype] }),
    dtypeAttr: () => float,
  };
  const slot: CallSlot = {
    call,
    busy: false,
    release: () => {
      try {
        for (const id of temps) tfBackend.binding.deleteTensor(id);
      } finally {
        temps.length = 0;
        call.inputs = {};
        call.attrs = {};
        slot.busy = false;
      }
    },
  };
  slots.push(slot);
  return slot;
}

/** Registers `kernelName` on the tensorflow backend: `body` runs TensorFlow's operations and returns the outputs. */
export function registerTensorflowKernel(kernelName: string, body: (call: TensorflowCall) => tf.Tensor[]): void {
  tf.registerKernel({
    kernelName,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { call, release } = makeCall(backend as unknown as TensorflowBackend, inputs, (attrs ?? {}) as Record<string, number>);
      try {
        return body(call);
      } finally {
        release();
      }
    },
  });
}

/**
 * Runs a training operation on tfjs variables in place, on the tensorflow backend: each variable's value goes into a
 * scratch variable (slots 0, 1, … in the order given) whose memory only it then holds, `apply` updates them there, and
 * each tfjs variable takes its scratch variable's value back, the same memory. A kernel cannot do this (its inputs
 * must stay as they were, so TensorFlow updates a copy of each); a variable can, when no other tensor shares its
 * memory, since nothing else then sees the change. An Adam step of the 2e network copies 13 MB less. Returns false,
 * doing nothing, on another backend or where another tensor shares a variable's memory.
 */
export function updateInPlace(
  values: tf.Variable[],
  inputs: tf.NamedTensorInfoMap,
  attrs: Record<string, number>,
  apply: (call: TensorflowCall, slots: number[]) => void,
): boolean {
  if (tf.getBackend() !== 'tensorflow') return false;
  const tfBackend = tf.backend() as unknown as TensorflowBackend;
  // Each variable float32 (the scratch variables' type), the only tensor on its memory, and not given twice or as an input.
  const memories = new Set([...values, ...Object.values(inputs)].map((t) => (t as tf.TensorInfo).dataId));
  const alone = (v: tf.Variable) => v.dtype === 'float32' && tfBackend.tensorMap.get(v.dataId)?.refCount === 1;
  if (memories.size !== values.length + Object.keys(inputs).length || !values.every(alone)) return false;
  // Values still held in JavaScript go to TensorFlow first.
  tfBackend.getInputTensorIds(values);
  const entries = values.map((v) => tfBackend.tensorMap.get(v.dataId) as TensorEntry);
  const { call, release } = makeCall(tfBackend, inputs, attrs);
  const slots: number[] = [];
  try {
    for (const [k, entry] of entries.entries()) {
      const slot = call.variable(k);
      call.assign(slot, entry.id);
      slots.push(slot);
      // The scratch variable is now the memory's one holder: TensorFlow updates it in place.
      call.free(entry.id);
    }
    apply(call, slots);
  } finally {
    // Each variable given to a slot takes the slot's value: updated, or where apply failed, as far as it got (each
    // of TensorFlow's operations changes nothing when it fails).
    slots.forEach((slot, k) => ((entries[k] as TensorEntry).id = (call.run('ReadVariableOp', [slot], 1, [call.dtypeAttr()])[0] as OutputMetadata).id));
    release();
  }
  return true;
}
