/**
 * Pearson correlations of the units of two networks, from the co-moment
 * matrix that normalize@ accumulates over the joined vector [A | B].
 */

/**
 * A unit counts as zero-variance when its standard deviation is at most
 * this fraction of |mean|. A constant unit's co-moment is not exactly 0
 * once its mean has been rounded (about 1e-16 relative), while a real
 * unit such as mean 1e4 with std 0.01 sits at 1e-6: 1e-10 is far from
 * both.
 */
export const ZERO_VARIANCE_REL = 1e-10;

export interface Correlations {
  /** [unitsA, unitsB]: r(A_i, B_j). */
  ab: Float64Array;
  /** [unitsA, unitsA], symmetric. */
  aa: Float64Array;
  /** [unitsB, unitsB], symmetric. */
  bb: Float64Array;
  /** [unitsA + unitsB]: 1 for a unit with zero variance, A first. */
  zeroVariance: Uint8Array;
}

export interface MomentsInfo {
  /** [n] per-unit means over the same samples as the co-moment. */
  mean?: Float64Array;
  /** Samples behind the co-moment. */
  count?: number;
  /** Units already known to have zero variance (indices into [A | B]). */
  known?: Iterable<number>;
}

/**
 * Which units have zero variance: those listed in `info.known`, those
 * whose co-moment diagonal is <= 0, and, when the means and the count are
 * given, those with C[i, i] <= count · (ZERO_VARIANCE_REL · mean[i])².
 *
 * @param comoment [n, n] Σ (x − mean)(x − mean)ᵀ over the samples.
 * @returns [n], 1 where the unit has zero variance.
 */
export function zeroVarianceUnits(comoment: Float64Array, n: number,
  info: MomentsInfo = {}): Uint8Array {
  checkSquare(comoment, n);
  const zero = new Uint8Array(n);
  for (const k of info.known ?? []) {
    if (Number.isInteger(k) && k >= 0 && k < n) zero[k] = 1;
  }

  const { mean, count } = info;
  const relative = mean !== undefined && count !== undefined;
  for (let i = 0; i < n; i++) {
    const c = comoment[i * n + i];
    // `!(c > 0)` also catches a NaN diagonal: such a unit has no variance
    // we could trust.
    if (!(c > 0)) zero[i] = 1;
    else if (relative) {
      const floor = ZERO_VARIANCE_REL * mean[i];
      if (c <= count * floor * floor) zero[i] = 1;
    }
  }
  return zero;
}

/**
 * Correlation matrices within A, within B and between them:
 *
 *   r[i, j] = C[i, j] / sqrt(C[i, i] · C[j, j]),  clamped to [−1, 1],
 *
 * with C the co-moment of [A | B] (A's `unitsA` units first). A unit with
 * zero variance (see zeroVarianceUnits) has r = 0 with every unit, itself
 * included; a live unit has r = 1 with itself. No NaN is produced, even
 * from a NaN co-moment entry (it becomes 0).
 *
 * @param comoment [n, n] with n = unitsA + unitsB; only its upper
 *   triangle is read, so the within matrices come out exactly symmetric.
 */
export function correlationsFromComoment(comoment: Float64Array,
  unitsA: number, unitsB: number, info: MomentsInfo = {}): Correlations {
  if (!Number.isInteger(unitsA) || !Number.isInteger(unitsB) ||
    unitsA < 0 || unitsB < 0) {
    throw new RangeError(`correlation: unit counts must be non-negative ` +
      `integers, got ${unitsA} and ${unitsB}`);
  }
  const n = unitsA + unitsB;
  const zeroVariance = zeroVarianceUnits(comoment, n, info);

  // Variances with zero-variance units set to 0, so that their rows and
  // columns come out 0 through pearson()'s guard.
  const variance = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (!zeroVariance[i]) variance[i] = comoment[i * n + i];
  }

  const aa = block(comoment, n, variance, 0, unitsA);
  const bb = block(comoment, n, variance, unitsA, unitsB);
  const ab = new Float64Array(unitsA * unitsB);
  for (let i = 0; i < unitsA; i++) {
    const row = i * n + unitsA;
    for (let j = 0; j < unitsB; j++) {
      ab[i * unitsB + j] =
        pearson(comoment[row + j], variance[i], variance[unitsA + j]);
    }
  }
  return { ab, aa, bb, zeroVariance };
}

/** The symmetric correlation block of units [start, start + size). */
function block(comoment: Float64Array, n: number, variance: Float64Array,
  start: number, size: number): Float64Array {
  const r = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    const gi = start + i;
    r[i * size + i] = variance[gi] > 0 ? 1 : 0;
    for (let j = i + 1; j < size; j++) {
      const gj = start + j;
      const value = pearson(comoment[gi * n + gj], variance[gi],
        variance[gj]);
      r[i * size + j] = value;
      r[j * size + i] = value;
    }
  }
  return r;
}

/**
 * c / sqrt(vi · vj), clamped to [−1, 1], 0 when either variance is 0 and
 * for NaN. sqrt of the product (rather than a product of square roots)
 * makes two identical units correlate exactly 1; the product of roots is
 * the fallback where the product would overflow or underflow.
 */
function pearson(c: number, vi: number, vj: number): number {
  if (!(vi > 0 && vj > 0)) return 0;
  const p = vi * vj;
  const scale = p > 0 && p < Infinity ? Math.sqrt(p)
    : Math.sqrt(vi) * Math.sqrt(vj);
  return clamp(c / scale);
}

/** Clamp to [−1, 1]; NaN becomes 0. */
function clamp(x: number): number {
  if (x > 1) return 1;
  if (x < -1) return -1;
  return x === x ? x : 0;
}

function checkSquare(comoment: Float64Array, n: number) {
  if (!Number.isInteger(n) || n < 0 || comoment.length !== n * n) {
    throw new RangeError(`correlation: the co-moment of ${n} units must ` +
      `hold ${n} x ${n} values, got ${comoment.length}`);
  }
}
