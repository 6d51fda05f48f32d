/**
 * Line charts as standalone SVG: the same string is saved as a file, rasterized to PNG and inlined in the HTML
 * report, so it uses nothing but basic shapes and text with explicit attributes (no CSS, no ids, no scripts).
 */

export interface ChartSeries {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  width?: number;
  /** Height with the legend beside the plot; a legend too long for that goes below and the chart grows taller. */
  height?: number;
}

/** Okabe–Ito, without its yellow, which is unreadable on white. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
/** Five shapes against seven colours: the first 35 series all differ, and also in grey print. */
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'triangle-down'] as const;
type Marker = (typeof MARKERS)[number];

const FONT_FAMILY = "'DejaVu Sans', Verdana, Arial, sans-serif";
const TITLE_SIZE = 16;
const LABEL_SIZE = 13;
const TICK_SIZE = 12;
const LEGEND_SIZE = 12;
const LEGEND_ROW = 20;
const LEGEND_SWATCH = 26;
/** Between the plot and a legend beside it, and between legend columns. */
const LEGEND_GAP = 24;
/** Free space along the chart's outer edges. */
const EDGE = 16;
const MARKER_RADIUS = 3.5;
const TEXT_COLOUR = '#222222';
const AXIS_COLOUR = '#555555';
const GRID_COLOUR = '#e4e4e4';

