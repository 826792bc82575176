import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { binLayer, binUnit, type LayerBins } from '../src/kernels/binning.js';
import { mutualInfo } from '../src/kernels/mutual-info.js';
import { binLayerOnPool, mutualInfoOnPool }
  from '../src/kernels/mutual-info-parallel.js';
import { summarizeMatching } from '../src/kernels/matching.js';
import { createPool, inlinePool } from '../src/runner/pool.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, writeNpy } from '../src/core/npy.js';
import { drawSamples, mutualInfoStage } from '../src/stages/mutual-info.js';
import type { ExtractSummary } from '../src/stages/summaries.js';
import { artifact, fixtureJson, fixtureNpy, removeDir, runStage, tempDir,
  testPipeline } from './helpers.js';

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

  test('binning on a worker pool gives the same codes', async () => {
    const { data, shape } = fixtureNpy('planted-small', 'net_a.npy');
    const [samples, units] = shape;
    const plain = unitMajor(data as Float32Array, samples, units);
    const shared = new Float32Array(new SharedArrayBuffer(plain.byteLength));
    shared.set(plain);
    for (const values of [plain, shared]) {
      const pooled = await binLayerOnPool(inlinePool(), values, units,
        samples, 20, 1e-6);
      assert.deepEqual(pooled.codes, netA.codes);
      assert.deepEqual(pooled.counts, netA.counts);
      assert.deepEqual(pooled.single, netA.single);
    }
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

    // Binning on real threads writes the shared codes in place.
    const { data, shape } = fixtureNpy('planted-small', 'net_b.npy');
    const values = unitMajor(data as Float32Array, shape[0], shape[1]);
    const pooled = await binLayerOnPool(pool, values, shape[1], shape[0]);
    assert.deepEqual(pooled.codes, netB.codes);
    assert.deepEqual(pooled.single, [19]);
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

/**
 * An extract@ artifact holding one layer 'fc' of a planted network, cut
 * into chunks of `rows` samples; `edit` may change the values first.
 */
function extractOf(file: string, rows = 7000,
  edit?: (data: Float32Array) => void) {
  const { data, shape } = fixtureNpy('planted-small', file);
  const [samples, units] = shape;
  const values = (data as Float32Array).slice();
  edit?.(values);
  const dir = tempDir('convergent-extract-');
  mkdirSync(join(dir, 'fc'));
  const chunks: string[] = [];
  for (let start = 0; start < samples; start += rows) {
    const end = Math.min(samples, start + rows);
    const name = `fc/chunk-${String(chunks.length).padStart(5, '0')}.npy`;
    writeNpy(join(dir, name), values.subarray(start * units, end * units),
      [end - start, units]);
    chunks.push(name);
  }
  const summary: ExtractSummary = {
    network: file, images: samples,
    layers: { fc: { units, samples, height: 1, width: 1, positions: 1,
      chunks } },
  };
  return artifact(dir, summary as unknown as Record<string, any>);
}

describe('mutual-info stage', () => {
  const a = extractOf('net_a.npy');
  const b = extractOf('net_b.npy', 6000);
  const coords = { pair: ['a', 'b'] as [string, string], layer: 'fc' };
  const expected = fixtureJson('planted-small', 'expected.json');
  const runs: string[] = [];
  after(() => {
    for (const dir of [a.dir, b.dir, ...runs]) removeDir(dir);
  });
  const run = async (params: Record<string, unknown>,
    inputs: Record<string, any> = { a, b }) => {
    const done = await runStage(mutualInfoStage, { params, coords, inputs });
    runs.push(done.out);
    return done;
  };

  test('on all rows it writes the reference MI and its matching', async () => {
    const { result, out, warnings } = await run({ samples: 20000 });
    const mi = readNpy(join(out, 'mi.npy'));
    const want = fixtureNpy('planted-small', 'expected_mutual_info.npy');
    assert.deepEqual(mi.shape, [24, 20]);
    for (let k = 0; k < mi.data.length; k++) {
      assert.ok(Math.abs(mi.data[k] - want.data[k]) < 1e-4);
    }
    assert.deepEqual(warnings, []);

    const summary = result.summary as any;
    const matching = expected.mutual_info_matching;
    assert.equal(summary.samples, 20000);
    assert.equal(summary.unit, 'nats');
    assert.deepEqual(summary.single, { a: [22, 23], b: [19] });
    assert.deepEqual(summary.bipartite.pairs, matching.bipartite_pairs);
    assert.ok(Math.abs(summary.bipartite.total - matching.bipartite_total)
      < 20 * 1e-4);
    assert.equal(summary.agreeWithCorrelation, undefined);

    // Default thresholds: Gaussian MI of correlations 0.3, 0.5, 0.7.
    const gauss = [0.3, 0.5, 0.7].map((r) => -0.5 * Math.log(1 - r * r));
    summary.below.forEach((entry: any, k: number) => {
      assert.ok(Math.abs(entry.threshold - gauss[k]) < 1e-4);
      const under = matching.semi_a_to_b_max
        .filter((v: number) => v < entry.threshold).length;
      assert.equal(entry.fraction, under / 24);
    });
  });

  test('it counts A units matched alike on MI and correlation', async () => {
    const corrPairs: [number, number][] =
      expected.correlation_matching.bipartite_pairs;
    const miPairs: [number, number][] =
      expected.mutual_info_matching.bipartite_pairs;
    const alike = miPairs.filter(([i, j]) =>
      corrPairs.some(([p, q]) => p === i && q === j)).length;
    const correlation = artifact(tempDir(), {
      unitsA: 24, unitsB: 20, bipartite: { pairs: corrPairs } });
    runs.push(correlation.dir);
    const { result } = await run({ samples: 20000 },
      { a, b, correlation });
    assert.equal(alike, 14);
    assert.equal((result.summary as any).agreeWithCorrelation, alike);
  });

  test('bits are nats divided by ln 2', async () => {
    const nats = readNpy(join((await run({ samples: 20000 })).out, 'mi.npy'));
    const bits = await run({ samples: 20000, unit: 'bits' });
    const mi = readNpy(join(bits.out, 'mi.npy'));
    for (let k = 0; k < mi.data.length; k++) {
      assert.ok(Math.abs(mi.data[k] - nats.data[k] / Math.LN2) < 1e-12);
    }
    const thresholds = (bits.result.summary as any).below
      .map((e: any) => e.threshold);
    assert.deepEqual(thresholds, [0.06803, 0.2075, 0.4857]);
  });

  test('fewer samples than asked: all are used, with a warning', async () => {
    const { result, warnings } = await run({ samples: 30000 });
    assert.equal((result.summary as any).samples, 20000);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /30000 samples asked for.*using all 20000/);
  });

  test('a subsample is seeded and the same for both networks', async () => {
    const first = await run({ samples: 5000, seed: 3 }, { a, b: a });
    const again = await run({ samples: 5000, seed: 3 }, { a, b: a });
    const other = await run({ samples: 5000, seed: 4 }, { a, b: a });
    const mi = readNpy(join(first.out, 'mi.npy')).data;
    assert.deepEqual(readNpy(join(again.out, 'mi.npy')).data, mi);
    assert.notDeepEqual(readNpy(join(other.out, 'mi.npy')).data, mi);

    // A against itself on the same samples: the diagonal is each unit's
    // entropy, far above its MI with the other units (about 0.01).
    for (let u = 0; u < 22; u++) {
      assert.ok(mi[u * 24 + u] > 1, `unit ${u}: ${mi[u * 24 + u]}`);
    }
  });

  test('the draw is uniform without replacement', () => {
    const picked = drawSamples(1000, 500, 0);
    assert.equal(new Set(picked).size, 500);
    assert.ok(picked.every((v, k) => v >= 0 && v < 1000 &&
      (k === 0 || v > picked[k - 1])));
    // Each index is picked with probability 1/2: the mean is near 499.5.
    const mean = picked.reduce((s, v) => s + v, 0) / 500;
    assert.ok(Math.abs(mean - 499.5) < 30);
    assert.deepEqual(Array.from(drawSamples(3, 5, 0)), [0, 1, 2]);
  });

  test('layers of different sample counts are refused', async () => {
    const short = extractOf('net_b.npy');
    runs.push(short.dir);
    (short.summary as any).layers.fc.samples = 19000;
    (short.summary as any).layers.fc.height = 2;
    await assert.rejects(run({}, { a, b: short }),
      /layer fc of a and b: got 1x1 with 20000 samples and 2x1 with 19000/);
  });

  test('a NaN activation names its file, row and unit', async () => {
    const bad = extractOf('net_b.npy', 7000, (data) => {
      data[7001 * 20 + 4] = NaN;
    });
    runs.push(bad.dir);
    await assert.rejects(run({ samples: 20000 }, { a, b: bad }),
      (err: any) => err.code === 'E_INPUT' &&
        /chunk-00001\.npy: row 1, unit 4 is NaN/.test(err.message));
  });

  test('bad parameters are refused with their path', async () => {
    await assert.rejects(run({ bins: 300 }),
      /stages\.mutual-info\.bins.*from 1 to 255, got 300/);
    await assert.rejects(run({ unit: 'bans' }),
      /stages\.mutual-info\.unit/);
    await assert.rejects(run({ thresholds: [0.1, 'x'] }),
      /stages\.mutual-info\.thresholds/);
  });

  test('it reads match@ only when the pipeline has a match stage', () => {
    const bare = testPipeline({ stages: {} });
    const withMatch = testPipeline({
      stages: { match: { kind: 'match', params: {} } } });
    const roles = (p: any) => mutualInfoStage.inputs(coords, {}, p)
      .map((r) => r.role);
    assert.deepEqual(roles(bare), ['a', 'b']);
    assert.deepEqual(roles(withMatch), ['a', 'b', 'correlation']);
    removeDir(bare.root);
    removeDir(withMatch.root);
  });
});
