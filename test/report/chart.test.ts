import { describe, expect, it } from 'vitest';
import { escapeXml, lineChartSvg, type ChartSeries } from '../../src/report/chart.ts';
import { assertWellFormed, plotEdges, seriesOf, textsOf } from './svg-parse.ts';

const curve = (n: number, scale: number): [number, number][] =>
  Array.from({ length: n }, (_, i) => [i + 1, scale * Math.exp(-i / 4) + 0.1]);

const chart = (series: ChartSeries[], size: { width?: number; height?: number } = {}) =>
  lineChartSvg({ title: 'Training loss', xLabel: 'Epoch', yLabel: 'Loss', series, ...size });

describe('lineChartSvg', () => {
  it('draws one polyline with one marker per point for each series', () => {
    const svg = chart([
      { name: 'SGD', points: curve(20, 2) },
      { name: 'RMSProp', points: curve(12, 1.5) },
      { name: 'Adam', points: curve(20, 1) },
    ]);
    assertWellFormed(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const series = seriesOf(svg);
    expect(series.map((s) => s.polylines.length)).toEqual([1, 1, 1]);
    expect(series.map((s) => s.polylines[0]?.length)).toEqual([20, 12, 20]);
    expect(series.map((s) => s.markers)).toEqual([20, 12, 20]);
  });

  it('gives each series its own colour and marker shape', () => {
    const svg = chart(Array.from({ length: 6 }, (_, i) => ({ name: `run ${i}`, points: curve(3, i + 1) })));
    const colours = [...svg.matchAll(/<polyline [^>]*stroke="(#[0-9A-Fa-f]{6})"/g)].map((m) => m[1]);
    expect(new Set(colours).size).toBe(6);
    expect(svg).toContain('<circle class="marker"');
    expect(svg).toContain('<path class="marker"');
  });

  it('maps larger values higher and later epochs further right, all inside the plot', () => {
    const svg = chart([{ name: 'loss', points: [[1, 3], [2, 2], [3, 1]] }]);
    const edges = plotEdges(svg);
    const points = seriesOf(svg)[0]?.polylines[0] ?? [];
    expect(points.map(([x]) => x)).toEqual([...points.map(([x]) => x)].sort((a, b) => a - b));
    expect(points.map(([, y]) => y)).toEqual([...points.map(([, y]) => y)].sort((a, b) => a - b));
    for (const [x, y] of points) {
      expect(x).toBeGreaterThanOrEqual(edges.left);
      expect(x).toBeLessThanOrEqual(edges.right);
      expect(y).toBeGreaterThanOrEqual(edges.top);
      expect(y).toBeLessThanOrEqual(edges.bottom);
    }
  });

  it('labels the y axis with round, evenly spaced ticks that cover the data', () => {
    const svg = chart([{ name: 'loss', points: [[1, 0.37], [2, 3.9], [3, 14.166]] }]);
    const edges = plotEdges(svg);
    const yTicks = textsOf(svg, 'tick-labels')
      .filter((t) => t.x < edges.left)
      .map((t) => Number(t.text));
    expect(yTicks.length).toBeGreaterThanOrEqual(3);
    const step = (yTicks[1] ?? 0) - (yTicks[0] ?? 0);
    yTicks.forEach((tick, i) => expect(tick).toBeCloseTo((yTicks[0] ?? 0) + i * step, 9));
    const mantissa = step / 10 ** Math.floor(Math.log10(step));
    expect([1, 2, 2.5, 5]).toContain(Number(mantissa.toFixed(6)));
    expect(yTicks[0]).toBeLessThanOrEqual(0.37);
    expect(yTicks.at(-1)).toBeGreaterThanOrEqual(14.166);
  });

  it('puts ticks only at whole epochs', () => {
    const svg = chart([{ name: 'acc', points: [[1, 0.5], [2, 0.6], [3, 0.7]] }]);
    const edges = plotEdges(svg);
    const xTicks = textsOf(svg, 'tick-labels').filter((t) => t.y > edges.bottom + 12);
    expect(xTicks.length).toBeGreaterThanOrEqual(2);
    for (const tick of xTicks) expect(Number.isInteger(Number(tick.text))).toBe(true);
  });

  it('escapes the title, axis labels and legend names', () => {
    const name = 'dropout <p=0.8> & "wd" \'1e-4\'';
    const svg = lineChartSvg({ title: 'A & B', xLabel: '<epoch>', yLabel: 'loss "CE"', series: [{ name, points: curve(3, 1) }] });
    assertWellFormed(svg);
    expect(svg).toContain(`>${escapeXml(name)}</text>`);
    expect(escapeXml(name)).toBe('dropout &lt;p=0.8&gt; &amp; &quot;wd&quot; &apos;1e-4&apos;');
    expect(svg).toContain('>A &amp; B</text>');
    expect(svg).toContain('>&lt;epoch&gt;</text>');
    expect(svg).not.toContain('<p=0.8>');
  });

  it('lists every series in a legend beside the plot, clear of the lines', () => {
    const names = ['xavier', 'he', 'heuristic'];
    const svg = chart(names.map((name, i) => ({ name, points: curve(10, i + 1) })));
    const legend = textsOf(svg, 'legend');
    expect(legend.map((t) => t.text)).toEqual(names);
    const edges = plotEdges(svg);
    for (const item of legend) expect(item.x).toBeGreaterThan(edges.right);
  });

  it('moves a long legend below the plot and grows the chart to fit it', () => {
    const names = Array.from({ length: 18 }, (_, i) => `SGD with momentum, xavier-uniform init, run ${i}`);
    const svg = chart(names.map((name, i) => ({ name, points: curve(5, i + 1) })), { width: 760, height: 440 });
    const legend = textsOf(svg, 'legend');
    expect(legend.map((t) => t.text)).toEqual(names);
    const edges = plotEdges(svg);
    for (const item of legend) expect(item.y).toBeGreaterThan(edges.bottom + 30);
    const height = Number(/height="(\d+)"/.exec(svg)?.[1]);
    expect(height).toBeGreaterThan(440);
    for (const item of legend) expect(item.y).toBeLessThan(height);
  });

  it('skips NaN and infinite values and never writes NaN', () => {
    const svg = chart([
      { name: 'diverged', points: [[1, 2], [2, Number.NaN], [3, Number.POSITIVE_INFINITY], [4, 1]] },
      { name: 'nothing finite', points: [[1, Number.NaN]] },
    ]);
    assertWellFormed(svg);
    expect(svg).not.toMatch(/NaN|Infinity/);
    const [diverged, allNaN] = seriesOf(svg);
    expect(diverged?.polylines[0]?.length).toBe(2);
    expect(diverged?.markers).toBe(2);
    expect(allNaN?.polylines).toEqual([]);
    expect(textsOf(svg, 'legend').map((t) => t.text)).toEqual(['diverged', 'nothing finite']);
  });

  it('handles a single point, a constant series and no data at all', () => {
    for (const series of [
      [{ name: 'one', points: [[1, 0.5]] as [number, number][] }],
      [{ name: 'flat', points: [[1, 0.25], [2, 0.25], [3, 0.25]] as [number, number][] }],
      [],
    ]) {
      const svg = chart(series);
      assertWellFormed(svg);
      expect(svg).not.toMatch(/NaN|Infinity/);
      const edges = plotEdges(svg);
      const yTicks = textsOf(svg, 'tick-labels')
        .filter((t) => t.x < edges.left)
        .map((t) => t.text);
      expect(yTicks.length).toBeGreaterThan(2);
      expect(new Set(yTicks).size).toBe(yTicks.length);
    }
    const single = seriesOf(chart([{ name: 'one', points: [[1, 0.5]] }]))[0];
    expect(single?.markers).toBe(1);
  });

  it('is deterministic', () => {
    const series = [{ name: 'a', points: curve(7, 1.3) }];
    expect(chart(series)).toBe(chart(series));
  });
});