export function lineChartSvg(options: LineChartOptions): string {
  const width = options.width ?? 760;
  const baseHeight = options.height ?? 440;
  const series = options.series.map((s, index) => ({
    name: s.name,
    points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
    colour: PALETTE[index % PALETTE.length] ?? '#000000',
    marker: MARKERS[index % MARKERS.length] ?? 'circle',
  }));
  const allPoints = series.flatMap((s) => s.points);
  const xs = allPoints.map(([x]) => x);
  const ys = allPoints.map(([, y]) => y);

  const top = 44;
  const bottom = 52;
  const plotHeight = baseHeight - top - bottom;
  const yAxis = niceAxis(ys, Math.max(3, Math.round(plotHeight / 55)));
  const left = EDGE + LABEL_SIZE + 10 + Math.max(...yAxis.labels.map((l) => textWidth(l, TICK_SIZE))) + 8;

  const legendItemWidth = LEGEND_SWATCH + 8 + Math.max(0, ...series.map((s) => textWidth(s.name, LEGEND_SIZE)));
  const legendBeside =
    series.length * LEGEND_ROW <= plotHeight && LEGEND_GAP + legendItemWidth + EDGE <= width * 0.4;
  const right = legendBeside ? LEGEND_GAP + legendItemWidth + EDGE : 2 * EDGE;
  const plotWidth = width - left - right;
  const xAxis = niceAxis(xs, Math.max(2, Math.round(plotWidth / 90)));

  const legendColumns = legendBeside
    ? 1
    : Math.max(1, Math.floor((plotWidth + LEGEND_GAP) / (legendItemWidth + LEGEND_GAP)));
  const legendRows = Math.ceil(series.length / legendColumns);
  const height = legendBeside ? baseHeight : baseHeight + legendRows * LEGEND_ROW + EDGE;

  const toX = (x: number) => left + ((x - xAxis.min) / (xAxis.max - xAxis.min)) * plotWidth;
  const toY = (y: number) => top + plotHeight - ((y - yAxis.min) / (yAxis.max - yAxis.min)) * plotHeight;
  const plotBottom = top + plotHeight;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="${escapeXml(FONT_FAMILY)}" role="img" aria-label="${escapeXml(options.title)}">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    text(left + plotWidth / 2, 26, options.title, { size: TITLE_SIZE, anchor: 'middle', bold: true }),
  );

  parts.push(`<g class="grid" stroke="${GRID_COLOUR}" stroke-width="1">`);
  for (const tick of yAxis.ticks) parts.push(line(left, toY(tick), left + plotWidth, toY(tick)));
  for (const tick of xAxis.ticks) parts.push(line(toX(tick), top, toX(tick), plotBottom));
  parts.push('</g>');

  parts.push(`<g class="axes" stroke="${AXIS_COLOUR}" stroke-width="1">`);
  parts.push(line(left, top, left, plotBottom), line(left, plotBottom, left + plotWidth, plotBottom));
  for (const tick of yAxis.ticks) parts.push(line(left - 5, toY(tick), left, toY(tick)));
  for (const tick of xAxis.ticks) parts.push(line(toX(tick), plotBottom, toX(tick), plotBottom + 5));
  parts.push('</g>');

  parts.push(`<g class="tick-labels" font-size="${TICK_SIZE}">`);
  yAxis.ticks.forEach((tick, i) =>
    parts.push(text(left - 9, toY(tick) + TICK_SIZE * 0.35, yAxis.labels[i] ?? '', { anchor: 'end' })),
  );
  xAxis.ticks.forEach((tick, i) =>
    parts.push(text(toX(tick), plotBottom + 9 + TICK_SIZE, xAxis.labels[i] ?? '', { anchor: 'middle' })),
  );
  parts.push('</g>');

  parts.push(text(left + plotWidth / 2, plotBottom + 44, options.xLabel, { size: LABEL_SIZE, anchor: 'middle' }));
  const yLabelX = 20 + LABEL_SIZE / 2;
  const yLabelY = top + plotHeight / 2;
  parts.push(
    text(yLabelX, yLabelY, options.yLabel, {
      size: LABEL_SIZE,
      anchor: 'middle',
      transform: `rotate(-90 ${num(yLabelX)} ${num(yLabelY)})`,
    }),
  );

  for (const [index, s] of series.entries()) {
    parts.push(`<g class="series" data-series="${index}">`);
    if (s.points.length > 0) {
      const coords = s.points.map(([x, y]) => `${num(toX(x))},${num(toY(y))}`).join(' ');
      parts.push(
        `<polyline points="${coords}" fill="none" stroke="${s.colour}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>`,
      );
      for (const [x, y] of s.points) parts.push(markerShape(s.marker, toX(x), toY(y), s.colour));
    }
    parts.push('</g>');
  }

  parts.push(`<g class="legend" font-size="${LEGEND_SIZE}">`);
  const legendLeft = legendBeside ? left + plotWidth + LEGEND_GAP : left;
  const legendTop = legendBeside ? top + 4 : plotBottom + 62;
  for (const [index, s] of series.entries()) {
    const column = index % legendColumns;
    const row = Math.floor(index / legendColumns);
    const x = legendLeft + column * (legendItemWidth + LEGEND_GAP);
    const y = legendTop + row * LEGEND_ROW + LEGEND_ROW / 2;
    parts.push(
      `<g class="legend-item">`,
      `<line x1="${num(x)}" y1="${num(y)}" x2="${num(x + LEGEND_SWATCH)}" y2="${num(y)}" stroke="${s.colour}" stroke-width="2"/>`,
      markerShape(s.marker, x + LEGEND_SWATCH / 2, y, s.colour),
      text(x + LEGEND_SWATCH + 8, y + LEGEND_SIZE * 0.35, s.name, {}),
      '</g>',
    );
  }
  parts.push('</g>', '</svg>');
  return `${parts.join('\n')}\n`;
}

export function escapeXml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

interface Axis {
  min: number;
  max: number;
  ticks: number[];
  labels: string[];
}

