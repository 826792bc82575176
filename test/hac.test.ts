import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { agnes, type Cluster } from 'ml-hclust';
import seedrandom from 'seedrandom';
import { readNpy, writeNpy } from '../src/core/npy.js';
import { averageLinkage, hacMapping, type HacResult }
  from '../src/kernels/hac.js';
import { createPool } from '../src/runner/pool.js';
import { hacStage } from '../src/stages/hac.js';
import type { HacSummary } from '../src/stages/summaries.js';
import { artifact, fixtureJson, fixtureNpy, removeDir, runStage, tempDir,
  testPipeline } from './helpers.js';

const paper = 'paper-alexnet-mappings';
const planted = 'planted-small';

function cluster(w: { data: ArrayLike<number>; shape: number[] }) {
  const weights = Float64Array.from(w.data);
  return hacMapping({ weights, unitsA: w.shape[0], unitsB: w.shape[1] });
}

function column(linkage: Float64Array, c: number): number[] {
  return Array.from({ length: linkage.length / 4 }, (_, k) => linkage[4 * k + c]);
}

const ascending = (x: number[]) => [...x].sort((p, q) => p - q);

/** method.md: sorted merge distances to 1e-6, sorted sizes equal. */
function assertSameMerges(ours: Float64Array, scipy: Float64Array) {
  assert.equal(ours.length, scipy.length);
  const d = ascending(column(ours, 2));
  const e = ascending(column(scipy, 2));
  d.forEach((v, k) => assert.ok(Math.abs(v - e[k]) <= 1e-6,
    `merge ${k}: distance ${v}, SciPy ${e[k]}`));
  assert.deepEqual(ascending(column(ours, 3)), ascending(column(scipy, 3)));
}

/** Leaf order a permutation; SciPy's invariants on every row. */
function assertWellFormed(r: HacResult, n: number) {
  assert.deepEqual(ascending(Array.from(r.order)),
    Array.from({ length: n }, (_, i) => i));
  const used = new Set<number>();
  for (let k = 0; k < n - 1; k++) {
    const [left, right, dist, size] = r.linkage.subarray(4 * k, 4 * k + 4);
    assert.ok(left < right && right < n + k, `row ${k}: ${left}, ${right}`);
    assert.ok(!used.has(left) && !used.has(right), `row ${k} reuses a cluster`);
    used.add(left).add(right);
    const sizeOf = (c: number) => (c < n ? 1 : r.linkage[4 * (c - n) + 3]);
    assert.equal(size, sizeOf(left) + sizeOf(right));
    assert.equal(r.membersA[k] + r.membersB[k], size);
    if (k > 0) assert.ok(dist >= r.linkage[4 * k - 2]);
  }
}

/**
 * Average linkage from its definition, for a second opinion: merge the
 * pair of clusters with the smallest mean pairwise distance (lowest ids
 * first on ties), recomputing every mean from the leaves. O(n⁴); for
 * small n only.
 */
function bruteForce(d: Float64Array, n: number): number[][] {
  const clusters = new Map<number, number[]>();
  for (let i = 0; i < n; i++) clusters.set(i, [i]);
  const rows: number[][] = [];
  for (let k = 0; k < n - 1; k++) {
    let best = [Infinity, 0, 0];
    const ids = [...clusters.keys()].sort((p, q) => p - q);
    for (const p of ids) {
      for (const q of ids) {
        if (q <= p) continue;
        let sum = 0;
        for (const i of clusters.get(p)!) {
          for (const j of clusters.get(q)!) sum += d[i * n + j];
        }
        const mean = sum / (clusters.get(p)!.length * clusters.get(q)!.length);
        if (mean < best[0]) best = [mean, p, q];
      }
    }
    const [mean, p, q] = best;
    const merged = [...clusters.get(p)!, ...clusters.get(q)!];
    clusters.delete(p);
    clusters.delete(q);
    clusters.set(n + k, merged);
    rows.push([p, q, mean, merged.length]);
  }
  return rows;
}

