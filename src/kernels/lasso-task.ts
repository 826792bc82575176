/**
 * One sparse-mapping solve (one pair, layer, direction and decay), as a
 * pool task: read the normalize moments, standardize on the fit split,
 * solve the LASSO per target unit, score fit and holdout, and return the
 * weights in the study's units.
 *
 * Decay 0 is ordinary least squares, solved exactly (minimum-norm, see
 * lasso-eigen.ts); every other decay runs coordinate descent on the Gram
 * matrix along a penalty path from α_max (lasso.ts).
 */
import { inputError } from '../core/errors.js';
import { readNpy } from '../core/npy.js';
import { lassoGram, targetGap } from './lasso.js';
import { leastSquares } from './lasso-ols.js';
import { fitProblem, fitScales, holdoutResidual, studyLoss,
  type SplitMoments } from './lasso-moments.js';

export type Direction = 'a-to-b' | 'b-to-a';

export interface SparseMapOptions {
  unitsA: number;
  unitsB: number;
  direction: Direction;
  decay: number;
  /** Duality gap relative to ½·mean(y²) per target. */
  tolerance: number;
  maxIterations: number;
  /** |W| above this counts as a weight (the study's 1e-3). */
  threshold: number;
  /** Joint indices (A first, then B) of dead or constant units. */
  zero: number[];
}

export interface SparseMapResult {
  /** W in the study's units, row-major [sources, targets]. */
  weights: Float64Array;
  shape: [number, number];
  alpha: number;
  fitLoss: number;
  holdoutLoss: number;
  weightsPerUnit: number;
  /** Largest relative duality gap over targets. */
  gap: number;
  converged: boolean;
  /** Most sweeps any target spent at the final penalty. */
  iterations: number;
  totalSweeps: number;
  /** Exact fixed-support steps within the descent. */
  exactSteps: number;
  /** Target units (0-based on their side) that did not converge. */
  unconverged: number[];
  method: 'least-squares' | 'coordinate-descent';
  /** Decay 0 only: Cholesky (independent units) or eigen (min-norm). */
  olsMethod?: 'cholesky' | 'eigen';
  /** Live source units, and the rank of their fit Gram (decay 0 only). */
  liveSources: number;
  rank?: number;
  /**
   * Joint indices of units with zero variance on the fit split that
   * `zero` did not list (e.g. constant on the fit images only); they
   * standardize to 0 like the listed ones.
   */
  zeroOnFit: number[];
  seconds: number;
}

/**
 * Solve from moments in memory. The study's objective
 * L(W) + decay·Σ|W| with L = (1/(2m)) Σ_j mean((y_j − x w'_j)²) splits
 * per target into ½·mean(r_j²) + α‖w'_j‖₁, α = decay·√(nA·nB); weights
 * are reported as W = W'·√(p/m) (p sources, m targets). Inputs are not
 * modified.
 */
