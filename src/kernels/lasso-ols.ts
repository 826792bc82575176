/**
 * Exact least squares for the decay-0 end of the sparse-mapping sweep,
 * and the Cholesky helpers the LASSO's exact steps share.
 *
 * Coordinate descent at α = 0 crawls on ill-conditioned Gram matrices
 * (its rate is set by the condition number, and correlated conv units
 * make that large), so decay 0 is solved in closed form instead:
 *
 * - if the live units are comfortably independent (every Cholesky pivot of
 *   G keeps more than 1e-8 of its diagonal, i.e. no unit is explained by
 *   the others to R² > 1 − 1e-8), the solution is unique and a Cholesky
 *   solve gives it in p³/3 flops;
 * - otherwise the minimum-norm solution W' = G⁺ C through G = V Λ Vᵀ
 *   (lasso-eigen.ts, ~9 p³ flops), with eigenvalues at the rounding level
 *   treated as zero, which gives a defined answer when units are collinear
 *   (G singular), as NumPy's lstsq and pinv do.
 */
import { symmetricEigen } from './lasso-eigen.js';

export interface LeastSquares {
  /** Minimum-norm solution W' = G⁺ C, row-major [p, m]. */
  weights: Float64Array;
  /** Dimensions the live units span (eigenvalues kept). */
  rank: number;
  method: 'cholesky' | 'eigen';
}

/**
 * Minimum-norm least squares from the normal equations, W' = G⁺ C.
 * Units with G_kk = 0 (dead) get zero rows. With the eigen route,
 * G⁺ = V_r Λ_r⁻¹ V_rᵀ over eigenvalues above 10·p·ε·λ_max: the entries
 * of a Gram matrix built from float64 moments carry errors of a few ε,
 * which move its eigenvalues by up to about p·ε·λ_max, so smaller ones
 * cannot be told from zero.
 *
 * @param gram row-major [p, p], symmetric positive semi-definite.
 * @param cross row-major [p, m], the right-hand sides Xᵀy_j / n.
 */
export function leastSquares(gram: Float64Array, cross: Float64Array,
  p: number, m: number): LeastSquares {
  const live: number[] = [];
  for (let k = 0; k < p; k++) if (gram[k * p + k] > 0) live.push(k);
  const n = live.length;

  const factor = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b <= a; b++) {
      factor[a * n + b] = gram[live[a] * p + live[b]];
    }
  }
  if (choleskyInPlace(factor, n, 1e-8)) {
    const weights = new Float64Array(p * m);
    const column = new Float64Array(n);
    for (let j = 0; j < m; j++) {
      for (let a = 0; a < n; a++) column[a] = cross[live[a] * m + j];
      solveCholesky(factor, n, column);
      for (let a = 0; a < n; a++) weights[live[a] * m + j] = column[a];
    }
    return { weights, rank: n, method: 'cholesky' };
  }
  return minimumNorm(gram, cross, p, m);
}

/** W' = G⁺ C by the eigendecomposition, whatever the rank. */
export function minimumNorm(gram: Float64Array, cross: Float64Array,
  p: number, m: number): LeastSquares {
  const { values, vectors } = symmetricEigen(gram, p);
  const largest = p > 0 ? Math.max(values[p - 1], 0) : 0;
  const cutoff = 10 * p * 2 ** -52 * largest;

  // Project C on the kept eigenvectors: T = Λ_r⁻¹ V_rᵀ C, [p, m].
  const t = new Float64Array(p * m);
  let rank = 0;
  for (let k = 0; k < p; k++) {
    const lambda = values[k];
    if (!(lambda > cutoff)) continue;
    rank++;
    const row = t.subarray(k * m, (k + 1) * m);
    for (let i = 0; i < p; i++) {
      const vik = vectors[i * p + k];
      if (vik === 0) continue;
      const ci = i * m;
      for (let j = 0; j < m; j++) row[j] += vik * cross[ci + j];
    }
    for (let j = 0; j < m; j++) row[j] /= lambda;
  }

  // W' = V_r T; a dead unit's row is exactly 0 rather than rounding.
  const weights = new Float64Array(p * m);
  for (let i = 0; i < p; i++) {
    if (!(gram[i * p + i] > 0)) continue;
    const out = weights.subarray(i * m, (i + 1) * m);
    for (let k = 0; k < p; k++) {
      if (!(values[k] > cutoff)) continue;
      const vik = vectors[i * p + k];
      const tk = k * m;
      for (let j = 0; j < m; j++) out[j] += vik * t[tk + j];
    }
  }
  return { weights, rank, method: 'eigen' };
}

/**
 * Lower Cholesky factor in place (row-major [s, s], lower triangle read).
 * Fails when a pivot keeps no more than `relative` of its diagonal entry
 * (that unit is nearly a combination of the earlier ones).
 */
export function choleskyInPlace(a: Float64Array, s: number,
  relative: number): boolean {
  for (let j = 0; j < s; j++) {
    const rj = j * s;
    let d = a[rj + j];
    const scale = d;
    for (let k = 0; k < j; k++) d -= a[rj + k] * a[rj + k];
    if (!(d > relative * scale)) return false;
    const root = Math.sqrt(d);
    a[rj + j] = root;
    for (let i = j + 1; i < s; i++) {
      const ri = i * s;
      let v = a[ri + j];
      for (let k = 0; k < j; k++) v -= a[ri + k] * a[rj + k];
      a[ri + j] = v / root;
    }
  }
  return true;
}

/** Solve L Lᵀ x = b in place of b, L from choleskyInPlace. */
export function solveCholesky(l: Float64Array, s: number,
  b: Float64Array): void {
  for (let i = 0; i < s; i++) {
    let v = b[i];
    for (let k = 0; k < i; k++) v -= l[i * s + k] * b[k];
    b[i] = v / l[i * s + i];
  }
  for (let i = s - 1; i >= 0; i--) {
    let v = b[i];
    for (let k = i + 1; k < s; k++) v -= l[k * s + i] * b[k];
    b[i] = v / l[i * s + i];
  }
}
