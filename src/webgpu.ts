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
  return folders.some((dir) => {
    try {
      return readdirSync(dir).some((name) => name.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}

export interface WebGpuAdapter {
  /** One line for people: the adapter's description, vendor and architecture. */
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

/**
 * Finds a GPU adapter and installs `navigator.gpu` (with the WebGPU constants) where tfjs's webgpu backend looks for
 * them; it registers itself only if `navigator.gpu` exists when it is imported. Returns what the adapter is, or
 * throws saying why there is none.
 */
export function installWebGpu(): Promise<WebGpuAdapter> {
  // Once per process: every probe of Dawn starts its drivers again (and repeats any warning they print).
  installation ??= install();
  return installation;
}

let installation: Promise<WebGpuAdapter> | undefined;

async function install(): Promise<WebGpuAdapter> {
  if (process.platform === 'linux' && !hasVulkanLoader()) {
    throw new Error('no Vulkan loader (libvulkan.so.1) on this machine');
  }
  if (process.platform === 'linux' && !hasVulkanDriver()) {
    throw new Error('no Vulkan driver: no ICD file in /usr/share/vulkan/icd.d, /etc/vulkan/icd.d or VK_DRIVER_FILES');
  }
  const { create, globals } = (await import('webgpu')) as unknown as { create(flags: string[]): GpuLike; globals: object };
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no GPU adapter found');
  Object.assign(globalThis, globals);
  const scope = globalThis as { navigator?: object };
  if (scope.navigator === undefined) scope.navigator = {};
  Object.defineProperty(scope.navigator, 'gpu', { value: gpu, configurable: true });
  const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info ?? {};
  return {
    description: [description || device, vendor, architecture].filter(Boolean).join(', ') || 'unnamed adapter',
    software: isFallbackAdapter === true || architecture === 'software',
  };
}
