import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { binLayer, binUnit, type LayerBins } from '../src/kernels/binning.js';
import { mutualInfo } from '../src/kernels/mutual-info.js';
import { mutualInfoOnPool } from '../src/kernels/mutual-info-parallel.js';
import { summarizeMatching } from '../src/kernels/matching.js';
import { createPool, inlinePool } from '../src/runner/pool.js';
import { fixtureJson, fixtureNpy } from './helpers.js';

/** Sample-major [samples, units] -> unit-major [units, samples]. */
function unitMajor(data: Float32Array, samples: number, units: number) {
  const out = new Float32Array(samples * units);
  for (let s = 0; s < samples; s++) {
    for (let u = 0; u < units; u++) out[u * samples + s] = data[s * units + u];
  }
  return out;
}

function plantedLayer(file: string): LayerBins {
  const { data, shape } = fixtureNpy('planted-small', file);
  const [samples, units] = shape;
  return binLayer(unitMajor(data as Float32Array, samples, units), units,
    samples, 20, 1e-6, true);
}

const miOf = (a: LayerBins, b: LayerBins) => mutualInfo(a.codes, a.counts,
  a.units, b.codes, b.counts, b.units, a.samples, a.bins + 1);

const netA = plantedLayer('net_a.npy');
const netB = plantedLayer('net_b.npy');
const planted = miOf(netA, netB);

describe('mutual information, exact small cases', () => {
  test('a 2x2 joint histogram gives the hand-computed MI', () => {
    // a: [0, 0, 5, 7] -> codes [0, 0, 1, 1]; b: [0, 2, 3, 9] -> [0, 1, 1, 1]
    // p(0,0) = p(0,1) = 1/4, p(1,1) = 1/2; p(a) = [1/2, 1/2],
    // p(b) = [1/4, 3/4]:
    // MI = 1/4 log 2 + 1/4 log(2/3) + 1/2 log(4/3) = 0.2157615543...
    const a = binUnit([0, 0, 5, 7], 1);
    const b = binUnit([0, 2, 3, 9], 1);
    const mi = mutualInfo(a.codes, a.counts, 1, b.codes, b.counts, 1, 4, 2);
    const hand = Math.log(2) / 4 + Math.log(2 / 3) / 4 + Math.log(4 / 3) / 2;
    assert.ok(Math.abs(mi[0] - hand) < 1e-15);
    assert.ok(Math.abs(mi[0] - 0.2157615543388357) < 1e-12);
  });

  test('independent codes give exactly 0', () => {
    // every combination of a in {0, 1} and b in {0, 1, 2} once
    const a = binUnit([0, 0, 0, 1, 1, 1], 1);
    const b = binUnit([0, 1, 2, 0, 1, 2], 2);
    const mi = mutualInfo(a.codes, a.counts, 1, b.codes, b.counts, 1, 6, 3);
    assert.ok(Math.abs(mi[0]) < 1e-15);
  });
});

describe('mutual information on the planted fixture', () => {
  const expected = fixtureNpy('planted-small', 'expected_mutual_info.npy');

  test('matches NumPy (20 bins, zero 1e-6, nats) to 1e-4', () => {
    assert.deepEqual(expected.shape, [24, 20]);
    let worst = 0;
    for (let k = 0; k < planted.length; k++) {
      worst = Math.max(worst, Math.abs(planted[k] - expected.data[k]));
    }
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  });

  test('the matching on MI agrees with expected.json', () => {
    const want = fixtureJson('planted-small', 'expected.json')
      .mutual_info_matching;
    const m = summarizeMatching(planted, 24, 20, [0.1]);
    assert.ok(Math.abs(m.bipartite.total - want.bipartite_total) < 20 * 1e-4);
    assert.deepEqual(m.bipartite.pairs, want.bipartite_pairs);
    want.semi_a_to_b_max.forEach((v: number, i: number) =>
      assert.ok(Math.abs(m.semi.valueOfA[i] - v) < 1e-4, `A unit ${i}`));
    want.semi_b_to_a_max.forEach((v: number, j: number) =>
      assert.ok(Math.abs(m.semi.valueOfB[j] - v) < 1e-4, `B unit ${j}`));
  });

  test('blocks on a worker pool give the same matrix', async () => {
    const inline = await mutualInfoOnPool(inlinePool(), netA, netB,
      { blocks: 5 });
    assert.deepEqual(inline, planted);

    const pool = createPool({ threads: 2 });
    after(() => pool.close());
    const seen: number[] = [];
    const threaded = await mutualInfoOnPool(pool, netA, netB,
      { blocks: 3, progress: (done) => seen.push(done) });
    assert.deepEqual(threaded, planted);
    assert.deepEqual(seen, [1, 2, 3]);
  });
});

describe('mutual information, properties', () => {
  test('MI is never negative', () => {
    for (const v of planted) assert.ok(v >= 0);
    const self = miOf(netB, netB);
    for (const v of self) assert.ok(v >= 0);
  });

  test('MI of a unit with itself is the entropy of its binning', () => {
    const self = miOf(netA, netA);
    const levels = netA.bins + 1;
    for (let u = 0; u < netA.units; u++) {
      let entropy = 0;
      for (let c = 0; c < levels; c++) {
        const p = netA.counts[u * levels + c] / netA.samples;
        if (p > 0) entropy -= p * Math.log(p);
      }
      assert.ok(Math.abs(self[u * netA.units + u] - entropy) < 1e-12,
        `unit ${u}: ${self[u * netA.units + u]} vs entropy ${entropy}`);
    }
  });

  test('swapping A and B transposes the matrix', () => {
    const swapped = miOf(netB, netA);
    for (let i = 0; i < 24; i++) {
      for (let j = 0; j < 20; j++) {
        assert.ok(Math.abs(swapped[j * 24 + i] - planted[i * 20 + j]) < 1e-12);
      }
    }
  });

  test('a strictly increasing transform above zero leaves MI unchanged', () => {
    // x -> x^3 + 2x maps (1e-6, inf) into (2e-6, inf), so no value crosses
    // `zero`; values at or below zero are kept as they are, so bin 0 holds
    // the same samples. Above zero the order is kept, and every quantile
    // edge either equals an order statistic (and maps with it) or lies
    // strictly between two, so every value keeps its bin.
    const { data, shape } = fixtureNpy('planted-small', 'net_a.npy');
    const [samples, units] = shape;
    const values = unitMajor(data as Float32Array, samples, units);
    const warped = Float64Array.from(values,
      (x) => (x > 1e-6 ? x * x * x + 2 * x : x));
    const bent = binLayer(warped, units, samples, 20, 1e-6);
    assert.deepEqual(bent.codes, netA.codes);
    assert.deepEqual(miOf(bent, netB), planted);
  });

  test('a unit with a single occupied bin has MI 0 and is named', () => {
    // A 22 is constant 3, A 23 and B 19 are dead
    assert.deepEqual(netA.single, [22, 23]);
    assert.deepEqual(netB.single, [19]);
    for (let j = 0; j < 20; j++) {
      assert.equal(planted[22 * 20 + j], 0);
      assert.equal(planted[23 * 20 + j], 0);
    }
    for (let i = 0; i < 24; i++) assert.equal(planted[i * 20 + 19], 0);
  });

  test('the codes are not modified', () => {
    const before = netA.codes.slice();
    miOf(netA, netB);
    assert.deepEqual(netA.codes, before);
  });

  test('empty layers give an empty matrix', () => {
    const empty = binLayer(new Float32Array(0), 0, 20000);
    assert.equal(miOf(empty, netB).length, 0);
    assert.equal(miOf(netA, empty).length, 0);
  });
});
