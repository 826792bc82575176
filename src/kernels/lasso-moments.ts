/**
 * From the normalize stage's moments to the sparse-mapping problem and its
 * losses, without touching a sample.
 *
 * Joint unit vector u = [A | B] (n = nA + nB units). For a split with
 * count N, mean μ [n] and co-moment S = Σ (u − μ)(u − μ)ᵀ [n, n]:
 *
 * - standardization uses the FIT split: σ_k = √(S_fit,kk / N_fit) and
 *   ũ_k = (u_k − μ_fit,k) / σ_k, or ũ_k = 0 for a zero-variance unit;
 * - on the fit split, E[ũ ũᵀ] = D S_fit D / N_fit with D = diag(1/σ);
 * - on the holdout split, standardized with the fit μ and σ (no refit),
 *   E_h[ũ ũᵀ] = D (S_h / N_h + δδᵀ) D with δ = μ_h − μ_fit: the second
 *   moment about the fit mean is the holdout covariance plus the shift of
 *   the means between the splits.
 *
 * A residual r_j = ỹ_j − x̃ᵀw_j is linear in ũ, so its mean square on
 * either split is vᵀ E[ũũᵀ] v with v = (−w_j on sources, 1 on j).
 */
import type { GramProblem } from './lasso.js';

export interface SplitMoments {
  /** Samples in the split. */
  count: number;
  /** Per-unit mean [n]. */
  mean: Float64Array;
  /** Σ (u − μ)(u − μ)ᵀ, row-major [n, n]. */
  comoment: Float64Array;
}

/**
 * A unit whose fit std is at most this fraction of its |mean| is constant
 * up to float64 rounding of its running sums (a float32 unit that truly
 * varies sits far above it), so it standardizes to 0.
 */
export const CONSTANT_RELATIVE_STD = 1e-12;

/**
 * Inverse fit std per joint unit [n], 0 for a unit of zero variance on the
 * fit split or listed in `zero` (the normalize stage's dead and constant
 * units), so that it standardizes to 0 and never to NaN.
 */
export function fitScales(fit: SplitMoments, zero: Iterable<number>,
  n: number): Float64Array {
  const scales = new Float64Array(n);
  const listed = new Set(zero);
  for (let k = 0; k < n; k++) {
    const variance = fit.comoment[k * n + k] / fit.count;
    const std = Math.sqrt(Math.max(variance, 0));
    const flat = std <= CONSTANT_RELATIVE_STD * Math.abs(fit.mean[k]);
    if (!listed.has(k) && std > 0 && !flat) scales[k] = 1 / std;
  }
  return scales;
}

/**
 * The fit-split Gram problem, sources and targets given as joint unit
 * indices. G [p, p] and C [p, m] as in GramProblem; the diagonal of G and
 * yy are exactly 1 for a live unit (σ makes them so; rounding would only
 * blur the "W = 0 scores 0.5" identity) and 0 for a zero-variance one.
 */
export function fitProblem(fit: SplitMoments, scales: Float64Array,
  sources: number[], targets: number[], n: number): GramProblem {
  const p = sources.length;
  const m = targets.length;
  const gram = new Float64Array(p * p);
  const cross = new Float64Array(p * m);
  const yy = new Float64Array(m);
  const inv = 1 / fit.count;

  for (let a = 0; a < p; a++) {
    const ua = sources[a];
    const sa = scales[ua] * inv;
    if (sa === 0) continue;
    const row = ua * n;
    for (let b = 0; b < p; b++) {
      const ub = sources[b];
      gram[a * p + b] = sa * scales[ub] * fit.comoment[row + ub];
    }
    gram[a * p + a] = 1;
    for (let j = 0; j < m; j++) {
      const uj = targets[j];
      cross[a * m + j] = sa * scales[uj] * fit.comoment[row + uj];
    }
  }
  for (let j = 0; j < m; j++) yy[j] = scales[targets[j]] > 0 ? 1 : 0;
  return { p, m, gram, cross, yy };
}

/**
 * mean((ỹ_j − x̃ᵀw_j)²) over the holdout split, per target [m], with the
 * fit standardization (see the file comment). Weights W' [p, m].
 */
export function holdoutResidual(holdout: SplitMoments, fitMean: Float64Array,
  scales: Float64Array, sources: number[], targets: number[], n: number,
  weights: Float64Array): Float64Array {
  const p = sources.length;
  const m = targets.length;
  const inv = 1 / holdout.count;
  const shift = new Float64Array(n);
  for (let k = 0; k < n; k++) shift[k] = holdout.mean[k] - fitMean[k];
  const second = (u: number, v: number) => scales[u] * scales[v] *
    (holdout.comoment[u * n + v] * inv + shift[u] * shift[v]);

  // Sparse maps leave most rows of W' empty: skip them.
  const used: number[] = [];
  for (let b = 0; b < p; b++) {
    for (let j = 0; j < m; j++) {
      if (weights[b * m + j] !== 0) {
        used.push(b);
        break;
      }
    }
  }

  // Q = M_SS W' [p, m]; then
  // r_j = M_jj − 2 Σ_a W'_aj M_aj + Σ_a W'_aj Q_aj.
  const q = new Float64Array(p * m);
  for (const a of used) {
    const out = q.subarray(a * m, (a + 1) * m);
    for (const b of used) {
      const mab = second(sources[a], sources[b]);
      if (mab === 0) continue;
      const wb = b * m;
      for (let j = 0; j < m; j++) out[j] += mab * weights[wb + j];
    }
  }

  const residual = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    let r = second(targets[j], targets[j]);
    for (let a = 0; a < p; a++) {
      const w = weights[a * m + j];
      if (w === 0) continue;
      r += w * (q[a * m + j] - 2 * second(sources[a], targets[j]));
    }
    residual[j] = Math.max(0, r);
  }
  return residual;
}

/** The study's loss L = (1/(2m)) Σ_j mean(r_j²) from per-target residuals. */
export function studyLoss(residual: Float64Array): number {
  if (residual.length === 0) return 0;
  let sum = 0;
  for (const r of residual) sum += r;
  return sum / (2 * residual.length);
}
