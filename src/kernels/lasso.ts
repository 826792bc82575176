/**
 * LASSO by coordinate descent on the Gram matrix (the "precompute" or
 * covariance form of scikit-learn's enet_coordinate_descent_gram).
 *
 * For each target unit j, with G = XᵀX/n [p, p] and c_j = Xᵀy_j/n [p] from
 * standardized activations and yy_j = mean(y_j²), it minimizes
 *
 *   P(w) = ½·mean((y_j − X w)²) + α‖w‖₁
 *        = ½·yy_j − c_jᵀw + ½·wᵀGw + α‖w‖₁.
 *
 * Everything is in "mean" units (divided by the sample count), so α is the
 * study's per-unit penalty decay·√(nA·nB) as it stands. The samples
 * themselves are never needed.
 *
 * Stopping rule: the duality gap P(w) − D(θ) at the dual point θ = s·r
 * (r the residual, s scaling it into the dual feasible set
 * ‖Xᵀθ/n‖∞ ≤ α) falls to tolerance·½·yy_j, i.e. the gap relative to the
 * objective at w = 0. It bounds how far P(w) is from the optimum.
 *
 * Without a warm start, each target follows a short path of penalties
 * from α_max = max|c_j| (where w = 0) down to α, one per decade, so that
 * the answer depends only on α and the problem. Descent alone crawls when
 * units are correlated; exact fixed-support steps (lasso-polish.ts) finish
 * the job, and the gap, not the descent, certifies the answer.
 */
import { createPolisher, type Polisher } from './lasso-polish.js';

export interface GramProblem {
  /** Source units (columns of X). */
  p: number;
  /** Target units. */
  m: number;
  /** G = XᵀX/n, row-major [p, p], symmetric. */
  gram: Float64Array;
  /** C = XᵀY/n, row-major [p, m]: column j is c_j. */
  cross: Float64Array;
  /** yy_j = mean(y_j²), [m]; 0 for a dead target unit. */
  yy: Float64Array;
}

export interface LassoOptions {
  /** The per-target penalty α ≥ 0. */
  alpha: number;
  /** Duality gap allowed, relative to ½·yy_j. Default 1e-8. */
  tolerance?: number;
  /** Sweeps over all coordinates allowed per penalty. Default 10,000. */
  maxIterations?: number;
  /**
   * Warm start [p, m]. Given: descent starts from it at α directly.
   * Absent: each target follows a path of penalties from its α_max =
   * max|c_j| (where w = 0) down to α, each solution warm-starting the
   * next, so the answer depends only on α and the problem.
   */
  start?: Float64Array;
  /** Penalties per decade on that path. Default 1. */
  pathDensity?: number;
  /**
   * Relative gap at which a penalty before the last one is left: those
   * solutions only start the next, so they need not be exact. Default
   * 1e-4 (never tighter than `tolerance`).
   */
  pathTolerance?: number;
}

export interface LassoSolution {
  /** W' row-major [p, m]. */
  weights: Float64Array;
  /** mean((y_j − X w_j)²) per target, [m]. */
  residual: Float64Array;
  /** Duality gap relative to ½·yy_j per target, [m]. */
  gap: Float64Array;
  /** Sweeps spent at the final penalty, per target, [m]. */
  iterations: Int32Array;
  /** Sweeps over the whole path, all targets. */
  totalSweeps: number;
  /** Exact fixed-support steps taken (lasso-polish.ts), all targets. */
  exactSteps: number;
  /** Every target reached the tolerance. */
  converged: boolean;
}

/** Gap and residual of one target at w, given H = G w. */
export interface TargetGap {
  /** Absolute duality gap, in the units of P. */
  gap: number;
  /** mean(r²) = yy − 2cᵀw + wᵀGw. */
  residual: number;
}

/**
 * The duality gap of one target, O(p) given H = Gw.
 *
 *   R = yy − 2cᵀw + wᵀH,  d = max_k |c_k − H_k|,
 *   s = α/d if d > α else 1,
 *   gap = ½R(1 + s²)·[d > α] + R·[d ≤ α] + α‖w‖₁ − s·(yy − cᵀw).
 *
 * At α = 0 the scaled point would be θ = 0; the residual itself (s = 1)
 * is used instead, which is feasible exactly at the least-squares optimum,
 * so that the figure measures distance from it.
 */
export function targetGap(c: Float64Array, yy: number, alpha: number,
  w: Float64Array, h: Float64Array): TargetGap {
  let cw = 0;
  let wh = 0;
  let l1 = 0;
  let dual = 0;
  for (let k = 0; k < w.length; k++) {
    cw += c[k] * w[k];
    wh += w[k] * h[k];
    l1 += Math.abs(w[k]);
    const g = Math.abs(c[k] - h[k]);
    if (g > dual) dual = g;
  }
  const residual = Math.max(0, yy - 2 * cw + wh);

  let s = 1;
  let gap = residual;
  if (alpha > 0 && dual > alpha) {
    s = alpha / dual;
    gap = 0.5 * residual * (1 + s * s);
  }
  gap += alpha * l1 - s * (yy - cw);
  return { gap: Math.abs(gap), residual };
}

/** H = G w, using only the nonzero weights. */
function gramTimes(gram: Float64Array, p: number, w: Float64Array,
  h: Float64Array): void {
  h.fill(0);
  for (let k = 0; k < p; k++) {
    const wk = w[k];
    if (wk === 0) continue;
    const row = k * p;
    for (let i = 0; i < p; i++) h[i] += wk * gram[row + i];
  }
}

interface Descent {
  gap: number;
  residual: number;
  sweeps: number;
}

