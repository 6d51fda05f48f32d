import { setCompiler, type Compiler } from '../core/op.ts';
import { installActivationKernels } from './activations.ts';
import { installBatchKernel } from './batches.ts';
import { runChained } from './chains.ts';
import { runAsGraph } from './graphs.ts';
import { installLinearKernels } from './linear.ts';
import { installMetricsKernel } from './metrics.ts';
import { installWasmProducts } from './products.ts';
// kit only: begin
import { installDropoutKernel } from './dropout.ts';
import { installOptimizerKernels } from './optimizers.ts';
// kit only: end

/**
 * The fast paths: the kit's own kernels for the wasm and webgpu backends, registered with tfjs by name, and the
 * faster versions of the reference formulas' named operations (src/core/op.ts) that run them where the current backend
 * has them. Each computes what its reference formula computes; a test holds it to that formula. Installed once, when
 * a backend is chosen (src/backends/select.ts); `useFusedKernels(false)` turns them off.
 */
let installed = false;

/**
 * The faster primitives of a backend whose package has just registered its kernels, so that every formula gains:
 * tfjs's kernels of the same name replaced by faster ones that compute the same (products.ts, on wasm), and a
 * training step's chains of element-wise operations run as one pass each (chains.ts, on wasm) or the whole step as one
 * graph of the operations its formulas call (graphs.ts, on tensorflow).
 */
export function installFasterPrimitives(backend: string): void {
  if (backend === 'wasm') installWasmProducts();
  if (backend === 'wasm' || backend === 'tensorflow') setCompiler(byBackend);
}

/** The compiler of compiled(): each backend's own, which runs the body as it is on any other backend. */
const byBackend: Compiler = (name, body) => runAsGraph(name, () => runChained(name, body));

export function installFastPaths(): void {
  if (installed) return;
  installed = true;
  installActivationKernels();
  installBatchKernel();
  installLinearKernels();
  installMetricsKernel();
  // kit only: begin
  installDropoutKernel();
  installOptimizerKernels();
  // kit only: end
}
