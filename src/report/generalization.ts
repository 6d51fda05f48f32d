/**
 * How the runs generalize, from the held-out set measured after their epochs: per run, its training and held-out
 * curves on one chart (loss, and accuracy); and the gap between them per epoch, run against run (1c: what dropout and
 * weight decay do to it). Runs without such measurements (logs written before they were recorded, or --eval-every 0)
 * are said in words, never drawn as empty charts.
 */
import { lineChartSvg } from './chart.ts';
import { displayLabel } from './markdown.ts';
import { type EpochRecord, type HeldOutRecord, heldOutName, type RunResult } from './results.ts';

export interface RunCurves {
  run: RunResult;
  lossSvg: string;
  accSvg: string;
}

export interface Generalization {
  /** What the held-out measurements are of, capitalized for a heading: `Test`, `Validation`, `Held-out`. */
  name: string;
  /** Runs with held-out measurements, each with its two charts. */
  perRun: RunCurves[];
  /** What the charts show, and which runs have none; a whole paragraph. */
  note: string;
}

const WHY_NONE = 'results written before they were recorded, or run with --eval-every 0';

/** The held-out points of a run: [epoch, value] for each epoch that has them. */
function heldOutPoints(run: RunResult, value: (heldOut: HeldOutRecord, epoch: EpochRecord) => number) {
  return run.epochs.flatMap((e) => (e.heldOut === undefined ? [] : [[e.epoch, value(e.heldOut, e)] as const]));
}

const hasHeldOut = (run: RunResult) => run.epochs.some((e) => e.heldOut !== undefined);

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Per run, train and held-out loss on one chart and train and held-out accuracy on another. */
export function generalization(runs: readonly RunResult[]): Generalization {
  const found = heldOutName(runs);
  if (found === undefined) {
    return {
      name: 'Held-out',
      perRun: [],
      note:
        `No run here has a held-out set measured after its epochs (${WHY_NONE}): only the test after the last epoch ` +
        'is known, in the summary. Run again with --fresh to record them.',
    };
  }
  const name = capitalized(found);
  const perRun = runs.filter(hasHeldOut).map((run) => {
    const label = displayLabel(run);
    const chart = (kind: 'loss' | 'acc') => {
      const scale = kind === 'loss' ? 1 : 100;
      return lineChartSvg({
        title: `${kind === 'loss' ? 'Loss' : 'Accuracy'} — ${label}`,
        xLabel: 'Epoch',
        yLabel: kind === 'loss' ? 'Loss' : 'Accuracy (%)',
        series: [
          { name: 'Train', points: run.epochs.map((e) => [e.epoch, e[kind] * scale] as const) },
          { name, points: heldOutPoints(run, (h) => h[kind] * scale) },
        ],
      });
    };
    return { run, lossSvg: chart('loss'), accSvg: chart('acc') };
  });
  const what =
    found === 'test'
      ? 'Test: the test set after the epoch, without dropout, measured as the final test pass is.'
      : found === 'validation'
        ? 'Validation: the images held out of the training set (--validation), never trained on, after the epoch, without dropout.'
        : 'Held-out: the test set, or for runs with --validation the images held out of the training set, after the epoch, without dropout.';
  const without = runs.filter((run) => !hasHeldOut(run)).map((run) => displayLabel(run));
  const missing = without.length > 0 ? ` No ${found} measurements per epoch for ${without.join(', ')} (${WHY_NONE}).` : '';
  return {
    name,
    perRun,
    note: `Train: the epoch's own numbers, taken during training (with dropout masks on, as the notebook reports them). ${what}${missing}`,
  };
}

export interface GapCharts {
  /** Undefined, with the note saying why, where no run has held-out measurements. */
  svgs?: { acc: string; loss: string };
  note: string;
}

/**
 * The gap per epoch, one series per run: train accuracy minus held-out accuracy (in points), and held-out loss minus
 * train loss, so that both grow as a run does better on the images it trains on than on others.
 */
export function gapCharts(runs: readonly RunResult[]): GapCharts {
  const found = heldOutName(runs);
  if (found === undefined) return { note: `No gap per epoch to draw: no run here has a held-out set measured after its epochs (${WHY_NONE}).` };
  const measured = runs.filter(hasHeldOut);
  const series = (value: (heldOut: HeldOutRecord, epoch: EpochRecord) => number) => measured.map((run) => ({ name: displayLabel(run), points: heldOutPoints(run, value) }));
  return {
    svgs: {
      acc: lineChartSvg({
        title: `Accuracy gap: train − ${found}`,
        xLabel: 'Epoch',
        yLabel: 'Points of accuracy',
        series: series((h, e) => (e.acc - h.acc) * 100),
      }),
      loss: lineChartSvg({
        title: `Loss gap: ${found} − train`,
        xLabel: 'Epoch',
        yLabel: 'Loss',
        series: series((h, e) => h.loss - e.loss),
      }),
    },
    note:
      `Per epoch, train accuracy minus ${found} accuracy, and ${found} loss minus train loss: both grow as a run fits the ` +
      `images it trains on better than others. The train numbers are taken during training, with dropout masks on, ` +
      `which lowers them: a run with dropout can sit below zero.`,
  };
}