/** 1 − B for W [nA, nB], as SciPy's fixtures build it. */
function oneMinusB(w: Float64Array, nA: number, nB: number): Float64Array {
  const n = nA + nB;
  const d = new Float64Array(n * n).fill(1);
  for (let i = 0; i < n; i++) d[i * n + i] = 0;
  for (let a = 0; a < nA; a++) {
    for (let b = 0; b < nB; b++) {
      d[a * n + nA + b] = d[(nA + b) * n + a] = 1 - w[a * nB + b];
    }
  }
  return d;
}

function randomMapping(nA: number, nB: number, seed: string,
  density = 1, values?: number[]): Float64Array {
  const rng = seedrandom(seed);
  return Float64Array.from({ length: nA * nB }, () => {
    if (rng() >= density) return 0;
    return values ? values[Math.floor(rng() * values.length)] : rng() - 0.3;
  });
}

describe('hacMapping against SciPy', () => {
  for (const run of fixtureJson(paper, 'expected.json')) {
    it(`reproduces SciPy's linkage of the study's ${run.run}`, () => {
      const w = fixtureNpy(paper, `${run.run}.weights.npy`);
      const scipy = fixtureNpy(paper, `${run.run}.hac_linkage.npy`);
      assert.deepEqual(w.shape, run.shape);
      const n = w.shape[0] + w.shape[1];
      assert.deepEqual(scipy.shape, [n - 1, 4]);

      const r = cluster(w);
      assertSameMerges(r.linkage, scipy.data as Float64Array);
      // The same operations in the same order: the same bits, ids too.
      assert.deepEqual(Array.from(r.linkage), Array.from(scipy.data));
      assert.ok(Math.abs(1 - r.linkage[2] - run.first_merge_similarity) < 1e-6);
      assert.ok(Math.abs(1 - r.linkage[4 * (n - 2) + 2] -
        run.last_merge_similarity) < 1e-6);
      assertWellFormed(r, n);
    });
  }

  it('reproduces SciPy on planted-small at every decay, ties included', () => {
    const expected = fixtureJson(planted, 'expected.json');
    const { units_a: nA, units_b: nB } = expected;
    for (const entry of expected.sparse_mapping) {
      const w = fixtureNpy(planted, entry.weights);
      const scipy = fixtureNpy(planted, entry.hac_linkage);
      assert.deepEqual(w.shape, [nA, nB]);
      assert.deepEqual(scipy.shape, [nA + nB - 1, 4]);
      const r = cluster(w);
      assertSameMerges(r.linkage, scipy.data as Float64Array);
      assert.deepEqual(Array.from(r.linkage), Array.from(scipy.data),
        `decay ${entry.decay}`);
      assertWellFormed(r, nA + nB);
    }
  });

  it('agrees with ml-hclust on the study conv1 mapping', () => {
    const run = 'net0_net1_L1_-2.6_conv1';
    const w = fixtureNpy(paper, `${run}.weights.npy`);
    const [nA, nB] = w.shape;
    const d = oneMinusB(Float64Array.from(w.data), nA, nB);
    const rows = Array.from({ length: nA + nB },
      (_, i) => Array.from(d.subarray(i * (nA + nB), (i + 1) * (nA + nB))));
    const tree = agnes(rows, { method: 'average', isDistanceMatrix: true });

    const heights: number[] = [];
    const sizes: number[] = [];
    const stack: Cluster[] = [tree];
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (c.isLeaf) continue;
      heights.push(c.height);
      sizes.push(c.size);
      stack.push(...c.children);
    }
    const r = cluster(w);
    const ours = ascending(column(r.linkage, 2));
    ascending(heights).forEach((h, k) => assert.ok(Math.abs(h - ours[k]) < 1e-12));
    assert.deepEqual(ascending(sizes), ascending(column(r.linkage, 3)));
  });
});

