/**
 * The results log of one experiment: a JSON-lines file that grows by one line per event, written the moment the
 * event happens, so that a rerun can skip finished runs and, with the run's checkpoint, take up a stopped one.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, truncateSync } from 'node:fs';
import { dirname } from 'node:path';
import { kitError } from '../core/errors.ts';
import { freeName, makeFolder, whyNotWritten, WriteError } from '../core/files.ts';

export interface RunSpec {
  /** Stable key of the run, e.g. `"adam:heuristic"` or `"baseline"`. */
  id: string;
  /** What a reader sees in charts and tables, e.g. `"Adam, heuristic init"`. */
  label: string;
  /** The run's place in each grouping of the report, e.g. `{ optimizer: "Adam", init: "heuristic" }`. */
  groups: Record<string, string>;
  /** Hyper-parameters, shown in the report. */
  config: Record<string, unknown>;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  /** Share of correct predictions, in [0, 1]. */
  acc: number;
  seconds: number;
  /** The held-out set after the epoch, where it was measured (logs written before it was recorded have none). */
  heldOut?: HeldOutRecord;
}

/** The test set, or the images held out of the training set (--validation), measured after an epoch without dropout. */
export interface HeldOutRecord {
  set: 'test' | 'validation';
  loss: number;
  acc: number;
  seconds: number;
}

export interface TestRecord {
  loss: number;
  acc: number;
  seconds: number;
  /**
   * The training set measured as the test set is, without dropout (1c): the network's own train/test gap, where the
   * epochs' numbers are taken during training, with the masks on.
   */
  train?: { loss: number; acc: number };
}

export interface RunMeta {
  backend: string;
  dataset: string;
  seed: number;
}

export interface RunResult {
  spec: RunSpec;
  epochs: EpochRecord[];
  test?: TestRecord;
  backend?: string;
  finished: boolean;
  /** Why the run failed (its loss or accuracy stopped being a number, say), if it did; it then runs again. */
  failed?: string;
}

export interface Gaps {
  /** |min train loss − test loss|, as the notebook printed it. */
  lossGap: number;
  /** |max train acc − test acc|, as a share in [0, 1]. */
  accGap: number;
}

/** A line of the log that cannot be read, other than a torn last line. */
export class MalformedResultsLogError extends kitError('MalformedResultsLogError', 'MALFORMED_RESULTS_LOG') {

  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

type LogLine =
  | ({ type: 'start'; runId: string; spec: RunSpec } & RunMeta)
  | ({ type: 'epoch'; runId: string } & EpochRecord)
  | ({ type: 'test'; runId: string } & TestRecord)
  | { type: 'failed'; runId: string; reason: string };

export interface ResultsLogOptions {
  /** Receives warnings, such as a torn last line being skipped. */
  log?: (message: string) => void;
}

export class ResultsLog {
  /** The tail is repaired once, before this instance's first write, never by a reader. */
  private tailChecked = false;

  private constructor(
    readonly path: string,
    private readonly log: (message: string) => void,
  ) {}

  static open(path: string, options: ResultsLogOptions = {}): ResultsLog {
    makeFolder(dirname(path));
    return new ResultsLog(path, options.log ?? ((message) => console.warn(message)));
  }

  /** Begins (or begins again) a run: records written for it before this line no longer count. */
  startRun(spec: RunSpec, meta: RunMeta): void {
    this.append({ type: 'start', runId: spec.id, spec, ...meta });
  }

  appendEpoch(runId: string, record: EpochRecord): void {
    this.append({ type: 'epoch', runId, ...record });
  }

  finishRun(runId: string, test: TestRecord): void {
    this.append({ type: 'test', runId, ...test });
  }

  /** Records that a run failed: it is not finished, and the next command runs it again from the start. */
  failRun(runId: string, reason: string): void {
    this.append({ type: 'failed', runId, reason });
  }

