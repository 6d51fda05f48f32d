import * as tf from '@tensorflow/tfjs-core';
import { hasFused, runFused } from '../kernels/fused.ts';
import { registerWgslKernel } from '../kernels/webgpu.ts';
import { WGSL_UPDATES } from './fused-webgpu.ts';
import { KERNELS_PLAIN_MEMORY, KERNELS_SHARED_MEMORY } from './kernels-wasm.ts';

/**
 * Fused optimizer updates, on the wasm and webgpu backends. Each tfjs operation is a kernel of its own, and an Adam
 * step over the homework network's 8 parameters takes 14 per parameter. On wasm each is a full pass over memory
 * (about 11 ms a step, a third of it): the kernels of kernels.wat do each update in one SIMD pass over the backend's
 * own memory, with the same float32 operations in the same order, so their results are bit for bit those of the
 * operation-by-operation path that other backends take. On webgpu each is a dispatch with a fixed cost: see
 * src/kernels/webgpu.ts. The cpu and tensorflow backends take the operation-by-operation path.
 */
export type FusedKernel = 'sgd' | 'momentum' | 'rmsprop' | 'adam';

interface KernelExports {
  sgd(p: number, g: number, pOut: number, n: number, keep: number, lr: number): void;
  momentum(p: number, g: number, v: number, pOut: number, vOut: number, n: number, keep: number, lr: number, m: number): void;
  rmsprop(p: number, g: number, s: number, pOut: number, sOut: number, n: number, beta: number, rest: number, lr: number, eps: number): void;
  adam(
    p: number, g: number, m: number, s: number, pOut: number, mOut: number, sOut: number, n: number,
    b1: number, rest1: number, b2: number, rest2: number, c1: number, c2: number, lr: number, eps: number,
  ): void;
}

interface WasmBackendLike {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  getMemoryOffset(dataId: tf.DataId): number;
}

/** What each kernel reads (in order) and writes; the attributes are its float32 constants, in order. */
const SIGNATURES: Record<FusedKernel, { inputs: string[]; outputs: number; attrs: string[] }> = {
  sgd: { inputs: ['p', 'g'], outputs: 1, attrs: ['keep', 'lr'] },
  momentum: { inputs: ['p', 'g', 'v'], outputs: 2, attrs: ['keep', 'lr', 'm'] },
  rmsprop: { inputs: ['p', 'g', 's'], outputs: 2, attrs: ['beta', 'rest', 'lr', 'eps'] },
  adam: { inputs: ['p', 'g', 'm', 's'], outputs: 3, attrs: ['b1', 'rest1', 'b2', 'rest2', 'c1', 'c2', 'lr', 'eps'] },
};

const instances = new WeakMap<WebAssembly.Memory, KernelExports>();

/** The kernels instantiated over the backend's memory (shared in the multi-threaded build), made once per memory. */
function kernelsFor(backend: WasmBackendLike): KernelExports {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!memory) throw new Error('The wasm backend does not expose its memory; fused optimizer kernels are unavailable.');
  let kernels = instances.get(memory);
  if (!kernels) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = Buffer.from(shared ? KERNELS_SHARED_MEMORY : KERNELS_PLAIN_MEMORY, 'base64');
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    kernels = instance.exports as unknown as KernelExports;
    instances.set(memory, kernels);
  }
  return kernels;
}

const kernelName = (kernel: FusedKernel) => `CC6204Fused_${kernel}`;

for (const [kernel, signature] of Object.entries(SIGNATURES) as [FusedKernel, (typeof SIGNATURES)[FusedKernel]][]) {
  tf.registerKernel({
    kernelName: kernelName(kernel),
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as unknown as WasmBackendLike;
      const tensors = signature.inputs.map((name) => inputs[name] as tf.TensorInfo);
      const shape = (tensors[0] as tf.TensorInfo).shape;
      const outputs = Array.from({ length: signature.outputs }, () => wasm.makeOutput(shape, 'float32'));
      const pointers = [...tensors, ...outputs].map((t) => wasm.getMemoryOffset(t.dataId));
      const constants = signature.attrs.map((name) => (attrs as Record<string, number>)[name] as number);
      const size = tf.util.sizeFromShape(shape);
      (kernelsFor(wasm)[kernel] as (...args: number[]) => void)(...pointers, size, ...constants);
      return outputs;
    },
  });
}

for (const [kernel, update] of Object.entries(WGSL_UPDATES)) registerWgslKernel(kernelName(kernel as FusedKernel), update);

/**
 * Runs a fused update when the current backend has it (and the fused kernels are on, see useFusedKernels): returns
 * the new tensors in the kernel's output order (parameter first, then its state), or null so that the caller takes
 * the tfjs path.
 */
export function fusedUpdate(kernel: FusedKernel, inputs: Record<string, tf.Tensor>, attrs: Record<string, number>): tf.Tensor[] | null {
  return runFused(kernelName(kernel), inputs, attrs);
}

/** Whether fusedUpdate(kernel, …) would run the fused kernel on the current backend. */
export const hasFusedUpdate = (kernel: FusedKernel): boolean => hasFused(kernelName(kernel));
