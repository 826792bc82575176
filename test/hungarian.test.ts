import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hungarian, type Assignment } from '../src/kernels/hungarian.js';

/** mulberry32: a small seeded generator, so every run sees the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'uniform' | 'integer' | 'constant';

function matrix(rows: number, cols: number, kind: Kind,
  random: () => number): Float64Array {
  const w = new Float64Array(rows * cols);
  for (let k = 0; k < w.length; k++) {
    if (kind === 'uniform') w[k] = random() * 2 - 1;
    // Three values only: ties everywhere.
    else if (kind === 'integer') w[k] = Math.floor(random() * 3) - 1;
    else w[k] = 0.25;
  }
  return w;
}

/** Best total over every injection of the shorter side into the longer. */
function bruteForce(w: Float64Array, rows: number, cols: number): number {
  const short = Math.min(rows, cols);
  const long = Math.max(rows, cols);
  const at = (s: number, l: number) =>
    rows <= cols ? w[s * cols + l] : w[l * cols + s];
  const used = new Uint8Array(long);
  let best = -Infinity;
  const walk = (s: number, sum: number) => {
    if (s === short) {
      best = Math.max(best, sum);
      return;
    }
    for (let l = 0; l < long; l++) {
      if (used[l]) continue;
      used[l] = 1;
      walk(s + 1, sum + at(s, l));
      used[l] = 0;
    }
  };
  walk(0, 0);
  return best;
}

/** The assignment is an injection of min(rows, cols) pairs, both ways. */
function assertValid(a: Assignment, w: Float64Array, rows: number,
  cols: number) {
  let pairs = 0;
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const j = a.colOfRow[i];
    if (j < 0) continue;
    assert.ok(j < cols);
    assert.equal(a.rowOfCol[j], i, `row ${i} -> col ${j} is one-way`);
    pairs++;
    total += w[i * cols + j];
  }
  assert.equal(pairs, Math.min(rows, cols));
  assert.equal(a.rowOfCol.filter((i) => i >= 0).length, pairs);
  assert.ok(Math.abs(total - a.total) < 1e-12);
}

/**
 * A second, independent algorithm: the textbook O(n²m) potentials
 * method (min cost, rows <= cols), on −W.
 */
