import { describe, expect, it } from 'vitest';
import { lineChartSvg } from '../../src/report/chart.ts';
import { svgToPng } from '../../src/report/png.ts';
import { countPixels, decodePng, PNG_SIGNATURE } from './png-decode.ts';

const TEXT_COLOUR: [number, number, number] = [0x22, 0x22, 0x22];

describe('svgToPng', () => {
  it('writes a PNG of the SVG size, times the scale', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><rect width="120" height="80" fill="#0072B2"/></svg>';
    const png = svgToPng(svg);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([120, 80]);

    const doubled = decodePng(svgToPng(svg, { scale: 2 }));
    expect([doubled.width, doubled.height]).toEqual([240, 160]);
    expect(countPixels(doubled, [0x00, 0x72, 0xb2], 0)).toBe(240 * 160);
  });

  it('sets text in the bundled font, whatever fonts the machine has', () => {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60">' +
      '<text x="10" y="40" font-size="32" font-family="sans-serif" fill="#222222">Epoch 42</text></svg>';
    const image = decodePng(svgToPng(svg));
    // Without a font, resvg silently draws no text at all: the image would be fully transparent.
    expect(countPixels(image, TEXT_COLOUR, 40)).toBeGreaterThan(300);
  });

  it('renders a chart: white background, dark text, the first series colour', () => {
    const svg = lineChartSvg({
      title: 'Training loss',
      xLabel: 'Epoch',
      yLabel: 'Loss',
      series: [{ name: 'Adam', points: [[1, 2.3], [2, 1.1], [3, 0.6], [4, 0.4]] }],
    });
    const image = decodePng(svgToPng(svg));
    const total = image.width * image.height;
    const white = countPixels(image, [255, 255, 255], 0);
    expect(white).toBeGreaterThan(total / 2);
    expect(white).toBeLessThan(total);
    expect(countPixels(image, TEXT_COLOUR, 40)).toBeGreaterThan(200);
    expect(countPixels(image, [0x00, 0x72, 0xb2], 30)).toBeGreaterThan(200);
  });
});
