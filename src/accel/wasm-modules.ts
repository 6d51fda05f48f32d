import * as tf from '@tensorflow/tfjs-core';

/**
 * WebAssembly modules of the kit's own on the wasm backend (optimizers.wat's updates, activations.wat's
 * activations), for work that tfjs would spread over several kernels, each a pass over memory. They run over the
 * backend's own memory, so a kernel reads its input tensors and writes its outputs where tfjs keeps them: no copy.
 */

/** The parts of tfjs-backend-wasm 4.22's BackendWasm the kit's kernels use. */
interface WasmBackendLike {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  getMemoryOffset(dataId: tf.DataId): number;
  readSync(dataId: tf.DataId): ArrayLike<number>;
}

/** A module compiled twice by `npm run build:kernels`, base64: for a plain memory and for a shared one. */
export interface WasmBinaries {
  plain: string;
  shared: string;
}

const instances = new WeakMap<WasmBinaries, WeakMap<WebAssembly.Memory, WebAssembly.Exports>>();

/**
 * The module's exports, instantiated over the backend's memory (shared in the multi-threaded build) once per module
 * and memory.
 */
function instanceFor(binaries: WasmBinaries, backend: WasmBackendLike): WebAssembly.Exports {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!memory) throw new Error("The wasm backend does not expose its memory; the kit's fused kernels are unavailable.");
  let byMemory = instances.get(binaries);
  if (!byMemory) instances.set(binaries, (byMemory = new WeakMap()));
  let exports = byMemory.get(memory);
  if (!exports) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = Buffer.from(shared ? binaries.shared : binaries.plain, 'base64');
    exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
    byMemory.set(memory, exports);
  }
  return exports;
}

/** What a kernel of the kit's gets on the wasm backend. */
export interface WasmCall<Exports> {
  /** The module's exports, over the backend's memory. */
  exports: Exports;
  inputs: tf.NamedTensorInfoMap;
  attrs: Record<string, number>;
  /** A new float32 tensor of this shape, for an output. */
  output: (shape: number[]) => tf.TensorInfo;
  /** The byte offset of a tensor's values in the memory: what the module's functions take. */
  at: (tensor: tf.TensorInfo) => number;
  /** A tensor's values (a parameter in a one-element tensor, say). */
  read: (tensor: tf.TensorInfo) => ArrayLike<number>;
}

/** Registers `kernelName` on the wasm backend: `body` calls the module `binaries` and returns the outputs. */
export function registerWasmKernel<Exports>(
  kernelName: string,
  binaries: WasmBinaries,
  body: (call: WasmCall<Exports>) => tf.TensorInfo | tf.TensorInfo[],
): void {
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as unknown as WasmBackendLike;
      return body({
        exports: instanceFor(binaries, wasm) as Exports,
        inputs,
        attrs: (attrs ?? {}) as Record<string, number>,
        output: (shape) => wasm.makeOutput(shape, 'float32'),
        at: (tensor) => wasm.getMemoryOffset(tensor.dataId),
        read: (tensor) => wasm.readSync(tensor.dataId),
      });
    },
  });
}
