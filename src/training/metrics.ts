import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy } from '../nn/loss.ts';
import { op } from '../core/op.ts';

/**
 * How a batch's loss counts: its mean (`batchMean`, as the notebook reports training) or its sum (`sampleSum`, for a
 * per-sample mean over batches of any size).
 */
export type LossTotal = 'batchMean' | 'sampleSum';

/** A running loss and count of right predictions: one total each, or one per row of the batch (summed when read). */
export interface Totals {
  loss: tf.Tensor;
  right: tf.Tensor;
}

/** Totals at zero, for batches of at most `rows` rows. */
export const zeroTotals = op('zeroTotals', (_rows: number): Totals => ({ loss: tf.zeros([]), right: tf.zeros([]) }));

/**
 * `totals` plus a batch of predictions `yPred` against one-hot `y`: its loss (mean cross-entropy, or times the batch
 * size with `sampleSum`) and its count of rows whose largest prediction is the target's class.
 */
export const addToTotals = op('addToTotals', (totals: Totals, yPred: tf.Tensor2D, y: tf.Tensor2D, mode: LossTotal): Totals =>
  tf.tidy(() => {
    const mean = crossEntropy(yPred, y);
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(yPred, 1), tf.argMax(y, 1)), 'float32'));
    // Totals kept per row (by a faster version, turned off meanwhile) become one total each.
    const [loss, right] = totals.loss.rank === 0 ? [totals.loss, totals.right] : [tf.sum(totals.loss), tf.sum(totals.right)];
    return { loss: tf.add(loss, mode === 'batchMean' ? mean : tf.mul(mean, yPred.shape[0])), right: tf.add(right, correct) };
  }),
);

/**
 * The running totals of an epoch or an evaluation, kept on the backend so that the loop never waits on a read.
 */
export class RunningTotals {
  private totals: Totals;

  /** `rows`: the largest batch that will be added. */
  constructor(
    rows: number,
    private readonly mode: LossTotal,
  ) {
    this.totals = zeroTotals(rows);
  }

  add(yPred: tf.Tensor2D, y: tf.Tensor2D): void {
    const next = addToTotals(this.totals, yPred, y, this.mode);
    tf.dispose([this.totals.loss, this.totals.right]);
    this.totals = next;
  }

  /**
   * Starts reading the loss so far, to be awaited later. The read is queued now, behind only the work queued so far,
   * so by the time it is awaited the backend is usually past it. (A clone shares the total's memory, which lives
   * until both are freed.)
   */
  checkpoint(): Promise<void> {
    const snapshot = this.totals.loss.clone();
    const read = snapshot.data().then(
      () => snapshot.dispose(),
      (error: unknown) => {
        snapshot.dispose();
        throw error;
      },
    );
    // Awaited later, which rethrows; this only keeps a failure before then from counting as unhandled.
    read.catch(() => {});
    return read;
  }

  /** Frees the totals unread. */
  dispose(): void {
    tf.dispose([this.totals.loss, this.totals.right]);
  }

  /** Waits for the backend, then frees the totals. */
  async read(): Promise<{ loss: number; right: number }> {
    const loss = tf.sum(this.totals.loss);
    const right = tf.sum(this.totals.right);
    const [lossValue, rightValue] = await Promise.all([loss.data(), right.data()]);
    tf.dispose([loss, right, this.totals.loss, this.totals.right]);
    return { loss: lossValue[0] as number, right: rightValue[0] as number };
  }
}
