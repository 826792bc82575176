import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { correlationsFromComoment } from '../src/kernels/correlation.js';
import { orderOfB, summarizeMatching } from '../src/kernels/matching.js';
import { readNpy, writeNpy, type NdArray } from '../src/core/npy.js';
import { createPool } from '../src/runner/pool.js';
import { matchStage } from '../src/stages/match.js';
import type { MatchSummary, NormalizeSummary }
  from '../src/stages/summaries.js';
import { artifact, fixtureJson, fixtureNpy, removeDir, runStage, tempDir,
  testPipeline } from './helpers.js';
import { jointMoments } from './moments-reference.js';

/** B's columns reordered: column j of the result is column perm[j]. */
function permuteUnits(x: NdArray, perm: number[]): NdArray {
  const [rows, n] = x.shape;
  const data = new Float32Array(rows * n);
  for (let s = 0; s < rows; s++) {
    for (let j = 0; j < n; j++) data[s * n + j] = x.data[s * n + perm[j]];
  }
  return { dtype: 'float32', shape: [rows, n], data };
}

const netA = fixtureNpy('planted-small', 'net_a.npy');
const netB = fixtureNpy('planted-small', 'net_b.npy');
const expected = fixtureJson('planted-small', 'expected.json');
const planted = jointMoments(netA, netB);
const plantedCorr = correlationsFromComoment(planted.comoment, 24, 20,
  planted);

test('a 3 x 3 case by hand: semi and bipartite partners differ', () => {
  const s = new Float64Array([
    0.9, 0.8, 0.1,
    0.85, 0.2, 0.1,
    0.1, 0.1, 0.3,
  ]);
  const m = summarizeMatching(s, 3, 3, [0.3, 0.5, 0.7]);
  assert.deepEqual(m.semi.partnerOfA, [0, 0, 2]);
  assert.deepEqual(m.semi.valueOfA, [0.9, 0.85, 0.3]);
  assert.deepEqual(m.semi.partnerOfB, [0, 0, 2]);
  assert.deepEqual(m.semi.valueOfB, [0.9, 0.8, 0.3]);
  assert.ok(Math.abs(m.semi.mean - 2.05 / 3) < 1e-15);
  // 0.8 + 0.85 + 0.3 beats the diagonal's 0.9 + 0.2 + 0.3.
  assert.deepEqual(m.bipartite.pairs, [[0, 1], [1, 0], [2, 2]]);
  assert.deepEqual(m.bipartite.values, [0.8, 0.85, 0.3]);
  assert.ok(Math.abs(m.bipartite.total - 1.95) < 1e-15);
  assert.ok(Math.abs(m.bipartite.mean - 0.65) < 1e-15);
  assert.equal(m.agree, 2);
  assert.deepEqual(m.below, [
    { threshold: 0.3, fraction: 0 },
    { threshold: 0.5, fraction: 1 / 3 },
    { threshold: 0.7, fraction: 1 / 3 },
  ]);
  assert.deepEqual(m.curves.semi, [0.9, 0.85, 0.3]);
  assert.deepEqual(m.curves.bipartite, [0.85, 0.8, 0.3]);
  assert.deepEqual(orderOfB(m), [1, 0, 2]);
});

test('rectangular both ways: min(nA, nB) pairs, the rest of B last', () => {
  // A has 2 units, B has 4: B's units 0 and 2 stay unmatched.
  const wide = new Float64Array([0.1, 0.9, 0.0, 0.2, 0.0, 0.1, 0.3, 0.8]);
  const m = summarizeMatching(wide, 2, 4, [0.5]);
  assert.deepEqual(m.bipartite.pairs, [[0, 1], [1, 3]]);
  assert.deepEqual(orderOfB(m), [1, 3, 0, 2]);
  assert.deepEqual(m.semi.partnerOfB, [0, 0, 1, 1]);

  // The transpose: 4 units of A, 2 of B; A's units 0 and 2 unmatched.
  const tall = new Float64Array([0.1, 0.0, 0.9, 0.1, 0.0, 0.3, 0.2, 0.8]);
  const t = summarizeMatching(tall, 4, 2, [0.5]);
  assert.deepEqual(t.bipartite.pairs, [[1, 0], [3, 1]]);
  assert.equal(t.agree, 2);
  assert.deepEqual(t.below, [{ threshold: 0.5, fraction: 0.5 }]);
  assert.deepEqual(orderOfB(t), [0, 1]);
});

test('semi ties go to the lowest index', () => {
  const m = summarizeMatching(new Float64Array([0.5, 0.5, 0.5, 0.5]), 2, 2,
    []);
  assert.deepEqual(m.semi.partnerOfA, [0, 0]);
  assert.deepEqual(m.semi.partnerOfB, [0, 0]);
  assert.deepEqual(m.below, []);
});

