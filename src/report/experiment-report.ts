/**
 * Everything an experiment leaves for a reader: a loss and an accuracy chart per group of runs (SVG and PNG), per run
 * its training and held-out curves, for 1c the gap between them run against run, a markdown summary and one offline
 * HTML page. Unfinished runs are included and marked, so an experiment can be
 * reported while it is still going or after it was cut short.
 */

import { join } from 'node:path';
import type { RunResult } from './results.ts';
import { makeFolder, writeWhole } from '../core/files.ts';
import { count } from '../core/words.ts';
import { lineChartSvg, type ChartSeries } from './chart.ts';
import { htmlReport, type HtmlSection } from './html.ts';
import { gapCharts, generalization } from './generalization.ts';
import { configTableData, crossTableData, displayLabel, formatSetting, markdownTable, summaryTableData } from './markdown.ts';
import { svgToPng } from './png.ts';

/** The grouping key that puts every run in one chart (1c's four runs side by side). */
export const ALL_RUNS = 'all';

export interface ExperimentReportOptions {
  outDir: string;
  title: string;
  runs: readonly RunResult[];
  /** Keys of `RunSpec.groups`, e.g. `["init", "optimizer"]`, or `[ALL_RUNS]`. Runs without the key are left out of that grouping. */
  groupBy: readonly string[];
  /** Whether to draw the train/held-out gap per epoch, run against run (1c). */
  gapCharts?: boolean;
  /** Settings shared by all runs (backend, dataset, seed, date), shown under the title. */
  meta: Record<string, unknown>;
  /**
   * Only report.html, quickly: `live` while the experiment runs (the page reloads itself every LIVE_REFRESH_SECONDS),
   * `stopped` once it stopped early (no reload). Default: everything.
   */
  only?: 'live' | 'stopped';
}

/** How often a live report reloads itself in a browser. */
export const LIVE_REFRESH_SECONDS = 10;

interface ChartGroup {
  /** Human-readable, e.g. `"init: he"`; undefined for the group of all runs. */
  caption?: string;
  fileStem: string;
  lossSvg: string;
  accSvg: string;
}

/** Writes the charts, `summary.md` and `report.html` under `outDir` (or report.html alone); returns the paths written, in order. */
export function writeExperimentReport(options: ExperimentReportOptions): string[] {
  const written: string[] = [];
  const write = (relativePath: string, data: string | Buffer) => {
    const path = join(options.outDir, relativePath);
    writeWhole(path, data);
    written.push(path);
  };
  const groups = chartGroups(options.runs, options.groupBy);
  const general = generalization(options.runs);
  const stems = uniqueStems();
  const perRun = general.perRun.map((curves) => ({ ...curves, fileStem: stems(`run-${safeName(curves.run.spec.id)}`) }));
  const gap = options.gapCharts ? gapCharts(options.runs) : undefined;
  /** Every chart file but the groups': [file stem, svg]. */
  const moreCharts: [string, string][] = [
    ...perRun.flatMap(({ fileStem, lossSvg, accSvg }) => [[`${fileStem}-loss`, lossSvg], [`${fileStem}-acc`, accSvg]] as [string, string][]),
    ...(gap?.svgs ? ([['gap-acc', gap.svgs.acc], ['gap-loss', gap.svgs.loss]] as [string, string][]) : []),
  ];
  if (options.only === undefined) {
    makeFolder(join(options.outDir, 'charts'));
    const charts: [string, string][] = [
      ...groups.flatMap((group) => [[`${group.fileStem}-loss`, group.lossSvg], [`${group.fileStem}-acc`, group.accSvg]] as [string, string][]),
      ...moreCharts,
    ];
    for (const [stem, svg] of charts) {
      write(`charts/${stem}.svg`, svg);
      write(`charts/${stem}.png`, svgToPng(svg, { scale: 2 }));
    }
  }

  const metaLine = Object.entries(options.meta)
    .map(([key, value]) => `${key}: ${formatSetting(value)}`)
    .join(' · ');
  const summary = summaryTableData(options.runs);
  const configs = configTableData(options.runs);
  // Runs grouped two ways (2e) also get one grid of their test results, the comparison the homework asks for.
  const [rowKey, columnKey] = options.groupBy;
  const cross = options.groupBy.length === 2 ? crossTableData(options.runs, rowKey as string, columnKey as string) : undefined;
  const crossHeading = `Test accuracy (loss) by ${rowKey} and ${columnKey}`;
  const unfinished = options.runs.filter((run) => !run.finished).length;
  const progress =
    unfinished === 0
      ? `${count(options.runs.length, 'run')} finished.`
      : `${unfinished} of ${count(options.runs.length, 'run')} unfinished: their rows and curves stop at the last epoch recorded.`;
  const withTrain = options.runs.some((run) => run.test?.train !== undefined);
  const gapNote =
    'Loss gap = |min train loss − test loss|; acc gap = |max train acc − test acc|. Train values are per epoch, on the training set' +
    (withTrain
      ? ', measured during training (dropout masks on, as the notebook did); "no dropout" is the training set measured after the last epoch as the test set is.'
      : '.');

  const generalHeading = `Train and ${general.name.toLowerCase()}, per run`;
  const sections: HtmlSection[] = [
    { heading: 'Summary', text: `${progress}\n\n${gapNote}`, svgs: [], table: summary },
    ...(cross ? [{ heading: crossHeading, svgs: [], table: cross }] : []),
    ...groups.map((group) => ({
      heading: group.caption === undefined ? 'Training curves' : `By ${group.caption}`,
      svgs: [group.lossSvg, group.accSvg],
    })),
    { heading: generalHeading, text: general.note, svgs: perRun.flatMap((run) => [run.lossSvg, run.accSvg]) },
    ...(gap ? [{ heading: GAP_HEADING, text: gap.note, svgs: gap.svgs ? [gap.svgs.acc, gap.svgs.loss] : [] }] : []),
    { heading: 'Hyper-parameters', svgs: [], table: configs },
  ];
  const refreshSeconds = options.only === 'live' ? LIVE_REFRESH_SECONDS : undefined;
  if (options.only !== undefined) {
    write('report.html', htmlReport({ title: options.title, subtitle: metaLine, sections, refreshSeconds }));
    return written;
  }

  write(
    'summary.md',
    [
      `# ${options.title}`,
      '',
      metaLine,
      '',
      progress,
      '',
      markdownTable(summary),
      gapNote,
      '',
      ...(cross ? [`## ${crossHeading}`, '', markdownTable(cross)] : []),
      '## Hyper-parameters',
      '',
      markdownTable(configs),
      '## Charts',
      '',
      ...groups.flatMap((group) =>
        (['loss', 'acc'] as const).map(
          (kind) => `![${chartTitle(kind, group.caption)}](charts/${group.fileStem}-${kind}.png)`,
        ),
      ),
      '',
      `## ${generalHeading}`,
      '',
      general.note,
      '',
      ...perRun.flatMap(({ run, fileStem }) =>
        (['loss', 'acc'] as const).map((kind) => `![${kind === 'loss' ? 'Loss' : 'Accuracy'} — ${displayLabel(run)}](charts/${fileStem}-${kind}.png)`),
      ),
      ...(gap
        ? [
            '',
            `## ${GAP_HEADING}`,
            '',
            gap.note,
            '',
            ...(gap.svgs ? ['![Accuracy gap](charts/gap-acc.png)', '![Loss gap](charts/gap-loss.png)'] : []),
          ]
        : []),
      '',
    ].join('\n'),
  );

  write('report.html', htmlReport({ title: options.title, subtitle: metaLine, sections }));
  return written;
}

