import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { readNpy, writeNpy } from '../src/core/npy.js';
import { createPool } from '../src/runner/pool.js';
import { holdoutCount, splitImages } from '../src/kernels/normalize-split.js';
import { PartMerger } from '../src/kernels/normalize-combine.js';
import { normalizeStage } from '../src/stages/normalize.js';
import type { Artifact } from '../src/stages/types.js';
import { artifact, fixtureJson, fixtureNpy, removeDir, runStage,
  testPipeline,
  tempDir } from './helpers.js';
import { joinedValue, twoPassMoments } from './moments-reference.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

interface FakeLayer {
  data: Float32Array;
  units: number;
  height: number;
  width: number;
  /** Rows per chunk file. */
  chunks: number[];
}

/** An extract@ artifact holding one layer 'conv' as chunk files. */
function fakeExtract(network: string, layer: FakeLayer): Artifact {
  const dir = tempDir('convergent-extract-');
  dirs.push(dir);
  mkdirSync(join(dir, 'conv'));
  const names: string[] = [];
  let row = 0;
  layer.chunks.forEach((rows, k) => {
    const name = `conv/chunk-${String(k).padStart(5, '0')}.npy`;
    writeNpy(join(dir, name), layer.data.slice(row * layer.units,
      (row + rows) * layer.units), [rows, layer.units]);
    names.push(name);
    row += rows;
  });
  const positions = layer.height * layer.width;
  return artifact(dir, {
    network, images: row / positions,
    layers: { conv: { units: layer.units, samples: row,
      height: layer.height, width: layer.width, positions, chunks: names } },
  }, `extract@${network}`);
}

/** ReLU-like activations; `dead` units stay 0, `constant` ones 2.5. */
function activations(samples: number, units: number, seed: string,
  dead: number[] = [], constant: number[] = []): Float32Array {
  const rng = seedrandom(seed);
  const x = new Float32Array(samples * units);
  for (let s = 0; s < samples; s++) {
    const shared = rng();
    for (let j = 0; j < units; j++) {
      const v = shared * (j + 1) + rng() - 0.7;
      x[s * units + j] = dead.includes(j) ? 0
        : constant.includes(j) ? 2.5 : Math.max(0, v);
    }
  }
  return x;
}

