import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import { availableEngines, jsGramEngine } from '../src/engine/gram.js';
import { centerChunk, centerInto, correlation, emptyMoments, mergeInto,
  mergeMoments, momentsOf } from '../src/kernels/moments.js';
import { fixtureJson, fixtureNpy } from './helpers.js';
import { rowMoments } from './moments-reference.js';

/** Largest |a − b| / scale over two arrays. */
function worst(a: ArrayLike<number>, b: ArrayLike<number>,
  scale = 1): number {
  assert.equal(a.length, b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w / scale;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function randomRows(rows: number, cols: number, seed: string): Float32Array {
  const rng = seedrandom(seed);
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) {
    // ReLU-like: a third exact zeros, the rest positive, per-unit offsets.
    const v = rng() * 3 - 1;
    x[i] = v > 0 ? v + (i % cols) : 0;
  }
  return x;
}

/** The fixture's units joined as [A | B], row-major [20000, 44]. */
function plantedJoined() {
  const a = fixtureNpy('planted-small', 'net_a.npy');
  const b = fixtureNpy('planted-small', 'net_b.npy');
  const [rows, na] = a.shape;
  const nb = b.shape[1];
  const n = na + nb;
  const x = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    x.set(a.data.subarray(r * na, (r + 1) * na) as Float32Array, r * n);
    x.set(b.data.subarray(r * nb, (r + 1) * nb) as Float32Array, r * n + na);
  }
  return { x, rows, na, nb, n };
}

