import { describe, expect, it } from 'vitest';
import { configTableData, crossTableData, displayLabel, formatSetting, markdownTable, summaryTable } from '../../src/report/markdown.ts';
import { fakeRun } from './fixtures.ts';

/** The cells of each row, unescaped, header and rule included. */
const cells = (markdown: string) =>
  markdown
    .trim()
    .split('\n')
    .map((line) =>
      line
        .slice(2, -2)
        .split(/(?<!\\) \| /)
        .map((cell) => cell.replaceAll('\\|', '|')),
    );

describe('summaryTable', () => {
  it('writes one row per run in the notebook formats', () => {
    const run = {
      ...fakeRun('baseline', {}, { label: 'Baseline' }),
      epochs: [
        { epoch: 1, loss: 14.166, acc: 0.2308, seconds: 10 },
        { epoch: 2, loss: 3.825, acc: 0.792, seconds: 12 },
      ],
      test: { loss: 3.773, acc: 0.7949, seconds: 1 },
    };
    const [header, rule, row, ...rest] = cells(summaryTable([run]));
    expect(header).toEqual(['Run', 'Epochs', 'Train loss', 'Train acc', 'Test loss', 'Test acc', 'Loss gap', 'Acc gap', 's/epoch']);
    expect(rule?.slice(1).every((r) => r === '---:')).toBe(true);
    expect(row).toEqual(['Baseline', '2', '3.825', '79.20%', '3.773', '79.49%', '0.052', '0.29%', '11.00']);
    expect(rest).toEqual([]);
  });

  it('marks unfinished runs and leaves their test columns empty', () => {
    const table = summaryTable([fakeRun('a', {}), fakeRun('b', {}, { finished: false, epochs: 3 })]);
    const rows = cells(table).slice(2);
    expect(rows).toHaveLength(2);
    expect(rows[0]?.[0]).toBe('a');
    expect(rows[1]?.slice(0, 2)).toEqual(['b (unfinished)', '3']);
    expect(rows[1]?.slice(4, 8)).toEqual(['—', '—', '—', '—']);
    expect(rows[0]?.[5]).toBe('97.68%');
  });

  it('shows a diverged loss as NaN and a run with no epochs as empty', () => {
    const diverged = fakeRun('randn', {}, { epochs: 2 });
    diverged.epochs[1] = { epoch: 2, loss: Number.NaN, acc: 0.1, seconds: 1 };
    const empty = fakeRun('empty', {}, { epochs: 0, finished: false });
    const [divergedRow, emptyRow] = cells(summaryTable([diverged, empty])).slice(2);
    expect(divergedRow?.[2]).toBe('NaN');
    expect(emptyRow?.slice(1, 4)).toEqual(['0', '—', '—']);
    expect(emptyRow?.[8]).toBe('—');
  });

  it('adds the training set measured without dropout where a run has it (1c), and only then', () => {
    const measured = fakeRun('dropout', {});
    measured.test = { ...measured.test!, train: { loss: 0.1234, acc: 0.9512 } };
    const [header, , row, other] = cells(summaryTable([measured, fakeRun('baseline', {})]));
    expect(header?.slice(9)).toEqual(['Train loss, no dropout', 'Train acc, no dropout']);
    expect(row?.slice(9)).toEqual(['0.123', '95.12%']);
    expect(other?.slice(9)).toEqual(['—', '—']);
    expect(cells(summaryTable([fakeRun('baseline', {})]))[0]).toHaveLength(9);
  });

  it('escapes pipes so every row keeps its columns', () => {
    const table = summaryTable([fakeRun('p', {}, { label: 'dropout | wd' })]);
    const rows = cells(table);
    expect(rows.every((row) => row.length === 9)).toBe(true);
    expect(rows[2]?.[0]).toBe('dropout | wd');
  });
});

describe('crossTableData', () => {
  it('puts each run at its row and column value, in the order the runs come, with its test accuracy and loss', () => {
    const run = (init: string, optimizer: string, acc: number, finished = true) => {
      const r = fakeRun(`${optimizer}:${init}`, { init, optimizer }, { finished });
      if (r.test) r.test = { ...r.test, acc, loss: 1 - acc };
      return r;
    };
    const runs = [run('he', 'SGD', 0.861), run('he', 'Adam', 0.8895), run('randn', 'SGD', 0.1), run('randn', 'Adam', 0.8346, false), fakeRun('other', {})];
    expect(crossTableData(runs, 'init', 'optimizer')).toEqual({
      header: ['init', 'SGD', 'Adam'],
      rows: [
        ['he', '86.10% (0.139)', '88.95% (0.111)'],
        ['randn', '10.00% (0.900)', '—'],
      ],
      align: ['left', 'right', 'right'],
    });
    expect(crossTableData([fakeRun('x', { all: 'all' })], 'init', 'optimizer')).toBeUndefined();
  });
});

describe('configTableData', () => {
  it('has a column for every hyper-parameter any run sets', () => {
    const table = markdownTable(configTableData([
      fakeRun('a', {}, { config: { lr: 0.001, keepProb: [1, 0.8] } }),
      fakeRun('b', {}, { config: { lr: 1e-5, weightDecay: 0.01 } }),
    ]));
    expect(cells(table)).toEqual([
      ['Run', 'lr', 'keepProb', 'weightDecay'],
      [':---', ':---', ':---', ':---'],
      ['a', '0.001', '[1,0.8]', '—'],
      ['b', '0.00001', '—', '0.01'],
    ]);
  });
});

describe('displayLabel and formatSetting', () => {
  it('marks an unfinished run', () => {
    expect(displayLabel(fakeRun('a', {}, { label: 'Adam' }))).toBe('Adam');
    expect(displayLabel(fakeRun('a', {}, { label: 'Adam', finished: false }))).toBe('Adam (unfinished)');
  });

  it('writes settings as a reader expects them', () => {
    expect(formatSetting('adam')).toBe('adam');
    expect(formatSetting(42)).toBe('42');
    expect(formatSetting(true)).toBe('true');
    expect(formatSetting({ beta1: 0.9 })).toBe('{"beta1":0.9}');
    expect(formatSetting(undefined)).toBe('—');
  });
});
