import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import { lassoGram, penaltyPath, type GramProblem }
  from '../src/kernels/lasso.js';
import { symmetricEigen } from '../src/kernels/lasso-eigen.js';
import { leastSquares, minimumNorm } from '../src/kernels/lasso-ols.js';
import { solveSparseMap } from '../src/kernels/lasso-task.js';
import type { SplitMoments } from '../src/kernels/lasso-moments.js';
import { fixtureJson, fixtureNpy } from './helpers.js';
import { jointMoments } from './moments-reference.js';

/** Seeded standard normals. */
function gaussian(seed: string): () => number {
  const rng = seedrandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - rng())) *
    Math.cos(2 * Math.PI * rng());
}

/** Samples [n, p] and targets [n, m], with y = X·B + noise. */
function regression(n: number, p: number, m: number, seed: string,
  mix = 0) {
  const g = gaussian(seed);
  const shared = Array.from({ length: n }, g);
  const x = Array.from({ length: n }, (_, s) =>
    Array.from({ length: p }, () => g() + mix * shared[s]));
  const beta = Array.from({ length: p * m },
    (_, i) => (i % 3 === 0 ? g() : 0));
  const y = x.map((row) => Array.from({ length: m }, (_, j) =>
    row.reduce((acc, v, k) => acc + v * beta[k * m + j], 0) + 0.5 * g()));
  return { x, y };
}

/** The Gram problem of raw (uncentered) samples, in mean units. */
function gramOf(x: number[][], y: number[][]): GramProblem {
  const n = x.length;
  const p = x[0].length;
  const m = y[0].length;
  const gram = new Float64Array(p * p);
  const cross = new Float64Array(p * m);
  const yy = new Float64Array(m);
  for (let s = 0; s < n; s++) {
    for (let a = 0; a < p; a++) {
      for (let b = 0; b < p; b++) gram[a * p + b] += x[s][a] * x[s][b] / n;
      for (let j = 0; j < m; j++) cross[a * m + j] += x[s][a] * y[s][j] / n;
    }
    for (let j = 0; j < m; j++) yy[j] += y[s][j] ** 2 / n;
  }
  return { p, m, gram, cross, yy };
}

/** Gaussian elimination with partial pivoting: solve A x = b. */
function solveDense(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) {
      if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
    }
    [m[c], m[piv]] = [m[piv], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const out = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let v = m[r][n];
    for (let k = r + 1; k < n; k++) v -= m[r][k] * out[k];
    out[r] = v / m[r][r];
  }
  return out;
}