/** An axis whose ends are ticks at round values (1, 2, 2.5 or 5 times a power of ten), about `count` of them. */
function niceAxis(values: readonly number[], count: number): Axis {
  let low = values.length > 0 ? Math.min(...values) : 0;
  let high = values.length > 0 ? Math.max(...values) : 1;
  if (low === high) {
    const pad = Math.abs(low) * 0.1 || 1;
    low -= pad;
    high += pad;
  }
  // Epochs are whole numbers: a tick at epoch 2.5 would mean nothing.
  const integer = values.length > 0 && values.every(Number.isInteger);
  const step = niceStep((high - low) / count, integer);
  const decimals = decimalsOf(step);
  const first = Math.floor(low / step + 1e-9);
  const last = Math.ceil(high / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toFixed(decimals)));
  const largest = Math.max(...ticks.map(Math.abs));
  const scientific = largest >= 1e6 || decimals > 4;
  const labels = ticks.map((t) => (scientific && t !== 0 ? t.toExponential() : t.toFixed(decimals)));
  return { min: first * step, max: last * step, ticks, labels };
}

function niceStep(raw: number, integer: boolean): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const multipliers = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  const step = (multipliers.find((m) => m * magnitude >= raw * (1 - 1e-9)) ?? 10) * magnitude;
  return integer ? Math.max(1, step) : step;
}

function decimalsOf(step: number): number {
  for (let d = 0; d < 15; d++) {
    if (Math.abs(Number(step.toFixed(d)) - step) <= step * 1e-9) return d;
  }
  return 15;
}

/**
 * Advance widths of DejaVu Sans, the font the PNGs are set in, for ' ' to '~' in thousandths of an em, read from
 * its hmtx table. SVG cannot measure text, and the legend and the y-axis labels need their widths to leave room.
 */
const ASCII_WIDTHS = [
  318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636,
  636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863,
  748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635,
  615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636,
  337, 636, 838,
];
/** Wide enough for the non-ASCII letters a label may hold (accents, em dash). */
const OTHER_WIDTH = 800;

function textWidth(value: string, size: number): number {
  let thousandths = 0;
  for (const char of value) {
    thousandths += ASCII_WIDTHS[(char.codePointAt(0) ?? 0) - 32] ?? OTHER_WIDTH;
  }
  return (thousandths / 1000) * size;
}

function num(value: number): string {
  return String(Number(value.toFixed(2)));
}

function line(x1: number, y1: number, x2: number, y2: number): string {
  return `<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}"/>`;
}

function text(
  x: number,
  y: number,
  value: string,
  style: { size?: number; anchor?: 'start' | 'middle' | 'end'; bold?: boolean; transform?: string },
): string {
  const attributes = [
    `x="${num(x)}"`,
    `y="${num(y)}"`,
    style.size === undefined ? '' : `font-size="${style.size}"`,
    style.anchor === undefined || style.anchor === 'start' ? '' : `text-anchor="${style.anchor}"`,
    style.bold ? 'font-weight="bold"' : '',
    style.transform === undefined ? '' : `transform="${style.transform}"`,
    `fill="${TEXT_COLOUR}"`,
  ].filter((a) => a !== '');
  return `<text ${attributes.join(' ')}>${escapeXml(value)}</text>`;
}

function markerShape(marker: Marker, x: number, y: number, colour: string): string {
  const r = MARKER_RADIUS;
  const paint = `class="marker" fill="${colour}" stroke="#ffffff" stroke-width="1"`;
  const polygon = (corners: [number, number][]) =>
    `<path ${paint} d="M${corners.map(([dx, dy]) => `${num(x + dx)},${num(y + dy)}`).join(' L')} Z"/>`;
  switch (marker) {
    case 'circle':
      return `<circle ${paint} cx="${num(x)}" cy="${num(y)}" r="${r}"/>`;
    case 'square':
      return polygon([[-r, -r], [r, -r], [r, r], [-r, r]]);
    case 'triangle':
      return polygon([[0, -r * 1.25], [r * 1.15, r * 0.85], [-r * 1.15, r * 0.85]]);
    case 'diamond':
      return polygon([[0, -r * 1.3], [r * 1.3, 0], [0, r * 1.3], [-r * 1.3, 0]]);
    case 'triangle-down':
      return polygon([[0, r * 1.25], [r * 1.15, -r * 0.85], [-r * 1.15, -r * 0.85]]);
  }
}