/**
 * Cyclic coordinate descent for one target at one penalty, from w.
 * Coordinate k moves to S(c_k − H_k + G_kk·w_k, α) / G_kk (S the soft
 * threshold) and H follows by one column of G. The gap is checked after
 * every sweep (O(p)); H is recomputed before a convergence is trusted,
 * so that drift from incremental updates cannot fake one.
 *
 * When a sweep leaves the support unchanged and the gap is still open,
 * the exact fixed-support step (lasso-polish.ts) is tried, at most once
 * per as many sweeps as cost what one step does, so the steps at most
 * double the work; on ill-conditioned G they usually end it.
 */
function descend(gram: Float64Array, p: number, c: Float64Array,
  yy: number, alpha: number, w: Float64Array, h: Float64Array,
  tolerance: number, maxIterations: number,
  polisher: Polisher): Descent {
  gramTimes(gram, p, w, h);
  let state = targetGap(c, yy, alpha, w, h);
  if (state.gap <= tolerance) return { ...state, sweeps: 0 };

  let sweeps = 0;
  let lastPolish = -Infinity;
  while (sweeps < maxIterations) {
    sweeps++;
    let supportMoved = false;
    let support = 0;
    for (let k = 0; k < p; k++) {
      const gkk = gram[k * p + k];
      if (gkk <= 0) continue;
      const old = w[k];
      const rho = c[k] - h[k] + gkk * old;
      let next = 0;
      if (rho > alpha) next = (rho - alpha) / gkk;
      else if (rho < -alpha) next = (rho + alpha) / gkk;
      if (next !== 0) support++;
      if (next === old) continue;

      if (next === 0 || old === 0) supportMoved = true;
      const delta = next - old;
      w[k] = next;
      const row = k * p;
      for (let i = 0; i < p; i++) h[i] += delta * gram[row + i];
    }

    state = targetGap(c, yy, alpha, w, h);
    const budget = polisher.cost(support) / (p * Math.max(support, 1));
    if (state.gap > tolerance && !supportMoved && alpha > 0 &&
      sweeps >= 2 && sweeps - lastPolish >= budget) {
      lastPolish = sweeps;
      if (polisher.step(c, alpha, w)) {
        gramTimes(gram, p, w, h);
        state = targetGap(c, yy, alpha, w, h);
      }
    }
    if (state.gap <= tolerance) {
      gramTimes(gram, p, w, h);
      state = targetGap(c, yy, alpha, w, h);
      if (state.gap <= tolerance) break;
    }
  }
  return { ...state, sweeps };
}

/** Penalties from αmax down to α, `density` per decade, ending at α. */
export function penaltyPath(alphaMax: number, alpha: number,
  density: number): number[] {
  const path: number[] = [];
  const ratio = 10 ** (-1 / density);
  // Stop the grid where α is not far below: one more point adds nothing.
  const floor = alpha > 0 ? alpha / ratio ** 0.5 : alphaMax * 1e-4;
  for (let a = alphaMax * ratio; a > floor; a *= ratio) path.push(a);
  path.push(alpha);
  return path;
}

/**
 * Solve every target of a Gram-form LASSO (see the file comment).
 * Inputs are not modified.
 */
export function lassoGram(problem: GramProblem,
  options: LassoOptions): LassoSolution {
  const { p, m, gram, cross, yy } = problem;
  const alpha = options.alpha;
  const tolerance = options.tolerance ?? 1e-8;
  const maxIterations = options.maxIterations ?? 10_000;
  const density = options.pathDensity ?? 1;
  const loose = Math.max(tolerance, options.pathTolerance ?? 1e-4);

  const weights = new Float64Array(p * m);
  const residual = new Float64Array(m);
  const gap = new Float64Array(m);
  const iterations = new Int32Array(m);
  let totalSweeps = 0;
  let converged = true;

  const c = new Float64Array(p);
  const w = new Float64Array(p);
  const h = new Float64Array(p);
  const polisher = createPolisher(gram, p);
  for (let j = 0; j < m; j++) {
    let alphaMax = 0;
    for (let k = 0; k < p; k++) {
      c[k] = cross[k * m + j];
      alphaMax = Math.max(alphaMax, Math.abs(c[k]));
      w[k] = options.start ? options.start[k * m + j] : 0;
    }
    const target = tolerance * 0.5 * yy[j];

    // Above α_max the answer is w = 0 exactly: no descent needed.
    let path: number[];
    if (options.start) path = [alpha];
    else if (alpha >= alphaMax) path = [];
    else path = penaltyPath(alphaMax, alpha, density);

    let last: Descent = { gap: 0, residual: yy[j], sweeps: 0 };
    for (let step = 0; step < path.length; step++) {
      const final = step === path.length - 1;
      const allowed = final ? target : loose * 0.5 * yy[j];
      last = descend(gram, p, c, yy[j], path[step], w, h, allowed,
        maxIterations, polisher);
      totalSweeps += last.sweeps;
    }
    if (path.length === 0) {
      gramTimes(gram, p, w, h);
      const at = targetGap(c, yy[j], alpha, w, h);
      last = { ...at, sweeps: 0 };
    }

    for (let k = 0; k < p; k++) weights[k * m + j] = w[k];
    residual[j] = last.residual;
    gap[j] = yy[j] > 0 ? last.gap / (0.5 * yy[j]) : 0;
    iterations[j] = last.sweeps;
    if (last.gap > target) converged = false;
  }
  return { weights, residual, gap, iterations, totalSweeps,
    exactSteps: polisher.accepted, converged };
}