describe('lassoGram', () => {
  test('one source, one target: the soft-threshold closed form', () => {
    for (const [g, rho, alpha] of [[1, 0.7, 0.2], [2, -0.9, 0.3],
      [0.5, 0.1, 0.4], [1, 0.3, 0]]) {
      const problem = { p: 1, m: 1, gram: Float64Array.of(g),
        cross: Float64Array.of(rho), yy: Float64Array.of(1) };
      const r = lassoGram(problem, { alpha });
      const w = Math.sign(rho) * Math.max(Math.abs(rho) - alpha, 0) / g;
      assert.ok(Math.abs(r.weights[0] - w) < 1e-12, `${r.weights[0]} vs ${w}`);
      assert.ok(Math.abs(r.residual[0] - (1 - 2 * rho * w + g * w * w)) <
        1e-12);
      assert.ok(r.converged);
    }
  });

  test('the duality gap, computed from the samples, is below tolerance',
    () => {
      const { x, y } = regression(300, 6, 3, 'gap', 0.8);
      const problem = gramOf(x, y);
      const tolerance = 1e-7;
      for (const alpha of [0.01, 0.1, 0.5]) {
        const r = lassoGram(problem, { alpha, tolerance });
        for (let j = 0; j < 3; j++) {
          const w = Array.from({ length: 6 }, (_, k) => r.weights[k * 3 + j]);
          const resid = x.map((row, s) =>
            y[s][j] - row.reduce((acc, v, k) => acc + v * w[k], 0));
          const n = x.length;
          const primal = resid.reduce((a, v) => a + v * v, 0) / (2 * n) +
            alpha * w.reduce((a, v) => a + Math.abs(v), 0);
          // θ = s·r, scaled so that max_k |Xᵀθ/n| ≤ α.
          const xr = w.map((_, k) =>
            x.reduce((a, row, s) => a + row[k] * resid[s], 0) / n);
          const s = Math.min(1, alpha / Math.max(...xr.map(Math.abs)));
          const dual = resid.reduce((a, v, i) => a + s * v * y[i][j], 0) / n -
            resid.reduce((a, v) => a + (s * v) ** 2, 0) / (2 * n);
          const half = y.reduce((a, row) => a + row[j] ** 2, 0) / (2 * n);
          assert.ok(primal - dual <= tolerance * half * (1 + 1e-6),
            `alpha ${alpha} target ${j}: gap ${primal - dual}`);
          assert.ok(r.gap[j] <= tolerance);
        }
      }
    });

  test('optimality: |c − Gw| = α on the support, ≤ α off it', () => {
    const { x, y } = regression(200, 8, 2, 'kkt', 1.5);
    const problem = gramOf(x, y);
    const alpha = 0.05;
    const r = lassoGram(problem, { alpha, tolerance: 1e-12 });
    for (let j = 0; j < 2; j++) {
      for (let k = 0; k < 8; k++) {
        let grad = problem.cross[k * 2 + j];
        for (let i = 0; i < 8; i++) {
          grad -= problem.gram[k * 8 + i] * r.weights[i * 2 + j];
        }
        const w = r.weights[k * 2 + j];
        if (w !== 0) assert.ok(Math.abs(grad - alpha * Math.sign(w)) < 1e-5);
        else assert.ok(Math.abs(grad) <= alpha + 1e-5);
      }
    }
  });

  test('a penalty at or above max|c_j| gives w = 0 exactly', () => {
    const { x, y } = regression(100, 4, 2, 'max');
    const problem = gramOf(x, y);
    const top = Math.max(...Array.from(problem.cross, Math.abs));
    const r = lassoGram(problem, { alpha: top });
    assert.ok(r.weights.every((w) => w === 0));
    assert.deepEqual(Array.from(r.residual), Array.from(problem.yy));
  });

  test('inputs are not modified; a warm start reaches the same answer',
    () => {
      const { x, y } = regression(150, 5, 3, 'inputs', 0.5);
      const problem = gramOf(x, y);
      const copies = [problem.gram, problem.cross, problem.yy]
        .map((a) => Float64Array.from(a));
      const cold = lassoGram(problem, { alpha: 0.02, tolerance: 1e-12 });
      const start = Float64Array.from(cold.weights, (w) => w + 0.1);
      const startCopy = Float64Array.from(start);
      const warm = lassoGram(problem,
        { alpha: 0.02, tolerance: 1e-12, start });
      assert.deepEqual(start, startCopy);
      [problem.gram, problem.cross, problem.yy]
        .forEach((a, i) => assert.deepEqual(a, copies[i]));
      cold.weights.forEach((w, i) =>
        assert.ok(Math.abs(w - warm.weights[i]) < 1e-6));
    });

  test('a dead source unit (zero row and column) gets no weight', () => {
    const { x, y } = regression(100, 4, 2, 'dead');
    x.forEach((row) => { row[2] = 0; });
    const r = lassoGram(gramOf(x, y), { alpha: 0.01 });
    assert.equal(r.weights[2 * 2], 0);
    assert.equal(r.weights[2 * 2 + 1], 0);
    assert.ok(r.weights.every(Number.isFinite));
  });

  test('the iteration limit is reported, not hidden', () => {
    const { x, y } = regression(200, 10, 2, 'limit', 3);
    const r = lassoGram(gramOf(x, y),
      { alpha: 1e-4, tolerance: 1e-14, maxIterations: 1 });
    assert.equal(r.converged, false);
    assert.ok(Math.max(...r.gap) > 1e-14);
    assert.ok(Math.max(...r.iterations) <= 1);
  });

  test('the penalty path runs from below α_max down to α', () => {
    const path = penaltyPath(1, 1e-3, 1);
    assert.deepEqual(path.map((a) => +a.toPrecision(6)), [0.1, 0.01, 1e-3]);
    assert.deepEqual(penaltyPath(1, 0.5, 1), [0.5]);
  });
});

