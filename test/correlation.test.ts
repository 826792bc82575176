import { test } from 'node:test';
import assert from 'node:assert/strict';
import { correlationsFromComoment, zeroVarianceUnits }
  from '../src/kernels/correlation.js';
import type { NdArray } from '../src/core/npy.js';
import { fixtureJson, fixtureNpy } from './helpers.js';
import { jointMoments } from './moments-reference.js';

/** A [samples, units] float32 array from one list of values per unit. */
function columns(...units: number[][]): NdArray {
  const rows = units[0].length;
  const n = units.length;
  const data = new Float32Array(rows * n);
  units.forEach((c, j) => c.forEach((v, s) => { data[s * n + j] = v; }));
  return { dtype: 'float32', shape: [rows, n], data };
}

const at = (m: Float64Array, cols: number, i: number, j: number) =>
  m[i * cols + j];

test('a small case by hand: r = 1, −1, a partial value, and a dead unit',
  () => {
    // A: x and a dead unit; B: 2x, reversed x, and x².
    const x = [1, 2, 3, 4];
    const m = jointMoments(columns(x, [0, 0, 0, 0]),
      columns([2, 4, 6, 8], [4, 3, 2, 1], [1, 4, 9, 16]));
    const r = correlationsFromComoment(m.comoment, 2, 3, m);
    // Deviations of x: ±0.5, ±1.5; of x²: −6.5, −3.5, 1.5, 8.5.
    // Σ dx·dy = 25, Σ dx² = 5, Σ dy² = 129.
    const expected = 25 / Math.sqrt(5 * 129);
    assert.deepEqual(Array.from(r.ab.subarray(0, 2)), [1, -1]);
    assert.ok(Math.abs(at(r.ab, 3, 0, 2) - expected) < 1e-15);
    assert.deepEqual(Array.from(r.ab.subarray(3)), [0, 0, 0]);
    assert.deepEqual(Array.from(r.aa), [1, 0, 0, 0]);
    assert.deepEqual(Array.from(r.zeroVariance), [0, 1, 0, 0, 0]);
  });

test('the planted fixture: correlations to 1e-6, zero-variance units named',
  () => {
    const expected = fixtureJson('planted-small', 'expected.json');
    const reference = fixtureNpy('planted-small', 'expected_correlation.npy');
    const m = jointMoments(fixtureNpy('planted-small', 'net_a.npy'),
      fixtureNpy('planted-small', 'net_b.npy'));
    const r = correlationsFromComoment(m.comoment, 24, 20, m);

    assert.deepEqual(reference.shape, [24, 20]);
    let worst = 0;
    for (let k = 0; k < r.ab.length; k++) {
      worst = Math.max(worst, Math.abs(r.ab[k] - reference.data[k]));
    }
    assert.ok(worst < 1e-6, `largest difference ${worst}`);

    const zeroA = [...r.zeroVariance.subarray(0, 24).keys()]
      .filter((i) => r.zeroVariance[i]);
    const zeroB = [...r.zeroVariance.subarray(24).keys()]
      .filter((j) => r.zeroVariance[24 + j]);
    assert.deepEqual(zeroA, expected.zero_variance_a);
    assert.deepEqual(zeroB, expected.zero_variance_b);
    for (const i of zeroA) {
      assert.ok(r.aa.subarray(i * 24, i * 24 + 24).every((v) => v === 0));
    }
  });

test('the unit with mean 1e4 keeps its correlations', () => {
  // Unit 21 of A has mean 1e4 and std 0.012: a naive E[xy] − E[x]E[y]
  // would lose it entirely.
  const m = jointMoments(fixtureNpy('planted-small', 'net_a.npy'),
    fixtureNpy('planted-small', 'net_b.npy'));
  const r = correlationsFromComoment(m.comoment, 24, 20, m);
  assert.equal(r.zeroVariance[21], 0);
  assert.equal(at(r.aa, 24, 21, 21), 1);
  const reference = fixtureNpy('planted-small', 'expected_correlation.npy');
  const best = Math.max(...reference.data.subarray(21 * 20, 22 * 20));
  assert.ok(best > 0.29, 'the fixture plants a relation on it');
  assert.ok(Math.abs(Math.max(...r.ab.subarray(21 * 20, 22 * 20)) - best)
    < 1e-6);
});

