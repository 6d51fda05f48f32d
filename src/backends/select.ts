import * as tf from '@tensorflow/tfjs-core';
import { installFastPaths, installFasterPrimitives } from '../accel/index.ts';
import { loadUpdateOperations } from '../accel/tensorflow-ops.ts';
import { UsageError } from '../core/cli.ts';
import { loadTfjsNode, TFJS_NODE_PLACES } from './tensorflow.ts';
import { hasGpuDeviceNode, installWebGpu, trapDeviceErrors } from './webgpu.ts';

/**
 * The tensor backends the kit can run on, in the order tried when none is asked for, fastest first as measured
 * (docs/performance.md): native TensorFlow, then WebGPU where a hardware GPU adapter is found (a software one, such as
 * Mesa's llvmpipe, only when asked for by name), then WebAssembly, then plain JavaScript, which always loads. Native
 * TensorFlow built for the CPU comes after a hardware GPU's WebGPU (see preferGpu).
 */
export const BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  name: BackendName;
  /** One line for people: the backend and what runs it. */
  description: string;
}

interface Candidate {
  /**
   * Imports whatever registers the backend with tfjs-core; throws if it cannot, or if `automatic` (nobody asked for
   * it by name) and it would be a poor choice. Returns the line that describes it: what runs it, and how.
   */
  register(automatic: boolean): Promise<string>;
  /** Runs once the backend has initialised or failed to (and before any other code sees it). */
  settle?(before: ProcessHandlers): void;
  /** Runs once the backend is ready: what it adds to it, and the line that describes it then. */
  ready?(description: string): string;
}

type ProcessHandlers = { uncaughtException: NodeJS.UncaughtExceptionListener[]; unhandledRejection: NodeJS.UnhandledRejectionListener[] };