export function solveSparseMap(fit: SplitMoments, holdout: SplitMoments,
  options: SparseMapOptions): SparseMapResult {
  const started = performance.now();
  const { unitsA, unitsB, direction, decay } = options;
  const n = unitsA + unitsB;
  const a = Array.from({ length: unitsA }, (_, i) => i);
  const b = Array.from({ length: unitsB }, (_, i) => unitsA + i);
  const [sources, targets] = direction === 'a-to-b' ? [a, b] : [b, a];
  const p = sources.length;
  const m = targets.length;
  const alpha = decay * Math.sqrt(unitsA * unitsB);

  const scales = fitScales(fit, options.zero, n);
  const problem = fitProblem(fit, scales, sources, targets, n);
  const liveSources = sources.filter((u) => scales[u] > 0).length;
  const listed = new Set(options.zero);
  const zeroOnFit = Array.from(scales.keys())
    .filter((u) => scales[u] === 0 && !listed.has(u));

  let solution: { weights: Float64Array; residual: Float64Array;
    gap: Float64Array; iterations: Int32Array; totalSweeps: number;
    exactSteps: number };
  let rank: number | undefined;
  let olsMethod: 'cholesky' | 'eigen' | undefined;
  if (alpha === 0) {
    const ls = leastSquares(problem.gram, problem.cross, p, m);
    rank = ls.rank;
    olsMethod = ls.method;
    solution = { ...scoreExact(problem, ls.weights),
      iterations: new Int32Array(m), totalSweeps: 0, exactSteps: 0 };
  } else {
    solution = lassoGram(problem, { alpha, tolerance: options.tolerance,
      maxIterations: options.maxIterations });
  }

  const unconverged: number[] = [];
  let gap = 0;
  let iterations = 0;
  for (let j = 0; j < m; j++) {
    gap = Math.max(gap, solution.gap[j]);
    iterations = Math.max(iterations, solution.iterations[j]);
    // Least squares is solved, not iterated: its gap is rounding, which an
    // ill-conditioned Gram makes large; no iteration limit was hit.
    if (alpha > 0 && solution.gap[j] > options.tolerance) unconverged.push(j);
  }

  const holdoutLoss = studyLoss(holdoutResidual(holdout, fit.mean, scales,
    sources, targets, n, solution.weights));

  // The study's units: both layers divided by √(units) before fitting.
  const factor = Math.sqrt(p / m);
  const weights = solution.weights.map((w) => w * factor);
  let above = 0;
  for (const w of weights) if (Math.abs(w) > options.threshold) above++;

  return {
    weights, shape: [p, m], alpha,
    fitLoss: studyLoss(solution.residual), holdoutLoss,
    weightsPerUnit: m > 0 ? above / m : 0,
    gap, converged: unconverged.length === 0, iterations,
    totalSweeps: solution.totalSweeps, exactSteps: solution.exactSteps,
    unconverged,
    method: alpha === 0 ? 'least-squares' : 'coordinate-descent',
    liveSources, rank, olsMethod, zeroOnFit,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Residuals and optimality gaps of a given solution W' [p, m] at α = 0. */
function scoreExact(problem: ReturnType<typeof fitProblem>,
  weights: Float64Array) {
  const { p, m, gram, cross, yy } = problem;
  const residual = new Float64Array(m);
  const gap = new Float64Array(m);
  const c = new Float64Array(p);
  const w = new Float64Array(p);
  const h = new Float64Array(p);
  for (let j = 0; j < m; j++) {
    for (let k = 0; k < p; k++) {
      c[k] = cross[k * m + j];
      w[k] = weights[k * m + j];
    }
    h.fill(0);
    for (let k = 0; k < p; k++) {
      if (w[k] === 0) continue;
      for (let i = 0; i < p; i++) h[i] += w[k] * gram[k * p + i];
    }
    const at = targetGap(c, yy[j], 0, w, h);
    residual[j] = at.residual;
    gap[j] = yy[j] > 0 ? at.gap / (0.5 * yy[j]) : 0;
  }
  return { weights, residual, gap };
}

/** The files of a normalize@ instance that the mapping reads. */
export interface MomentFiles {
  fitMean: string;
  fitComoment: string;
  holdoutMean: string;
  holdoutComoment: string;
}

export interface SparseMapTaskArgs extends SparseMapOptions {
  files: MomentFiles;
  count: { fit: number; holdout: number };
}

/** Pool entry point: read the moments, then solveSparseMap. */
export function sparseMapTask(args: SparseMapTaskArgs): SparseMapResult {
  const n = args.unitsA + args.unitsB;
  const fit = readSplit(args.files.fitMean, args.files.fitComoment,
    args.count.fit, n);
  const holdout = readSplit(args.files.holdoutMean,
    args.files.holdoutComoment, args.count.holdout, n);
  return solveSparseMap(fit, holdout, args);
}

function readSplit(meanFile: string, comomentFile: string, count: number,
  n: number): SplitMoments {
  const mean = readFloat64(meanFile, [n]);
  const comoment = readFloat64(comomentFile, [n, n]);
  return { count, mean, comoment };
}

function readFloat64(file: string, shape: number[]): Float64Array {
  const array = readNpy(file);
  const same = array.shape.length === shape.length &&
    array.shape.every((d, i) => d === shape[i]);
  if (!same) {
    throw inputError(file, `shape [${array.shape}], expected [${shape}] ` +
      'for the units of A then B', 'Rerun normalize for this pair and layer.');
  }
  if (array.dtype !== 'float64') {
    throw inputError(file, `dtype ${array.dtype}, expected float64 moments`,
      'Rerun normalize for this pair and layer.');
  }
  for (const v of array.data) {
    if (!Number.isFinite(v)) {
      throw inputError(file, 'holds NaN or infinite values',
        'Check the activations for NaN and rerun extract and normalize.');
    }
  }
  return array.data as Float64Array;
}
