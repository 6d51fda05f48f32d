import * as tf from '@tensorflow/tfjs-core';
import { fusable, hasFused, runFused, runKernelOutputs } from '../kernels/fused.ts';
import { registerWasmKernel } from '../kernels/wasm.ts';
import { registerWgslKernel, storageBuffersPerShader } from '../kernels/webgpu.ts';
import { pairedUpdate, WGSL_UPDATES } from './fused-webgpu.ts';
import { OPTIMIZER_KERNELS } from './kernels-wasm.ts';

/**
 * Fused optimizer updates, on the wasm and webgpu backends. Each tfjs operation is a kernel of its own, and an Adam
 * step over the homework network's 8 parameters takes 14 per parameter. On wasm each is a full pass over memory
 * (about 11 ms a step, a third of it): the kernels of kernels.wat do each update in one SIMD pass over the backend's
 * own memory, with the same float32 operations in the same order, so their results are bit for bit those of the
 * operation-by-operation path that other backends take. On webgpu each is a dispatch with a fixed cost: see
 * src/kernels/webgpu.ts. The cpu and tensorflow backends take the operation-by-operation path.
 */
export type FusedKernel = keyof typeof WGSL_UPDATES;

/**
 * kernels.wat's exports: each takes the addresses of its inputs then its outputs, the element count, then its
 * float32 constants, in the order WGSL_UPDATES lists them.
 */
type KernelExports = Record<FusedKernel, (...args: number[]) => void>;

const kernelName = (kernel: FusedKernel) => `CC6204Fused_${kernel}`;
const pairName = (kernel: FusedKernel) => `CC6204Fused_${kernel}_pair`;

// WGSL_UPDATES is each update's signature on both backends: what it reads (in order), writes, and its constants.
for (const [kernel, update] of Object.entries(WGSL_UPDATES) as [FusedKernel, (typeof WGSL_UPDATES)[FusedKernel]][]) {
  registerWasmKernel<KernelExports>(kernelName(kernel), OPTIMIZER_KERNELS, ({ exports, inputs, attrs, output, at }) => {
    const tensors = update.inputs.map((name) => inputs[name] as tf.TensorInfo);
    const shape = (tensors[0] as tf.TensorInfo).shape;
    const outputs = update.outputs.map(() => output(shape));
    const constants = update.constants.map((name) => attrs[name] as number);
    exports[kernel](...[...tensors, ...outputs].map(at), tf.util.sizeFromShape(shape), ...constants);
    return outputs;
  });
  registerWgslKernel(kernelName(kernel), update);
  // Each half's outputs shaped like its parameter; one invocation per element of both.
  registerWgslKernel(pairName(kernel), pairedUpdate(update), ({ p, pB }) => {
    const [first, second] = [p as tf.TensorInfo, pB as tf.TensorInfo];
    return {
      outputs: [...update.outputs.map(() => first.shape), ...update.outputs.map(() => second.shape)],
      invocations: tf.util.sizeFromShape(first.shape) + tf.util.sizeFromShape(second.shape),
    };
  });
}

/** The split point reaches the shader as a float32 constant, exact for integers up to 2^24. */
const MAX_PAIRED_FIRST = 2 ** 24;

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

/**
 * The fused update of several parameters with the same constants: `parameters` holds per parameter its tensors in
 * the kernel's input order (the parameter, its gradient, then its state). Returns per parameter its new tensors in
 * the kernel's output order, or null (for all of them) so that the caller takes the tfjs path. On webgpu two
 * parameters share a dispatch where the device allows a shader the buffers (pairedUpdate): a layer's weights and
 * bias in one. The results are those of one kernel per parameter, bit for bit.
 */
export function fusedUpdates(kernel: FusedKernel, parameters: tf.Tensor[][], constants: Record<string, number>): tf.Tensor[][] | null {
  // Checked once for all: each parameter then runs unchecked, so that none is updated unless all are.
  if (!hasFusedUpdate(kernel) || !fusable(parameters.flat())) return null;
  const { inputs, outputs } = WGSL_UPDATES[kernel];
  const named = (tensors: tf.Tensor[], suffix = '') => Object.fromEntries(inputs.map((name, j) => [`${name}${suffix}`, tensors[j] as tf.Tensor]));
  const pairs = hasFused(pairName(kernel)) && storageBuffersPerShader() >= 2 * (inputs.length + outputs.length);
  const results: tf.Tensor[][] = [];
  for (let k = 0; k < parameters.length; ) {
    const first = parameters[k] as tf.Tensor[];
    const second = parameters[k + 1];
    const split = (first[0] as tf.Tensor).size;
    if (pairs && second && split < MAX_PAIRED_FIRST) {
      const both = runKernelOutputs(pairName(kernel), { ...named(first), ...named(second, 'B') }, { ...constants, split });
      results.push(both.slice(0, outputs.length), both.slice(outputs.length));
      k += 2;
    } else {
      results.push(runKernelOutputs(kernelName(kernel), named(first), constants));
      k += 1;
    }
  }
  return results;
}
