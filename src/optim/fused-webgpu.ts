import * as tf from '@tensorflow/tfjs-core';

/**
 * The fused optimizer updates on the webgpu backend: one compute shader per parameter and step instead of a kernel
 * per operation (Adam: 1 dispatch instead of 14). On a GPU each dispatch costs tens of microseconds of JavaScript and
 * driver work whatever its size, so for this network the count of dispatches, not arithmetic, sets the step time.
 *
 * tfjs's own WebGPU programs have a single output, and an update writes two or three tensors, so the shader is
 * recorded here into the backend's command stream with its internals (the kit pins tfjs-backend-webgpu 4.22.0 for
 * this, as it pins the wasm backend), in the order the backend records its own work. The arithmetic is that of the
 * operation-by-operation path, in the same order; a GPU's division and square root are not always correctly rounded,
 * so the two agree to float32 rounding, not bit for bit.
 */

/** What the WebGPU fused kernel of each update reads and writes, and the WGSL that computes element i. */
export interface WgslUpdate {
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: readonly string[];
  body: string;
}

export const WGSL_UPDATES = {
  sgd: {
    inputs: ['p', 'g'],
    outputs: ['pOut'],
    attrs: ['keep', 'lr'],
    body: 'pOut[i] = p[i] * c.keep - g[i] * c.lr;',
  },
  momentum: {
    inputs: ['p', 'g', 'v'],
    outputs: ['pOut', 'vOut'],
    attrs: ['keep', 'lr', 'm'],
    body: `let v2 = v[i] * c.m - g[i] * c.lr;
    vOut[i] = v2;
    pOut[i] = p[i] * c.keep + v2;`,
  },
  rmsprop: {
    inputs: ['p', 'g', 's'],
    outputs: ['pOut', 'sOut'],
    attrs: ['beta', 'rest', 'lr', 'eps'],
    body: `let s2 = s[i] * c.beta + (g[i] * g[i]) * c.rest;
    sOut[i] = s2;
    pOut[i] = p[i] - (c.lr / (sqrt(s2) + c.eps)) * g[i];`,
  },
  adam: {
    inputs: ['p', 'g', 'm', 's'],
    outputs: ['pOut', 'mOut', 'sOut'],
    attrs: ['b1', 'rest1', 'b2', 'rest2', 'c1', 'c2', 'lr', 'eps'],
    body: `let m2 = m[i] * c.b1 + g[i] * c.rest1;
    let s2 = s[i] * c.b2 + (g[i] * g[i]) * c.rest2;
    mOut[i] = m2;
    sOut[i] = s2;
    pOut[i] = p[i] - (c.lr / (sqrt(s2 / c.c2) + c.eps)) * (m2 / c.c1);`,
  },
} as const satisfies Record<string, WgslUpdate>;

const WORKGROUP_SIZE = 256;
/** WebGPU's guaranteed limit on workgroups along one dimension. */
const MAX_GROUPS_PER_DIMENSION = 65535;

/** The shader of one update: element i = x + y·width, one invocation per element. */
export function wgslSource(update: WgslUpdate): string {
  const bindings = [
    ...update.inputs.map((name, i) => `@group(0) @binding(${i}) var<storage, read> ${name}: array<f32>;`),
    ...update.outputs.map((name, i) => `@group(0) @binding(${update.inputs.length + i}) var<storage, read_write> ${name}: array<f32>;`),
    `@group(0) @binding(${update.inputs.length + update.outputs.length}) var<uniform> c: Constants;`,
  ];
  return `struct Constants {
${update.attrs.map((name) => `  ${name}: f32,`).join('\n')}
  n: u32,
  width: u32,
};
${bindings.join('\n')}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x + id.y * c.width;
  if (i >= c.n) {
    return;
  }
  ${update.body}
}
`;
}

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend this file uses. */
interface WebGpuBackendLike {
  device: GpuDevice;
  tensorMap: { get(dataId: tf.DataId): { resource: unknown } };
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
}

interface GpuDevice {
  createShaderModule(descriptor: { code: string }): unknown;
  createComputePipeline(descriptor: object): GpuPipeline;
  createBindGroup(descriptor: object): unknown;
}

interface GpuPipeline {
  getBindGroupLayout(index: number): unknown;
}

interface GpuComputePass {
  setPipeline(pipeline: GpuPipeline): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

const pipelines = new WeakMap<GpuDevice, Map<WgslUpdate, GpuPipeline>>();

function pipelineFor(device: GpuDevice, update: WgslUpdate): GpuPipeline {
  let byUpdate = pipelines.get(device);
  if (!byUpdate) pipelines.set(device, (byUpdate = new Map()));
  let pipeline = byUpdate.get(update);
  if (!pipeline) {
    const module = device.createShaderModule({ code: wgslSource(update) });
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    byUpdate.set(update, pipeline);
  }
  return pipeline;
}

/**
 * Records one update on the webgpu backend: uploads what is not on the GPU yet, makes the outputs, binds them and
 * dispatches, then submits when the backend's batch of dispatches is full, as its own kernels do.
 */
export function runWgslUpdate(
  backend: unknown,
  update: WgslUpdate,
  inputs: tf.TensorInfo[],
  constants: number[],
): tf.TensorInfo[] {
  const gpu = backend as WebGpuBackendLike;
  const shape = (inputs[0] as tf.TensorInfo).shape;
  const n = tf.util.sizeFromShape(shape);
  for (const input of inputs) gpu.uploadToGPU(input.dataId);
  const outputs = update.outputs.map(() => {
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
  const pipeline = pipelineFor(gpu.device, update);
  const bindGroup = gpu.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      ...tensors.map((t, binding) => ({ binding, resource: { buffer: gpu.tensorMap.get(t.dataId).resource } })),
      { binding: tensors.length, resource: uniforms },
    ],
  });
  // Buffers used by recorded but unsubmitted work are released only after the submit.
  for (const t of tensors) gpu.commandQueueOwnedIds.add(t.dataId);
  gpu.ensureCommandEncoderReady();
  gpu.computePassEncoder ??= gpu.commandEncoder!.beginComputePass({});
  gpu.computePassEncoder.setPipeline(pipeline);
  gpu.computePassEncoder.setBindGroup(0, bindGroup);
  gpu.computePassEncoder.dispatchWorkgroups(x, y);
  gpu.dispatchCountInPass += 1;
  if (gpu.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
    gpu.endComputePassEncoder();
    gpu.submitQueue();
  }
  return outputs;
}
