import { existsSync } from 'node:fs';
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

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

/**
 * Finds a GPU adapter and installs `navigator.gpu` (with the WebGPU constants) where tfjs's webgpu backend looks for
 * them; it registers itself only if `navigator.gpu` exists when it is imported. Returns the adapter's description,
 * or throws saying why there is none.
 */
export function installWebGpu(): Promise<string> {
  // Once per process: every probe of Dawn starts its drivers again (and repeats any warning they print).
  installation ??= install();
  return installation;
}

let installation: Promise<string> | undefined;

async function install(): Promise<string> {
  if (process.platform === 'linux' && !hasVulkanLoader()) {
    throw new Error('no Vulkan loader (libvulkan.so.1) on this machine');
  }
  const { create, globals } = (await import('webgpu')) as unknown as { create(flags: string[]): GpuLike; globals: object };
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no GPU adapter found');
  Object.assign(globalThis, globals);
  const scope = globalThis as { navigator?: object };
  if (scope.navigator === undefined) scope.navigator = {};
  Object.defineProperty(scope.navigator, 'gpu', { value: gpu, configurable: true });
  const { vendor, architecture, device, description } = adapter.info ?? {};
  return [description || device, vendor, architecture].filter(Boolean).join(', ') || 'unnamed adapter';
}