const GAP_HEADING = 'Generalization gap per epoch';

/** `stem`, or `stem-2`, `stem-3`, … where it was given before: file names that clash after safeName stay apart. */
function uniqueStems(): (stem: string) => string {
  const used = new Set<string>();
  return (stem) => {
    let unique = stem;
    for (let n = 2; used.has(unique); n++) unique = `${stem}-${n}`;
    used.add(unique);
    return unique;
  };
}

function chartGroups(runs: readonly RunResult[], groupBy: readonly string[]): ChartGroup[] {
  const uniqueStem = uniqueStems();
  return groupBy.flatMap((key) => {
    if (key === ALL_RUNS) {
      return [chartGroup(runs, uniqueStem(ALL_RUNS), undefined, (run) => displayLabel(run))];
    }
    const values = [...new Set(runs.flatMap((run) => run.spec.groups[key] ?? []))];
    return values.map((value) =>
      chartGroup(
        runs.filter((run) => run.spec.groups[key] === value),
        uniqueStem(`${safeName(key)}-${safeName(value)}`),
        `${key}: ${value}`,
        (run) => seriesName(run, key),
      ),
    );
  });
}

function chartGroup(
  runs: readonly RunResult[],
  fileStem: string,
  caption: string | undefined,
  name: (run: RunResult) => string,
): ChartGroup {
  const series = (metric: (epoch: RunResult['epochs'][number]) => number): ChartSeries[] =>
    runs.map((run) => ({ name: name(run), points: run.epochs.map((e) => [e.epoch, metric(e)] as const) }));
  return {
    caption,
    fileStem,
    lossSvg: lineChartSvg({
      title: chartTitle('loss', caption),
      xLabel: 'Epoch',
      yLabel: 'Loss',
      series: series((e) => e.loss),
    }),
    accSvg: lineChartSvg({
      title: chartTitle('acc', caption),
      xLabel: 'Epoch',
      yLabel: 'Accuracy (%)',
      series: series((e) => e.acc * 100),
    }),
  };
}

function chartTitle(kind: 'loss' | 'acc', caption: string | undefined): string {
  const what = kind === 'loss' ? 'Training loss' : 'Training accuracy';
  return caption === undefined ? what : `${what} — ${caption}`;
}

/** Within a group the grouping value is the same for every run, so the legend names only what differs. */
function seriesName(run: RunResult, groupKey: string): string {
  const others = Object.entries(run.spec.groups)
    .filter(([key]) => key !== groupKey)
    .map(([, value]) => value);
  return displayLabel(run, others.length > 0 ? others.join(', ') : run.spec.label);
}

/** `"SGD + momentum"` → `"sgd-momentum"`: portable on every file system and in a URL. */
export function safeName(value: string): string {
  const name = value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return name === '' ? 'group' : name;
}
