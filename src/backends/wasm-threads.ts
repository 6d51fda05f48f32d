import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/**
 * The multi-threaded SIMD build of the wasm backend, for Node.js. tfjs turns threads off in Node (its worker is a
 * blob: URL, which Node's workers refuse), so this registers the backend itself from the same package's files:
 * the Emscripten factory in wasm-out/, the real .wasm, and a worker entry of ours (wasm-pthread-worker.cjs). It relies
 * on tfjs-backend-wasm 4.22.0's layout, which package.json pins. XNNPACK's products and element-wise kernels use the
 * threads; results are bit for bit those of the single-threaded build.
 */
const require = createRequire(import.meta.url);
const WORKER = fileURLToPath(new URL('./wasm-pthread-worker.cjs', import.meta.url));
const FACTORY = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
const BINARY = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.wasm';
/** The threaded build creates this many workers whatever the thread count. */
const MAX_THREADS = 8;

/** Threads for the wasm backend: CC6204_WASM_THREADS if set (1 = the single-threaded build), else every core, at most 8. */
export function wasmThreadCount(env: NodeJS.ProcessEnv = process.env): number {
  const asked = env.CC6204_WASM_THREADS?.trim();
  if (asked) {
    const n = Number(asked);
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
      throw new Error(`CC6204_WASM_THREADS must be a whole number from 1 to ${MAX_THREADS}, got "${asked}".`);
    }
    return n;
  }
  return Math.min(availableParallelism(), MAX_THREADS);
}

interface EmscriptenModule {
  cwrap(name: string, returns: string | null, args: string[]): unknown;
  PThread: { runningWorkers: { unref(): void }[] };
  tfjs?: Record<string, unknown>;
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

let registered = false;

/**
 * Replaces the registered 'wasm' backend with the threaded build running `threads` threads, once per process:
 * registering again would dispose the live backend and every tensor on it.
 */
export function registerThreadedWasm(threads: number): void {
  if (registered) return;
  registered = true;
  const factory = require(FACTORY) as Factory;
  const binary = require.resolve(BINARY);
  setThreadsCount(threads);
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      let fail: (error: unknown) => void = () => {};
      const failed = new Promise<never>((_, reject) => (fail = reject));
      const wasm = await Promise.race([
        failed,
        factory({
          locateFile: (path: string, prefix: string) => (path.endsWith('.worker.js') ? WORKER : prefix + path),
          instantiateWasm(imports: { env: Record<string, unknown> }, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) {
            // The C side caps the pool at half the logical cores (it assumes two hyper-threads a core).
            imports.env.emscripten_num_logical_cores = () => 2 * threads;
            WebAssembly.instantiate(readFileSync(binary), imports as WebAssembly.Imports).then((r) => receive(r.instance, r.module), fail);
            return {};
          },
        }),
      ]);
      // The same bridge that tfjs-backend-wasm's own init() adds.
      wasm.tfjs = {
        init: wasm.cwrap('init', null, []),
        initWithThreadsCount: wasm.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: wasm.cwrap('get_threads_count', 'number', []),
        registerTensor: wasm.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: wasm.cwrap('dispose_data', null, ['number']),
        dispose: wasm.cwrap('dispose', null, []),
      };
      const backend = new BackendWasm(wasm as unknown as ConstructorParameters<typeof BackendWasm>[0]);
      // The pool's threads never end; unreferenced, they do not keep Node from exiting.
      for (const worker of wasm.PThread.runningWorkers) worker.unref();
      return backend;
    },
    2,
  );
}
