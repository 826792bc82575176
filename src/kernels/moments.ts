/**
 * Streaming first and second moments of unit activations, in float64
 * (method.md §1): the count, the per-unit mean and the co-moment matrix
 * C = Σ_s (x_s − mean)(x_s − mean)ᵀ.
 *
 * Each chunk is centered on its own mean in float64 before its values
 * are cast to float32 for the Gram product, and chunks are combined with
 * the pairwise update of Chan, Golub and LeVeque (1979). Raw sums
 * (E[xy] − E[x]E[y]) would lose every digit of a unit with mean 1e4 and
 * std 0.01; centered values keep float32's relative precision.
 *
 * What still costs digits is the float32 sum inside the product: its
 * rounding error grows with the rows summed, so the engines sum short
 * blocks in float32 and add the block Grams in float64 (engine/gram.ts).
 */
import type { GramEngine } from '../engine/gram.js';

/**
 * Rows centered together and multiplied in one product, for engines that
 * do not state their own float32 block (GramEngine.block).
 *
 * Why chunks are short: activations repeat values (every ReLU zero
 * becomes the same centered value −mean), and a float32 sum that adds
 * the same term again and again rounds the same way each time, so its
 * error grows with the rows instead of averaging out (−7e-7 relative on
 * the fixture's diagonals at 256 rows and still at 8,192). Centering
 * each short chunk on its own mean changes the repeated value from chunk
 * to chunk, and the errors of different chunks then cancel in the
 * float64 merge: 1.7e-7 on the fixture's correlations with onnx at 512
 * rows (2.3e-7 at 2,048) against 5e-7 with 8,192-row chunks cut into
 * 512-row products.
 */
export const DEFAULT_CHUNK = 4096;

/** The chunk length that keeps `engine` accurate (see DEFAULT_CHUNK). */
export function chunkFor(engine: GramEngine): number {
  return engine.block ?? DEFAULT_CHUNK;
}

export interface Moments {
  units: number;
  count: number;
  /** [units] */
  mean: Float64Array;
  /** [units, units] row-major, symmetric. */
  comoment: Float64Array;
}

export function emptyMoments(units: number): Moments {
  return {
    units, count: 0, mean: new Float64Array(units),
    comoment: new Float64Array(units * units),
  };
}

export function copyMoments(m: Moments): Moments {
  return {
    units: m.units, count: m.count, mean: m.mean.slice(),
    comoment: m.comoment.slice(),
  };
}

/**
 * Add the moments (count, mean, comoment) of a second set of samples into
 * `target`, in place (Chan et al.): with n = n_a + n_b and
 * δ = mean_b − mean_a,
 *
 *   mean = mean_a + δ·n_b/n,
 *   C    = C_a + C_b + δδᵀ·n_a·n_b/n.
 *
 * `comoment` [units, units] may be float32 (a Gram straight from an
 * engine). Only its upper triangle is read and mirrored: a Gram is
 * symmetric, engines may round its two halves differently, and the
 * result must be exactly symmetric.
 */
export function mergeInto(target: Moments, count: number,
  mean: Float64Array, comoment: Float64Array | Float32Array): void {
  const n = target.units;
  if (mean.length !== n || comoment.length !== n * n) {
    throw new RangeError(`mergeInto: moments of ${mean.length} units ` +
      `cannot merge into moments of ${n}`);
  }
  if (count === 0) return;
  mergeUpper(target, count, mean, comoment);
  mirrorUpper(target.comoment, n);
}

/**
 * The Chan update of `mergeInto` on the upper triangle (i ≤ j) only: the
 * mirror image costs a strided pass, which a stream of merges pays once
 * at the end (`mirrorUpper`).
 */
function mergeUpper(target: Moments, count: number, mean: Float64Array,
  comoment: Float64Array | Float32Array): void {
  if (count === 0) return;
  const n = target.units;
  const na = target.count;
  const total = na + count;
  const delta = new Float64Array(n);
  for (let i = 0; i < n; i++) delta[i] = mean[i] - target.mean[i];
  const f = (na * count) / total;

  const c = target.comoment;
  for (let i = 0; i < n; i++) {
    const fi = f * delta[i];
    for (let k = i * n + i, j = i; j < n; j++, k++) {
      c[k] += comoment[k] + fi * delta[j];
    }
  }

  for (let i = 0; i < n; i++) target.mean[i] += delta[i] * (count / total);
  target.count = total;
}

/** Copy the upper triangle of a row-major [n, n] matrix onto the lower. */
export function mirrorUpper(c: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) c[i * n + j] = c[j * n + i];
  }
}

/** The moments of the union of two sample sets; inputs are not changed. */
export function mergeMoments(a: Moments, b: Moments): Moments {
  const out = copyMoments(a);
  mergeInto(out, b.count, b.mean, b.comoment);
  return out;
}

/**
 * Center a chunk in place: mean_j = Σ_r x[r, j] / rows in float64, then
 * x[r, j] ← float32(x[r, j] − mean_j). `x` is row-major [rows, cols]
 * (only its first rows·cols values are used). Returns the mean [cols].
 */
