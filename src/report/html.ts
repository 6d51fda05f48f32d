/**
 * One self-contained HTML page: charts inlined as SVG, styles inline, no scripts and no external URL, so the file
 * opens offline and can be mailed or archived alone. While an experiment runs, the page asks the browser to load it
 * again every few seconds (a meta refresh, no script).
 */
import { escapeXml } from './chart.ts';
import type { Table } from './markdown.ts';

export interface HtmlSection {
  heading: string;
  /** Plain text; blank lines separate paragraphs. */
  text?: string;
  svgs: readonly string[];
  table?: Table;
}

export interface HtmlReportOptions {
  title: string;
  subtitle?: string;
  sections: readonly HtmlSection[];
  /** Reload the page every this many seconds (while the experiment runs); none by default. */
  refreshSeconds?: number;
}

const STYLE = `
body { font-family: 'DejaVu Sans', system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; color: #222;
  margin: 0 auto; padding: 24px; max-width: 1280px; line-height: 1.45; }
h1 { margin-bottom: 4px; }
.subtitle { color: #555; margin-top: 0; }
.live { color: #8a5a00; background: #fff6e0; padding: 6px 10px; border-radius: 4px; display: inline-block; }
section { margin-top: 32px; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; }
.charts svg { width: 100%; height: auto; border: 1px solid #eee; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; margin: 8px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e4e4; white-space: nowrap; }
th { background: #f4f4f4; }
tbody tr:nth-child(even) { background: #fafafa; }
`;

export function htmlReport(options: HtmlReportOptions): string {
  const sections = options.sections.map((section) => {
    const parts = [`<section>`, `<h2>${escapeXml(section.heading)}</h2>`];
    for (const paragraph of (section.text ?? '').split(/\n\s*\n/)) {
      if (paragraph.trim() !== '') parts.push(`<p>${escapeXml(paragraph.trim())}</p>`);
    }
    if (section.table !== undefined) parts.push(`<div class="table-wrap">${tableHtml(section.table)}</div>`);
    if (section.svgs.length > 0) {
      parts.push(`<div class="charts">`, ...section.svgs.map(inlineSvg), `</div>`);
    }
    parts.push(`</section>`);
    return parts.join('\n');
  });
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    ...(options.refreshSeconds === undefined ? [] : [`<meta http-equiv="refresh" content="${options.refreshSeconds}">`]),
    `<title>${escapeXml(options.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeXml(options.title)}</h1>`,
    options.subtitle === undefined ? '' : `<p class="subtitle">${escapeXml(options.subtitle)}</p>`,
    options.refreshSeconds === undefined
      ? ''
      : `<p class="live">Running: this page reloads every ${options.refreshSeconds} s until the experiment ends.</p>`,
    ...sections,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** HTML puts inline SVG in its namespace by itself; dropping the attribute leaves the page free of any URL. */
function inlineSvg(svg: string): string {
  return svg.replace(' xmlns="http://www.w3.org/2000/svg"', '');
}

function tableHtml({ header, rows, align }: Table): string {
  const cell = (tag: 'th' | 'td', value: string, i: number) =>
    `<${tag} style="text-align:${align[i] === 'right' ? 'right' : 'left'}">${escapeXml(value)}</${tag}>`;
  const body = rows.map((row) => `<tr>${row.map((value, i) => cell('td', value, i)).join('')}</tr>`);
  return `<table>\n<thead><tr>${header.map((value, i) => cell('th', value, i)).join('')}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}