  /** Every run in the order it was first started, each as of its last start. */
  load(): Map<string, RunResult> {
    const runs = new Map<string, RunResult>();
    for (const { line, lineNumber } of this.readLines()) {
      if (line.type === 'start') {
        runs.set(line.runId, { spec: line.spec, epochs: [], backend: line.backend, finished: false });
        continue;
      }
      const run = runs.get(line.runId);
      if (run === undefined) {
        throw new MalformedResultsLogError(this.path, lineNumber, `"${line.type}" record for run "${line.runId}" that was never started`);
      }
      // The record is the line without its type and run id.
      if (line.type === 'epoch') {
        const { type, runId, ...epoch } = line;
        run.epochs.push(epoch);
      } else if (line.type === 'failed') {
        run.failed = line.reason;
      } else {
        const { type, runId, ...test } = line;
        run.test = test;
        run.finished = true;
      }
    }
    return runs;
  }

  isFinished(runId: string): boolean {
    return this.load().get(runId)?.finished ?? false;
  }

  /**
   * Starts the log anew. The old file is kept as `<path>.bak`, or `<path>.bak.1`, `.bak.2`, … when older backups
   * exist, so nothing is ever lost. Returns the backup's path, or undefined when there was no log yet.
   */
  fresh(): string | undefined {
    this.tailChecked = false;
    if (!existsSync(this.path)) return undefined;
    const backup = freeName(`${this.path}.bak`);
    renameSync(this.path, backup);
    return backup;
  }

  private append(line: LogLine): void {
    if (!this.tailChecked) {
      this.repairTail();
      this.tailChecked = true;
    }
    // Sync and unbuffered: the line is in the file before the call returns. A write cut short (a full disk) leaves a
    // torn last line, which the next write drops.
    try {
      appendFileSync(this.path, `${JSON.stringify(line)}\n`);
    } catch (error) {
      throw new WriteError(`Could not add to ${this.path}: ${whyNotWritten(error)}.`, { cause: error });
    }
  }

  /** Without this, the next line would be glued onto a torn one and turn it into a malformed middle line. */
  private repairTail(): void {
    if (!existsSync(this.path)) return;
    const text = readFileSync(this.path, 'utf8');
    const lines = splitLines(text);
    const last = lines.at(-1);
    if (last === undefined) return;
    if (parseLine(last.text) === undefined) {
      this.log(`${this.path}:${last.lineNumber}: dropping a torn last line (an interrupted write)`);
      truncateSync(this.path, Buffer.byteLength(text.slice(0, last.offset)));
    } else if (!text.endsWith('\n')) {
      appendFileSync(this.path, '\n');
    }
  }

  private *readLines(): Generator<{ line: LogLine; lineNumber: number }> {
    if (!existsSync(this.path)) return;
    const lines = splitLines(readFileSync(this.path, 'utf8'));
    for (const [index, { text, lineNumber }] of lines.entries()) {
      const line = parseLine(text);
      if (line !== undefined) {
        yield { line, lineNumber };
      } else if (index === lines.length - 1) {
        this.log(`${this.path}:${lineNumber}: skipping a torn last line (an interrupted write)`);
      } else {
        throw new MalformedResultsLogError(this.path, lineNumber, `not a results record: ${abbreviate(text)}`);
      }
    }
  }
}

/**
 * Train/test gaps of a finished run, or undefined while it has no test record. The best train values skip NaN
 * epochs, so a run that diverged late still compares its best epoch with the test.
 */
export function gaps(run: RunResult): Gaps | undefined {
  if (run.test === undefined) return undefined;
  const losses = run.epochs.map((e) => e.loss).filter(Number.isFinite);
  const accs = run.epochs.map((e) => e.acc).filter(Number.isFinite);
  const minLoss = losses.length > 0 ? Math.min(...losses) : Number.NaN;
  const maxAcc = accs.length > 0 ? Math.max(...accs) : Number.NaN;
  return { lossGap: Math.abs(minLoss - run.test.loss), accGap: Math.abs(maxAcc - run.test.acc) };
}

/** The epoch of a run's best held-out accuracy (the first, on a tie), or undefined where none was measured. */
export function bestHeldOut(run: RunResult): { epoch: number; acc: number; loss: number; set: HeldOutRecord['set'] } | undefined {
  let best: ReturnType<typeof bestHeldOut>;
  for (const { epoch, heldOut } of run.epochs) {
    if (heldOut === undefined || !Number.isFinite(heldOut.acc)) continue;
    if (best === undefined || heldOut.acc > best.acc) best = { epoch, acc: heldOut.acc, loss: heldOut.loss, set: heldOut.set };
  }
  return best;
}

/**
 * What the runs' held-out measurements are of, in the report's words: `test`, `validation`, `held-out` where runs
 * differ, or undefined where no run has any.
 */
export function heldOutName(runs: readonly RunResult[]): 'test' | 'validation' | 'held-out' | undefined {
  const sets = new Set(runs.flatMap((run) => run.epochs.flatMap((e) => e.heldOut?.set ?? [])));
  if (sets.size === 0) return undefined;
  return sets.size === 1 ? [...sets][0] : 'held-out';
}

interface RawLine {
  text: string;
  lineNumber: number;
  /** Character offset of the line's start in the file's text. */
  offset: number;
}

/** The non-blank lines, with their 1-based line numbers. */
function splitLines(text: string): RawLine[] {
  const lines: RawLine[] = [];
  let offset = 0;
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() !== '') lines.push({ text: line, lineNumber: index + 1, offset });
    offset += line.length + 1;
  }
  return lines;
}

