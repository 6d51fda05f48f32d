// tfjs-node's backend, loaded without the package's entry. The entry (dist/index.js) re-exports all of
// @tensorflow/tfjs for its users, and so loads tfjs-layers, tfjs-converter, tfjs-data and tfjs-backend-webgl with
// their source maps: about half a second at every start, for nothing the kit uses. What registers the backend (its
// kernels, its backend class, its native binding) needs only tfjs-core's API, which the union re-exports as is, so
// while those modules load, '@tensorflow/tfjs' stands for tfjs-core.
import { existsSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The part of tfjs-node's package.json that says where its native binding is built (node-pre-gyp's settings). */
interface BindingSettings {
  binary?: { module_name?: string; module_path?: string; napi_versions?: number[] };
}

/**
 * Registers tfjs-node's (or tfjs-node-gpu's) `tensorflow` backend with the kit's tfjs-core; `name` is resolved from
 * `from`. Where the package is not laid out as tfjs-node 4.x is, or uses another copy of tfjs-core, it imports the
 * package's entry instead, which then does its work, or fails in the package's own words.
 */
export async function loadTfjsNode(name: string, from: string = import.meta.url): Promise<void> {
  let entry: string;
  try {
    entry = createRequire(from).resolve(name);
  } catch {
    // Not installed: import's own error ("Cannot find package ...").
    await import(name);
    return;
  }
  if (!loadBackendAlone(name, entry)) await import(pathToFileURL(entry).href);
}

function loadBackendAlone(name: string, entry: string): boolean {
  const own = createRequire(import.meta.url);
  let inner: NodeJS.Require;
  let union: string;
  let binding: string;
  try {
    inner = createRequire(entry);
    if (inner('@tensorflow/tfjs-core') !== own('@tensorflow/tfjs-core')) return false;
    union = inner.resolve('@tensorflow/tfjs');
    binding = bindingPath(join(dirname(entry), '..'), inner('../package.json') as BindingSettings);
    inner.resolve('./register_all_kernels');
    inner.resolve('./nodejs_kernel_backend');
  } catch {
    return false;
  }
  const stand = new Module(union);
  stand.filename = union;
  stand.loaded = true;
  stand.exports = own('@tensorflow/tfjs-core') as unknown;
  own.cache[union] = stand;
  try {
    inner('./register_all_kernels');
    const { NodeJSKernelBackend } = inner('./nodejs_kernel_backend') as { NodeJSKernelBackend: new (binding: unknown, packageName: string) => object };
    const native: unknown = inner(binding);
    const tf = own('@tensorflow/tfjs-core') as typeof import('@tensorflow/tfjs-core');
    // The priority tfjs-node's entry gives it.
    tf.registerBackend('tensorflow', () => new NodeJSKernelBackend(native, name) as never, 3);
    return true;
  } finally {
    // Whoever asks for the union afterwards gets the real one.
    delete own.cache[union];
  }
}

/**
 * Where node-pre-gyp put the binding: module_path with the highest N-API version the package was built for that this
 * Node.js has. Throws where that file is missing (the package's entry then says how to build it).
 */
function bindingPath(packageDir: string, settings: BindingSettings): string {
  const { module_name: file, module_path: path, napi_versions: versions } = settings.binary ?? {};
  const napi = Number(process.versions.napi);
  const version = Math.max(...(versions ?? []).filter((v) => v <= napi));
  if (!file || !path || !Number.isFinite(version)) throw new Error('no binding settings');
  const found = join(packageDir, path.replace('{napi_build_version}', String(version)), `${file}.node`);
  if (!existsSync(found)) throw new Error(`no binding at ${found}`);
  return found;
}
