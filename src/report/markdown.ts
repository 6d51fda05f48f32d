/** Markdown tables of an experiment's runs, in the notebook's number formats (loss `3.773`, accuracy `97.68%`). */
import { bestHeldOut, gaps, heldOutName, type RunResult } from './results.ts';

const MISSING = '—';

/** A table as cells, for markdown (markdownTable) or HTML (html.ts). */
export interface Table {
  header: string[];
  rows: string[][];
  align: ('left' | 'right')[];
}

/**
 * One row per run: its last epoch, its test, the train/test gaps and the mean time of an epoch; where runs measured a
 * held-out set after their epochs, the best accuracy it had and after which epoch; where a run measured the training
 * set without dropout (1c), that accuracy and loss too.
 */
export function summaryTableData(runs: readonly RunResult[]): Table {
  const withTrain = runs.some((run) => run.test?.train !== undefined);
  const heldOut = heldOutName(runs);
  const header = ['Run', 'Epochs', 'Train loss', 'Train acc', 'Test loss', 'Test acc', 'Loss gap', 'Acc gap', 's/epoch'];
  if (heldOut !== undefined) header.push(`Best ${heldOut} acc (epoch)`);
  if (withTrain) header.push('Train loss, no dropout', 'Train acc, no dropout');
  const rows = runs.map((run) => {
    const last = run.epochs.at(-1);
    const gap = gaps(run);
    const seconds = run.epochs.map((e) => e.seconds);
    const row = [
      displayLabel(run),
      String(run.epochs.length),
      formatLoss(last?.loss),
      formatPercent(last?.acc),
      formatLoss(run.test?.loss),
      formatPercent(run.test?.acc),
      formatLoss(gap?.lossGap),
      formatPercent(gap?.accGap),
      seconds.length > 0 ? (seconds.reduce((a, b) => a + b, 0) / seconds.length).toFixed(2) : MISSING,
    ];
    if (heldOut !== undefined) {
      const best = bestHeldOut(run);
      row.push(best ? `${formatPercent(best.acc)} (epoch ${best.epoch})` : MISSING);
    }
    if (withTrain) row.push(formatLoss(run.test?.train?.loss), formatPercent(run.test?.train?.acc));
    return row;
  });
  return { header, rows, align: header.map((_, i) => (i === 0 ? 'left' : 'right')) };
}

/**
 * The test results of runs grouped two ways (2e: initialization × optimizer) as one grid: a row per value of
 * `rowKey`, a column per value of `columnKey`, in the order the runs come; a cell is `88.36% (0.323)`, test accuracy
 * and loss, or — for a run not tested yet or not there. Undefined when no run has both keys.
 */
export function crossTableData(runs: readonly RunResult[], rowKey: string, columnKey: string): Table | undefined {
  const placed = runs.filter((run) => run.spec.groups[rowKey] !== undefined && run.spec.groups[columnKey] !== undefined);
  if (placed.length === 0) return undefined;
  const rowValues = [...new Set(placed.map((run) => run.spec.groups[rowKey] as string))];
  const columnValues = [...new Set(placed.map((run) => run.spec.groups[columnKey] as string))];
  const cell = (row: string, column: string) => {
    const run = placed.find((r) => r.spec.groups[rowKey] === row && r.spec.groups[columnKey] === column);
    return run?.test ? `${formatPercent(run.test.acc)} (${formatLoss(run.test.loss)})` : MISSING;
  };
  return {
    header: [rowKey, ...columnValues],
    rows: rowValues.map((row) => [row, ...columnValues.map((column) => cell(row, column))]),
    align: ['left', ...columnValues.map(() => 'right' as const)],
  };
}

/** One row per run, one column per hyper-parameter that any run sets. */
export function configTableData(runs: readonly RunResult[]): Table {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.spec.config)))];
  const rows = runs.map((run) => [run.spec.label, ...keys.map((key) => formatSetting(run.spec.config[key]))]);
  return { header: ['Run', ...keys], rows, align: ['left', ...keys.map(() => 'left' as const)] };
}

export const summaryTable = (runs: readonly RunResult[]): string => markdownTable(summaryTableData(runs));

/**
 * The run's label (or `name` given for it), marked when the run has no test yet so a partial report cannot be
 * mistaken for a final one.
 */
export function displayLabel(run: RunResult, name = run.spec.label): string {
  return run.finished ? name : `${name} (unfinished)`;
}

/** A markdown table, cells escaped; columns aligned left or right; ends with a newline. */
export function markdownTable({ header, rows, align }: Table): string {
  const line = (cells: string[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  const rule = `| ${align.map((a) => (a === 'right' ? '---:' : ':---')).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n') + '\n';
}

function escapeCell(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');
}

function formatLoss(value: number | undefined): string {
  if (value === undefined) return MISSING;
  return Number.isFinite(value) ? value.toFixed(3) : String(value);
}

function formatPercent(share: number | undefined): string {
  if (share === undefined) return MISSING;
  return Number.isFinite(share) ? `${(share * 100).toFixed(2)}%` : String(share);
}

/** A hyper-parameter or report setting as a reader expects it: `0.001`, `adam`, `[1,0.8,0.8]`. */
export function formatSetting(value: unknown): string {
  if (value === undefined) return MISSING;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? typeof value;
}
