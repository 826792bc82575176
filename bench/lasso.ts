/**
 * Benchmark of the sparse-mapping sweep: two layers of `units` units, the
 * study's six decays, one solve per decay (each along its own penalty path,
 * as the stage runs it), timed one by one.
 *
 *   node dist/bench/lasso.js [--units 384] [--samples 200000]
 *     [--factors 0] [--tolerance 1e-8] [--no-peer]
 *
 * The data follow the scikit-learn peer (../shared/bench/python_peer.py
 * lasso): z ~ N(0, I), x = z + 0.5·e, y = z[perm] + 0.5·e', plus, with
 * --factors k > 0, k shared factors loading on every unit of both layers
 * (within-layer correlation, an ill-conditioned Gram like real conv
 * layers). The fit and holdout co-moments are drawn directly from their
 * Wishart distribution (Bartlett's construction), which is exactly the
 * law of Σ(u − ū)(u − ū)ᵀ over `samples` Gaussian samples, so no samples
 * need to be generated: the bench times the solver, not a Gram kernel.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { solveSparseMap } from '../src/kernels/lasso-task.js';
import type { SplitMoments } from '../src/kernels/lasso-moments.js';
import { machineLine } from './machine.js';

const DECAYS = [0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1];

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

function normal(rng: () => number): () => number {
  return () => {
    const u = 1 - rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
}

/** Population covariance of u = [x | y], row-major [2n, 2n]. */
function covariance(n: number, factors: number, rng: () => number,
  gauss: () => number): Float64Array {
  const size = 2 * n;
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const sigma = new Float64Array(size * size);
  for (let i = 0; i < n; i++) {
    sigma[i * size + i] = 1.25;
    sigma[(n + i) * size + n + i] = 1.25;
    // y_i = z_perm[i] + noise: covariance 1 with x_perm[i].
    sigma[perm[i] * size + n + i] = 1;
    sigma[(n + i) * size + perm[i]] = 1;
  }
  const load = Array.from({ length: size * factors }, () => 0.4 * gauss());
  for (let a = 0; a < size; a++) {
    for (let b = 0; b < size; b++) {
      let s = 0;
      for (let f = 0; f < factors; f++) {
        s += load[a * factors + f] * load[b * factors + f];
      }
      sigma[a * size + b] += s;
    }
  }
  return sigma;
}

/** Lower Cholesky factor of a positive definite matrix, [p, p]. */
function cholesky(a: Float64Array, p: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j];
    for (let k = 0; k < j; k++) d -= l[j * p + k] ** 2;
    const root = Math.sqrt(d);
    l[j * p + j] = root;
    for (let i = j + 1; i < p; i++) {
      let s = a[i * p + j];
      for (let k = 0; k < j; k++) s -= l[i * p + k] * l[j * p + k];
      l[i * p + j] = s / root;
    }
  }
  return l;
}

/**
 * Moments of `samples` draws from N(0, Σ) without drawing them: the
 * co-moment is Wishart(Σ, samples − 1) = (L A)(L A)ᵀ with A lower
 * triangular, A_ii ~ χ(samples − 1 − i) and A_ij ~ N(0, 1) below
 * (Bartlett); the mean is L g / √samples.
 */
function wishartMoments(l: Float64Array, p: number, samples: number,
  gauss: () => number): SplitMoments {
  const a = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    const k = samples - 1 - i;
    a[i * p + i] = Math.sqrt(k + Math.sqrt(2 * k) * gauss());
    for (let j = 0; j < i; j++) a[i * p + j] = gauss();
  }
  const b = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = j; k <= i; k++) s += l[i * p + k] * a[k * p + j];
      b[i * p + j] = s;
    }
  }
  const comoment = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k <= j; k++) s += b[i * p + k] * b[j * p + k];
      comoment[i * p + j] = s;
      comoment[j * p + i] = s;
    }
  }
  const g = Array.from({ length: p }, gauss);
  const mean = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = 0;
    for (let k = 0; k <= i; k++) s += l[i * p + k] * g[k];
    mean[i] = s / Math.sqrt(samples);
  }
  return { count: samples, mean, comoment };
}

function peerFigure(): string {
  const probe = spawnSync('python3', ['-c', 'import sklearn, scipy'],
    { encoding: 'utf8' });
  if (probe.status !== 0) return 'not available (python3 with sklearn missing)';
  const script = fileURLToPath(
    new URL('../../../shared/bench/python_peer.py', import.meta.url));
  const run = spawnSync('python3', [script, 'lasso'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : `failed: ${run.stderr.trim()}`;
}

function main(): void {
  const units = option('units', 384);
  const samples = option('samples', 200_000);
  const factors = option('factors', 0);
  const tolerance = option('tolerance', 1e-8);
  const rng = seedrandom('convergent-lasso-bench');
  const gauss = normal(rng);

  console.log(machineLine());
  console.log(`lasso sweep: ${units} -> ${units} units, fit Gram of ` +
    `${samples} samples (holdout ${samples / 4}), ${factors} shared ` +
    `factors, tolerance ${tolerance}`);

  const started = performance.now();
  const l = cholesky(covariance(units, factors, rng, gauss), 2 * units);
  const fit = wishartMoments(l, 2 * units, samples, gauss);
  const holdout = wishartMoments(l, 2 * units, samples / 4, gauss);
  console.log(`moments drawn in ${((performance.now() - started) / 1000)
    .toFixed(2)} s (not counted)`);

  let total = 0;
  let positive = 0;
  for (const decay of DECAYS) {
    const r = solveSparseMap(fit, holdout, {
      unitsA: units, unitsB: units, direction: 'a-to-b', decay,
      tolerance, maxIterations: 10_000, threshold: 1e-3, zero: [],
    });
    total += r.seconds;
    if (decay > 0) positive += r.seconds;
    console.log(`decay ${decay}: ${r.seconds.toFixed(3)} s  ${r.method}, ` +
      `sweeps ${r.totalSweeps}, gap ${r.gap.toExponential(1)}, fit ` +
      `${r.fitLoss.toFixed(5)}, holdout ${r.holdoutLoss.toFixed(5)}, ` +
      `weights/unit ${r.weightsPerUnit.toFixed(2)}` +
      (r.converged ? '' : '  NOT CONVERGED'));
  }
  console.log(`total ${total.toFixed(2)} s for ${DECAYS.length} decays; ` +
    `${positive.toFixed(2)} s for the ${DECAYS.length - 1} positive ones`);
  if (!process.argv.includes('--no-peer')) {
    console.log(`scikit-learn peer (5 positive decays): ${peerFigure()}`);
  }
}

main();
