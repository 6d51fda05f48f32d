/** Reads back what the tests need from the charts' SVG, which uses one element per line and no CDATA. */

export interface ParsedSeries {
  index: number;
  polylines: [number, number][][];
  markers: number;
}

export function seriesOf(svg: string): ParsedSeries[] {
  const groups = [...svg.matchAll(/<g class="series" data-series="(\d+)">([\s\S]*?)<\/g>/g)];
  return groups.map(([, index, body]) => ({
    index: Number(index),
    polylines: [...(body ?? '').matchAll(/<polyline points="([^"]*)"/g)].map(([, points]) =>
      (points ?? '').split(' ').map((pair) => pair.split(',').map(Number) as [number, number]),
    ),
    markers: [...(body ?? '').matchAll(/class="marker"/g)].length,
  }));
}

export function textsOf(svg: string, groupClass: string): { x: number; y: number; text: string }[] {
  return [...groupBody(svg, groupClass).matchAll(/<text x="([^"]+)" y="([^"]+)"[^>]*>([^<]*)<\/text>/g)].map(
    ([, x, y, text]) => ({ x: Number(x), y: Number(y), text: text ?? '' }),
  );
}

/** The content of `<g class="…">`, nested groups included. */
function groupBody(svg: string, groupClass: string): string {
  const start = svg.indexOf(`<g class="${groupClass}"`);
  if (start < 0) return '';
  let depth = 0;
  for (const match of svg.slice(start).matchAll(/<g[\s>]|<\/g>/g)) {
    depth += match[0] === '</g>' ? -1 : 1;
    if (depth === 0) return svg.slice(start, start + (match.index ?? 0));
  }
  throw new Error(`unclosed group ${groupClass}`);
}

/** The plot's left, bottom and right edges, from the two axis lines. */
export function plotEdges(svg: string): { left: number; bottom: number; right: number; top: number } {
  const axes = /<g class="axes"[^>]*>\n<line x1="([^"]+)" y1="([^"]+)" x2="[^"]+" y2="([^"]+)"\/>\n<line x1="[^"]+" y1="[^"]+" x2="([^"]+)"/.exec(svg);
  if (axes === null) throw new Error('no axes in the SVG');
  return { left: Number(axes[1]), top: Number(axes[2]), bottom: Number(axes[3]), right: Number(axes[4]) };
}

/** Throws unless every tag is closed in order, attributes are quoted and text holds no raw `<` or `&`. */
export function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  const tokens = xml.split(/(<[^>]*>)/);
  for (const token of tokens) {
    if (token.startsWith('<')) {
      const closing = /^<\/([\w-]+)>$/.exec(token);
      const opening = /^<([\w-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/.exec(token);
      if (closing !== null) {
        if (stack.pop() !== closing[1]) throw new Error(`unbalanced ${token}`);
      } else if (opening !== null) {
        if (opening[3] !== '/') stack.push(opening[1] ?? '');
      } else {
        throw new Error(`malformed tag ${token}`);
      }
    } else if (/<|&(?!(amp|lt|gt|quot|apos);)/.test(token)) {
      throw new Error(`unescaped text ${JSON.stringify(token)}`);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed ${stack.join(', ')}`);
}