describe('hacMapping on exact cases', () => {
  it('clusters a 2 × 2 mapping as computed by hand', () => {
    // d(A0,B0) = 0.1, d(A1,B1) = 0.4, d(A0,B1) = 0.9, d(A1,B0) = 0.8, 1
    // within a network; last merge: (1 + 0.9 + 0.8 + 1) / 4 = 0.925.
    const r = hacMapping({ weights: Float64Array.of(0.9, 0.1, 0.2, 0.6),
      unitsA: 2, unitsB: 2 });
    const want = [0, 2, 0.1, 2, 1, 3, 0.4, 2, 4, 5, 0.925, 4];
    want.forEach((v, i) => assert.ok(Math.abs(r.linkage[i] - v) < 1e-15,
      `entry ${i}: ${r.linkage[i]}, expected ${v}`));
    assert.deepEqual(Array.from(r.order), [0, 2, 1, 3]);
    assert.deepEqual(Array.from(r.membersA), [1, 1, 2]);
    assert.deepEqual(Array.from(r.membersB), [1, 1, 2]);
  });

  it('breaks a tie toward the lowest cluster index (1 × 2)', () => {
    // A0 is at 0.5 from both B0 (leaf 1) and B1 (leaf 2): it joins B0;
    // then d({A0, B0}, B1) = (0.5 + 1) / 2.
    const r = hacMapping({ weights: Float64Array.of(0.5, 0.5),
      unitsA: 1, unitsB: 2 });
    assert.deepEqual(Array.from(r.linkage), [0, 1, 0.5, 2, 2, 3, 0.75, 3]);
    assert.deepEqual(Array.from(r.order), [2, 0, 1]);
  });

  it('keeps the chain order on ties, as SciPy does', () => {
    // d(0,2) = 3, d(1,3) = d(2,3) = 1, else 5. The chain 0 → 2 → 3 merges
    // {2, 3} first (a global lowest-pair rule would merge {1, 3}); then
    // d(1, {2,3}) = 3 and d(0, {1,2,3}) = (5 + 3 + 5) / 3. SciPy 1.17
    // gives this linkage.
    const d = new Float64Array(16).fill(5);
    for (const [i, j, v] of [[0, 2, 3], [1, 3, 1], [2, 3, 1]]) {
      d[i * 4 + j] = d[j * 4 + i] = v;
    }
    const z = averageLinkage(d, 4);
    assert.deepEqual(Array.from(z), [2, 3, 1, 2, 1, 4, 3, 3, 0, 5, 13 / 3, 4]);
  });

  it('matches average linkage from its definition on a 5 × 3 mapping', () => {
    for (const [nA, nB, seed] of [[5, 3, 'r1'], [3, 5, 'r2'], [9, 7, 'r3']]) {
      const w = randomMapping(+nA, +nB, `${seed}`);
      const r = hacMapping({ weights: w, unitsA: +nA, unitsB: +nB });
      const want = bruteForce(oneMinusB(w, +nA, +nB), +nA + +nB);
      want.forEach(([p, q, mean, size], k) => {
        assert.deepEqual([r.linkage[4 * k], r.linkage[4 * k + 1]], [p, q]);
        assert.ok(Math.abs(r.linkage[4 * k + 2] - mean) < 1e-12);
        assert.equal(r.linkage[4 * k + 3], size);
      });
      assertWellFormed(r, +nA + +nB);
      // A's units are the leaves below nA.
      const a = r.membersA;
      assert.equal(a[a.length - 1], +nA);
    }
  });
});

