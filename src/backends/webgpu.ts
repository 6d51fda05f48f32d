import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * WebGPU in Node.js through Dawn (npm package `webgpu`), for tfjs's webgpu backend: Vulkan on Linux, Metal on macOS,
 * D3D12 on Windows. Both packages are optional dependencies.
 */

const LINUX_LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/lib'];

/**
 * Whether a Vulkan loader is installed. Dawn needs it on Linux, and without it prints a warning to stderr when it
 * starts, so the kit does not even load Dawn where there is none.
 */
export function hasVulkanLoader(env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LINUX_LIBRARY_DIRS];
  return dirs.some((dir) => existsSync(join(dir, 'libvulkan.so.1')));
}

/** The names in a folder; none where it does not exist or cannot be read. */
function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Whether a Vulkan driver is installed: an ICD manifest (a .json file) where the Vulkan loader looks, or in the files
 * that VK_DRIVER_FILES / VK_ICD_FILENAMES name. Without one, the loader and Dawn print several warnings on stderr
 * when Dawn starts; a machine with libvulkan1 but no GPU driver (a container, a laptop without the vendor's driver)
 * would see them on every command.
 */
export function hasVulkanDriver(env: NodeJS.ProcessEnv = process.env): boolean {
  const named = [env.VK_DRIVER_FILES, env.VK_ICD_FILENAMES, env.VK_ADD_DRIVER_FILES]
    .flatMap((list) => (list ?? '').split(':'))
    .filter(Boolean);
  if (named.some((path) => existsSync(path))) return true;
  // An explicit list replaces the usual folders (VK_ADD_DRIVER_FILES only adds to them).
  if (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES) return false;
  const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const home = env.HOME ? [join(env.HOME, '.local/share')] : [];
  const folders = [...configDirs, '/etc', ...dataDirs, ...home].filter(Boolean).map((dir) => join(dir, 'vulkan', 'icd.d'));
  return folders.some((dir) => filesIn(dir).some((name) => name.endsWith('.json')));
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}

export interface WebGpuAdapter {
  /** One line for people: the adapter's description, vendor and architecture, and whether it is software. */
  description: string;
  /**
   * A software renderer that runs on the CPU (Mesa's llvmpipe, SwiftShader, Microsoft's WARP): it works, but the
   * wasm backend is faster, so the automatic choice passes it by.
   */
  software: boolean;
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

interface DeviceDescriptor {
  requiredLimits?: Record<string, number>;
}

interface RequestingAdapter {
  limits: { maxStorageBuffersPerShaderStage: number };
  requestDevice(descriptor?: DeviceDescriptor): Promise<unknown>;
}

/** The parts of a GPUDevice that reuseBindGroups wraps. */
interface BindingDevice {
  createBindGroup(descriptor: BindGroupDescriptor): unknown;
  createComputePipeline(descriptor: object): LayoutSource;
  createComputePipelineAsync(descriptor: object): Promise<LayoutSource>;
}

interface BindGroupDescriptor {
  label?: string;
  layout: object;
  entries: { binding: number; resource: { buffer?: object; offset?: number; size?: number } }[];
}

interface LayoutSource {
  getBindGroupLayout(index: number): object;
}

/**
 * How many remembered bind groups a device keeps before it forgets them all. A step of the 2e network makes 23 to 29,
 * but the uniform buffers and batch tensors that tfjs's pool hands out rotate, so new combinations keep coming: a 2e
 * epoch (600 steps) on Dawn's null device met 3474 new ones, then 1919, 1451, … 655 by epoch 10 (15,500 in all). At
 * 4096 the cache was cleared every ~1.3 epochs and missed ~6.8 times a step.
 */
const MAX_BIND_GROUPS = 16384;

/**
 * Makes `device.createBindGroup` give back the bind group it made before for the same layout and the same buffers at
 * the same offsets and sizes. tfjs makes a bind group for every kernel it records, and so do the kit's shaders
 * (src/accel/wgsl.ts); a training step binds the same pooled buffers step after step, and making a bind group is
 * the dearest call of a dispatch through Dawn's Node.js binding (11 µs on this repository's machine, against 3 to set
 * the pipeline and bind group and dispatch). A bind group never changes, and tfjs destroys its pooled buffers only
 * with the device, so a remembered one stays valid. Pipelines remember their layouts too: tfjs asks for a pipeline's
 * layout on every kernel, and Dawn answers with a new object each time. Bind groups of textures, samplers or a
 * label are made each time, as before.
 */
function reuseBindGroups(device: BindingDevice): void {
  const ids = new WeakMap<object, number>();
  let next = 0;
  const id = (object: object): number => {
    let found = ids.get(object);
    if (found === undefined) ids.set(object, (found = next++));
    return found;
  };
  const rememberLayouts = (pipeline: LayoutSource): LayoutSource => {
    const layouts = new Map<number, object>();
    const getBindGroupLayout = pipeline.getBindGroupLayout.bind(pipeline);
    pipeline.getBindGroupLayout = (index) => {
      let layout = layouts.get(index);
      if (!layout) layouts.set(index, (layout = getBindGroupLayout(index)));
      return layout;
    };
    return pipeline;
  };
  const createComputePipeline = device.createComputePipeline.bind(device);
  const createComputePipelineAsync = device.createComputePipelineAsync.bind(device);
  device.createComputePipeline = (descriptor) => rememberLayouts(createComputePipeline(descriptor));
  device.createComputePipelineAsync = async (descriptor) => rememberLayouts(await createComputePipelineAsync(descriptor));

  const made = new Map<string, unknown>();
  const createBindGroup = device.createBindGroup.bind(device);
  device.createBindGroup = (descriptor) => {
    const { label, layout, entries } = descriptor;
    if (label || !entries.every(({ resource }) => resource.buffer)) return createBindGroup(descriptor);
    let key = String(id(layout));
    for (const { binding, resource } of entries) key += `|${binding}:${id(resource.buffer as object)}:${resource.offset ?? 0}:${resource.size ?? ''}`;
    let group = made.get(key);
    if (group === undefined) {
      if (made.size >= MAX_BIND_GROUPS) made.clear();
      made.set(key, (group = createBindGroup(descriptor)));
    }
    return group;
  };
}

/**
 * What the kit adds to Dawn and tfjs's device, all on by default: the storage-buffer limit and the reused bind groups
 * (adaptDevices), Dawn's exact timestamps (install) and the error trap (trapDeviceErrors). The GPU node's
 * diagnostics (`bench/device/device.sh diagnose`) turn them off to tell a driver's fault from the kit's; set them
 * before the webgpu backend starts.
 */
export const deviceAdaptations = { raiseStorageBuffers: true, reuseBindGroups: true, exactTimestamps: true, trapErrors: true };

/**
 * Adapts every device requested through `gpu` (by tfjs, when its backend starts) to the kit:
 * - it asks for as many storage buffers a shader as its adapter allows: tfjs asks for WebGPU's default of 8 (it raises
 *   only sizes), and the kit's fused optimizer updates bind up to 14 to update two parameters in one dispatch
 *   (src/accel/optimizers.ts; with 8 they update one at a time);
 * - it reuses bind groups (reuseBindGroups).
 */
function adaptDevices(gpu: GpuLike): void {
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (options) => {
    const adapter = (await requestAdapter(options)) as (GpuAdapterLike & RequestingAdapter) | null;
    if (!adapter) return adapter;
    const buffers = deviceAdaptations.raiseStorageBuffers ? adapter.limits?.maxStorageBuffersPerShaderStage : undefined;
    const requestDevice = adapter.requestDevice.bind(adapter);
    adapter.requestDevice = async (descriptor = {}) => {
      const limits: Record<string, number> = typeof buffers === 'number' ? { maxStorageBuffersPerShaderStage: buffers } : {};
      const device = await requestDevice({ ...descriptor, requiredLimits: { ...descriptor.requiredLimits, ...limits } });
      if (deviceAdaptations.reuseBindGroups) reuseBindGroups(device as BindingDevice);
      return device;
    };
    return adapter;
  };
}

/**
 * Whether this Linux machine has a GPU's device node: Mesa's render nodes (/dev/dri/renderD*), NVIDIA's
 * (/dev/nvidia0, /dev/nvidiactl) or WSL's (/dev/dxg). Without one, only a software Vulkan driver could answer, and
 * asking prints its warnings.
 */
export function hasGpuDeviceNode(dev = '/dev'): boolean {
  if (filesIn(join(dev, 'dri')).some((name) => name.startsWith('renderD'))) return true;
  return ['nvidia0', 'nvidiactl', 'dxg'].some((name) => existsSync(join(dev, name)));
}

/**
 * Finds a GPU adapter and installs `navigator.gpu` (with the WebGPU constants) where tfjs's webgpu backend looks for
 * them; it registers itself only if `navigator.gpu` exists when it is imported. Returns what the adapter is, or
 * throws saying why there is none.
 *
 * With `software: false` (the automatic choice) a Linux machine without a GPU device node is passed by without
 * starting Dawn, and Mesa's software driver (llvmpipe), which prints warnings when Dawn looks at it, is hidden from
 * the Vulkan loader; a software adapter may still be returned on other systems. Asked for by name, any adapter does.
 * `dev` is where to look for the device nodes (tests give a folder of their own).
 */
export function installWebGpu({ software = true, dev = '/dev' }: { software?: boolean; dev?: string } = {}): Promise<WebGpuAdapter> {
  // Dawn starts once a process. A second instance would replace navigator.gpu under the device tfjs made from the
  // first, which nothing would then hold: collected, it took its device with it (on an H100: segfaults, aborts in
  // Dawn's threads, hangs). So a request of the other kind takes what the first found where it can: any adapter will
  // do for `software`, and the caller refuses a software one where it wanted hardware. Only a request for hardware
  // that found none lets a later one for any adapter start Dawn again (no device was made from the first).
  if (software) return (installations.any ??= installations.hardware?.catch(() => install(true, dev)) ?? install(true, dev));
  return (installations.hardware ??= installations.any ?? install(false, dev));
}

const installations: { any?: Promise<WebGpuAdapter>; hardware?: Promise<WebGpuAdapter> } = {};

/**
 * Every Dawn GPU object this process made, held for good: Dawn's instance must outlive every device made from it,
 * and a device does not keep its GPU object from being collected.
 */
const dawnInstances: GpuLike[] = [];

/**
 * Dawn's backend from CC6204_DAWN_BACKEND (for instance `vulkan`, `opengles`, or `null`), else Dawn's choice. `null`
 * is Dawn's null device: it validates and records every command and runs none, so that the time a step takes there
 * is its CPU side alone (JavaScript, Dawn's validation and encoding), the least it can take on any GPU. Nothing it
 * returns is computed: `npm run bench -- --null-gpu` uses it for that measurement.
 */
export function dawnBackend(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.CC6204_DAWN_BACKEND?.trim() || undefined;
}

/** Dawn's Node.js binding (npm package `webgpu`): `create(flags)` makes a GPU object, `globals` the WebGPU constants. */
async function loadDawn(): Promise<{ create: (flags: string[]) => GpuLike; globals: object }> {
  return await import('webgpu');
}

async function install(software: boolean, dev: string): Promise<WebGpuAdapter> {
  const backend = dawnBackend();
  if (backend === 'null') return installNull();
  const linux = process.platform === 'linux';
  // Dawn's default on Linux is Vulkan; another backend named in CC6204_DAWN_BACKEND brings its own needs.
  const vulkan = linux && (backend === undefined || backend === 'vulkan');
  if (vulkan && !hasVulkanLoader()) {
    throw new Error('no Vulkan loader (libvulkan.so.1) on this machine');
  }
  if (vulkan && !hasVulkanDriver()) {
    throw new Error('no Vulkan driver: no ICD file in /usr/share/vulkan/icd.d, /etc/vulkan/icd.d or VK_DRIVER_FILES');
  }
  if (linux && !software && !hasGpuDeviceNode(dev)) {
    throw new Error('no GPU device (/dev/dri/renderD*, /dev/nvidia0 or /dev/dxg); --backend webgpu tries a software one');
  }
  const { create, globals } = await loadDawn();
  // The Vulkan loader reads this when Dawn creates its instance, at the first request for an adapter.
  const hideSoftware = linux && !software && !process.env.VK_LOADER_DRIVERS_SELECT && !process.env.VK_LOADER_DRIVERS_DISABLE;
  if (hideSoftware) process.env.VK_LOADER_DRIVERS_DISABLE = '*lvp_icd*';
  let gpu: GpuLike;
  let adapter: GpuAdapterLike | null;
  try {
    // Dawn rounds timestamps to 65.536 µs by default (a browser's defence against timing attacks), which would read
    // most of this network's kernels as 0 µs in tf.profile; nothing here needs the defence.
    const toggles = deviceAdaptations.exactTimestamps ? ['disable-dawn-features=timestamp_quantization'] : [];
    gpu = create([...toggles, ...(backend ? [`backend=${backend}`] : [])]);
    dawnInstances.push(gpu);
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } finally {
    if (hideSoftware) delete process.env.VK_LOADER_DRIVERS_DISABLE;
  }
  if (!adapter) throw new Error(backend ? `no GPU adapter found for Dawn's ${backend} backend (CC6204_DAWN_BACKEND)` : 'no GPU adapter found');
  publish(gpu, globals);
  const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info ?? {};
  const named = [description || device, vendor, architecture].filter(Boolean).join(', ') || 'unnamed adapter';
  const isSoftware = isFallbackAdapter === true || architecture === 'software';
  return { description: isSoftware && !/software/i.test(named) ? `${named}, software` : named, software: isSoftware };
}

/** Installs `gpu` (its devices adapted) as navigator.gpu, with the WebGPU constants, where tfjs looks for them. */
function publish(gpu: GpuLike, globals: object): void {
  adaptDevices(gpu);
  Object.assign(globalThis, globals);
  const scope = globalThis as { navigator?: object };
  if (scope.navigator === undefined) scope.navigator = {};
  Object.defineProperty(scope.navigator, 'gpu', { value: gpu, configurable: true });
}

/** Dawn's null device (see dawnBackend): no driver needed; counted as software, so that only a request by name takes it. */
async function installNull(): Promise<WebGpuAdapter> {
  const { create, globals } = await loadDawn();
  const gpu = create(['backend=null']);
  dawnInstances.push(gpu);
  if (!(await gpu.requestAdapter())) throw new Error("this build of Dawn has no null backend (CC6204_DAWN_BACKEND=null)");
  publish(gpu, globals);
  return { description: "Dawn's null device: records and validates every command, runs none (CC6204_DAWN_BACKEND=null)", software: true };
}

/** The parts of tfjs's webgpu backend (4.22) and of its GPUDevice that trapDeviceErrors uses. */
interface TrappableBackend {
  device: {
    addEventListener(type: 'uncapturederror', listener: (event: { error: { message: string; constructor: { name: string } } }) => void): void;
    lost: Promise<{ reason: string; message: string }>;
  };
  read(dataId: object): Promise<unknown>;
}

const trapped = new WeakSet<object>();

/**
 * Turns what the GPU rejects into errors. WebGPU reports an invalid command (a bind group that does not fit its
 * shader, a buffer too large) or a lost device as an event, not an exception, and drops the work: a read would then
 * return whatever its buffer held before, and a test comparing two such reads could pass. Here the first such report
 * makes the next read of a tensor reject with it.
 */
export function trapDeviceErrors(backend: object): void {
  if (!deviceAdaptations.trapErrors || trapped.has(backend)) return;
  trapped.add(backend);
  const gpu = backend as TrappableBackend;
  let pending: string | null = null;
  gpu.device.addEventListener('uncapturederror', ({ error }) => {
    pending ??= `${error.constructor.name}: ${error.message.split('\n')[0]}`;
  });
  void gpu.device.lost.then(({ reason, message }) => {
    if (reason !== 'destroyed') pending ??= `the GPU device was lost: ${message}`;
  });
  const read = gpu.read.bind(gpu);
  gpu.read = async (dataId) => {
    const values = await read(dataId);
    if (pending !== null) {
      const report = pending;
      pending = null;
      throw new Error(`The GPU rejected work queued before this read, so its results are not valid (${report}).`);
    }
    return values;
  };
}