describe('least squares for decay 0', () => {
  test('eigendecomposition reconstructs a symmetric matrix', () => {
    const g = gaussian('eigen');
    const p = 30;
    const b = Array.from({ length: p * p }, g);
    const a = new Float64Array(p * p);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) a[i * p + j] = b[i * p + j] + b[j * p + i];
    }
    const { values, vectors } = symmetricEigen(a, p);
    for (let k = 1; k < p; k++) assert.ok(values[k] >= values[k - 1]);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) {
        let rebuilt = 0;
        let dot = 0;
        for (let k = 0; k < p; k++) {
          rebuilt += vectors[i * p + k] * values[k] * vectors[j * p + k];
          dot += vectors[k * p + i] * vectors[k * p + j];
        }
        assert.ok(Math.abs(rebuilt - a[i * p + j]) < 1e-11);
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12);
      }
    }
  });

  test('agrees with a normal-equations solve on a well-conditioned case',
    () => {
      const { x, y } = regression(400, 7, 3, 'ols', 0.3);
      const problem = gramOf(x, y);
      const ls = leastSquares(problem.gram, problem.cross, 7, 3);
      const eigen = minimumNorm(problem.gram, problem.cross, 7, 3);
      assert.equal(ls.method, 'cholesky');
      assert.equal(ls.rank, 7);
      assert.equal(eigen.rank, 7);
      const rows = Array.from({ length: 7 }, (_, a) =>
        Array.from(problem.gram.subarray(a * 7, a * 7 + 7)));
      for (let j = 0; j < 3; j++) {
        const w = solveDense(rows,
          Array.from({ length: 7 }, (_, a) => problem.cross[a * 3 + j]));
        w.forEach((v, a) => {
          assert.ok(Math.abs(v - ls.weights[a * 3 + j]) < 1e-10);
          assert.ok(Math.abs(v - eigen.weights[a * 3 + j]) < 1e-10);
        });
      }
    });

  test('duplicated units share the weight (minimum-norm solution)', () => {
    const { x, y } = regression(200, 3, 1, 'dup');
    const wide = x.map((row) => [row[0], row[1], row[2], row[0]]);
    const problem = gramOf(wide, y);
    const ls = leastSquares(problem.gram, problem.cross, 4, 1);
    assert.equal(ls.method, 'eigen');
    assert.equal(ls.rank, 3);
    const narrow = leastSquares(gramOf(x, y).gram, gramOf(x, y).cross, 3, 1);
    assert.ok(Math.abs(ls.weights[0] - ls.weights[3]) < 1e-9);
    assert.ok(Math.abs(ls.weights[0] + ls.weights[3] - narrow.weights[0]) <
      1e-9);
    assert.ok(Math.abs(ls.weights[1] - narrow.weights[1]) < 1e-9);
  });
});

/** Reference moments of [A | B] over all rows (fit = everything). */
function fixtureMoments(): { moments: SplitMoments; unitsA: number;
  unitsB: number } {
  const { unitsA, unitsB, ...moments } = jointMoments(
    fixtureNpy('planted-small', 'net_a.npy'),
    fixtureNpy('planted-small', 'net_b.npy'));
  return { moments, unitsA, unitsB };
}

describe('planted-small reference (scikit-learn)', () => {
  const expected = fixtureJson('planted-small', 'expected.json');
  const { moments, unitsA, unitsB } = fixtureMoments();

  for (const e of expected.sparse_mapping) {
    test(`decay ${e.decay}: weights, fit loss and weights per unit`, () => {
      const r = solveSparseMap(moments, moments, {
        unitsA, unitsB, direction: 'a-to-b', decay: e.decay,
        tolerance: 1e-8, maxIterations: 10_000, threshold: 1e-3, zero: [],
      });
      assert.ok(Math.abs(r.alpha - e.alpha_standardized) < 1e-12);
      const want = fixtureNpy('planted-small', e.weights);
      assert.deepEqual(r.shape, want.shape);
      let worst = 0;
      want.data.forEach((w, i) => {
        worst = Math.max(worst, Math.abs(w - r.weights[i]));
      });
      assert.ok(worst < 1e-4, `largest weight difference ${worst}`);
      assert.ok(Math.abs(r.fitLoss - e.fit_loss) < 1e-6,
        `fit loss ${r.fitLoss} vs ${e.fit_loss}`);
      assert.equal(r.weightsPerUnit, e['nonzero_per_target_1e-3']);
      assert.ok(r.converged);
      // Zero-variance units: A22, A23 and B19 are found without a list.
      assert.deepEqual(r.zeroOnFit, [22, 23, unitsA + 19]);
    });
  }
});
