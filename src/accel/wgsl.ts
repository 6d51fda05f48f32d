import * as tf from '@tensorflow/tfjs-core';

/**
 * Compute shaders of the kit's own on the webgpu backend, for work that tfjs would spread over many kernels (an
 * optimizer update, an activation, its derivative with the bias gradient). On a GPU each kernel is a dispatch with
 * a fixed cost of JavaScript and driver work whatever its size, so for this homework's network the count of
 * dispatches, not arithmetic, sets the step time.
 *
 * tfjs's own WebGPU programs have a single output, and an optimizer update writes two or three tensors, so the
 * shader is recorded here into the backend's command stream with its internals (the kit pins tfjs-backend-webgpu
 * 4.22.0 for this, as it pins the wasm backend), in the order the backend records its own work. A GPU's division,
 * exp and square root are not always correctly rounded, so results agree with tfjs's operations to float32
 * rounding, not bit for bit.
 */

/**
 * What a kernel reads and writes (float32 arrays, unless `wordInputs` says otherwise), and the WGSL that invocation i
 * runs: by default it computes element i of every output, all of the first input's shape (a `WgslLaunch` may say
 * otherwise).
 */
export interface WgslKernel {
  inputs: readonly string[];
  outputs: readonly string[];
  /** float32 constants, read in the body as `c.name`. */
  constants: readonly string[];
  body: string;
  /** WGSL functions the body calls. */
  helpers?: string;
  /**
   * Inputs read as `array<u32>` rather than `array<f32>`: int32 tensors, or bytes packed four to a word (the first
   * byte in the low bits).
   */
  wordInputs?: readonly string[];
}

/** The outputs' shapes, and how many invocations run the kernel's body (`c.n` in it). */
export interface WgslLaunch {
  outputs: number[][];
  invocations: number;
}

const WORKGROUP_SIZE = 256;
/** WebGPU's guaranteed limit on workgroups along one dimension. */
const MAX_GROUPS_PER_DIMENSION = 65535;

/** The shader of one kernel: invocation i = x + y·width, of `c.n`. */
function wgslSource(kernel: WgslKernel): string {
  const bindings = [
    ...kernel.inputs.map((name, i) => `@group(0) @binding(${i}) var<storage, read> ${name}: array<${kernel.wordInputs?.includes(name) ? 'u32' : 'f32'}>;`),
    ...kernel.outputs.map((name, i) => `@group(0) @binding(${kernel.inputs.length + i}) var<storage, read_write> ${name}: array<f32>;`),
    `@group(0) @binding(${kernel.inputs.length + kernel.outputs.length}) var<uniform> c: Constants;`,
  ];
  return `struct Constants {
${kernel.constants.map((name) => `  ${name}: f32,`).join('\n')}
  n: u32,
  width: u32,
};
${bindings.join('\n')}
${kernel.helpers ?? ''}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x + id.y * c.width;
  if (i >= c.n) {
    return;
  }
  ${kernel.body}
}
`;
}

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend this file uses. */
interface WebGpuBackendLike {
  device: GpuDevice;
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBufferView): void };
  tensorMap: { get(dataId: tf.DataId): { resource: unknown; dtype: tf.DataType } | undefined };
  commandQueueOwnedIds: WeakSet<tf.DataId>;
  commandEncoder: { beginComputePass(descriptor: object): GpuComputePass } | null;
  computePassEncoder: GpuComputePass | null;
  dispatchCountInPass: number;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: tf.DataId): void;
  makeUniforms(uniforms: { type: 'float32' | 'uint32'; data: number[] }[]): { buffer: unknown; offset: number; size: number };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  /** Set while tf.time() or tf.profile() times kernels: each gets a compute pass of its own with timestamps. */
  activeTimers: { name: string; query: Promise<number> }[] | null | undefined;
  supportTimestampQuery: boolean;
  querySet: unknown;
  querySetCount: number;
  /** Resolves the timestamps of the last timed pass and submits. */
  getQueryTime(): Promise<number>;
}

