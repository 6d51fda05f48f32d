import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.ts';
import { digestOfBytes, sha256 } from '../../src/data/checksum.ts';
import { encodeIdx } from '../../src/data/idx.ts';
import { DATASET_SOURCES, type DatasetSource } from '../../src/data/sources.ts';
import { main } from '../../src/experiments/cli.ts';
import { EXPERIMENT_1C, EXPERIMENT_2E, selectRuns } from '../../src/experiments/definitions.ts';
import { type EpochRecord, type HeldOutRecord, ResultsLog, type TestRecord } from '../../src/report/results.ts';
import { ExperimentStopped, runExperiment, type RunOptions } from '../../src/experiments/runner.ts';
import type { FFNN } from '../../src/nn/ffnn.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { makeTempDir } from '../data/helpers.ts';

let dir: string;
let cleanup: () => Promise<void>;
let sources: typeof DATASET_SOURCES;

/** A tiny MNIST-shaped data set: random pixels and labels, written as gzip IDX files with their checksums. */
function writeTinyMnist(folder: string): DatasetSource {
  let state = 12345;
  const byte = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24;
  const file = (name: string, dims: number[]) => {
    const data = Uint8Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (dims.length === 1 ? byte() % 10 : byte()));
    const bytes = gzipSync(encodeIdx(dims, data));
    writeFileSync(join(folder, name), bytes);
    return { name, bytes: bytes.length, checksum: sha256(digestOfBytes(bytes, 'sha256')) };
  };
  return {
    name: 'mnist',
    mirrors: [],
    localDir: folder,
    files: {
      train: { images: file('train-images-idx3-ubyte.gz', [600, 28, 28]), labels: file('train-labels-idx1-ubyte.gz', [600]) },
      test: { images: file('t10k-images-idx3-ubyte.gz', [100, 28, 28]), labels: file('t10k-labels-idx1-ubyte.gz', [100]) },
    },
  };
}

/** Every record of a results log, as written. */
function logRecords(path: string) {
  return readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
}

function options(lines: string[], extra: Partial<RunOptions> = {}): RunOptions {
  return {
    dataset: 'mnist',
    epochs: 1,
    limit: 500,
    seed: 1,
    outDir: join(dir, 'results'),
    fresh: false,
    backend: 'wasm',
    log: (line) => lines.push(line),
    sources,
    ...extra,
  };
}

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  sources = { ...DATASET_SOURCES, mnist: writeTinyMnist(dir) };
  await selectBackend('wasm');
});
afterAll(() => cleanup());