function processHandlers(): ProcessHandlers {
  return { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
}

/**
 * The wasm backend's Emscripten runtime installs process handlers that rethrow every uncaught error from inside
 * its minified bundle, so Node prints a screen-wide line of its source instead of the error. Removing them restores
 * Node's own report.
 */
function dropEmscriptenExceptionHandlers(before: ProcessHandlers): void {
  for (const handler of process.listeners('uncaughtException')) {
    if (!before.uncaughtException.includes(handler)) process.removeListener('uncaughtException', handler);
  }
  for (const handler of process.listeners('unhandledRejection')) {
    if (!before.unhandledRejection.includes(handler)) process.removeListener('unhandledRejection', handler);
  }
}

/** Loads the first of tfjs-node's packages that loads; its place, or an Error with each one's reason. */
async function loadFirstTfjsNode<Place extends { name: string; from: string }>(places: readonly Place[]): Promise<Place> {
  const reasons: string[] = [];
  for (const place of places) {
    const { name, from } = place;
    try {
      await loadTfjsNode(name, from);
      return place;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') reasons.push(`${name}: ${firstLine(error)}`);
    }
  }
  throw new Error(reasons.length > 0 ? reasons.join('; ') : 'tfjs-node is not installed: npm run setup:tensorflow builds it here');
}

/** The file of the kit's update operations for the tfjs-node that loaded, if it has one. */
let updateOperations: string | undefined;

const CANDIDATES: Record<BackendName, Candidate> = {
  tensorflow: {
    async register() {
      // TensorFlow's C++ logging (which instructions the CPU has, say) stays quiet unless asked for.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      const loaded = await loadFirstTfjsNode(TFJS_NODE_PLACES);
      // tfjs-node registers with its own copy of tfjs-core when the versions differ, which would leave ours without it.
      if (tf.findBackendFactory('tensorflow') === null) {
        throw new Error(`${loaded.name} loaded but registered with another copy of @tensorflow/tfjs-core (version mismatch)`);
      }
      installFasterPrimitives('tensorflow');
      updateOperations = loaded.updateOperations;
      return `tensorflow (native TensorFlow through ${loaded.name})`;
    },
    // The kit's update operations, where setup:tensorflow built them beside the tfjs-node that loaded.
    ready: (description) => (updateOperations && loadUpdateOperations(updateOperations) ? `${description}, with the kit's update operations` : description),
  },
  webgpu: {
    async register(automatic) {
      const adapter = await installWebGpu({ software: !automatic });
      if (adapter.software && automatic) {
        throw new Error(`its only adapter is no GPU (${adapter.description}), slower than wasm; --backend webgpu takes it anyway`);
      }
      await import('@tensorflow/tfjs-backend-webgpu');
      return `webgpu (WebGPU through Dawn on ${adapter.description})`;
    },
    settle() {
      const backend = tf.findBackend('webgpu');
      if (backend) trapDeviceErrors(backend);
    },
  },
  wasm: {
    async register() {
      await import('@tensorflow/tfjs-backend-wasm');
      installFasterPrimitives('wasm');
      // Loaded here, not at the top, so that a program that never takes wasm can leave its package out (a bundle).
      const { registerThreadedWasm, wasmThreadCount } = await import('./wasm-threads.ts');
      const threads = wasmThreadCount();
      if (threads > 1) registerThreadedWasm(threads);
      const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'SIMD' : 'no SIMD';
      return `wasm (WebAssembly, ${simd}, ${threads} thread${threads === 1 ? '' : 's'})`;
    },
    settle: dropEmscriptenExceptionHandlers,
  },
  cpu: {
    async register() {
      await import('@tensorflow/tfjs-backend-cpu');
      return 'cpu (plain JavaScript, slowest)';
    },
  },
};

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

/** Whether `name` is one of BACKENDS. */
export function isBackendName(name: string): name is BackendName {
  return (BACKENDS as readonly string[]).includes(name);
}

async function tryBackend(
  name: BackendName,
  { automatic }: { automatic: boolean },
): Promise<{ ok: true; description: string } | { ok: false; reason: string }> {
  const before = processHandlers();
  let description: string;
  try {
    description = await CANDIDATES[name].register(automatic);
  } catch (error) {
    return { ok: false, reason: firstLine(error) };
  }
  try {
    // setBackend resolves false (rather than throwing) when the backend's initialisation fails.
    const initialised = await tf.setBackend(name);
    CANDIDATES[name].settle?.(before);
    if (!initialised) return { ok: false, reason: 'it failed to initialise' };
    await tf.ready();
    return { ok: true, description: CANDIDATES[name].ready?.(description) ?? description };
  } catch (error) {
    return { ok: false, reason: firstLine(error) };
  }
}

/** The error for a backend name that is no backend's, the same in every command. */
export function unknownBackend(name: string): UsageError {
  return new UsageError(`Unknown backend "${name}": choose one of ${BACKENDS.join(', ')}.`);
}

/**
 * Picks the tensor backend: the one `requested` names (from `--backend`, else `CC6204_BACKEND`), else the first of
 * {@link BACKENDS} that loads. A named backend that cannot load is an error naming the ones that can; a name that is no
 * backend's is a {@link UsageError}.
 */
export async function selectBackend(requested: string | undefined = process.env.CC6204_BACKEND): Promise<BackendInfo> {
  // The cpu backend warns on first use in Node.js that a faster backend exists; the kit says which backend runs instead.
  tf.enableProdMode();
  // The kit's own kernels for the backends that have them (tensorflow, webgpu, wasm), behind the reference formulas.
  installFastPaths();
  const wanted = requested?.trim() || undefined;
  if (wanted !== undefined) {
    if (!isBackendName(wanted)) {
      throw unknownBackend(wanted);
    }
    const attempt = await tryBackend(wanted, { automatic: false });
    if (!attempt.ok) {
      const usable = await usableBackends(wanted);
      throw new Error(
        `Backend "${wanted}" cannot load (${attempt.reason}). Usable here: ${usable.join(', ') || 'none'}.`,
      );
    }
    return { name: wanted, description: attempt.description };
  }
  const reasons: string[] = [];
  // TensorFlow on the CPU, kept while a hardware GPU's WebGPU is tried; it still beats WebAssembly.
  let onCpu: BackendInfo | undefined;
  for (const name of BACKENDS) {
    if (onCpu && name !== 'webgpu') break;
    const attempt = await tryBackend(name, { automatic: true });
    if (!attempt.ok) {
      reasons.push(`${name}: ${attempt.reason}`);
      continue;
    }
    if (name === 'tensorflow' && preferGpu(tensorflowOnGpu(), hasGpuDeviceNode())) {
      onCpu = { name, description: attempt.description };
      continue;
    }
    return { name, description: attempt.description };
  }
  if (onCpu && (await tf.setBackend(onCpu.name))) return onCpu;
  throw new Error(`No tensor backend could load (${reasons.join('; ')}).`);
}

/** Whether the loaded tensorflow backend computes on a GPU device (tfjs-node-gpu with CUDA), not the CPU. */
function tensorflowOnGpu(): boolean {
  return (tf.findBackend('tensorflow') as { isUsingGpuDevice?: boolean } | null)?.isUsingGpuDevice === true;
}

/**
 * Whether the automatic choice should try a GPU's WebGPU before native TensorFlow: where TensorFlow runs on the CPU
 * and the machine has a GPU device. On an H100 a 2e step takes 1.84 ms through WebGPU; on two CPU cores 13-14 ms
 * through TensorFlow.
 */
export function preferGpu(tensorflowIsOnGpu: boolean, gpuDeviceNode: boolean): boolean {
  return !tensorflowIsOnGpu && gpuDeviceNode;
}

/**
 * The backends that load on this machine when asked for by name (or, with `automatic`, those the automatic choice
 * would consider: no software WebGPU adapter), leaving the current one selected.
 */
export async function usableBackends(skip?: BackendName, { automatic = false }: { automatic?: boolean } = {}): Promise<BackendName[]> {
  const current = tf.getBackend();
  const usable: BackendName[] = [];
  for (const name of BACKENDS) {
    if (name !== skip && (await tryBackend(name, { automatic })).ok) usable.push(name);
  }
  if (current) await tf.setBackend(current);
  return usable;
}
