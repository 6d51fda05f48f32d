import * as tf from '@tensorflow/tfjs-core';

/**
 * Faster matrix products on the wasm backend, registered under tfjs's own kernel names (BatchMatMul, _FusedMatMul), so
 * that every formula gains, a student's included. tfjs-backend-wasm hands a product with a transposed operand to
 * XNNPACK off its fast path: hᵀ·dU for the homework network's weight gradients runs at about 1 GFLOP/s, against 27
 * for the same product with the transpose made first. Here the transposes are made first, as separate kernels, and
 * the product runs without them; the values are those of the same product of the transposed matrices.
 *
 * For a·bᵀ with b the larger operand (dU·Wᵀ, the gradient for the layer below: a batch against the weights), the
 * product is taken as (b·aᵀ)ᵀ, which transposes two batch-sized matrices instead of the weights.
 */

type KernelFunc = tf.KernelConfig['kernelFunc'];

interface BackendLike {
  disposeData(dataId: tf.DataId): void;
}

const PRODUCTS = ['BatchMatMul', '_FusedMatMul'] as const;
const wrapped = new WeakSet<KernelFunc>();

/** The last two axes swapped, by the backend's own Transpose. */
function swapLastTwo(transpose: KernelFunc, x: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  return transpose({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}

/** `product` with its operands' transposes made first. */
function withTransposesFirst(product: KernelFunc, transpose: KernelFunc, fused: boolean): KernelFunc {
  const kernel: KernelFunc = (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as tf.KernelBackend;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return product(args);
    const [a, b] = [inputs.a, inputs.b] as [tf.TensorInfo, tf.TensorInfo];
    const made: tf.TensorInfo[] = [];
    const swapped = (x: tf.TensorInfo) => {
      const y = swapLastTwo(transpose, x, backend);
      made.push(y);
      return y;
    };
    const size = (x: tf.TensorInfo) => tf.util.sizeFromShape(x.shape);
    try {
      const plain = { ...attrs, transposeA: false, transposeB: false };
      // a·bᵀ = (b·aᵀ)ᵀ, for single matrices where a and the result are smaller than b; a fused product's bias and
      // activation apply to the result, so it keeps the direct way.
      const rows = a.shape.at(-2) as number;
      const columns = b.shape.at(-2) as number;
      const single = (x: tf.TensorInfo) => size(x) === (x.shape.at(-1) as number) * (x.shape.at(-2) as number);
      if (!fused && !transposeA && single(a) && single(b) && size(a) + rows * columns < size(b)) {
        const flipped = product({ inputs: { a: b, b: swapped(a) }, backend, attrs: plain }) as tf.TensorInfo;
        made.push(flipped);
        return swapLastTwo(transpose, flipped, backend);
      }
      return product({ inputs: { ...inputs, a: transposeA ? swapped(a) : a, b: transposeB ? swapped(b) : b }, backend, attrs: plain });
    } finally {
      for (const y of made) (backend as unknown as BackendLike).disposeData(y.dataId);
    }
  };
  wrapped.add(kernel);
  return kernel;
}

/** Puts the faster products in place of the wasm backend's, once its kernels are registered. */
export function installWasmProducts(): void {
  const transpose = tf.getKernel('Transpose', 'wasm')?.kernelFunc;
  if (!transpose) return;
  for (const name of PRODUCTS) {
    const config = tf.getKernel(name, 'wasm');
    if (!config || wrapped.has(config.kernelFunc)) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...config, kernelFunc: withTransposesFirst(config.kernelFunc, transpose, name === '_FusedMatMul') });
  }
}
