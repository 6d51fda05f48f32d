import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALL_RUNS, safeName, writeExperimentReport } from '../../src/report/experiment-report.ts';
import { fakeRun } from './fixtures.ts';
import { PNG_SIGNATURE } from './png-decode.ts';
import { seriesOf, textsOf } from './svg-parse.ts';

let outDir: string;

beforeEach(() => {
  outDir = mkdtempSync(join(tmpdir(), 'cc6204-report-'));
});

afterEach(() => rmSync(outDir, { recursive: true, force: true }));

const optimizers = ['SGD + momentum', 'Adam'];
const inits = ['he', 'xavier-uniform', 'randn'];
const runs2e = optimizers.flatMap((optimizer) =>
  inits.map((init) =>
    fakeRun(`${optimizer}:${init}`, { optimizer, init }, {
      label: `${optimizer}, ${init} init`,
      finished: !(optimizer === 'Adam' && init === 'randn'),
      epochs: optimizer === 'Adam' && init === 'randn' ? 2 : 6,
    }),
  ),
);

describe('writeExperimentReport', () => {
  it('writes a loss and an accuracy chart per group value, the summary and the page', () => {
    const written = writeExperimentReport({
      outDir,
      title: '2e',
      runs: runs2e,
      groupBy: ['init', 'optimizer'],
      meta: { backend: 'cpu', seed: 7 },
    });
    const stems = ['init-he', 'init-xavier-uniform', 'init-randn', 'optimizer-sgd-momentum', 'optimizer-adam'];
    const charts = stems.flatMap((stem) =>
      ['loss', 'acc'].flatMap((kind) => ['svg', 'png'].map((ext) => join(outDir, 'charts', `${stem}-${kind}.${ext}`))),
    );
    expect(written.sort()).toEqual([...charts, join(outDir, 'summary.md'), join(outDir, 'report.html')].sort());
    for (const path of written) expect(existsSync(path)).toBe(true);
    for (const path of written.filter((p) => p.endsWith('.png'))) {
      expect(readFileSync(path).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    }
    const leftovers = [...readdirSync(outDir), ...readdirSync(join(outDir, 'charts'))].filter((f) => f.endsWith('.partial'));
    expect(leftovers).toEqual([]);
  });

  it('charts each group with one series per run, named by what differs, unfinished runs marked', () => {
    writeExperimentReport({ outDir, title: '2e', runs: runs2e, groupBy: ['init', 'optimizer'], meta: {} });
    const randn = readFileSync(join(outDir, 'charts', 'init-randn-acc.svg'), 'utf8');
    expect(textsOf(randn, 'legend').map((t) => t.text)).toEqual(['SGD + momentum', 'Adam (unfinished)']);
    expect(seriesOf(randn).map((s) => s.markers)).toEqual([6, 2]);
    expect(randn).toContain('Training accuracy — init: randn');
    expect(randn).toContain('Accuracy (%)');
    // Accuracy is charted in percent: the last epoch of a fake run is above 90.
    const yLabels = textsOf(randn, 'tick-labels').map((t) => Number(t.text));
    expect(Math.max(...yLabels)).toBeGreaterThanOrEqual(90);

    const adam = readFileSync(join(outDir, 'charts', 'optimizer-adam-loss.svg'), 'utf8');
    expect(textsOf(adam, 'legend').map((t) => t.text)).toEqual(['he', 'xavier-uniform', 'randn (unfinished)']);
  });

  it('puts every run in the summary and every chart in the page', () => {
    writeExperimentReport({ outDir, title: 'Question 2e', runs: runs2e, groupBy: ['init', 'optimizer'], meta: { backend: 'wasm' } });
    const summary = readFileSync(join(outDir, 'summary.md'), 'utf8');
    for (const run of runs2e) expect(summary).toContain(`| ${run.spec.label}${run.finished ? '' : ' (unfinished)'} |`);
    expect(summary).toContain('backend: wasm');
    expect(summary).toContain('1 of 6 runs unfinished');
    expect(summary).toContain('](charts/init-he-loss.png)');

    const html = readFileSync(join(outDir, 'report.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(10);
    expect(html).toContain('Training loss — optimizer: SGD + momentum');
    expect(html).not.toMatch(/https?:/);
    // The summary and the hyper-parameters, a row per run, and the grid, a row per initialization (with headers).
    expect(html.match(/<tr>/g)?.length).toBe(2 * (runs2e.length + 1) + inits.length + 1);
    expect(html).toContain('Test accuracy (loss) by init and optimizer');
  });

  it('sets out runs grouped two ways as one grid of test results', () => {
    writeExperimentReport({ outDir, title: '2e', runs: runs2e, groupBy: ['init', 'optimizer'], meta: {} });
    const summary = readFileSync(join(outDir, 'summary.md'), 'utf8');
    expect(summary).toContain(
      [
        '## Test accuracy (loss) by init and optimizer',
        '',
        '| init | SGD + momentum | Adam |',
        '| :--- | ---: | ---: |',
        '| he | 97.68% (0.200) | 97.68% (0.200) |',
        '| xavier-uniform | 97.68% (0.200) | 97.68% (0.200) |',
        '| randn | 97.68% (0.200) | — |',
      ].join('\n'),
    );
  });

  it('draws all runs together for the group "all"', () => {
    const runs1c = ['baseline', 'dropout', 'weight decay', 'dropout + weight decay'].map((label) =>
      fakeRun(label, {}, { label }),
    );
    const written = writeExperimentReport({ outDir, title: '1c', runs: runs1c, groupBy: [ALL_RUNS], meta: {} });
    expect(written.filter((p) => p.endsWith('.svg')).map((p) => p.slice(outDir.length))).toEqual([
      '/charts/all-loss.svg',
      '/charts/all-acc.svg',
    ]);
    const loss = readFileSync(join(outDir, 'charts', 'all-loss.svg'), 'utf8');
    expect(textsOf(loss, 'legend').map((t) => t.text)).toEqual(runs1c.map((r) => r.spec.label));
    expect(readFileSync(join(outDir, 'summary.md'), 'utf8')).not.toContain('Test accuracy (loss) by');
  });

  it('writes a partial experiment, and replaces an earlier report', () => {
    const options = { outDir, title: '2e', groupBy: ['init'], meta: {} };
    writeExperimentReport({ ...options, runs: runs2e.slice(0, 1) });
    writeExperimentReport({ ...options, runs: runs2e });
    const html = readFileSync(join(outDir, 'report.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(6);
  });

  it('gives values that clash after cleaning distinct file names', () => {
    const runs = [fakeRun('a', { optimizer: 'SGD+momentum' }), fakeRun('b', { optimizer: 'SGD momentum' })];
    const written = writeExperimentReport({ outDir, title: 'x', runs, groupBy: ['optimizer'], meta: {} });
    expect(written.filter((p) => p.endsWith('-loss.svg')).map((p) => p.slice(outDir.length))).toEqual([
      '/charts/optimizer-sgd-momentum-loss.svg',
      '/charts/optimizer-sgd-momentum-2-loss.svg',
    ]);
  });
});

describe('generalization in the report', () => {
  const labels = ['Baseline', 'Dropout', 'Weight decay'];
  const runs1c = labels.map((label, i) => fakeRun(label.toLowerCase(), { all: 'all' }, { label, epochs: 4 + i, heldOut: 'test' }));

  it('charts per run its train and held-out curves together, and for 1c the gap per epoch run against run', () => {
    const written = writeExperimentReport({ outDir, title: '1c', runs: runs1c, groupBy: [ALL_RUNS], gapCharts: true, meta: {} });
    const svgs = written.filter((p) => p.endsWith('.svg')).map((p) => p.slice(outDir.length + '/charts/'.length));
    expect(svgs).toEqual([
      'all-loss.svg', 'all-acc.svg',
      'run-baseline-loss.svg', 'run-baseline-acc.svg', 'run-dropout-loss.svg', 'run-dropout-acc.svg', 'run-weight-decay-loss.svg', 'run-weight-decay-acc.svg',
      'gap-acc.svg', 'gap-loss.svg',
    ]);
    const dropout = readFileSync(join(outDir, 'charts', 'run-dropout-acc.svg'), 'utf8');
    expect(dropout).toContain('Accuracy — Dropout');
    expect(textsOf(dropout, 'legend').map((t) => t.text)).toEqual(['Train', 'Test']);
    expect(seriesOf(dropout).map((s) => s.markers)).toEqual([5, 5]);
    const gap = readFileSync(join(outDir, 'charts', 'gap-acc.svg'), 'utf8');
    expect(gap).toContain('Accuracy gap: train − test');
    expect(textsOf(gap, 'legend').map((t) => t.text)).toEqual(labels);
    expect(seriesOf(gap).map((s) => s.markers)).toEqual([4, 5, 6]);
    // The fixture's gap is 2 points at epoch 1 and one more each epoch: the series climb.
    const heights = seriesOf(gap)[2]!.polylines[0]!.map(([, y]) => y);
    expect(heights).toEqual([...heights].sort((a, b) => b - a));
    expect(readFileSync(join(outDir, 'charts', 'gap-loss.svg'), 'utf8')).toContain('Loss gap: test − train');

    const html = readFileSync(join(outDir, 'report.html'), 'utf8');
    expect(html).toContain('<h2>Train and test, per run</h2>');
    expect(html).toContain('<h2>Generalization gap per epoch</h2>');
    expect(html.match(/<svg /g)).toHaveLength(10);
    const summary = readFileSync(join(outDir, 'summary.md'), 'utf8');
    // The fixture's held-out accuracy is best at its last epoch.
    expect(summary).toContain('| Best test acc (epoch) |');
    expect(summary).toContain('| 85.07% (epoch 6) |');
    expect(summary).toContain('![Accuracy gap](charts/gap-acc.png)');
    expect(summary).toContain('![Accuracy — Dropout](charts/run-dropout-acc.png)');
  });

  it('says in words, with no empty chart, where results hold no held-out measurements per epoch', () => {
    const old = labels.map((label) => fakeRun(label.toLowerCase(), { all: 'all' }, { label }));
    const written = writeExperimentReport({ outDir, title: '1c', runs: old, groupBy: [ALL_RUNS], gapCharts: true, meta: {} });
    expect(written.filter((p) => p.endsWith('.svg'))).toHaveLength(2);
    const html = readFileSync(join(outDir, 'report.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('No run here has a held-out set measured after its epochs (results written before they were recorded, or run with --eval-every 0)');
    expect(html).toContain('No gap per epoch to draw');
    expect(readFileSync(join(outDir, 'summary.md'), 'utf8')).not.toContain('Best test acc');

    // Some runs with, some without: the ones without are named.
    writeExperimentReport({ outDir, title: '1c', runs: [runs1c[0]!, old[1]!], groupBy: [ALL_RUNS], gapCharts: true, meta: {} });
    const mixed = readFileSync(join(outDir, 'report.html'), 'utf8');
    expect(mixed).toContain('No test measurements per epoch for Dropout (results written before');
    expect(mixed.match(/<svg /g)).toHaveLength(2 + 2 + 2);
    expect(readFileSync(join(outDir, 'summary.md'), 'utf8')).toMatch(/\| Dropout \|.* \| — \|/);
  });

  it('says validation where the runs held images out of the training set', () => {
    const runs = [fakeRun('a', { all: 'all' }, { label: 'A', heldOut: 'validation' })];
    writeExperimentReport({ outDir, title: '1c', runs, groupBy: [ALL_RUNS], gapCharts: true, meta: {} });
    const html = readFileSync(join(outDir, 'report.html'), 'utf8');
    expect(html).toContain('<h2>Train and validation, per run</h2>');
    expect(html).toContain('Accuracy gap: train − validation');
    expect(textsOf(readFileSync(join(outDir, 'charts', 'run-a-acc.svg'), 'utf8'), 'legend').map((t) => t.text)).toEqual(['Train', 'Validation']);
  });
});

describe('safeName', () => {
  it('keeps letters, digits and dashes only', () => {
    expect(safeName('SGD + momentum')).toBe('sgd-momentum');
    expect(safeName('Inicialización ../Ñ')).toBe('inicializacion-n');
    expect(safeName('xavier-uniform')).toBe('xavier-uniform');
    expect(safeName('***')).toBe('group');
  });
});