interface GpuDevice {
  createQuerySet(descriptor: { type: 'timestamp'; count: number }): unknown;
  createShaderModule(descriptor: { code: string }): unknown;
  createBindGroupLayout(descriptor: object): unknown;
  createPipelineLayout(descriptor: { bindGroupLayouts: unknown[] }): unknown;
  createComputePipeline(descriptor: object): GpuPipeline;
  createBindGroup(descriptor: object): unknown;
}

type GpuPipeline = object;

interface GpuComputePass {
  setPipeline(pipeline: GpuPipeline): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

/** A kernel's compiled pipeline and its bind group layout, made once per device. */
interface Compiled {
  pipeline: GpuPipeline;
  layout: unknown;
}

const compiled = new WeakMap<GpuDevice, Map<WgslKernel, Compiled>>();

/**
 * The bindings as wgslSource declares them, every one of them. (A layout derived from the shader, `layout: 'auto'`,
 * would leave out a buffer that the body does not read, and binding it would then be an error.)
 */
function bindGroupLayout(device: GpuDevice, kernel: WgslKernel): unknown {
  const buffer = (type: string, binding: number) => ({ binding, visibility: GPU_SHADER_STAGE_COMPUTE, buffer: { type } });
  const inputs = kernel.inputs.length;
  const outputs = kernel.outputs.length;
  return device.createBindGroupLayout({
    entries: [
      ...kernel.inputs.map((_, i) => buffer('read-only-storage', i)),
      ...kernel.outputs.map((_, i) => buffer('storage', inputs + i)),
      buffer('uniform', inputs + outputs),
    ],
  });
}

/** GPUShaderStage.COMPUTE. */
const GPU_SHADER_STAGE_COMPUTE = 4;

function compiledFor(device: GpuDevice, kernel: WgslKernel): Compiled {
  let byKernel = compiled.get(device);
  if (!byKernel) compiled.set(device, (byKernel = new Map<WgslKernel, Compiled>()));
  let entry = byKernel.get(kernel);
  if (!entry) {
    const module = device.createShaderModule({ code: wgslSource(kernel) });
    const layout = bindGroupLayout(device, kernel);
    const pipeline = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    entry = { pipeline, layout };
    byKernel.set(kernel, entry);
  }
  return entry;
}

/** One invocation per element of the first input, and every output of its shape. */
function elementwiseLaunch(kernel: WgslKernel, inputs: tf.TensorInfo[]): WgslLaunch {
  const shape = (inputs[0] as tf.TensorInfo).shape;
  return { outputs: kernel.outputs.map(() => shape), invocations: tf.util.sizeFromShape(shape) };
}

/**
 * Records one kernel on the webgpu backend: uploads what is not on the GPU yet, makes the outputs, binds them and
 * dispatches `launch.invocations` invocations, then submits when the backend's batch of dispatches is full, as its
 * own kernels do. `constants` are in the kernel's order. Under tf.time() or tf.profile() the kernel is timed on the
 * GPU as the backend's own are, under `name`.
 */
export function runWgsl(
  backend: unknown,
  kernel: WgslKernel,
  inputs: tf.TensorInfo[],
  constants: number[],
  { launch = elementwiseLaunch(kernel, inputs), name = 'WgslKernel' }: { launch?: WgslLaunch; name?: string } = {},
): tf.TensorInfo[] {
  const gpu = backend as WebGpuBackendLike;
  const n = launch.invocations;
  for (const input of inputs) gpu.uploadToGPU(input.dataId);
  const outputs = launch.outputs.map((shape) => {
    const output = gpu.makeTensorInfo(shape, 'float32');
    gpu.uploadToGPU(output.dataId);
    return output;
  });
  const groups = Math.max(1, Math.ceil(n / WORKGROUP_SIZE));
  const x = Math.min(groups, MAX_GROUPS_PER_DIMENSION);
  const y = Math.ceil(groups / x);
  const uniforms = gpu.makeUniforms([
    ...constants.map((value) => ({ type: 'float32' as const, data: [value] })),
    { type: 'uint32', data: [n] },
    { type: 'uint32', data: [x * WORKGROUP_SIZE] },
  ]);
  const tensors = [...inputs, ...outputs];
  const { pipeline, layout } = compiledFor(gpu.device, kernel);
  const bindGroup = gpu.device.createBindGroup({
    layout,
    entries: [
      ...tensors.map((t, binding) => ({ binding, resource: { buffer: gpu.tensorMap.get(t.dataId)?.resource } })),
      { binding: tensors.length, resource: uniforms },
    ],
  });
  // Buffers used by recorded but unsubmitted work are released only after the submit.
  for (const t of tensors) gpu.commandQueueOwnedIds.add(t.dataId);
  gpu.ensureCommandEncoderReady();
  const timers = gpu.activeTimers;
  if (timers && gpu.supportTimestampQuery) {
    gpu.endComputePassEncoder();
    gpu.querySet ??= gpu.device.createQuerySet({ type: 'timestamp', count: gpu.querySetCount });
    gpu.computePassEncoder = gpu.commandEncoder!.beginComputePass({
      timestampWrites: { querySet: gpu.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
  }
  gpu.computePassEncoder ??= gpu.commandEncoder!.beginComputePass({});
  gpu.computePassEncoder.setPipeline(pipeline);
  gpu.computePassEncoder.setBindGroup(0, bindGroup);
  gpu.computePassEncoder.dispatchWorkgroups(x, y);
  gpu.dispatchCountInPass += 1;
  if (timers) {
    gpu.endComputePassEncoder();
    timers.push({ name, query: gpu.getQueryTime() });
  } else if (gpu.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
    gpu.endComputePassEncoder();
    gpu.submitQueue();
  }
  return outputs;
}

/**
 * `words` as an int32 tensor on the webgpu backend, written by queue.writeBuffer into a buffer of tfjs's pool. tfjs's
 * own upload of a tensor made from values (`tf.tensor1d(words)`) makes a mapped staging buffer for each one and
 * destroys it after the next submit. Safe: a pooled buffer is free only once no recorded work uses it, and a
 * writeBuffer lands before any work submitted after it.
 */
export function wordsTensor(words: Int32Array): tf.Tensor1D {
  const gpu = tf.backend() as unknown as WebGpuBackendLike;
  const info = gpu.makeTensorInfo([words.length], 'int32');
  gpu.uploadToGPU(info.dataId);
  gpu.queue.writeBuffer(gpu.tensorMap.get(info.dataId)?.resource, 0, words);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor1D;
}

/** How many storage buffers one shader may bind on the current backend's GPU device (WebGPU's default, 8, elsewhere). */
export function storageBuffersPerShader(): number {
  const { device } = tf.backend() as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } };
  return device?.limits?.maxStorageBuffersPerShaderStage ?? 8;
}

/**
 * Registers `kernelName` with tfjs for the webgpu backend as `kernel`, run by runWgsl: its inputs are the tensors
 * given under the kernel's input names, its constants the attributes of the same names. `kernel` may instead pick
 * one of several variants by the inputs given; `launch` may size the outputs and the invocations from the inputs and
 * the constants (by default, elementwiseLaunch).
 */
export function registerWgslKernel(
  kernelName: string,
  kernel: WgslKernel | ((inputs: tf.NamedTensorInfoMap) => WgslKernel),
  launch?: (inputs: tf.NamedTensorInfoMap, attrs: Record<string, number>) => WgslLaunch,
): void {
  tf.registerKernel({
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const chosen = typeof kernel === 'function' ? kernel(inputs) : kernel;
      const tensors = chosen.inputs.map((name) => inputs[name] as tf.TensorInfo);
      const constants = chosen.constants.map((name) => (attrs as Record<string, number>)[name] as number);
      return runWgsl(backend, chosen, tensors, constants, { launch: launch?.(inputs, attrs as Record<string, number>), name: kernelName });
    },
  });
}

/**
 * Whether a tensor's data is stored as float32 on the webgpu backend. Its cast from int32 to float32 keeps the int32
 * data and only relabels the tensor (its own shaders read each buffer by the type stored), so that
 * `tf.cast(tf.oneHot(labels, 10), 'float32')` holds int32 words: the kit's kernels, which read float32, decline it.
 */
export function storedAsFloat32(t: tf.TensorInfo): boolean {
  return (tf.backend() as unknown as WebGpuBackendLike).tensorMap.get(t.dataId)?.dtype === 'float32';
}