export function centerChunk(x: Float32Array, rows: number,
  cols: number): Float64Array {
  return centerInto([x], [cols], rows, x);
}

/**
 * Join column blocks and center them: part p is row-major
 * [rows, widths[p]], `out` receives [rows, Σ widths] with
 * out[r, j] = float32(x[r, j] − mean_j), mean_j summed in float64.
 * `out` may be the single part itself (centering in place).
 * Returns the mean [Σ widths].
 *
 * Both passes take four rows per sweep over the columns: the float64
 * sums then go through memory a quarter as often, which halves the time
 * of these passes (about 1 and 0.7 ns a value here, against 1.6 each
 * one row at a time; the Gram product costs ~15 ns a value at 768 units
 * on one core).
 */
export function centerInto(parts: Float32Array[], widths: number[],
  rows: number, out: Float32Array): Float64Array {
  const cols = widths.reduce((s, w) => s + w, 0);
  const mean = new Float64Array(cols);
  let offset = 0;
  parts.forEach((x, p) => {
    columnSums(x, rows, widths[p], mean.subarray(offset));
    offset += widths[p];
  });
  for (let j = 0; j < cols; j++) mean[j] /= rows;

  offset = 0;
  parts.forEach((x, p) => {
    subtract(x, rows, widths[p], mean.subarray(offset), out, cols, offset);
    offset += widths[p];
  });
  return mean;
}

/** sums[j] += Σ_r x[r, j] for x [rows, width]. */
function columnSums(x: Float32Array, rows: number, width: number,
  sums: Float64Array): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a = r * width, b = a + width, c = b + width, d = c + width;
    for (let j = 0; j < width; j++) {
      sums[j] += (x[a + j] + x[b + j]) + (x[c + j] + x[d + j]);
    }
  }
  for (; r < rows; r++) {
    const a = r * width;
    for (let j = 0; j < width; j++) sums[j] += x[a + j];
  }
}

/** out[r, offset + j] = x[r, j] − mean[j]; out has `stride` columns. */
function subtract(x: Float32Array, rows: number, width: number,
  mean: Float64Array, out: Float32Array, stride: number,
  offset: number): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a = r * width, b = a + width, c = b + width, d = c + width;
    const o = r * stride + offset;
    const o2 = o + stride, o3 = o2 + stride, o4 = o3 + stride;
    for (let j = 0; j < width; j++) {
      const m = mean[j];
      out[o + j] = x[a + j] - m;
      out[o2 + j] = x[b + j] - m;
      out[o3 + j] = x[c + j] - m;
      out[o4 + j] = x[d + j] - m;
    }
  }
  for (; r < rows; r++) {
    const a = r * width;
    const o = r * stride + offset;
    for (let j = 0; j < width; j++) out[o + j] = x[a + j] - mean[j];
  }
}

/**
 * Streams chunks into moments: each chunk is centered on its own mean,
 * multiplied on the engine and merged (upper triangle only until
 * `moments()` mirrors it).
 */
export class MomentsAccumulator {
  private readonly m: Moments;

  constructor(readonly units: number, readonly engine: GramEngine) {
    this.m = emptyMoments(units);
  }

  get count(): number {
    return this.m.count;
  }

  /** Add x [rows, units] (rows ≥ 0); x is centered in place. */
  async add(x: Float32Array, rows: number): Promise<void> {
    if (rows === 0) return;
    const mean = centerChunk(x, rows, this.units);
    await this.addCentered(x, rows, mean);
  }

  /** Add a chunk already centered on its own mean [units]. */
  async addCentered(centered: Float32Array, rows: number,
    mean: Float64Array): Promise<void> {
    if (rows === 0) return;
    const gram = await this.engine.gram(centered, rows, this.units, true);
    mergeUpper(this.m, rows, mean, gram);
  }

  /**
   * The moments, with the co-moment mirrored to full symmetric form.
   * Not a copy: the accumulator is done once this is called.
   */
  finish(): Moments {
    mirrorUpper(this.m.comoment, this.units);
    return this.m;
  }
}

/**
 * Moments of a whole row-major [rows, cols] array, `chunk` rows per
 * product. The input is not modified.
 */
export async function momentsOf(x: Float32Array, rows: number,
  cols: number, engine: GramEngine,
  chunk = chunkFor(engine)): Promise<Moments> {
  const acc = new MomentsAccumulator(cols, engine);
  const buf = new Float32Array(Math.min(rows, chunk) * cols);
  for (let start = 0; start < rows; start += chunk) {
    const n = Math.min(chunk, rows - start);
    buf.set(x.subarray(start * cols, (start + n) * cols));
    await acc.add(buf, n);
  }
  return acc.finish();
}

/**
 * Pearson correlation from moments: r_ij = C_ij / √(C_ii·C_jj), and 0
 * where either unit has zero variance (method.md §1: no NaN ever).
 * Returns [units, units].
 */
export function correlation(m: Moments): Float64Array {
  const n = m.units;
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = m.comoment[i * n + i] * m.comoment[j * n + j];
      r[i * n + j] = v > 0 ? m.comoment[i * n + j] / Math.sqrt(v) : 0;
    }
  }
  return r;
}
