import * as tf from '@tensorflow/tfjs-core';
import { setFaster } from '../core/op.ts';
import { classesProbe, positiveProbe } from './probes.ts';
import { addToTotals, type LossTotal, type Totals, zeroTotals } from '../training/metrics.ts';
import { hasFused, runFused } from './kernels.ts';
import { registerTensorflowKernel, type TensorflowCall } from './tensorflow-ops.ts';
import { registerWgslKernel, type WgslKernel } from './wgsl.ts';

/**
 * The training loop's running loss and count of right answers (src/training/metrics.ts) in one kernel per batch on
 * the webgpu and tensorflow backends, where tfjs takes 13 (cross-entropy, two argMax, the comparison, the sums and the
 * two running totals): on a GPU each is a dispatch of fixed cost, and on tensorflow each costs tfjs's bookkeeping, half
 * a millisecond of a 1c step in all. The totals are kept per row of the batch and summed once, when the epoch ends.
 *
 * Row i adds −Σ_j y_ij·log(max(q_ij, eps)) times `scale` to its loss total (1/batch in training, so that the rows
 * sum to the sum of the batch means, as crossEntropy averages each batch; 1 in evaluation) and 1 to its count when
 * the first largest q_i and y_i are in the same column (as tf.argMax picks). Rows past the batch (a short last
 * batch) keep their totals.
 */
const METRICS: WgslKernel = {
  inputs: ['q', 'y', 'loss', 'right'],
  outputs: ['lossOut', 'rightOut'],
  constants: ['rows', 'classes', 'eps', 'scale'],
  body: `var l = loss[i];
    var k = right[i];
    if (i < u32(c.rows)) {
      let classes = u32(c.classes);
      let start = i * classes;
      var sum = 0.0;
      var bestQ = q[start];
      var atQ = 0u;
      var bestY = y[start];
      var atY = 0u;
      for (var j = 0u; j < classes; j = j + 1u) {
        let qj = q[start + j];
        let yj = y[start + j];
        sum = sum + yj * log(max(qj, c.eps));
        if (qj > bestQ) {
          bestQ = qj;
          atQ = j;
        }
        if (yj > bestY) {
          bestY = yj;
          atY = j;
        }
      }
      l = l + (-sum) * c.scale;
      k = k + select(0.0, 1.0, atQ == atY);
    }
    lossOut[i] = l;
    rightOut[i] = k;`,
};

const KERNEL = 'CC6204TrainingMetrics';
const EPSILON = 1e-8;

/** Per-row totals at zero where the backend has the kernel, else null. */
function perRowZeroTotals(rows: number): Totals | null {
  return hasFused(KERNEL) ? { loss: tf.zeros([rows]), right: tf.zeros([rows]) } : null;
}

/**
 * addToTotals in one kernel, for per-row totals of at least as many rows as the batch: each row's loss times 1/batch
 * with `batchMean` (the rows then sum to the batch's mean), 1 with `sampleSum`. Else null.
 */
export function fusedAddToTotals(totals: Totals, yPred: tf.Tensor2D, y: tf.Tensor2D, mode: LossTotal): Totals | null {
  const { loss, right } = totals;
  const [rows, classes] = yPred.shape;
  if (loss.rank !== 1 || rows > (loss.shape[0] as number)) return null;
  const scale = mode === 'batchMean' ? 1 / rows : 1;
  const result = runFused(KERNEL, { q: yPred, y, loss, right }, { rows, classes, eps: EPSILON, scale });
  return result ? { loss: result[0] as tf.Tensor1D, right: result[1] as tf.Tensor1D } : null;
}

/**
 * The same on tensorflow, from TensorFlow's operations: each row's −Σ_j y_ij·log(max(q_ij, eps)) times `scale`, and 1
 * where ArgMax (the first largest, as tf.argMax) of q and of y agree; both padded with zeros past the batch, then
 * added to the totals. Eleven operations, thirteen for a short batch.
 */
function tensorflowMetrics({ inputs, attrs, handle, scalar, ints, temp, result, bool, typeAttr, typeOf }: TensorflowCall): tf.Tensor[] {
  const [q, y, loss, right] = (['q', 'y', 'loss', 'right'] as const).map((name) => handle(inputs[name] as tf.TensorInfo)) as [number, number, number, number];
  const { rows, eps, scale } = attrs as { rows: number; eps: number; scale: number };
  const length = (inputs.loss as tf.TensorInfo).shape[0] as number;
  const columns = ints([1], []);
  const logQ = temp('Log', [temp('Maximum', [q, scalar(eps)])]);
  const rowSums = temp('Sum', [temp('Mul', [y, logQ]), columns], [bool('keep_dims', false), typeAttr(), typeOf('Tidx', 'int32')]);
  let rowLoss = temp('Mul', [rowSums, scalar(-scale)]);
  const argMax = (t: number) => temp('ArgMax', [t, columns], [typeAttr(), typeOf('Tidx', 'int32'), typeOf('output_type', 'int32')]);
  const same = temp('Equal', [argMax(q), argMax(y)], [typeOf('T', 'int32')]);
  let rowRight = temp('Cast', [same], [typeOf('SrcT', 'bool'), typeOf('DstT', 'float32')]);
  if (rows < length) {
    const padding = ints([0, length - rows], [1, 2]);
    const pad = (t: number) => temp('Pad', [t, padding], [typeAttr(), typeOf('Tpaddings', 'int32')]);
    [rowLoss, rowRight] = [pad(rowLoss), pad(rowRight)];
  }
  return [result('AddV2', [loss, rowLoss]), result('AddV2', [right, rowRight])];
}

/** Registers the metrics kernel on webgpu and tensorflow, and the fused versions of zeroTotals and addToTotals. */
export function installMetricsKernel(): void {
  // The totals are as long as the largest batch, not as the one given.
  registerWgslKernel(KERNEL, METRICS, (inputs) => {
    const shape = (inputs.loss as tf.TensorInfo).shape;
    return { outputs: [shape, shape], invocations: tf.util.sizeFromShape(shape) };
  });
  registerTensorflowKernel(KERNEL, tensorflowMetrics);
  // Totals are compared as they are read, summed: the faster versions keep one per row.
  const summed = (totals: Totals | null) => totals && [tf.sum(totals.loss), tf.sum(totals.right)];
  const names = (formula: string) => () => ({ formula, faster: 'the fused metrics kernel' });
  setFaster(zeroTotals, perRowZeroTotals, { settings: () => [], probe: (run) => summed(run(5)), names: names('zeroTotals') });
  setFaster(addToTotals, fusedAddToTotals, {
    settings: (_totals, _yPred, _y, mode) => [mode],
    probe: (run, [, , , mode]) => {
      const { probs, targets } = classesProbe(4, 3, 11);
      return summed(run({ loss: positiveProbe([5], 12), right: tf.fill([5], 1) }, probs, targets, mode));
    },
    names: names('addToTotals'),
  });
}