describe('moments', () => {
  it('gives the hand-computed co-moment of a 3 × 2 case, any chunking',
    async () => {
      // mean [3, 5]; centered rows [-2, -3], [0, -1], [2, 4].
      const x = new Float32Array([1, 2, 3, 4, 5, 9]);
      for (const chunk of [1, 2, 3]) {
        const m = await momentsOf(x, 3, 2, jsGramEngine, chunk);
        assert.equal(m.count, 3);
        assert.deepEqual([...m.mean], [3, 5]);
        assert.deepEqual([...m.comoment], [8, 14, 14, 26]);
      }
      assert.deepEqual([...x], [1, 2, 3, 4, 5, 9], 'input unchanged');
    });

  it('centers a chunk in float64 before rounding to float32', () => {
    const x = new Float32Array([10000, 1, 10000.0009765625, 3]);
    const mean = centerChunk(x, 2, 2);
    assert.deepEqual([...mean], [10000.00048828125, 2]);
    assert.deepEqual([...x], [-0.00048828125, -1, 0.00048828125, 1]);
  });

  it('joins and centers column blocks like one centered array', () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);     // [3, 2]
    const b = new Float32Array([10, 40, 70]);           // [3, 1]
    const out = new Float32Array(9);
    const mean = centerInto([a, b], [2, 1], 3, out);
    assert.deepEqual([...mean], [3, 4, 40]);
    assert.deepEqual([...out], [-2, -2, -30, 0, 0, 0, 2, 2, 30]);
    const joined = new Float32Array([1, 2, 10, 3, 4, 40, 5, 6, 70]);
    assert.deepEqual([...centerChunk(joined, 3, 3)], [...mean]);
    assert.deepEqual([...joined], [...out]);
    assert.deepEqual([...a], [1, 2, 3, 4, 5, 6], 'parts unchanged');
  });

  it('merges two halves into the one-pass answer to 1e-12', () => {
    const rows = 301;
    const cols = 7;
    const x = randomRows(rows, cols, 'halves');
    const whole = rowMoments(x, rows, cols);
    for (const cut of [1, 37, 150, 300]) {
      const head = rowMoments(x.subarray(0, cut * cols), cut, cols);
      const tail = rowMoments(x.subarray(cut * cols), rows - cut, cols);
      const merged = mergeMoments(head, tail);
      assert.equal(merged.count, rows);
      const scale = maxAbs(whole.comoment);
      assert.ok(worst(merged.comoment, whole.comoment, scale) < 1e-12);
      assert.ok(worst(merged.mean, whole.mean, maxAbs(whole.mean)) < 1e-12);
      const swapped = mergeMoments(tail, head);
      assert.ok(worst(swapped.comoment, merged.comoment, scale) < 1e-12);
    }
  });

  it('leaves moments unchanged when merging an empty set', async () => {
    const x = randomRows(20, 3, 'empty');
    const m = await momentsOf(x, 20, 3, jsGramEngine);
    const before = { mean: [...m.mean], c: [...m.comoment] };
    const merged = mergeMoments(emptyMoments(3), m);
    assert.deepEqual([...merged.comoment], before.c);
    mergeInto(m, 0, new Float64Array(3), new Float64Array(9));
    assert.deepEqual([...m.mean], before.mean);
    assert.deepEqual([...m.comoment], before.c);
    assert.throws(() => mergeInto(m, 1, new Float64Array(2),
      new Float64Array(4)), RangeError);
  });

  it('returns an exactly symmetric co-moment', async () => {
    const x = randomRows(1000, 9, 'symmetric');
    for (const engine of await availableEngines()) {
      const m = await momentsOf(x, 1000, 9, engine, 100);
      for (let i = 0; i < 9; i++) {
        for (let j = 0; j < 9; j++) {
          assert.equal(m.comoment[i * 9 + j], m.comoment[j * 9 + i]);
        }
      }
    }
  });

  it('keeps a unit of mean 1e4 and std 0.01 right to 1e-6', async () => {
    // Raw sums would cancel all digits here: E[x²] − E[x]² ≈ 1e8 − 1e8.
    const rows = 5000;
    const rng = seedrandom('offset');
    const x = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      const z = rng() - 0.5;
      x[2 * r] = 1e4 + 0.03 * z + 0.01 * (rng() - 0.5);
      x[2 * r + 1] = z;
    }
    const reference = correlation(rowMoments(x, rows, 2))[1];
    for (const engine of await availableEngines()) {
      const r = correlation(await momentsOf(x, rows, 2, engine))[1];
      assert.ok(Math.abs(r - reference) < 1e-6,
        `${engine.name}: ${r} vs ${reference}`);
    }
  });

  it('matches the planted fixture correlations to 1e-6 on every engine',
    async () => {
      const { x, rows, na, nb, n } = plantedJoined();
      const expected = fixtureNpy('planted-small', 'expected_correlation.npy');
      assert.deepEqual(expected.shape, [na, nb]);
      const reference = rowMoments(x, rows, n);

      for (const engine of await availableEngines()) {
        const m = await momentsOf(x, rows, n, engine);
        const r = correlation(m);
        let err = 0;
        for (let i = 0; i < na; i++) {
          for (let j = 0; j < nb; j++) {
            err = Math.max(err,
              Math.abs(r[i * n + na + j] - expected.data[i * nb + j]));
          }
        }
        assert.ok(err < 1e-6, `${engine.name}: correlation off by ${err}`);
        // js sums in float64 but still rounds centered values to float32.
        const tol = engine.name === 'js' ? 1e-7 : 1e-6;
        assert.ok(worst(m.mean, reference.mean, 1e4) < 1e-12);
        const off = worst(m.comoment, reference.comoment,
          maxAbs(reference.comoment));
        assert.ok(off < tol, `${engine.name}: co-moment off by ${off}`);
      }
    });

  it('finds the fixture zero-variance units as zero diagonals', async () => {
    const { x, rows, na, n } = plantedJoined();
    const expected = fixtureJson('planted-small', 'expected.json');
    const m = await momentsOf(x, rows, n, jsGramEngine);
    const zero = [];
    for (let j = 0; j < n; j++) if (m.comoment[j * n + j] === 0) zero.push(j);
    assert.deepEqual(zero, [...expected.zero_variance_a,
      ...expected.zero_variance_b.map((j: number) => j + na)]);
    const r = correlation(m);
    assert.ok(r.every((v) => Number.isFinite(v)));
    assert.equal(r[22 * n + 22], 0);
  });
});
