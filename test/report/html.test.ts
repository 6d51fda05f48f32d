import { describe, expect, it } from 'vitest';
import { lineChartSvg } from '../../src/report/chart.ts';
import { htmlReport } from '../../src/report/html.ts';
import { summaryTableData } from '../../src/report/markdown.ts';
import { fakeRun } from './fixtures.ts';
import { assertWellFormed } from './svg-parse.ts';

const svg = (title: string) =>
  lineChartSvg({ title, xLabel: 'Epoch', yLabel: 'Loss', series: [{ name: 'Adam', points: [[1, 1], [2, 0.5]] }] });

describe('htmlReport', () => {
  const charts = ['Loss — init: he', 'Accuracy — init: he', 'Loss — init: randn'].map(svg);
  const html = htmlReport({
    title: 'Question 2e <draft>',
    subtitle: 'backend: cpu · seed: 7',
    sections: [
      { heading: 'Summary', text: 'First paragraph & more.\n\nSecond <paragraph>.', svgs: [], table: summaryTableData([fakeRun('a', {}, { label: 'Adam | he' }), fakeRun('b', {}, { finished: false })]) },
      { heading: 'By init: he', svgs: charts.slice(0, 2) },
      { heading: 'By init: randn', svgs: charts.slice(2) },
    ],
  });

  it('is one complete page with every chart inline', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html.match(/<svg /g)).toHaveLength(3);
    for (const title of ['Loss — init: he', 'Accuracy — init: he', 'Loss — init: randn']) {
      expect(html).toContain(`<title>${title}</title>`);
    }
    const body = html.slice(html.indexOf('<body>'), html.indexOf('</body>') + '</body>'.length);
    assertWellFormed(body);
  });

  it('opens offline: no URL, no script, nothing loaded from elsewhere', () => {
    expect(html).not.toMatch(/https?:/);
    expect(html).not.toMatch(/<script|<link|\ssrc=|\shref=|@import|url\(/i);
  });

  it('renders the table as an HTML table', () => {
    expect(html).toContain('<table>');
    expect(html.match(/<tr>/g)).toHaveLength(3);
    expect(html).toContain('<td style="text-align:left">Adam | he</td>');
    expect(html).toContain('<td style="text-align:right">97.68%</td>');
    expect(html).toContain('<td style="text-align:left">b (unfinished)</td>');
  });

  it('escapes the title, subtitle, headings and text', () => {
    expect(html).toContain('<h1>Question 2e &lt;draft&gt;</h1>');
    expect(html).toContain('<title>Question 2e &lt;draft&gt;</title>');
    expect(html).toContain('<p class="subtitle">backend: cpu · seed: 7</p>');
    expect(html).toContain('<p>First paragraph &amp; more.</p>');
    expect(html).toContain('<p>Second &lt;paragraph&gt;.</p>');
    expect(html.match(/<h2>/g)).toHaveLength(3);
  });

  it('reloads itself only when asked, with a meta refresh (no script) and a line that says so', () => {
    expect(html).not.toContain('http-equiv="refresh"');
    const live = htmlReport({ title: 'Live', sections: [], refreshSeconds: 10 });
    expect(live).toContain('<meta http-equiv="refresh" content="10">');
    expect(live).toContain('Running: this page reloads every 10 s until the experiment ends.');
    expect(live).not.toContain('<script');
  });
});