describe('hacMapping on ties and edges', () => {
  it('gives the identical result on every run for a mostly zero mapping', () => {
    // 95% exact zeros (distance 1) and four repeated values: ties
    // everywhere, between nonzero weights too.
    const w = randomMapping(40, 30, 'ties', 0.05, [0.25, 0.5, 0.75, 0.5]);
    const first = hacMapping({ weights: w, unitsA: 40, unitsB: 30 });
    for (let run = 0; run < 3; run++) {
      const again = hacMapping({ weights: w, unitsA: 40, unitsB: 30 });
      assert.deepEqual(again, first);
    }
    assertWellFormed(first, 70);
    // The closest pairs are weights of 0.75, at distance exactly 0.25.
    assert.equal(first.linkage[2], 0.25);
  });

  it('has real ties in the planted fixture it matches SciPy on', () => {
    // Guard for the SciPy test above: it must exercise ties.
    const w = fixtureNpy(planted, 'expected_mapping_decay_0.001.npy');
    const zeros = Array.from(w.data).filter((v) => v === 0).length;
    assert.ok(zeros > 0.9 * w.data.length);
    const scipy = fixtureNpy(planted, 'expected_hac_decay_0.1.npy');
    assert.ok(column(scipy.data as Float64Array, 2).every((v) => v === 1));
  });

  it('clusters one unit into no merges', () => {
    const r = hacMapping({ weights: new Float64Array(0), unitsA: 1, unitsB: 0 });
    assert.equal(r.linkage.length, 0);
    assert.deepEqual(Array.from(r.order), [0]);
  });

  it('leaves its input unmodified', () => {
    const w = randomMapping(6, 4, 'keep');
    const copy = Float64Array.from(w);
    hacMapping({ weights: w, unitsA: 6, unitsB: 4 });
    assert.deepEqual(w, copy);
    const d = oneMinusB(w, 6, 4);
    const dCopy = Float64Array.from(d);
    averageLinkage(d, 10);
    assert.deepEqual(d, dCopy);
  });

  it('rejects NaN weights, a wrong length and no units', () => {
    assert.throws(() => hacMapping({ weights: Float64Array.of(0.1, NaN),
      unitsA: 1, unitsB: 2 }), /weight \[0, 1\] is NaN/);
    assert.throws(() => hacMapping({ weights: Float64Array.of(0.1),
      unitsA: 1, unitsB: 2 }), /expected unitsA × unitsB/);
    assert.throws(() => hacMapping({ weights: new Float64Array(0),
      unitsA: 0, unitsB: 0 }), RangeError);
  });
});

