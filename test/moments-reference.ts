/**
 * The reference moments the tests check normalize@ and its readers
 * against: computed the plain way, in two float64 passes, independent of
 * the streaming pass in src/kernels/moments.ts.
 */
import type { NdArray } from '../src/core/npy.js';
import type { Moments } from '../src/kernels/moments.js';

/**
 * Count, mean [units] and co-moment [units, units] (row-major) of `rows`
 * samples, where `value(s, i)` is unit i of sample s. Two passes in
 * float64: mean_i = (Σ_s x_si) / rows, then
 * C_ij = Σ_s (x_si − mean_i)(x_sj − mean_j), exactly symmetric.
 */
export function twoPassMoments(rows: number, units: number,
  value: (s: number, i: number) => number): Moments {
  const mean = new Float64Array(units);
  for (let s = 0; s < rows; s++) {
    for (let i = 0; i < units; i++) mean[i] += value(s, i);
  }
  for (let i = 0; i < units; i++) mean[i] /= rows;

  const comoment = new Float64Array(units * units);
  const d = new Float64Array(units);
  for (let s = 0; s < rows; s++) {
    for (let i = 0; i < units; i++) d[i] = value(s, i) - mean[i];
    for (let i = 0; i < units; i++) {
      for (let j = i; j < units; j++) comoment[i * units + j] += d[i] * d[j];
    }
  }
  for (let i = 0; i < units; i++) {
    for (let j = 0; j < i; j++) {
      comoment[i * units + j] = comoment[j * units + i];
    }
  }
  return { units, count: rows, mean, comoment };
}

/** Moments of a row-major [rows, cols] array. */
export function rowMoments(x: ArrayLike<number>, rows: number,
  cols: number): Moments {
  return twoPassMoments(rows, cols, (s, i) => x[s * cols + i]);
}

/**
 * Unit i of the joined row [A | B] of sample s, from A [samples, unitsA]
 * and B [samples, unitsB], both row-major: A's units first.
 */
export function joinedValue(a: ArrayLike<number>, unitsA: number,
  b: ArrayLike<number>, unitsB: number): (s: number, i: number) => number {
  return (s, i) => i < unitsA
    ? a[s * unitsA + i] : b[s * unitsB + i - unitsA];
}

/** Moments of [A | B] over all samples: A [rows, unitsA], B [rows, unitsB]. */
export function jointMoments(a: NdArray, b: NdArray):
  Moments & { unitsA: number; unitsB: number } {
  const [rows, unitsA] = a.shape;
  const unitsB = b.shape[1];
  const m = twoPassMoments(rows, unitsA + unitsB,
    joinedValue(a.data, unitsA, b.data, unitsB));
  return { ...m, unitsA, unitsB };
}
