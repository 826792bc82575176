/**
 * Matrices as PNG heatmaps with a color bar: the correlation matrices of
 * a pair × layer and the B matrix of a clustering. Values map through a
 * diverging colormap (blue for negative, white at the middle, red for
 * positive); cells are square, a few pixels each, so that a 384-unit
 * layer still fits in about 560 pixels.
 */
import { Raster, type Rgb, textWidth } from './raster.js';

/**
 * ColorBrewer's RdBu, 11 classes, from blue (low) to red (high): the
 * same scheme as Vega's "redblue", reversed so that -1 is blue.
 */
const diverging: Rgb[] = [
  [5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222],
  [209, 229, 240], [247, 247, 247], [253, 219, 199], [244, 165, 130],
  [214, 96, 77], [178, 24, 43], [103, 0, 31],
];

/** Color of t in [0, 1] (clamped), interpolated linearly between stops. */
export function divergingColor(t: number): Rgb {
  const x = Math.min(1, Math.max(0, t)) * (diverging.length - 1);
  const i = Math.min(diverging.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [diverging[i], diverging[i + 1]];
  return [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k]))) as Rgb;
}

export const ink: Rgb = [40, 40, 40];
const frameColor: Rgb = [150, 150, 150];
/** What a non-finite value is painted (it should never come). */
const invalid: Rgb = [128, 128, 128];

export interface HeatmapOptions {
  /** Values mapped to the two ends of the colormap. */
  min: number;
  max: number;
  /** Pixels per cell; default fits the matrix into about 560 pixels. */
  cell?: number;
  /** Order of rows and of columns (indices into the matrix). */
  rows?: ArrayLike<number>;
  cols?: ArrayLike<number>;
  /** Color of diagonal cell i (after ordering) instead of its value. */
  diagonal?: (i: number) => Rgb | undefined;
  /** Pixels above the matrix kept free for `decorate`. */
  top?: number;
  /** Draws into the finished raster, e.g. a dendrogram above. */
  decorate?: (raster: Raster, layout: HeatmapLayout) => void;
}

export interface HeatmapLayout {
  /** Top-left corner of the matrix and the size of one cell. */
  x: number;
  y: number;
  cell: number;
}

export interface Heatmap {
  png: Buffer;
  width: number;
  height: number;
  /** Cells whose value was NaN or infinite (painted gray). */
  nonFinite: number;
}

const margin = 12;

/** Pixels per cell that fit `n` cells into about `room` pixels. */
export function cellSize(n: number, room = 560): number {
  return Math.max(1, Math.min(16, Math.floor(room / Math.max(1, n))));
}

/** Tick label in the raster font: at most two significant digits. */
export function tickLabel(value: number): string {
  if (value === 0) return '0';
  const short = String(Number(value.toPrecision(2)));
  if (!short.includes('e')) return short;
  return value.toFixed(12).replace(/\.?0+$/, '');
}

/**
 * Render matrix M [nRows, nCols] (row-major) as a heatmap PNG.
 * Pixel (i, j) of the matrix area shows M[rows[i], cols[j]].
 */
export function heatmap(values: ArrayLike<number>, nRows: number,
  nCols: number, options: HeatmapOptions): Heatmap {
  const rows = options.rows ?? Array.from({ length: nRows }, (_, i) => i);
  const cols = options.cols ?? Array.from({ length: nCols }, (_, i) => i);
  const cell = options.cell ?? cellSize(Math.max(rows.length, cols.length));
  const top = options.top ?? 0;
  const x0 = margin;
  const y0 = margin + top;
  const w = cols.length * cell;
  const h = rows.length * cell;
  const barH = Math.max(h, 120);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    options.min + f * (options.max - options.min));
  const labelW = Math.max(...ticks.map((t) => textWidth(tickLabel(t))));
  const barX = x0 + w + 16;
  const raster = new Raster(barX + 14 + 6 + labelW + margin,
    y0 + Math.max(h, barH) + margin);

  // The matrix, one cell at a time.
  const span = options.max - options.min || 1;
  let nonFinite = 0;
  for (let i = 0; i < rows.length; i++) {
    for (let j = 0; j < cols.length; j++) {
      const v = values[rows[i] * nCols + cols[j]];
      let color = i === j ? options.diagonal?.(i) : undefined;
      if (!color) {
        if (Number.isFinite(v)) {
          color = divergingColor((v - options.min) / span);
        } else {
          nonFinite++;
          color = invalid;
        }
      }
      raster.fill(x0 + j * cell, y0 + i * cell, cell, cell, color);
    }
  }
  raster.frame(x0 - 1, y0 - 1, w + 2, h + 2, frameColor);

  // The color bar, the maximum at the top, with five labelled ticks.
  for (let p = 0; p < barH; p++) {
    raster.fill(barX, y0 + p, 14, 1, divergingColor(1 - p / (barH - 1)));
  }
  raster.frame(barX - 1, y0 - 1, 16, barH + 2, frameColor);
  ticks.forEach((t, k) => {
    const y = y0 + Math.round((1 - k / 4) * (barH - 1));
    raster.hline(barX + 14, barX + 17, y, ink);
    raster.text(tickLabel(t), barX + 20, Math.min(Math.max(y - 5, 0),
      raster.height - 10), ink);
  });

  options.decorate?.(raster, { x: x0, y: y0, cell });
  return { png: raster.toPng(), width: raster.width, height: raster.height,
    nonFinite };
}