describe('hacStage', () => {
  const decayFile = 'expected_mapping_decay_0.001.npy';

  function sparseMap(dir: string, weights: string, summary: object) {
    mkdirSync(dir, { recursive: true });
    const w = fixtureNpy(planted, weights);
    writeNpy(join(dir, 'weights.npy'), w.data, w.shape);
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
    return artifact(dir, summary, 'sparse-map@a-b/conv1/decay=0.001');
  }

  it('reads the sparse-map at its decay, or a file', () => {
    const pipeline = testPipeline({ root: '/data/study' });
    const coords = { pair: ['a', 'b'] as [string, string], layer: 'conv1' };
    assert.deepEqual(hacStage.inputs(coords, { ...hacStage.defaults },
      pipeline), [{ role: 'mapping', stage: 'sparse-map',
      coords: { ...coords, point: { decay: 1e-3 } } }]);
    assert.deepEqual(hacStage.inputs(coords, { ...hacStage.defaults,
      weights: 'maps/w.npy' }, pipeline),
    [{ role: 'mapping', file: '/data/study/maps/w.npy' }]);
    assert.throws(() => hacStage.inputs(coords, { ...hacStage.defaults,
      decay: -1 }, pipeline), /stages\.hac\.decay.*got -1/);
    assert.throws(() => hacStage.inputs(coords, { ...hacStage.defaults,
      direction: 'up' }, pipeline), /'a-to-b' or 'b-to-a', got "up"/);
  });

  it('writes SciPy\'s linkage, the leaf order and the summary', async () => {
    const dir = tempDir();
    try {
      const mapping = sparseMap(join(dir, 'map'), decayFile,
        { decay: 0.001, direction: 'a-to-b' });
      const run = await runStage(hacStage, { inputs: { mapping } });
      const linkage = readNpy(join(run.out, 'linkage.npy'));
      const order = readNpy(join(run.out, 'order.npy'));
      const scipy = fixtureNpy(planted, 'expected_hac_decay_0.001.npy');
      assert.deepEqual(linkage.shape, [43, 4]);
      assert.deepEqual(Array.from(linkage.data), Array.from(scipy.data));
      assert.equal(order.dtype, 'int32');
      assert.deepEqual(ascending(Array.from(order.data)),
        Array.from({ length: 44 }, (_, i) => i));

      const s = run.result.summary as unknown as HacSummary;
      assert.equal(s.leaves, 44);
      assert.equal(s.unitsA, 24);
      assert.equal(s.unitsB, 20);
      assert.equal(s.members.length, 43);
      // Count leaf pairs from SciPy's own linkage: A's leaves are < 24.
      const count = { ab: 0, aa: 0, bb: 0 };
      for (let k = 0; k < 43; k++) {
        const [l, r] = [scipy.data[4 * k], scipy.data[4 * k + 1]];
        if (r >= 44) continue;
        if (l < 24 && r >= 24) count.ab++;
        else if (r < 24) count.aa++;
        else count.bb++;
      }
      assert.deepEqual([s.pairsAB, s.pairsAA, s.pairsBB],
        [count.ab, count.aa, count.bb]);
      assert.ok(s.pairsAB > 0);
      assert.deepEqual(s.members[42], { a: 24, b: 20 });
      assert.deepEqual(run.warnings, []);
    } finally {
      removeDir(dir);
    }
  });

  it('runs the same on a worker thread of the pool', async () => {
    const dir = tempDir();
    const pool = createPool({ threads: 1 });
    try {
      const mapping = sparseMap(join(dir, 'map'), decayFile,
        { decay: 0.001, direction: 'a-to-b' });
      const run = await runStage(hacStage, { inputs: { mapping }, pool });
      const linkage = readNpy(join(run.out, 'linkage.npy'));
      const scipy = fixtureNpy(planted, 'expected_hac_decay_0.001.npy');
      assert.deepEqual(Array.from(linkage.data), Array.from(scipy.data));
    } finally {
      await pool.close();
      removeDir(dir);
    }
  });

  it('transposes a weights file fitted b-to-a', async () => {
    const dir = tempDir();
    try {
      const w = fixtureNpy(planted, decayFile);
      const [nA, nB] = w.shape;
      const t = new Float32Array(nA * nB);
      for (let a = 0; a < nA; a++) {
        for (let b = 0; b < nB; b++) t[b * nA + a] = w.data[a * nB + b];
      }
      const file = join(dir, 'w.npy');
      writeNpy(file, t, [nB, nA]);
      const run = await runStage(hacStage, { params: { weights: 'w.npy',
        direction: 'b-to-a' }, files: { mapping: file } });
      const s = run.result.summary as unknown as HacSummary;
      assert.deepEqual([s.unitsA, s.unitsB], [nA, nB]);
      const scipy = fixtureNpy(planted, 'expected_hac_decay_0.001.npy');
      const linkage = readNpy(join(run.out, 'linkage.npy'));
      // float32 storage rounds the weights: distances within 1e-6.
      assertSameMerges(linkage.data as Float64Array, scipy.data as Float64Array);
    } finally {
      removeDir(dir);
    }
  });

  it('warns on an all-zero mapping and refuses bad ones', async () => {
    const dir = tempDir();
    try {
      const zero = sparseMap(join(dir, 'zero'), 'expected_mapping_decay_0.1.npy',
        { decay: 0.1, direction: 'a-to-b' });
      const run = await runStage(hacStage, { params: { decay: 0.1 },
        inputs: { mapping: zero } });
      assert.match(run.warnings.join('\n'), /every weight .* is 0/);

      const other = sparseMap(join(dir, 'other'), decayFile,
        { decay: 0.001, direction: 'b-to-a' });
      await assert.rejects(runStage(hacStage, { inputs: { mapping: other } }),
        /fitted 'b-to-a'.*same value/);

      const file = join(dir, 'nan.npy');
      writeNpy(file, Float64Array.of(0.1, 0.2, NaN, 0.4), [2, 2]);
      await assert.rejects(runStage(hacStage, { params: { weights: 'nan.npy' },
        files: { mapping: file } }), { code: 'E_INPUT',
        message: /weight \[1, 0\] is NaN/ });

      writeNpy(file, Float64Array.of(0.1, 0.2), [2]);
      await assert.rejects(runStage(hacStage, { params: { weights: 'nan.npy' },
        files: { mapping: file } }), { code: 'E_SHAPE' });
    } finally {
      removeDir(dir);
    }
  });
});