function potentials(w: Float64Array, rows: number, cols: number): number {
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(cols + 1);
  const p = new Int32Array(cols + 1);
  const way = new Int32Array(cols + 1);
  for (let i = 1; i <= rows; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(cols + 1).fill(Infinity);
    const used = new Uint8Array(cols + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = -w[(i0 - 1) * cols + j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  let total = 0;
  for (let j = 1; j <= cols; j++) {
    if (p[j]) total += w[(p[j] - 1) * cols + j - 1];
  }
  return total;
}

test('a 2 x 2 case by hand: the off-diagonal wins', () => {
  const a = hungarian(new Float64Array([1, 5, 4, 2]), 2, 2);
  assert.deepEqual(Array.from(a.colOfRow), [1, 0]);
  assert.deepEqual(Array.from(a.rowOfCol), [1, 0]);
  assert.equal(a.total, 9);
});

test('it maximizes: the largest entries win, negative ones too', () => {
  const a = hungarian(new Float64Array([-1, -3, -2, -9]), 2, 2);
  assert.deepEqual(Array.from(a.colOfRow), [1, 0]);
  assert.equal(a.total, -5);
});

test('brute force agrees on every size 1..7, square and rectangular', () => {
  const random = rng(20160601);
  let problems = 0;
  for (let rows = 1; rows <= 7; rows++) {
    for (let cols = 1; cols <= 7; cols++) {
      for (const kind of ['uniform', 'integer', 'constant'] as const) {
        const repeats = kind === 'constant' ? 1 : 4;
        for (let r = 0; r < repeats; r++) {
          const w = matrix(rows, cols, kind, random);
          const best = bruteForce(w, rows, cols);
          // With and without the reduction phases: on small problems
          // they alone often finish, leaving the augmenting phase idle.
          for (const reduce of [true, false]) {
            const a = hungarian(w, rows, cols, { reduce });
            assertValid(a, w, rows, cols);
            assert.ok(Math.abs(a.total - best) < 1e-12, `${rows} x ` +
              `${cols} ${kind}, reduce ${reduce}: ${a.total} vs ${best}`);
          }
          problems++;
        }
      }
    }
  }
  assert.equal(problems, 49 * 9);
});

test('a second algorithm agrees on larger seeded problems', () => {
  const random = rng(7);
  const shapes: [number, number][] = [[60, 60], [40, 90], [90, 40],
    [120, 120], [1, 50], [50, 1]];
  for (const [rows, cols] of shapes) {
    for (const kind of ['uniform', 'integer'] as const) {
      const w = matrix(rows, cols, kind, random);
      const t = rows <= cols ? w : transpose(w, rows, cols);
      const ref = potentials(t, Math.min(rows, cols), Math.max(rows, cols));
      for (const reduce of [true, false]) {
        const a = hungarian(w, rows, cols, { reduce });
        assertValid(a, w, rows, cols);
        assert.ok(Math.abs(a.total - ref) < 1e-9,
          `${rows} x ${cols} ${kind}, reduce ${reduce}: ${a.total} vs ${ref}`);
      }
    }
  }
});

test('structured matrices that make the row reduction bid long', () => {
  // Rank-one and Hilbert matrices give every row the same preferences
  // with small gaps: the row reduction's bidding war runs into its cap,
  // and the augmenting phase must still finish the job exactly.
  const families: Record<string, (i: number, j: number) => number> = {
    rankOne: (i, j) => (i + 1) * (j + 1) / 14400,
    hilbert: (i, j) => 1 / (i + j + 1),
    sum: (i, j) => (i + j) / 120,
  };
  for (const [name, f] of Object.entries(families)) {
    for (const [rows, cols] of [[120, 120], [60, 120], [120, 60]]) {
      const w = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) w[i * cols + j] = f(i, j);
      }
      const a = hungarian(w, rows, cols);
      assertValid(a, w, rows, cols);
      const t = rows <= cols ? w : transpose(w, rows, cols);
      const ref = potentials(t, Math.min(rows, cols), Math.max(rows, cols));
      assert.ok(Math.abs(a.total - ref) < 1e-9,
        `${name} ${rows} x ${cols}: ${a.total} vs ${ref}`);
    }
  }
});

test('without the reduction phases, a constant matrix gives the identity',
  () => {
    // The augmenting phase breaks ties toward the lowest free column.
    const a = hungarian(new Float64Array(16).fill(2), 4, 4, { reduce: false });
    assert.deepEqual(Array.from(a.colOfRow), [0, 1, 2, 3]);
  });

test('a 1 x 1 problem pairs its only entry', () => {
  const a = hungarian(new Float64Array([-0.5]), 1, 1);
  assert.deepEqual(Array.from(a.colOfRow), [0]);
  assert.equal(a.total, -0.5);
});

test('an empty side gives no pairs and a total of 0', () => {
  for (const [rows, cols] of [[0, 5], [5, 0], [0, 0]]) {
    const a = hungarian(new Float64Array(0), rows, cols);
    assert.equal(a.total, 0);
    assert.deepEqual(Array.from(a.colOfRow), new Array(rows).fill(-1));
    assert.deepEqual(Array.from(a.rowOfCol), new Array(cols).fill(-1));
  }
});

test('the same input always gives the same pairs; input untouched', () => {
  const random = rng(11);
  const w = matrix(30, 30, 'integer', random);
  const copy = w.slice();
  const first = hungarian(w, 30, 30);
  const second = hungarian(w, 30, 30);
  assert.deepEqual(first.colOfRow, second.colOfRow);
  assert.deepEqual(w, copy);
  const tall = matrix(9, 4, 'uniform', random);
  const tallCopy = tall.slice();
  hungarian(tall, 9, 4);
  assert.deepEqual(tall, tallCopy);
});

test('a permutation matrix is recovered exactly', () => {
  const n = 50;
  const random = rng(5);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [perm[i], perm[k]] = [perm[k], perm[i]];
  }
  const w = new Float64Array(n * n);
  perm.forEach((j, i) => { w[i * n + j] = 1; });
  assert.deepEqual(Array.from(hungarian(w, n, n).colOfRow), perm);
});

test('non-finite weights and wrong sizes are refused', () => {
  assert.throws(() => hungarian(new Float64Array([1, NaN, 0, 0]), 2, 2),
    { name: 'RangeError', message: /weight \[0, 1\] is NaN/ });
  assert.throws(() => hungarian(new Float64Array([Infinity]), 1, 1),
    RangeError);
  assert.throws(() => hungarian(new Float64Array(5), 2, 3),
    { name: 'RangeError', message: /2 x 3 matrix holds 6/ });
  assert.throws(() => hungarian(new Float64Array(0), -1, 0), RangeError);
});

function transpose(w: Float64Array, rows: number, cols: number) {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j];
  }
  return t;
}