test('within matrices: symmetric, bounded, 1 on live diagonals', () => {
  const m = jointMoments(fixtureNpy('planted-small', 'net_a.npy'),
    fixtureNpy('planted-small', 'net_b.npy'));
  const r = correlationsFromComoment(m.comoment, 24, 20, m);
  for (const [c, size, offset] of [[r.aa, 24, 0], [r.bb, 20, 24]] as const) {
    for (let i = 0; i < size; i++) {
      const live = !r.zeroVariance[offset + i];
      assert.equal(at(c, size, i, i), live ? 1 : 0);
      for (let j = 0; j < size; j++) {
        assert.equal(at(c, size, i, j), at(c, size, j, i));
        assert.ok(Math.abs(at(c, size, i, j)) <= 1);
      }
    }
  }
});

test('a network against itself: between equals within A', () => {
  const a = fixtureNpy('planted-small', 'net_a.npy');
  const m = jointMoments(a, a);
  const r = correlationsFromComoment(m.comoment, 24, 24, m);
  for (let k = 0; k < r.aa.length; k++) {
    assert.ok(Math.abs(r.ab[k] - r.aa[k]) < 1e-12);
  }
  assert.deepEqual(r.aa, r.bb);
});

test('a constant whose co-moment is rounding noise is zero-variance',
  () => {
    // What a streaming merge can leave for a unit constant at 0.1 over
    // 1,000 samples: a diagonal of 1e-32 and a cross term of 1e-17 with
    // a live unit, which divided out would read as r = 3.2, clamped to 1.
    const cm = new Float64Array([1e-32, 1e-17, 1e-17, 1e-3]);
    const mean = new Float64Array([0.1, 5]);
    const r = correlationsFromComoment(cm, 1, 1, { mean, count: 1000 });
    assert.deepEqual(Array.from(r.zeroVariance), [1, 0]);
    assert.deepEqual(Array.from(r.ab), [0]);
    // Without the means only a co-moment of exactly 0 counts.
    assert.deepEqual(Array.from(zeroVarianceUnits(cm, 2)), [0, 0]);
    // A real but small spread at a large mean stays live: std 0.01 at
    // mean 1e4 over 1,000 samples.
    const wide = new Float64Array([1000 * 1e-4, 0, 0, 1]);
    assert.deepEqual(Array.from(zeroVarianceUnits(wide, 2,
      { mean: new Float64Array([1e4, 0]), count: 1000 })), [0, 0]);
  });

test('units listed as known are zero-variance whatever their co-moment',
  () => {
    const cm = new Float64Array([2, 1, 1, 2]);
    const r = correlationsFromComoment(cm, 1, 1, { known: [1] });
    assert.deepEqual(Array.from(r.zeroVariance), [0, 1]);
    assert.deepEqual(Array.from(r.ab), [0]);
    assert.deepEqual(Array.from(r.aa), [1]);
    assert.deepEqual(Array.from(r.bb), [0]);
  });

test('all units dead: all-zero matrices, no NaN', () => {
  const zeros = columns([0, 0, 0], [0, 0, 0]);
  const m = jointMoments(zeros, zeros);
  const r = correlationsFromComoment(m.comoment, 2, 2, m);
  for (const c of [r.ab, r.aa, r.bb]) {
    assert.ok(c.every((v) => v === 0));
  }
  assert.ok(r.zeroVariance.every((z) => z === 1));
});

test('NaN and out-of-range entries never reach the output', () => {
  // A co-moment broken by rounding or by a bad upstream value.
  const cm = new Float64Array([1, NaN, 5, NaN, 1, 0, 5, 0, 1]);
  const r = correlationsFromComoment(cm, 1, 2, {});
  assert.deepEqual(Array.from(r.ab), [0, 1]);
  assert.deepEqual(Array.from(r.bb), [1, 0, 0, 1]);
  const dead = correlationsFromComoment(
    new Float64Array([NaN, 0, 0, 1]), 1, 1, {});
  assert.deepEqual(Array.from(dead.zeroVariance), [1, 0]);
  assert.deepEqual(Array.from(dead.ab), [0]);
});

test('the co-moment is not modified; a wrong size is refused', () => {
  const cm = new Float64Array([4, 2, 2, 9]);
  correlationsFromComoment(cm, 1, 1, {});
  assert.deepEqual(Array.from(cm), [4, 2, 2, 9]);
  assert.throws(() => correlationsFromComoment(new Float64Array(5), 1, 1),
    { name: 'RangeError', message: /2 x 2 values, got 5/ });
  assert.throws(() => correlationsFromComoment(cm, -1, 3), RangeError);
});