describe('the experiment runner', () => {
  it('2e adam:heuristic for one epoch on 500 samples writes the log, every chart, the summary and the report', async () => {
    const lines: string[] = [];
    const { written, failed } = await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options(lines));
    expect(failed).toEqual([]);
    expect(lines).toContain(`Dataset: mnist from ${dir} (500 training and 100 test images)`);
    expect(lines).toContain('\n2e adam:heuristic: Adam, heuristic init, 1 epoch, batch 100');
    expect(lines.some((l) => /^Epoch: 1 \| Acc: \d+\.\d\d% \| loss: \d+\.\d{3} \| Test acc: \d+\.\d\d% \| loss: \d+\.\d{3}$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Test Results: Acc: \d+\.\d\d% \| loss: \d+\.\d{3}$/.test(l))).toBe(true);

    const out = join(dir, 'results', '2e');
    const log = logRecords(join(out, 'results.jsonl'));
    expect(log.map((l) => l.type)).toEqual(['start', 'epoch', 'test']);
    expect(log[2].train).toBeUndefined(); // 2e shows no gaps, so it does not measure the training set again
    expect(log[0].spec.config).toMatchObject({ optimizer: 'Adam', epochs: 1, batchSize: 100, limit: 500, dataset: 'mnist' });
    const charts = readdirSync(join(out, 'charts')).sort();
    expect(charts).toEqual([
      'init-heuristic-acc.png', 'init-heuristic-acc.svg', 'init-heuristic-loss.png', 'init-heuristic-loss.svg',
      'optimizer-adam-acc.png', 'optimizer-adam-acc.svg', 'optimizer-adam-loss.png', 'optimizer-adam-loss.svg',
      'run-adam-heuristic-acc.png', 'run-adam-heuristic-acc.svg', 'run-adam-heuristic-loss.png', 'run-adam-heuristic-loss.svg',
    ]);
    for (const f of ['summary.md', 'report.html']) expect(existsSync(join(out, f))).toBe(true);
    expect(written).toContain(join(out, 'report.html'));
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain('Adam, heuristic init');
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain('1 run finished.');
    expect(lines.at(-1)).toBe(`Report: ${join(out, 'report.html')} (${written.length} files written)`);
  });

  it('a second run skips what is finished with the same settings, and --fresh runs it again keeping the old log', async () => {
    const again: string[] = [];
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options(again));
    expect(again).toContain('Skipping adam:heuristic: already finished with these settings (--fresh runs it again).');
    expect(again.some((l) => l.startsWith('Epoch:'))).toBe(false);
    // Nothing to train: the data is not read at all.
    expect(again.some((l) => l.startsWith('Dataset:'))).toBe(false);

    const fresh: string[] = [];
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options(fresh, { fresh: true }));
    expect(fresh.some((l) => l.startsWith('Starting afresh; the previous results are kept in'))).toBe(true);
    expect(fresh.some((l) => l.startsWith('Epoch: 1'))).toBe(true);
    expect(existsSync(join(dir, 'results', '2e', 'results.jsonl.bak'))).toBe(true);
  });

  it('leaves no empty folders behind when it fails before writing anything (no data)', async () => {
    const outDir = join(dir, 'never-written');
    const noData: DatasetSource = { ...sources.mnist, localDir: join(dir, 'no-such-folder'), mirrors: [] };
    await expect(
      runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options([], { outDir, dataDir: join(dir, 'empty-cache'), sources: { ...sources, mnist: noData } })),
    ).rejects.toThrow();
    expect(existsSync(outDir)).toBe(false);
  });

  it('refuses to run into a folder another live process is running into, writing nothing, and takes it after', async () => {
    const outDir = join(dir, 'taken');
    const lock = join(outDir, '2e', '.lock');
    mkdirSync(join(outDir, '2e'), { recursive: true });
    writeFileSync(lock, `${process.ppid}\n`);
    await expect(runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options([], { outDir }))).rejects.toThrow(
      `Another process (pid ${process.ppid}) is running experiment 2e into ${join(outDir, '2e')}`,
    );
    expect(readdirSync(join(outDir, '2e'))).toEqual(['.lock']);
    rmSync(lock);
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options([], { outDir }));
    expect(existsSync(join(outDir, '2e', 'results.jsonl'))).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });

  describe('a run stopped part way', () => {
    const run = () => selectRuns(EXPERIMENT_1C, 'dropout');
    /** Its epochs and test as the results log reads them (as of the run's last start), without the timings. */
    const numbers = (outDir: string) => {
      const result = ResultsLog.open(join(outDir, '1c', 'results.jsonl')).load().get('dropout');
      const untimed = <T extends { seconds: number }>({ seconds, ...rest }: T) => rest;
      const epochs = result?.epochs.map(({ heldOut, ...e }) => ({ ...untimed(e), heldOut: heldOut && untimed(heldOut) }));
      return { epochs, test: result?.test && untimed(result.test) };
    };
    /** Runs 1c dropout for 3 epochs into `outDir`, stopping it (as Ctrl+C would) when epoch 3 is reported. */
    async function stopAtEpoch3(outDir: string) {
      const stopping = options([], { epochs: 3, outDir, log: (line) => {
        if (line.startsWith('Epoch: 3')) throw new Error('stopped');
      } });
      await expect(runExperiment(EXPERIMENT_1C, run(), stopping)).rejects.toThrow('stopped');
      expect(numbers(outDir)).toEqual({ epochs: [expect.objectContaining({ epoch: 1 }), expect.objectContaining({ epoch: 2 })], test: undefined });
    }

    it('goes on from its last finished epoch and ends with the numbers of a run never stopped (dropout masks too)', async () => {
      const straight = join(dir, 'straight');
      await runExperiment(EXPERIMENT_1C, run(), options([], { epochs: 3, outDir: straight }));
      const stopped = join(dir, 'stopped');
      await stopAtEpoch3(stopped);
      expect(existsSync(join(stopped, '1c', 'checkpoints', 'dropout.safetensors'))).toBe(true);

      const lines: string[] = [];
      await runExperiment(EXPERIMENT_1C, run(), options(lines, { epochs: 3, outDir: stopped }));
      expect(lines).toContain(`Going on after epoch 2, where it stopped (${join(stopped, '1c', 'checkpoints', 'dropout.safetensors')}):`);
      expect(lines.filter((l) => l.startsWith('Epoch: ')).map((l) => l.slice(0, 8))).toEqual(['Epoch: 1', 'Epoch: 2', 'Epoch: 3']);
      expect(numbers(stopped)).toEqual(numbers(straight));
      expect(numbers(straight).epochs?.map((e) => e.heldOut?.set)).toEqual(['test', 'test', 'test']);
      // Epochs 1 and 2 were not trained again: the log goes on where it stopped.
      const log = logRecords(join(stopped, '1c', 'results.jsonl'));
      expect(log.map((l) => l.type)).toEqual(['start', 'epoch', 'epoch', 'epoch', 'test']);
      expect(existsSync(join(stopped, '1c', 'checkpoints'))).toBe(false);
    });

    it('stopped by a signal, says where it stood, gives the folder back, and goes on to the numbers of a run never stopped', async () => {
      const stopped = join(dir, 'stopped-signal');
      const controller = new AbortController();
      const lines: string[] = [];
      const stopping = options(lines, { epochs: 3, outDir: stopped, signal: controller.signal, log: (line) => {
        lines.push(line);
        if (line.startsWith('Epoch: 2')) controller.abort('SIGINT');
      } });
      const failure = await runExperiment(EXPERIMENT_1C, run(), stopping).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ExperimentStopped);
      expect((failure as Error).message).toBe('Stopped by SIGINT during dropout, epoch 3 of 3 (epochs 1-2 are kept); run the same command to go on from there.');
      expect(existsSync(join(stopped, '1c', '.lock'))).toBe(false);
      // The report stays, without the live page's reloading.
      expect(readFileSync(join(stopped, '1c', 'report.html'), 'utf8')).not.toContain('http-equiv="refresh"');
      await runExperiment(EXPERIMENT_1C, run(), options([], { epochs: 3, outDir: stopped }));
      expect(numbers(stopped)).toEqual(numbers(join(dir, 'straight')));
    });

    it('starts over, saying why, when it stopped with other settings or on another backend', async () => {
      const stopped = join(dir, 'stopped-other');
      await stopAtEpoch3(stopped);
      const lines: string[] = [];
      await runExperiment(EXPERIMENT_1C, run(), options(lines, { epochs: 3, outDir: stopped, backend: 'cpu' }));
      expect(lines).toContain('Starting dropout over: it stopped after epoch 2 with the wasm backend.');
      const again: string[] = [];
      await runExperiment(EXPERIMENT_1C, run(), options(again, { epochs: 3, outDir: stopped, seed: 2, backend: 'cpu' }));
      expect(again.filter((l) => l.startsWith('Starting'))).toEqual([]);
      await stopAtEpoch3(join(dir, 'stopped-settings'));
      const other: string[] = [];
      await runExperiment(EXPERIMENT_1C, run(), options(other, { epochs: 4, outDir: join(dir, 'stopped-settings') }));
      expect(other).toContain('Starting dropout over: it stopped after epoch 2 with other settings.');
    });

    it('starts over, saying why, when its checkpoint cannot be used, and still ends with the same numbers', async () => {
      const stopped = join(dir, 'stopped-lost');
      await stopAtEpoch3(stopped);
      writeFileSync(join(stopped, '1c', 'checkpoints', 'dropout.safetensors'), 'damaged');
      const lines: string[] = [];
      await runExperiment(EXPERIMENT_1C, run(), options(lines, { epochs: 3, outDir: stopped }));
      expect(lines).toContain("Starting dropout over: it stopped after epoch 2, but its checkpoint cannot be used (it has 7 bytes, fewer than a header's length).");
      expect(numbers(stopped)).toEqual(numbers(join(dir, 'straight')));
      const log = logRecords(join(stopped, '1c', 'results.jsonl'));
      expect(log.map((l) => l.type)).toEqual(['start', 'epoch', 'epoch', 'start', 'epoch', 'epoch', 'epoch', 'test']);
    });
  });

  it('keeps report.html up to date while it runs, reloading itself in a browser, and stops the reloading at the end', async () => {
    const outDir = join(dir, 'live');
    const report = join(outDir, '2e', 'report.html');
    const seen: string[] = [];
    const lines: string[] = [];
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options(lines, { epochs: 2, outDir, log: (line) => {
      lines.push(line);
      if (/^Epoch: \d/.test(line) || (line.startsWith('Report:') && line.includes('rewritten'))) seen.push(readFileSync(report, 'utf8'));
    } }));
    expect(lines).toContain(`Report: ${report}, rewritten after every epoch; open in a browser, it reloads itself until the end.`);
    // Before the first epoch, and after each (the epoch's line comes before its report: epoch 2 sees epoch 1's).
    expect(seen).toHaveLength(3);
    for (const page of seen) expect(page).toContain('<meta http-equiv="refresh" content="10">');
    expect(seen[0]).not.toContain('adam:heuristic');
    expect(seen[2]).toContain('1 of 1 run unfinished');
    // Each epoch's test measurement, as it comes: epoch 2's page holds epoch 1's, beside the training curve.
    expect(seen[0]).toContain('No run here has a held-out set measured after its epochs');
    expect(seen[2]).toContain('Accuracy — Adam, heuristic init (unfinished)');
    expect(seen[2]).toContain('Best test acc (epoch)');
    const final = readFileSync(report, 'utf8');
    expect(final).not.toContain('http-equiv="refresh"');
    expect(final).toContain('1 run finished.');
  });

  it('reads the data from --data-dir when one is given, even where the dataset has a local folder, and says which folder', async () => {
    const dataDir = join(dir, 'given-data');
    mkdirSync(join(dataDir, 'mnist'), { recursive: true });
    for (const name of readdirSync(dir).filter((f) => f.endsWith('-ubyte.gz'))) writeFileSync(join(dataDir, 'mnist', name), readFileSync(join(dir, name)));
    const lines: string[] = [];
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options(lines, { dataDir, outDir: join(dir, 'given-data-out') }));
    expect(lines).toContain(`Dataset: mnist from ${join(dataDir, 'mnist')} (500 training and 100 test images)`);
  });

  it('a run whose loss stops being a number is recorded as failed, the others go on, and the next command runs it again', async () => {
    const [adam] = selectRuns(EXPERIMENT_2E, 'adam:heuristic');
    const boom = { ...adam!, id: 'boom', label: 'SGD at lr 1e30', optimizer: (net: FFNN) => new SGD(net.parameters(), { lr: 1e30 }) };
    const experiment = { ...EXPERIMENT_2E, runs: [boom, adam!] };
    const outDir = join(dir, 'diverged');
    const lines: string[] = [];
    const outcome = await runExperiment(experiment, [boom, adam!], options(lines, { outDir }));
    expect(outcome.failed).toEqual(['boom']);
    expect(lines.filter((l) => l.startsWith('boom failed'))).toEqual([
      expect.stringMatching(/^boom failed at epoch 1: its loss is NaN and its accuracy [\d.]+\. Recorded as failed; the same command runs it again\. Going on with the other runs\.$/),
    ]);
    const log = ResultsLog.open(join(outDir, '2e', 'results.jsonl')).load();
    expect(log.get('boom')).toMatchObject({ finished: false, failed: expect.stringContaining('boom failed at epoch 1') });
    expect(log.get('adam:heuristic')?.finished).toBe(true);
    expect(existsSync(join(outDir, '2e', 'networks', 'adam-heuristic.safetensors'))).toBe(true);
    expect(existsSync(join(outDir, '2e', 'networks', 'boom.safetensors'))).toBe(false);
    const again: string[] = [];
    expect((await runExperiment(experiment, [boom, adam!], options(again, { outDir }))).failed).toEqual(['boom']);
    expect(again).toContain('Skipping adam:heuristic: already finished with these settings (--fresh runs it again).');
    expect(again.some((l) => l.startsWith('Going on after'))).toBe(false);
  });

  it('records the test set after every epoch, the last one equal to the final test, and each as its line says', async () => {
    const outDir = join(dir, 'held-out');
    const lines: string[] = [];
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options(lines, { epochs: 3, outDir }));
    const log = logRecords(join(outDir, '2e', 'results.jsonl'));
    const epochs = log.filter((r) => r.type === 'epoch') as (EpochRecord & { heldOut: HeldOutRecord })[];
    expect(epochs.map((r) => r.heldOut.set)).toEqual(['test', 'test', 'test']);
    const test = log.find((r) => r.type === 'test') as TestRecord;
    expect({ loss: epochs[2]!.heldOut.loss, acc: epochs[2]!.heldOut.acc }).toEqual({ loss: test.loss, acc: test.acc });
    const epochLines = lines.filter((l) => l.startsWith('Epoch: '));
    epochs.forEach((r, i) =>
      expect(epochLines[i]).toBe(
        `Epoch: ${r.epoch} | Acc: ${(r.acc * 100).toFixed(2)}% | loss: ${r.loss.toFixed(3)} | Test acc: ${(r.heldOut.acc * 100).toFixed(2)}% | loss: ${r.heldOut.loss.toFixed(3)}`,
      ),
    );
    const best = epochs.reduce((a, b) => (b.heldOut.acc > a.heldOut.acc ? b : a));
    expect(lines).toContain(`Best test acc: ${(best.heldOut.acc * 100).toFixed(2)}% after epoch ${best.epoch}`);
    expect(readFileSync(join(outDir, '2e', 'summary.md'), 'utf8')).toContain(`(epoch ${best.epoch}) |`);

    const every: string[] = [];
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options(every, { epochs: 3, outDir, fresh: true, evalEvery: 2 }));
    const measured = logRecords(join(outDir, '2e', 'results.jsonl')).filter((r) => r.type === 'epoch');
    expect(measured.map((r) => (r.heldOut ? r.epoch : undefined))).toEqual([undefined, 2, 3]);
    // Measuring changes nothing the training computes.
    expect(measured.map((r) => [r.loss, r.acc])).toEqual(epochs.map((r) => [r.loss, r.acc]));
    expect(measured.map((r) => r.heldOut)).toEqual([undefined, epochs[1]!.heldOut, epochs[2]!.heldOut].map((h) => h && { ...h, seconds: expect.any(Number) }));
    const none: string[] = [];
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options(none, { epochs: 1, outDir, fresh: true, evalEvery: 0 }));
    expect(logRecords(join(outDir, '2e', 'results.jsonl')).filter((r) => r.type === 'epoch').map((r) => r.heldOut)).toEqual([undefined]);
    expect(none.filter((l) => l.startsWith('Epoch: '))).toEqual([expect.stringMatching(/^Epoch: 1 \| Acc: [\d.]+% \| loss: [\d.]+$/)]);
    expect(readFileSync(join(outDir, '2e', 'report.html'), 'utf8')).toContain('No run here has a held-out set measured after its epochs');
  });

  it('--validation holds the last images out: it trains as on the others alone, and measures them, saying validation', async () => {
    const lines: string[] = [];
    const validated = join(dir, 'validated');
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options(lines, { epochs: 2, outDir: validated, validation: 100 }));
    expect(lines).toContain(`Dataset: mnist from ${dir} (400 training, 100 validation and 100 test images)`);
    expect(lines.filter((l) => l.startsWith('Epoch: ')).every((l) => / \| Validation acc: [\d.]+% \| loss: [\d.]+$/.test(l))).toBe(true);
    const shorter = join(dir, 'first-400');
    await runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options([], { epochs: 2, outDir: shorter, limit: 400, evalEvery: 0 }));
    const records = (outDir: string) => logRecords(join(outDir, '2e', 'results.jsonl'));
    const trained = (outDir: string) => records(outDir).filter((r) => r.type !== 'start').map(({ seconds, heldOut, ...rest }) => rest);
    expect(trained(validated)).toEqual(trained(shorter));
    expect(records(validated).filter((r) => r.type === 'epoch').map((r) => r.heldOut.set)).toEqual(['validation', 'validation']);
    expect(records(validated)[0].spec.config).toMatchObject({ limit: 500, validation: 100 });
    expect(records(shorter)[0].spec.config).not.toHaveProperty('validation');
    const summary = readFileSync(join(validated, '2e', 'summary.md'), 'utf8');
    expect(summary).toContain('Best validation acc (epoch)');
    expect(summary).toContain('## Train and validation, per run');
  });

  it('refuses a validation set that leaves nothing to train on, in one line, before writing anything', async () => {
    const outDir = join(dir, 'all-held-out');
    await expect(runExperiment(EXPERIMENT_2E, selectRuns(EXPERIMENT_2E, 'adam:heuristic'), options([], { outDir, limit: undefined, validation: 600 }))).rejects.toThrow(
      '--validation 600 leaves no image to train on (the training set has 600): give a number below 600',
    );
    expect(existsSync(outDir)).toBe(false);
  });

  it('1c prints the train/test gaps after each run, as the notebook did, and the training set measured without dropout', async () => {
    const lines: string[] = [];
    await runExperiment(EXPERIMENT_1C, selectRuns(EXPERIMENT_1C, 'dropout'), options(lines, { limit: 200 }));
    expect(lines.some((l) => /^Difference between best train loss and test loss: \d+\.\d{3}$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Difference between best train acc and test acc: \d+\.\d{3}%$/.test(l))).toBe(true);
    const trainLine = lines.find((l) => l.startsWith('Train set without dropout:'));
    expect(trainLine).toMatch(/^Train set without dropout: Acc: \d+\.\d{2}% \| loss: \d+\.\d{3}$/);
    const test = logRecords(join(dir, 'results', '1c', 'results.jsonl')).filter((r) => r.type === 'test').at(-1) as TestRecord;
    const { acc, loss } = test.train!;
    expect(trainLine).toBe(`Train set without dropout: Acc: ${(acc * 100).toFixed(2)}% | loss: ${loss.toFixed(3)}`);
    expect(readFileSync(join(dir, 'results', '1c', 'summary.md'), 'utf8')).toContain('Train acc, no dropout');
    expect(existsSync(join(dir, 'results', '1c', 'charts', 'all-loss.png'))).toBe(true);
    expect(existsSync(join(dir, 'results', '1c', 'charts', 'gap-acc.png'))).toBe(true);
    expect(readFileSync(join(dir, 'results', '1c', 'report.html'), 'utf8')).toContain('Generalization gap per epoch');
  });
});

