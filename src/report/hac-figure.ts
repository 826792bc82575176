/**
 * The clustering figure (method section 5): B = [[I, W], [Wᵀ, I]] with
 * rows and columns in the dendrogram's leaf order, the diagonal colored
 * by network, and the merges drawn above the matrix as brackets whose
 * height is the merge distance 1 − (average B between the two clusters).
 */
import { cellSize, type Heatmap, heatmap, ink } from './heatmap.js';
import type { Raster, Rgb } from './raster.js';

/** Network colors (Okabe–Ito orange and bluish green; not in the colormap). */
export const colorA: Rgb = [230, 159, 0];
export const colorB: Rgb = [0, 158, 115];

const dendrogramHeight = 130;

/**
 * B [n, n], n = nA + nB, row-major, from W [nA, nB] row-major:
 * 1 on the diagonal, W across the networks, 0 between two units of one
 * network.
 */
export function bMatrix(weights: ArrayLike<number>, unitsA: number,
  unitsB: number): Float64Array {
  const n = unitsA + unitsB;
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++) b[i * n + i] = 1;
  for (let a = 0; a < unitsA; a++) {
    for (let j = 0; j < unitsB; j++) {
      const w = weights[a * unitsB + j];
      b[a * n + unitsA + j] = w;
      b[(unitsA + j) * n + a] = w;
    }
  }
  return b;
}

export interface HacFigureInput {
  /** W [unitsA, unitsB], row-major. */
  weights: ArrayLike<number>;
  unitsA: number;
  unitsB: number;
  /** [n − 1, 4] SciPy linkage rows (left, right, distance, size). */
  linkage: ArrayLike<number>;
  /** [n] leaf order. */
  order: ArrayLike<number>;
}

/**
 * The figure as a PNG. The color scale is symmetric, ±max |W|, so that
 * zero weights are white; the diagonal shows the network of each unit
 * (A orange, B green) instead of its 1.
 */
export function hacFigure(input: HacFigureInput): Heatmap {
  const { weights, unitsA, unitsB, linkage, order } = input;
  const n = unitsA + unitsB;
  let largest = 0;
  for (let i = 0; i < unitsA * unitsB; i++) {
    const w = Math.abs(weights[i]);
    if (Number.isFinite(w) && w > largest) largest = w;
  }
  const range = largest > 0 ? largest : 1;
  const leafColor = (leaf: number) => (leaf < unitsA ? colorA : colorB);

  return heatmap(bMatrix(weights, unitsA, unitsB), n, n, {
    min: -range, max: range, rows: order, cols: order,
    // Twice the units of a correlation map: a little more room.
    cell: cellSize(n, 760),
    diagonal: (i) => leafColor(order[i]),
    top: dendrogramHeight,
    decorate: (raster, layout) => {
      drawDendrogram(raster, linkage, order, n, layout);
      // A strip of network colors under the brackets.
      for (let p = 0; p < n; p++) {
        raster.fill(layout.x + p * layout.cell, layout.y - 6, layout.cell, 4,
          leafColor(order[p]));
      }
      drawLegend(raster, layout.x + n * layout.cell + 16, 14);
    },
  });
}

/** Brackets for every merge: ⊓ shapes from each child up to its merge. */
function drawDendrogram(raster: Raster, linkage: ArrayLike<number>,
  order: ArrayLike<number>, n: number,
  layout: { x: number; y: number; cell: number }): void {
  const merges = n - 1;
  const baseline = layout.y - 9;
  const room = dendrogramHeight - 16;
  let lo = 0;
  let hi = 0;
  for (let k = 0; k < merges; k++) {
    const d = linkage[k * 4 + 2];
    if (Number.isFinite(d)) { lo = Math.min(lo, d); hi = Math.max(hi, d); }
  }
  const span = hi - lo || 1;
  const xs = new Float64Array(n + merges);
  const ys = new Float64Array(n + merges);
  for (let p = 0; p < n; p++) {
    xs[order[p]] = layout.x + p * layout.cell + Math.floor(layout.cell / 2);
    ys[order[p]] = baseline;
  }

  for (let k = 0; k < merges; k++) {
    const left = linkage[k * 4];
    const right = linkage[k * 4 + 1];
    const d = linkage[k * 4 + 2];
    const y = Number.isFinite(d)
      ? Math.round(baseline - ((d - lo) / span) * room) : baseline - room;
    xs[n + k] = (xs[left] + xs[right]) / 2;
    ys[n + k] = y;
    raster.vline(Math.round(xs[left]), ys[left], y, ink);
    raster.vline(Math.round(xs[right]), ys[right], y, ink);
    raster.hline(Math.round(xs[left]), Math.round(xs[right]), y, ink);
  }
}

/** Colored squares naming the networks: A and B. */
function drawLegend(raster: Raster, x: number, y: number): void {
  raster.fill(x, y, 10, 10, colorA);
  raster.text('A', x + 14, y, ink);
  raster.fill(x, y + 16, 10, 10, colorB);
  raster.text('B', x + 14, y + 16, ink);
}