function parseLine(text: string): LogLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || typeof value.runId !== 'string') return undefined;
  switch (value.type) {
    case 'start': {
      const { spec } = value;
      if (!isRunSpec(spec) || spec.id !== value.runId) return undefined;
      if (typeof value.backend !== 'string' || typeof value.dataset !== 'string' || typeof value.seed !== 'number') {
        return undefined;
      }
      return { type: 'start', runId: value.runId, spec, backend: value.backend, dataset: value.dataset, seed: value.seed };
    }
    case 'epoch': {
      const [epoch, loss, acc, seconds] = [value.epoch, value.loss, value.acc, value.seconds].map(metric);
      if (epoch === undefined || loss === undefined || acc === undefined || seconds === undefined) return undefined;
      if (value.heldOut === undefined) return { type: 'epoch', runId: value.runId, epoch, loss, acc, seconds };
      const heldOut = parseHeldOut(value.heldOut);
      return heldOut && { type: 'epoch', runId: value.runId, epoch, loss, acc, seconds, heldOut };
    }
    case 'test': {
      const [loss, acc, seconds] = [value.loss, value.acc, value.seconds].map(metric);
      if (loss === undefined || acc === undefined || seconds === undefined) return undefined;
      if (value.train === undefined) return { type: 'test', runId: value.runId, loss, acc, seconds };
      const train = isObject(value.train) ? [value.train.loss, value.train.acc].map(metric) : [];
      if (train[0] === undefined || train[1] === undefined) return undefined;
      return { type: 'test', runId: value.runId, loss, acc, seconds, train: { loss: train[0], acc: train[1] } };
    }
    case 'failed':
      return typeof value.reason === 'string' ? { type: 'failed', runId: value.runId, reason: value.reason } : undefined;
    default:
      return undefined;
  }
}

function parseHeldOut(value: unknown): HeldOutRecord | undefined {
  if (!isObject(value) || (value.set !== 'test' && value.set !== 'validation')) return undefined;
  const [loss, acc, seconds] = [value.loss, value.acc, value.seconds].map(metric);
  if (loss === undefined || acc === undefined || seconds === undefined) return undefined;
  return { set: value.set, loss, acc, seconds };
}

/** JSON writes NaN and ±Infinity as null; a diverged run's loss comes back as NaN. */
function metric(value: unknown): number | undefined {
  if (value === null) return Number.NaN;
  return typeof value === 'number' ? value : undefined;
}

function isRunSpec(value: unknown): value is RunSpec {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.label === 'string' &&
    isObject(value.groups) &&
    Object.values(value.groups).every((group) => typeof group === 'string') &&
    isObject(value.config)
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function abbreviate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