/** Reference moments of [A | B] over the samples `take` keeps. */
function reference(a: Float32Array, b: Float32Array, na: number, nb: number,
  take: (sample: number) => boolean, samples: number) {
  const kept: number[] = [];
  for (let s = 0; s < samples; s++) if (take(s)) kept.push(s);
  const value = joinedValue(a, na, b, nb);
  return twoPassMoments(kept.length, na + nb, (r, i) => value(kept[r], i));
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>,
  tol: number, what: string) {
  assert.equal(got.length, want.length, what);
  let scale = 1e-30;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
  }
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) / scale;
    assert.ok(err <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

// 50 images of 2 × 2 positions; A has 5 units (unit 1 dead), B has 3
// (unit 2 constant). Chunk files of uneven sizes on both sides.
const images = 50;
const positions = 4;
const samples = images * positions;
const dataA = activations(samples, 5, 'net-a', [1]);
const dataB = activations(samples, 3, 'net-b', [], [2]);
const inputsAB = () => ({
  a: fakeExtract('na', { data: dataA, units: 5, height: 2, width: 2,
    chunks: [64, 64, 72] }),
  b: fakeExtract('nb', { data: dataB, units: 3, height: 2, width: 2,
    chunks: [100, 100] }),
});
const coords = { pair: ['na', 'nb'] as [string, string], layer: 'conv' };

describe('normalize@', () => {
  it('splits images, not samples, deterministically', () => {
    const mask = splitImages(images, 0.2, 3);
    assert.deepEqual(mask, splitImages(images, 0.2, 3));
    assert.notDeepEqual(mask, splitImages(images, 0.2, 4));
    assert.equal(mask.reduce((s, v) => s + v, 0), 10);
    assert.equal(holdoutCount(1, 0.5), 0, 'one image stays in fit');
    assert.equal(holdoutCount(10, 0), 0);
    assert.equal(splitImages(7, 0, 1).reduce((s, v) => s + v, 0), 0);
  });

  it('writes fit, holdout and all moments equal to a two-pass answer',
    async () => {
      const { result, out, records } = await runStage(normalizeStage, {
        params: { holdout: 0.2, seed: 3, engine: 'js', chunk: 7 },
        coords, inputs: inputsAB(),
      });
      const mask = splitImages(images, 0.2, 3);
      const imageOf = (s: number) => Math.floor(s / positions);
      const want = {
        all: reference(dataA, dataB, 5, 3, () => true, samples),
        fit: reference(dataA, dataB, 5, 3, (s) => !mask[imageOf(s)], samples),
        holdout: reference(dataA, dataB, 5, 3, (s) => !!mask[imageOf(s)],
          samples),
      };
      for (const [split, w] of Object.entries(want)) {
        const mean = readNpy(join(out, `${split}.mean.npy`));
        const comoment = readNpy(join(out, `${split}.comoment.npy`));
        assert.equal(mean.dtype, 'float64');
        assert.deepEqual(comoment.shape, [8, 8]);
        assertClose(mean.data, w.mean, 1e-7, `${split}.mean`);
        assertClose(comoment.data, w.comoment, 1e-7, `${split}.comoment`);
      }

      const s = result.summary as any;
      assert.deepEqual(s.count, { all: 200, fit: 160, holdout: 40 });
      assert.deepEqual(s.images, { fit: 40, holdout: 10 });
      assert.deepEqual(s.dead, { a: [1], b: [] });
      assert.deepEqual(s.constant, { a: [], b: [2] });
      assert.equal(s.unitsA, 5);
      assert.equal(s.engine, 'js');
      assert.equal((records.engine as any).name, 'js');

      const std = readNpy(join(out, 'std.npy')).data;
      for (let j = 0; j < 8; j++) {
        const v = want.all.comoment[j * 8 + j] / samples;
        assert.ok(Math.abs(std[j] - Math.sqrt(v)) < 1e-7, `std[${j}]`);
      }
      assert.equal(std[1], 0);
      assert.equal(std[7], 0);
      const all = readNpy(join(out, 'all.comoment.npy')).data;
      for (const j of [1, 7]) {
        for (let k = 0; k < 8; k++) assert.equal(all[j * 8 + k], 0);
      }
      assert.equal(readNpy(join(out, 'all.mean.npy')).data[7], 2.5);
    });

  it('merges several pool tasks into the same moments as inline',
    async () => {
      // 40,000 samples make two tasks of at most 32,768 samples.
      const big = 40_000;
      const xa = activations(big, 3, 'big-a', [2]);
      const xb = activations(big, 2, 'big-b');
      const inputs = () => ({
        a: fakeExtract('na', { data: xa, units: 3, height: 2, width: 2,
          chunks: [25_000, 15_000] }),
        b: fakeExtract('nb', { data: xb, units: 2, height: 2, width: 2,
          chunks: [big] }),
      });
      const params = { holdout: 0.3, seed: 1, engine: 'js' };
      const inline = await runStage(normalizeStage,
        { params, coords, inputs: inputs() });
      assert.equal(inline.records.tasks, 2);
      const mask = splitImages(big / 4, 0.3, 1);
      const want = reference(xa, xb, 3, 2, (s) => !!mask[s >> 2], big);
      assertClose(readNpy(join(inline.out, 'holdout.comoment.npy')).data,
        want.comoment, 1e-7, 'holdout.comoment');
      assert.deepEqual((inline.result.summary as any).dead,
        { a: [2], b: [] });

      const pool = createPool({ threads: 2 });
      try {
        const pooled = await runStage(normalizeStage,
          { params, coords, inputs: inputs(), pool });
        for (const split of ['all', 'fit', 'holdout']) {
          for (const f of [`${split}.comoment.npy`, `${split}.mean.npy`]) {
            assert.deepEqual(readNpy(join(pooled.out, f)).data,
              readNpy(join(inline.out, f)).data, f);
          }
        }
      } finally {
        await pool.close();
      }
    });

  it('matches the planted fixture through the default engine', async () => {
    const a = fixtureNpy('planted-small', 'net_a.npy');
    const b = fixtureNpy('planted-small', 'net_b.npy');
    const expected = fixtureNpy('planted-small', 'expected_correlation.npy');
    const answers = fixtureJson('planted-small', 'expected.json');
    const [rows, na] = a.shape;
    const nb = b.shape[1];
    const inputs = {
      a: fakeExtract('a', { data: a.data as Float32Array, units: na,
        height: 1, width: 1, chunks: [7000, 7000, 6000] }),
      b: fakeExtract('b', { data: b.data as Float32Array, units: nb,
        height: 1, width: 1, chunks: [rows] }),
    };
    const { result, out } = await runStage(normalizeStage, {
      params: { holdout: 0 }, coords: { pair: ['a', 'b'], layer: 'conv' },
      inputs,
    });
    const n = na + nb;
    const c = readNpy(join(out, 'all.comoment.npy')).data;
    let err = 0;
    for (let i = 0; i < na; i++) {
      for (let j = 0; j < nb; j++) {
        const v = c[i * n + i] * c[(na + j) * n + na + j];
        const r = v > 0 ? c[i * n + na + j] / Math.sqrt(v) : 0;
        err = Math.max(err, Math.abs(r - expected.data[i * nb + j]));
      }
    }
    assert.ok(err < 1e-6, `correlation off by ${err}`);
    const s = result.summary as any;
    assert.deepEqual([...s.dead.a, ...s.constant.a].sort(),
      answers.zero_variance_a);
    assert.deepEqual([...s.dead.b, ...s.constant.b].sort(),
      answers.zero_variance_b);
    assert.deepEqual(s.constant.a, [22]);
    assert.equal(s.count.holdout, 0);
    assert.deepEqual([...readNpy(join(out, 'holdout.comoment.npy')).data]
      .filter((v) => v !== 0), []);
  });

  it('calls a unit constant only if every part saw one value', () => {
    // Two parts of two units: unit 0 is 5 in both, unit 1 is 1 then 2.
    const part = (count: number, v1: number) => ({
      units: 2, count, mean: new Float64Array([5, v1]),
      comoment: new Float64Array(4), first: new Float64Array([5, v1]),
      varies: new Uint8Array(2),
    });
    const merger = new PartMerger(2);
    merger.add(part(3, 1));
    merger.add(part(0, NaN));
    merger.add(part(1, 2));
    const m = merger.result();
    assert.deepEqual([...m.zero], [1, 0]);
    assert.equal(m.count, 4);
    assert.deepEqual([...m.mean], [5, 1.25]);
    // Between-part spread: 3·1/4·(2 − 1)² = 0.75.
    assert.deepEqual([...m.comoment], [0, 0, 0, 0.75]);
  });

  it('refuses layers of different spatial size, naming both', async () => {
    const inputs = {
      a: inputsAB().a,
      b: fakeExtract('nb', { data: dataB, units: 3, height: 1, width: 4,
        chunks: [200] }),
    };
    await assert.rejects(runStage(normalizeStage, { coords, inputs }),
      (e: Error & { code?: string }) => e.code === 'E_SHAPE' &&
        /na gives 200 samples \(2×2 map/.test(e.message) &&
        /nb gives 200 samples \(1×4 map/.test(e.message) &&
        / declare layout: nchw for it\.$/.test(e.message));
  });

  it('points at a declared map when the sides do not align', async () => {
    const inputs = {
      a: inputsAB().a,
      b: fakeExtract('nb', { data: dataB.subarray(0, 196 * 3), units: 3,
        height: 2, width: 2, chunks: [196] }),
    };
    const pipeline = testPipeline({ networks: {
      na: { name: 'na', activations: 'a.npy' },
      nb: { name: 'nb', activations: 'b.npy', map: [2, 2] } } });
    await assert.rejects(runStage(normalizeStage,
      { coords, inputs, pipeline }), / networks\.nb\.map reads its conv /);
  });

  it('refuses different sample counts and a missing layer', async () => {
    const inputs = {
      a: inputsAB().a,
      b: fakeExtract('nb', { data: dataB.subarray(0, 196 * 3), units: 3,
        height: 2, width: 2, chunks: [196] }),
    };
    await assert.rejects(runStage(normalizeStage, { coords, inputs }),
      new RegExp('na gives 200 samples \\(2×2 map, 4 positions per image, ' +
        '50 images\\), nb gives 196 samples \\(2×2 map, 4 positions per ' +
        'image, 49 images\\)\\..* They hold different numbers of images ' +
        '\\(50 and 49\\): export or extract both from the same images\\.$'));
    await assert.rejects(runStage(normalizeStage, {
      coords: { ...coords, layer: 'fc' }, inputs: inputsAB(),
    }), /has no layer 'fc' \(it has conv\)/);
  });

  it('refuses bad parameters and NaN activations', async () => {
    for (const params of [{ holdout: 1 }, { seed: 0.5 },
      { engine: 'gpu' }, { chunk: -3 }]) {
      await assert.rejects(runStage(normalizeStage,
        { params, coords, inputs: inputsAB() }), /E_USAGE|parameter/);
    }
    const bad = dataA.slice();
    bad[3 * 5 + 2] = NaN;
    const inputs = { ...inputsAB(), a: fakeExtract('na', { data: bad,
      units: 5, height: 2, width: 2, chunks: [200] }) };
    await assert.rejects(runStage(normalizeStage,
      { params: { engine: 'js' }, coords, inputs }),
      /unit 2 has NaN or infinite activations/);
  });
});
