/**
 * SVG to PNG with resvg, a Rust renderer shipped as prebuilt per-platform npm packages (nothing downloaded at
 * install). System fonts are never consulted: CI machines may have none, and a chart must look the same everywhere,
 * so text is set in DejaVu Sans from the `dejavu-fonts-ttf` package.
 */
import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';

const require = createRequire(import.meta.url);
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((file) =>
  require.resolve(`dejavu-fonts-ttf/ttf/${file}`),
);

export interface PngOptions {
  /** Pixels per SVG unit; 2 gives sharp images on high-density screens. Default 1. */
  scale?: number;
}

export function svgToPng(svg: string, options: PngOptions = {}): Buffer {
  const renderer = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: options.scale ?? 1 },
    font: {
      loadSystemFonts: false,
      fontFiles: FONT_FILES,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
    logLevel: 'off',
  });
  return renderer.render().asPng();
}