describe('the experiment command line', () => {
  async function run(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { log: (l) => out.push(l), error: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('--help tells the usage and exits 0', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('Usage: npm run experiment -- <1c|2e> [options]');
    expect(out).toContain('--only IDS');
    expect(out).toMatch(/--eval-every N +measure the test set \(loss, accuracy, no dropout\) after every N epochs and after the\n/);
    expect(out).toMatch(/--validation N +hold the last N training images out/);
  });

  it.each([
    [[], 'Usage error: Name one experiment: 1c or 2e (see --help)'],
    [['3x'], 'Usage error: Unknown experiment "3x": choose one of 1c, 2e (see --help)'],
    [['toString'], 'Usage error: Unknown experiment "toString": choose one of 1c, 2e (see --help)'],
    [['2e', '--only', 'adam:glorot'], 'Usage error: Unknown run "adam:glorot" for 2e: choose one of sgd:xavier,'],
    [['2e', '--epochs', 'ten'], 'Usage error: --epochs must be a positive whole number, got "ten" (see --help)'],
    [['2e', '--limit', '0'], 'Usage error: --limit must be a positive whole number, got "0" (see --help)'],
    [['2e', '--seed=-1'], 'Usage error: --seed must be a whole number from 0 to 4294967295, got "-1" (see --help)'],
    [['2e', '--dataset', 'cifar'], "Usage error: Unknown dataset 'cifar'; valid datasets are: mnist, fashion-mnist (see --help)"],
    [['2e', '--backend', 'gpu'], 'Usage error: Unknown backend "gpu": choose one of tensorflow, webgpu, wasm, cpu (see --help)'],
    [['2e', '--speed'], "Usage error: Unknown option '--speed' (see --help)"],
    [['2e', '--eval-every', '1.5'], 'Usage error: --eval-every must be a whole number of at least 0, got "1.5" (see --help)'],
    [['2e', '--eval-every=-1'], 'Usage error: --eval-every must be a whole number of at least 0, got "-1" (see --help)'],
    [['2e', '--validation', '0'], 'Usage error: --validation must be a positive whole number, got "0" (see --help)'],
    [['2e', '--validation', 'ten'], 'Usage error: --validation must be a positive whole number, got "ten" (see --help)'],
    [['2e', '--limit', '500', '--validation', '500'], 'Usage error: --validation 500 leaves no image to train on (the training set has 500): give a number below 500 (see --help)'],
    [['2e', '--validation', '100', '--eval-every', '0'], 'Usage error: --validation 100 with --eval-every 0 holds images out and never measures them: leave one of the two out (see --help)'],
  ])('%j is a one-line usage error with exit code 2', async (args, message) => {
    const { code, err } = await run([...args, '--out', join(dir, 'never-written')]);
    expect(code).toBe(2);
    expect(err.startsWith(message), err).toBe(true);
    expect(err.split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'never-written'))).toBe(false);
  });
});
