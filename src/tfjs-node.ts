// tfjs-node's backend, loaded without the package's entry. The entry (dist/index.js) re-exports all of
// @tensorflow/tfjs for its users, and so loads tfjs-layers, tfjs-converter, tfjs-data and tfjs-backend-webgl with
// their source maps: about half a second at every start, for nothing the kit uses. What registers the backend (its
// kernels, its backend class, its native binding) needs only tfjs-core's API, which the union re-exports as is, so
// while those modules load, '@tensorflow/tfjs' stands for tfjs-core.
import { existsSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The part of tfjs-node's package.json the loader reads: its name, and where node-pre-gyp builds its native binding. */
interface PackageSettings {
  name?: string;
  binary?: { module_name?: string; module_path?: string; napi_versions?: number[] };
}

/**
 * Registers tfjs-node's (or tfjs-node-gpu's) `tensorflow` backend with the kit's tfjs-core; `name` is resolved from
 * `from`. Where the package is laid out otherwise than tfjs-node 4.x, or uses another copy of tfjs-core, it imports
 * the package's entry instead, which then does its work, or fails in the package's own words.
 */
export async function loadTfjsNode(name: string, from: string = import.meta.url): Promise<void> {
  let entry: string;
  try {
    entry = createRequire(from).resolve(name);
  } catch {
    // Not installed, or not to be required: the import says which, in Node.js's words ("Cannot find package ...").
    await import(name);
    return;
  }
  if (!loadBackendAlone(entry)) await import(pathToFileURL(entry).href);
}

/** Registers the backend from the package whose entry is `entry`; false, having done nothing, where it cannot. */
function loadBackendAlone(entry: string): boolean {
  const own = createRequire(import.meta.url);
  // tfjs-core as the kit has it: what tfjs-node must share, what stands for the union, what the backend joins.
  const core = own('@tensorflow/tfjs-core') as typeof import('@tensorflow/tfjs-core');
  let inner: NodeJS.Require;
  let union: string;
  let binding: string;
  let packageName: string;
  try {
    inner = createRequire(entry);
    if (inner('@tensorflow/tfjs-core') !== core) return false;
    union = inner.resolve('@tensorflow/tfjs');
    const settings = inner('../package.json') as PackageSettings;
    if (!settings.name) return false;
    packageName = settings.name;
    binding = bindingPath(join(dirname(entry), '..'), settings);
    inner.resolve('./register_all_kernels');
    inner.resolve('./nodejs_kernel_backend');
  } catch {
    return false;
  }
  if (!existsSync(binding)) {
    throw new Error(`its native binding is not built (no ${binding}): run npm run setup:tensorflow, or npm rebuild ${packageName} where it can download libtensorflow`);
  }
  // The binding first: where TensorFlow's library cannot load, no kernel is left registered.
  const native: unknown = inner(binding);
  // Where the union is loaded already, its modules take it as it is.
  const loaded = own.cache[union];
  if (!loaded) {
    const stand = new Module(union);
    stand.filename = union;
    stand.loaded = true;
    stand.exports = core;
    own.cache[union] = stand;
  }
  try {
    inner('./register_all_kernels');
    const { NodeJSKernelBackend } = inner('./nodejs_kernel_backend') as { NodeJSKernelBackend: new (binding: unknown, packageName: string) => object };
    // The priority tfjs-node's entry gives it.
    core.registerBackend('tensorflow', () => new NodeJSKernelBackend(native, packageName) as never, 3);
    return true;
  } finally {
    // Whoever asks for the union afterwards gets the real one.
    if (!loaded) delete own.cache[union];
  }
}

/**
 * Where node-pre-gyp builds the binding: module_path with the highest N-API version the package is built for that
 * this Node.js has.
 */
function bindingPath(packageDir: string, settings: PackageSettings): string {
  const { module_name: file, module_path: path, napi_versions: versions } = settings.binary ?? {};
  const napi = Number(process.versions.napi);
  const version = Math.max(...(versions ?? []).filter((v) => v <= napi));
  if (!file || !path || !Number.isFinite(version)) throw new Error('no binding settings');
  return join(packageDir, path.replace('{napi_build_version}', String(version)), `${file}.node`);
}
