// tfjs-node's backend, loaded without the package's entry. The entry (dist/index.js) re-exports all of
// @tensorflow/tfjs for its users, and so loads tfjs-layers, tfjs-converter, tfjs-data and tfjs-backend-webgl with
// their source maps: about half a second at every start, for nothing the kit uses. What registers the backend (its
// kernels, its backend class, its native binding) needs only tfjs-core's API, which the union re-exports as is, so
// while those modules load, '@tensorflow/tfjs' stands for tfjs-core.
//
// tfjs-node 4.22 calls util.isNullOrUndefined, which Node.js 23 removed, and util.isArray, deprecated with a warning
// since Node.js 22: while its modules load, a require of util from inside the package gets Node.js's util with
// those functions put back, and the rest of the process keeps Node.js's own.
import { existsSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import * as nodeUtil from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where `npm run setup:tensorflow` installs tfjs-node and builds its binding: a folder of the kit's own beside
 * node_modules, so that `npm ci`, which empties node_modules, leaves it working.
 */
export const SETUP_FOLDER = fileURLToPath(new URL('../../.tensorflow/', import.meta.url));

/** The addon of src/accel/optimizers.c, the kit's update operations, that setup:tensorflow builds into its folder. */
export const UPDATE_OPERATIONS_FILE = 'optimizers.node';

/** Where the tensorflow backend's packages are looked for, in this order: each a package name and where it is resolved from. */
export const TFJS_NODE_PLACES: readonly { name: string; from: string; updateOperations?: string }[] = [
  // Installed by npm (with internet: the optional dependency, or npm install @tensorflow/tfjs-node).
  { name: '@tensorflow/tfjs-node-gpu', from: import.meta.url },
  { name: '@tensorflow/tfjs-node', from: import.meta.url },
  // Built by npm run setup:tensorflow, with the kit's update operations (src/accel/optimizers.c) beside it.
  { name: '@tensorflow/tfjs-node', from: pathToFileURL(join(SETUP_FOLDER, 'package.json')).href, updateOperations: join(SETUP_FOLDER, UPDATE_OPERATIONS_FILE) },
];

/** The part of tfjs-node's package.json the loader reads: its name, and where node-pre-gyp builds its native binding. */
interface PackageSettings {
  name?: string;
  binary?: { module_name?: string; module_path?: string; napi_versions?: number[] };
}

/**
 * Registers tfjs-node's (or tfjs-node-gpu's) `tensorflow` backend with the kit's tfjs-core; `name` is resolved from
 * `from` (not found there: an error whose code is ERR_MODULE_NOT_FOUND). Where the package is laid out otherwise than
 * tfjs-node 4.x, or uses another copy of tfjs-core, it imports the package's entry instead, which then does its work,
 * or fails in the package's own words.
 */
export async function loadTfjsNode(name: string, from: string = import.meta.url): Promise<void> {
  let entry: string;
  try {
    entry = createRequire(from).resolve(name);
  } catch (failure) {
    if ((failure as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw failure;
    throw Object.assign(new Error(`Cannot find package '${name}' from ${fileURLToPath(from)}`), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  await withOldUtil(packageFolder(entry), async () => {
    if (!loadBackendAlone(entry)) await import(pathToFileURL(entry).href);
  });
}

/** The folder of the package that `file` is in: the nearest one above it holding a package.json. */
function packageFolder(file: string): string {
  let folder = dirname(file);
  while (!existsSync(join(folder, 'package.json')) && dirname(folder) !== folder) folder = dirname(folder);
  return folder;
}

/** util's functions that tfjs-node calls and today's Node.js removed, or warns about. */
const OLD_UTIL = {
  isArray: Array.isArray,
  isNullOrUndefined: (value: unknown) => value === null || value === undefined,
};

/**
 * Runs `load` with a require of util (or node:util) from a module under `packageDir` given Node.js's util with
 * OLD_UTIL over it. Module._load is where every CommonJS require goes, whether the package was required or imported.
 */
async function withOldUtil(packageDir: string, load: () => Promise<void>): Promise<void> {
  const loader = Module as unknown as { _load: (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown };
  const original = loader._load;
  const within = packageDir + sep;
  const util: unknown = Object.freeze(
    Object.create(nodeUtil, Object.fromEntries(Object.entries(OLD_UTIL).map(([name, value]) => [name, { value, enumerable: true }]))),
  );
  loader._load = function (request, parent, isMain) {
    if ((request === 'util' || request === 'node:util') && parent?.filename?.startsWith(within)) return util;
    return original.call(this, request, parent, isMain);
  };
  try {
    await load();
  } finally {
    loader._load = original;
  }
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