test('an empty side: no pairs, means of 0, no NaN', () => {
  for (const [nA, nB] of [[0, 3], [3, 0], [0, 0]]) {
    const m = summarizeMatching(new Float64Array(0), nA, nB, [0.5]);
    assert.equal(m.bipartite.pairs.length, 0);
    assert.equal(m.semi.mean, 0);
    assert.equal(m.bipartite.mean, 0);
    assert.deepEqual(m.semi.partnerOfA, new Array(nA).fill(-1));
    assert.ok(!JSON.stringify(m).includes('null'), 'NaN serializes as null');
  }
});

test('NaN and bad thresholds are refused, the input is untouched', () => {
  assert.throws(() => summarizeMatching(new Float64Array([NaN]), 1, 1, []),
    RangeError);
  assert.throws(() => summarizeMatching(new Float64Array([1]), 1, 1,
    [Number.NaN]), { name: 'RangeError', message: /thresholds\[0\]/ });
  const s = new Float64Array([0.3, 0.1, 0.2, 0.4]);
  summarizeMatching(s, 2, 2, [0.5]);
  assert.deepEqual(Array.from(s), [0.3, 0.1, 0.2, 0.4]);
});

test('the planted fixture: bipartite total, pairs and semi maxima', () => {
  const ref = expected.correlation_matching;
  const m = summarizeMatching(plantedCorr.ab, 24, 20, [0.3, 0.5, 0.7]);
  const rel = Math.abs(m.bipartite.total - ref.bipartite_total) /
    ref.bipartite_total;
  assert.ok(rel < 1e-9, `total ${m.bipartite.total}, relative error ${rel}`);

  // Zero-variance units are tied with everything (correlation 0), so
  // which one pairs with them is arbitrary; all other pairs are unique.
  const zeroA = new Set<number>(expected.zero_variance_a);
  const zeroB = new Set<number>(expected.zero_variance_b);
  const live = (pairs: [number, number][]) =>
    pairs.filter(([a, b]) => !zeroA.has(a) && !zeroB.has(b));
  assert.equal(m.bipartite.pairs.length, 20);
  assert.deepEqual(live(m.bipartite.pairs), live(ref.bipartite_pairs));

  const close = (got: number[], want: number[]) =>
    got.length === want.length &&
    got.every((v, k) => Math.abs(v - want[k]) < 1e-6);
  assert.ok(close(m.semi.valueOfA, ref.semi_a_to_b_max));
  assert.ok(close(m.semi.valueOfB, ref.semi_b_to_a_max));
  // The semi mean and the fractions follow from the maxima.
  const maxA: number[] = ref.semi_a_to_b_max;
  assert.ok(Math.abs(m.semi.mean - maxA.reduce((p, q) => p + q) / 24)
    < 1e-6);
  assert.equal(m.below[1].fraction,
    maxA.filter((v) => v < 0.5).length / 24);
});

test('a network against itself: identity on live units, correlation 1', () => {
  const self = jointMoments(netA, netA);
  const r = correlationsFromComoment(self.comoment, 24, 24, self);
  const m = summarizeMatching(r.ab, 24, 24, [0.5]);
  for (const [a, b] of m.bipartite.pairs) {
    if (r.zeroVariance[a]) continue;
    assert.equal(b, a);
    assert.equal(m.semi.partnerOfA[a], a);
    assert.equal(r.ab[a * 24 + a], 1);
  }
  const liveUnits = 24 - expected.zero_variance_a.length;
  assert.ok(Math.abs(m.bipartite.total - liveUnits) < 1e-12);
});

test('permuting B\'s units permutes the result', () => {
  const perm = [7, 19, 3, 0, 12, 5, 18, 1, 9, 14, 2, 16, 11, 4, 8, 17, 6,
    13, 10, 15];
  const moved = jointMoments(netA, permuteUnits(netB, perm));
  const r = correlationsFromComoment(moved.comoment, 24, 20, moved);
  for (let i = 0; i < 24; i++) {
    for (let j = 0; j < 20; j++) {
      assert.equal(r.ab[i * 20 + j], plantedCorr.ab[i * 20 + perm[j]]);
    }
  }
  const m = summarizeMatching(r.ab, 24, 20, [0.5]);
  const base = summarizeMatching(plantedCorr.ab, 24, 20, [0.5]);
  assert.ok(Math.abs(m.bipartite.total - base.bipartite.total) < 1e-12);
  assert.deepEqual(m.semi.valueOfA, base.semi.valueOfA);
  // Dead units of A tie with every unit of B; the others have one best.
  const zeroA = expected.zero_variance_a as number[];
  const liveA = (partners: number[]) =>
    partners.filter((_, a) => !zeroA.includes(a));
  assert.deepEqual(liveA(m.semi.partnerOfA.map((j) => perm[j])),
    liveA(base.semi.partnerOfA));
  const zeroB = expected.zero_variance_b as number[];
  const mapped = m.bipartite.pairs.map(([a, j]) => [a, perm[j]])
    .filter(([, b]) => !zeroB.includes(b));
  assert.deepEqual(mapped,
    base.bipartite.pairs.filter(([, b]) => !zeroB.includes(b)));
});

