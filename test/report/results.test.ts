import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bestHeldOut,
  gaps,
  heldOutName,
  MalformedResultsLogError,
  ResultsLog,
  type EpochRecord,
  type RunResult,
  type RunSpec,
} from '../../src/report/results.ts';

const META = { backend: 'cpu', dataset: 'mnist-fake', seed: 1234 };

const spec = (id: string): RunSpec => ({
  id,
  label: `Run ${id}`,
  groups: { optimizer: 'Adam', init: id },
  config: { lr: 0.001, keepProb: [1, 0.8] },
});

const epoch = (n: number, loss = 1 / n): EpochRecord => ({ epoch: n, loss, acc: 0.5 + n / 100, seconds: 2.5 });

let dir: string;
let path: string;
let warnings: string[];
let log: ResultsLog;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc6204-results-'));
  path = join(dir, 'nested', '2e', 'results.jsonl');
  warnings = [];
  log = ResultsLog.open(path, { log: (message) => warnings.push(message) });
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = () => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

describe('ResultsLog', () => {
  it('reads back what it wrote, as JSON lines', () => {
    log.startRun(spec('he'), META);
    log.appendEpoch('he', epoch(1));
    log.appendEpoch('he', epoch(2));
    log.finishRun('he', { loss: 0.4, acc: 0.9768, seconds: 1.5 });

    expect(lines().map((l) => JSON.parse(l).type)).toEqual(['start', 'epoch', 'epoch', 'test']);
    expect(log.load()).toEqual(
      new Map<string, RunResult>([
        [
          'he',
          {
            spec: spec('he'),
            epochs: [epoch(1), epoch(2)],
            test: { loss: 0.4, acc: 0.9768, seconds: 1.5 },
            backend: 'cpu',
            finished: true,
          },
        ],
      ]),
    );
    expect(log.isFinished('he')).toBe(true);
  });

  it('keeps the training set measured without dropout with the test, and refuses it malformed', () => {
    log.startRun(spec('dropout'), META);
    log.appendEpoch('dropout', epoch(1));
    log.finishRun('dropout', { loss: 0.4, acc: 0.9, seconds: 1, train: { loss: 0.3, acc: 0.95 } });
    expect(log.load().get('dropout')?.test).toEqual({ loss: 0.4, acc: 0.9, seconds: 1, train: { loss: 0.3, acc: 0.95 } });
    appendFileSync(path, `${JSON.stringify({ type: 'test', runId: 'dropout', loss: 0.4, acc: 0.9, seconds: 1, train: { acc: 0.95 } })}\n`);
    log.startRun(spec('he'), META);
    expect(() => log.load()).toThrow(`${path}:4:`);
  });

  it("keeps an epoch's held-out measurement with it, reads logs written before there were any, and refuses one malformed", () => {
    const measured = { ...epoch(2), heldOut: { set: 'validation' as const, loss: 0.6, acc: 0.81, seconds: 0.3 } };
    log.startRun(spec('he'), META);
    log.appendEpoch('he', epoch(1));
    log.appendEpoch('he', measured);
    expect(JSON.parse(lines()[2]!).heldOut).toEqual(measured.heldOut);
    expect(log.load().get('he')?.epochs).toEqual([epoch(1), measured]);
    expect(Object.hasOwn(log.load().get('he')!.epochs[0]!, 'heldOut')).toBe(false);
    // As written before held-out records existed.
    writeFileSync(
      path,
      [
        '{"type":"start","runId":"old","spec":{"id":"old","label":"Old","groups":{"all":"all"},"config":{"lr":0.00001}},"backend":"wasm","dataset":"mnist","seed":0}',
        '{"type":"epoch","runId":"old","epoch":1,"loss":14.5,"acc":0.2,"seconds":4.8}',
        '{"type":"test","runId":"old","loss":12.5,"acc":0.3,"seconds":1.1,"train":{"loss":12,"acc":0.31}}',
        '',
      ].join('\n'),
    );
    const old = log.load().get('old')!;
    expect(old).toMatchObject({ finished: true, epochs: [{ epoch: 1, loss: 14.5, acc: 0.2, seconds: 4.8 }] });
    expect(bestHeldOut(old)).toBeUndefined();
    expect(heldOutName([old])).toBeUndefined();
    for (const heldOut of [{ set: 'train', loss: 1, acc: 1, seconds: 1 }, { set: 'test', loss: 1, seconds: 1 }, 'test']) {
      appendFileSync(path, `${JSON.stringify({ type: 'epoch', runId: 'old', ...epoch(2), heldOut })}\n`);
      log.startRun(spec('he'), META);
      expect(() => log.load()).toThrow(`${path}:4:`);
      writeFileSync(path, lines().slice(0, 3).join('\n') + '\n');
    }
  });

  it('finds the epoch of the best held-out accuracy, the first on a tie, and names what was held out', () => {
    const heldOut = (acc: number, set: 'test' | 'validation' = 'test') => ({ set, loss: 1 - acc, acc, seconds: 1 });
    const run: RunResult = {
      spec: spec('he'),
      epochs: [
        { ...epoch(1), heldOut: heldOut(0.7) },
        epoch(2),
        { ...epoch(3), heldOut: heldOut(0.8) },
        { ...epoch(4), heldOut: heldOut(Number.NaN) },
        { ...epoch(5), heldOut: heldOut(0.8) },
      ],
      finished: false,
    };
    expect(bestHeldOut(run)).toEqual({ epoch: 3, acc: 0.8, loss: 1 - 0.8, set: 'test' });
    expect(heldOutName([run])).toBe('test');
    const validated = { ...run, epochs: [{ ...epoch(1), heldOut: heldOut(0.5, 'validation') }] };
    expect(heldOutName([validated])).toBe('validation');
    expect(heldOutName([run, validated])).toBe('held-out');
  });

  it('puts each epoch on disk before returning', () => {
    log.startRun(spec('he'), META);
    log.appendEpoch('he', epoch(1));
    // A second reader, as after a crash: nothing may be waiting in a buffer.
    const reader = ResultsLog.open(path);
    expect(reader.load().get('he')?.epochs).toEqual([epoch(1)]);
    expect(reader.isFinished('he')).toBe(false);
  });

  it('counts only the records after the last start of a run', () => {
    log.startRun(spec('he'), META);
    log.appendEpoch('he', epoch(1, 9));
    log.startRun(spec('xavier'), META);
    log.appendEpoch('xavier', epoch(1));
    log.finishRun('xavier', { loss: 0.5, acc: 0.9, seconds: 1 });
    log.startRun(spec('he'), { ...META, backend: 'wasm' });
    log.appendEpoch('he', epoch(1, 3));

    const runs = log.load();
    expect([...runs.keys()]).toEqual(['he', 'xavier']);
    expect(runs.get('he')).toMatchObject({ epochs: [epoch(1, 3)], backend: 'wasm', finished: false });
    expect(runs.get('he')?.test).toBeUndefined();
    expect(log.isFinished('xavier')).toBe(true);

    log.startRun(spec('xavier'), META);
    expect(log.isFinished('xavier')).toBe(false);
    expect(log.load().get('xavier')?.epochs).toEqual([]);
  });

  it('reads an empty or missing log as no runs', () => {
    expect(log.load().size).toBe(0);
    expect(log.isFinished('he')).toBe(false);
  });

  it('keeps a diverged run: NaN and infinite losses come back as NaN', () => {
    log.startRun(spec('randn'), META);
    log.appendEpoch('randn', epoch(1, Number.NaN));
    log.appendEpoch('randn', epoch(2, Number.POSITIVE_INFINITY));
    const losses = log.load().get('randn')?.epochs.map((e) => e.loss);
    expect(losses).toEqual([Number.NaN, Number.NaN]);
  });

  it('skips a torn last line with a warning, and drops it before writing again', () => {
    log.startRun(spec('he'), META);
    log.appendEpoch('he', epoch(1));
    appendFileSync(path, '{"type":"epoch","runId":"he","epo');

    const reader = ResultsLog.open(path, { log: (message) => warnings.push(message) });
    expect(reader.load().get('he')?.epochs).toEqual([epoch(1)]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${path}:3`);

    reader.appendEpoch('he', epoch(2));
    expect(lines()).toHaveLength(3);
    expect(reader.load().get('he')?.epochs).toEqual([epoch(1), epoch(2)]);
  });

  it('ends a complete last line that lacks its newline before writing again', () => {
    writeFileSync(path, JSON.stringify({ type: 'start', runId: 'he', spec: spec('he'), ...META }));
    log.appendEpoch('he', epoch(1));
    expect(log.load().get('he')?.epochs).toEqual([epoch(1)]);
    expect(warnings).toEqual([]);
  });

  it('refuses a malformed line that is not the last, naming the file and line', () => {
    log.startRun(spec('he'), META);
    appendFileSync(path, 'not json\n');
    log.appendEpoch('he', epoch(1));

    expect(() => log.load()).toThrow(MalformedResultsLogError);
    expect(() => log.load()).toThrow(`${path}:2:`);
    try {
      log.load();
    } catch (error) {
      expect(error).toMatchObject({ code: 'MALFORMED_RESULTS_LOG', file: path, line: 2 });
    }
  });

  it('refuses a well-formed JSON line that is not a record', () => {
    log.startRun(spec('he'), META);
    appendFileSync(path, `${JSON.stringify({ type: 'epoch', runId: 'he', epoch: 1, loss: '0.3' })}\n`);
    log.finishRun('he', { loss: 0.4, acc: 0.9, seconds: 1 });
    expect(() => log.load()).toThrow(`${path}:2:`);
  });

  it('refuses records of a run that was never started', () => {
    log.startRun(spec('he'), META);
    log.appendEpoch('xavier', epoch(1));
    log.appendEpoch('he', epoch(1));
    expect(() => log.load()).toThrow(/:2: .*"xavier"/);
  });

  it('starts afresh but keeps every old log as a backup', () => {
    expect(log.fresh()).toBeUndefined();

    log.startRun(spec('he'), META);
    const first = readFileSync(path, 'utf8');
    expect(log.fresh()).toBe(`${path}.bak`);
    expect(existsSync(path)).toBe(false);
    expect(log.load().size).toBe(0);
    expect(readFileSync(`${path}.bak`, 'utf8')).toBe(first);

    log.startRun(spec('xavier'), META);
    const second = readFileSync(path, 'utf8');
    expect(log.fresh()).toBe(`${path}.bak.1`);
    expect(readFileSync(`${path}.bak`, 'utf8')).toBe(first);
    expect(readFileSync(`${path}.bak.1`, 'utf8')).toBe(second);
  });
});

describe('gaps', () => {
  const run = (losses: number[], accs: number[], test?: { loss: number; acc: number }): RunResult => ({
    spec: spec('he'),
    epochs: losses.map((loss, i) => ({ epoch: i + 1, loss, acc: accs[i] ?? 0, seconds: 1 })),
    test: test && { ...test, seconds: 1 },
    finished: test !== undefined,
  });

  it('compares the best train epoch with the test, as the notebook printed', () => {
    const result = gaps(run([14.166, 3.825, 3.891], [0.2308, 0.792, 0.7885], { loss: 3.773, acc: 0.7949 }));
    expect(result?.lossGap).toBeCloseTo(0.052, 9);
    expect(result?.accGap).toBeCloseTo(0.0029, 9);
  });

  it('is absolute when the test beats training', () => {
    const result = gaps(run([0.5], [0.8], { loss: 0.75, acc: 0.85 }));
    expect(result?.lossGap).toBeCloseTo(0.25, 9);
    expect(result?.accGap).toBeCloseTo(0.05, 9);
  });

  it('skips NaN epochs and has nothing to say before the test', () => {
    expect(gaps(run([1, Number.NaN], [0.6, Number.NaN], { loss: 1.5, acc: 0.5 }))).toEqual({
      lossGap: 0.5,
      accGap: expect.closeTo(0.1, 9),
    });
    expect(gaps(run([1], [0.6]))).toBeUndefined();
  });
});
