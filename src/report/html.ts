/**
 * One self-contained HTML page: charts inlined as SVG, styles inline, no scripts and no external URL, so the file
 * opens offline and can be mailed or archived alone.
 */
import { escapeXml } from './chart.ts';

export interface HtmlSection {
  heading: string;
  /** Plain text; blank lines separate paragraphs. */
  text?: string;
  svgs: readonly string[];
  /** A pipe table as `summaryTable` writes it. */
  tableMarkdown?: string;
}

export interface HtmlReportOptions {
  title: string;
  subtitle?: string;
  sections: readonly HtmlSection[];
}

const STYLE = `
body { font-family: 'DejaVu Sans', system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; color: #222;
  margin: 0 auto; padding: 24px; max-width: 1280px; line-height: 1.45; }
h1 { margin-bottom: 4px; }
.subtitle { color: #555; margin-top: 0; }
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
    if (section.tableMarkdown !== undefined) {
      parts.push(`<div class="table-wrap">${markdownTableToHtml(section.tableMarkdown)}</div>`);
    }
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
    `<title>${escapeXml(options.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeXml(options.title)}</h1>`,
    options.subtitle === undefined ? '' : `<p class="subtitle">${escapeXml(options.subtitle)}</p>`,
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

function markdownTableToHtml(markdown: string): string {
  const lines = markdown.split('\n').filter((line) => line.trim().startsWith('|'));
  const [headerLine, ruleLine, ...rowLines] = lines;
  if (headerLine === undefined || ruleLine === undefined) {
    throw new Error(`not a markdown table: ${JSON.stringify(markdown.slice(0, 80))}`);
  }
  const align = splitRow(ruleLine).map((rule) => (rule.endsWith(':') && !rule.startsWith(':') ? 'right' : 'left'));
  const cell = (tag: 'th' | 'td', value: string, i: number) =>
    `<${tag}${align[i] === 'right' ? ' style="text-align:right"' : ' style="text-align:left"'}>${escapeXml(value)}</${tag}>`;
  const header = splitRow(headerLine).map((value, i) => cell('th', value, i));
  const rows = rowLines.map((line) => `<tr>${splitRow(line).map((value, i) => cell('td', value, i)).join('')}</tr>`);
  return `<table>\n<thead><tr>${header.join('')}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

/** The cells of `| a | b \| c |`, unescaped: `["a", "b | c"]`. */
function splitRow(line: string): string[] {
  const cells: string[] = [];
  let current = '';
  const body = line.trim().replace(/^\|/, '');
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char === '\\' && i + 1 < body.length) {
      current += body[++i];
    } else if (char === '|') {
      cells.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  if (current.trim() !== '') cells.push(current.trim());
  return cells;
}