test('all units dead: all-zero matrices and a summary without NaN', () => {
  const dead: NdArray = { dtype: 'float32', shape: [5, 3],
    data: new Float32Array(15) };
  const mm = jointMoments(dead, dead);
  const r = correlationsFromComoment(mm.comoment, 3, 3, mm);
  assert.ok(r.ab.every((v) => v === 0));
  const m = summarizeMatching(r.ab, 3, 3, [0.3]);
  assert.equal(m.bipartite.total, 0);
  assert.equal(m.bipartite.pairs.length, 3);
  assert.deepEqual(m.below, [{ threshold: 0.3, fraction: 1 }]);
  assert.ok(!JSON.stringify(m).includes('null'));
});

/** A normalize@ artifact holding the planted moments. */
function momentsArtifact(lists: Pick<NormalizeSummary, 'dead' | 'constant'>) {
  const dir = tempDir();
  const n = 44;
  writeNpy(join(dir, 'all.comoment.npy'), planted.comoment, [n, n]);
  writeNpy(join(dir, 'all.mean.npy'), planted.mean, [n]);
  const summary: NormalizeSummary = {
    unitsA: 24, unitsB: 20,
    count: { all: 20000, fit: 16000, holdout: 4000 },
    images: { fit: 16000, holdout: 4000 },
    ...lists,
  };
  return { dir, moments: artifact(dir, summary as any) };
}

const plantedLists = {
  dead: { a: [23], b: [19] }, constant: { a: [22], b: [] },
};

test('match@ writes the three matrices and the summary', async () => {
  const { dir, moments } = momentsArtifact(plantedLists);
  const run = await runStage(matchStage, {
    coords: { pair: ['a', 'b'], layer: 'planted' },
    inputs: { moments },
  });
  const ab = readNpy(join(run.out, 'corr_ab.npy'));
  assert.equal(ab.dtype, 'float64');
  assert.deepEqual(ab.shape, [24, 20]);
  assert.deepEqual(ab.data, plantedCorr.ab);
  assert.deepEqual(readNpy(join(run.out, 'corr_aa.npy')).data,
    plantedCorr.aa);
  assert.deepEqual(readNpy(join(run.out, 'corr_bb.npy')).shape, [20, 20]);

  const s = run.result.summary as unknown as MatchSummary;
  assert.deepEqual(s.below.map((b) => b.threshold), [0.3, 0.5, 0.7]);
  assert.ok(Math.abs(s.bipartite.total -
    expected.correlation_matching.bipartite_total) < 1e-8);
  assert.deepEqual(s.dead, plantedLists.dead);
  assert.deepEqual(s.constant, plantedLists.constant);
  assert.deepEqual(s.orderOfB.slice(0, 20),
    s.bipartite.pairs.map(([, b]) => b));
  assert.deepEqual([...s.orderOfB].sort((p, q) => p - q),
    [...Array(20).keys()]);
  assert.deepEqual(run.warnings, []);
  const pipeline = testPipeline({ root: dir });
  assert.deepEqual(matchStage.inputs({ pair: ['a', 'b'], layer: 'l' }, {},
    pipeline), [{ role: 'moments', stage: 'normalize',
    coords: { pair: ['a', 'b'], layer: 'l' } }]);
  removeDir(dir);
  removeDir(run.out);
});

test('match@ names zero-variance units that normalize@ missed', async () => {
  const { dir, moments } = momentsArtifact({
    dead: { a: [], b: [] }, constant: { a: [], b: [] } });
  const run = await runStage(matchStage, { inputs: { moments },
    params: { thresholds: [0.5] } });
  const s = run.result.summary as unknown as MatchSummary;
  assert.deepEqual(s.dead, plantedLists.dead);
  assert.deepEqual(s.constant, plantedLists.constant);
  assert.equal(run.warnings.length, 2);
  assert.match(run.warnings[0], /units 22, 23 of network A/);
  removeDir(dir);
  removeDir(run.out);
});

test('match@ runs its kernel on a worker thread', async () => {
  const { dir, moments } = momentsArtifact(plantedLists);
  const pool = createPool({ threads: 1 });
  try {
    const run = await runStage(matchStage, { inputs: { moments }, pool });
    const s = run.result.summary as unknown as MatchSummary;
    assert.equal(s.bipartite.pairs.length, 20);
    assert.ok(existsSync(join(run.out, 'corr_bb.npy')));
    removeDir(run.out);
  } finally {
    await pool.close();
    removeDir(dir);
  }
});

test('match@ refuses bad thresholds and mismatched moments', async () => {
  const { dir, moments } = momentsArtifact(plantedLists);
  await assert.rejects(runStage(matchStage, { inputs: { moments },
    params: { thresholds: 0.5 } }), { code: 'E_PIPELINE',
    message: /thresholds.*got 0\.5/ });
  const wrong = artifact(dir, { ...moments.summary, unitsB: 21 });
  await assert.rejects(runStage(matchStage, { inputs: { moments: wrong } }),
    { code: 'E_SHAPE', message: /all\.comoment\.npy.*\[44,44\].*\[45,45\]/ });
  await assert.rejects(runStage(matchStage, { inputs: {} }),
    { code: 'E_STAGE', message: /input 'moments'/ });
  removeDir(dir);
});
