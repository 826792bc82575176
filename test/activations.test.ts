import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { setFloat16 } from '@petamoriken/float16';
import { encodeNpy, readNpy } from '../src/core/npy.js';
import { ConvergentError } from '../src/core/errors.js';
import { checkAligned, checkLayersAlign, describeImported }
  from '../src/data/activations.js';
import { alignFlat } from '../src/data/align.js';
import { positionsOf } from '../src/data/positions.js';
import { extractStage } from '../src/stages/extract.js';
import type { ExtractSummary } from '../src/stages/summaries.js';
import type { NetworkSpec } from '../src/stages/types.js';
import seedrandom from 'seedrandom';
import { createLogger } from '../src/core/log.js';
import { loadPipeline } from '../src/pipeline/resolve.js';
import { cachedArtifacts } from '../src/report/cli.js';
import { plainProgress } from '../src/runner/progress.js';
import { runPipeline } from '../src/runner/run.js';
import { builtinRegistry } from '../src/stages/index.js';
import { removeDir, runStage, tempDir, testPipeline } from './helpers.js';

const N = 6;
const H = 3;
const W = 4;
const C = 5;

/**
 * A value that names its image, position and unit, (i·H·W + q)·C + u;
 * all below 2048, so float16 holds them exactly.
 */
const value = (i: number, q: number, u: number) => (i * H * W + q) * C + u;

function nhwc(): Float32Array {
  const out = new Float32Array(N * H * W * C);
  for (let i = 0; i < N; i++) {
    for (let q = 0; q < H * W; q++) {
      for (let u = 0; u < C; u++) out[(i * H * W + q) * C + u] = value(i, q, u);
    }
  }
  return out;
}

function nchw(): Float64Array {
  const out = new Float64Array(N * C * H * W);
  for (let i = 0; i < N; i++) {
    for (let u = 0; u < C; u++) {
      for (let q = 0; q < H * W; q++) out[(i * C + u) * H * W + q] = value(i, q, u);
    }
  }
  return out;
}

/** A float16 .npy written by hand (encodeNpy writes no float16). */
function float16Npy(data: Float32Array, shape: number[]): Buffer {
  const head = encodeNpy(new Float32Array(0), [0]);
  const text = `{'descr': '<f2', 'fortran_order': False, 'shape': ` +
    `(${shape.join(', ')}), }`;
  const pad = 64 - ((10 + text.length + 1) % 64);
  const header = text + ' '.repeat(pad % 64) + '\n';
  const body = Buffer.alloc(data.length * 2);
  const view = new DataView(body.buffer);
  data.forEach((v, i) => setFloat16(view, 2 * i, v, true));
  const prefix = Buffer.from(head.subarray(0, 10));
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]);
}

function samples(out: string, s: ExtractSummary, layer: string): Float32Array {
  const parts = s.layers[layer].chunks.map((c) => readNpy(join(out, c)).data);
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p as Float32Array, at); at += p.length; }
  return all;
}

describe('imported activations', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
    writeFileSync(join(dir, 'a-nhwc.npy'), encodeNpy(nhwc(), [N, H, W, C]));
    writeFileSync(join(dir, 'b-nchw.npy'), encodeNpy(nchw(), [N, C, H, W]));
    const half = new Float32Array(nchw());
    writeFileSync(join(dir, 'c-nchw.npy'), float16Npy(half, [N, C, H, W]));
    writeFileSync(join(dir, 'd.npz'), zipSync({
      'a.npy': encodeNpy(nhwc(), [N, H, W, C]),
      'dense.npy': encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [N, 1]),
    }));
    writeFileSync(join(dir, 'ints.npy'), encodeNpy(new Int32Array(N * 2), [N, 2]));
    writeFileSync(join(dir, 'three.npy'), encodeNpy(new Float32Array(N * 4), [N, 2, 2]));
  });
  after(() => removeDir(dir));

  const run = (spec: Partial<NetworkSpec>, layers: string[],
    params: Record<string, unknown> = {}, images = 0) => runStage(extractStage, {
    coords: { network: 'x' }, params: { batch: 4, ...params },
    pipeline: testPipeline({ root: dir, layers, networks: {
      x: { name: 'x', ...spec } },
    data: { source: images ? 'mnist' : 'none', split: 'test', images } }),
  });

  it('gives the same samples from nhwc float32, nchw float64 and nchw float16',
    async () => {
      const want = nhwc();
      for (const spec of [
        { activations: join(dir, '{layer}-nhwc.npy') },
        { activations: join(dir, 'b-nchw.npy'), layout: 'nchw' as const },
        { activations: join(dir, 'c-nchw.npy'), layout: 'nchw' as const },
        { activations: join(dir, 'd.npz') },
      ]) {
        const { result, out } = await run(spec, ['a']);
        const s = result.summary as unknown as ExtractSummary;
        assert.equal(s.backend, 'import');
        assert.equal(s.images, N);
        assert.deepEqual({ ...s.layers.a, chunks: s.layers.a.chunks.length },
          { units: C, height: H, width: W, positions: H * W,
            samples: N * H * W, chunks: 2 });
        assert.deepEqual(samples(out, s, 'a'), want, spec.activations);
      }
    });

  it('keeps [samples, units] arrays whole, one sample per row', async () => {
    const { result, out } = await run({ activations: join(dir, 'd.npz') },
      ['dense'], { positions: 3 });
    const s = result.summary as unknown as ExtractSummary;
    assert.deepEqual({ ...s.layers.dense, chunks: 0 },
      { units: 1, height: 1, width: 1, positions: 1, samples: 6, chunks: 0,
        flat: true });
    assert.deepEqual([...samples(out, s, 'dense')], [1, 2, 3, 4, 5, 6]);
  });

  it('takes the first data.images images when the pipeline has data', async () => {
    const { result } = await run({ activations: join(dir, '{layer}-nhwc.npy') },
      ['a'], {}, 4);
    assert.equal((result.summary as any).layers.a.samples, 4 * H * W);
    await assert.rejects(run({ activations: join(dir, '{layer}-nhwc.npy') },
      ['a'], {}, 7), /a-nhwc.npy: got 6 images \(\[6,3,4,5\]\), expected at least the 7 images/);
  });

  it('draws the same positions for networks of different width', async () => {
    const a = await run({ activations: join(dir, '{layer}-nhwc.npy') }, ['a'],
      { positions: 5, seed: 11 });
    const sa = a.result.summary as unknown as ExtractSummary;
    // A second network: same images and map size, 2 units instead of 5.
    const narrow = new Float32Array(N * H * W * 2);
    for (let i = 0; i < N * H * W; i++) {
      narrow[2 * i] = nhwc()[i * C];
      narrow[2 * i + 1] = -1;
    }
    writeFileSync(join(dir, 'narrow.npy'), encodeNpy(narrow, [N, H, W, 2]));
    const b = await run({ activations: join(dir, 'narrow.npy') }, ['a'],
      { positions: 5, seed: 11 });
    const sb = b.result.summary as unknown as ExtractSummary;
    const ga = samples(a.out, sa, 'a');
    const gb = samples(b.out, sb, 'a');
    assert.equal(sa.layers.a.samples, N * 5);
    assert.equal(sb.layers.a.samples, N * 5);
    for (let r = 0; r < N * 5; r++) {
      assert.equal(ga[r * C], gb[r * 2]);
      // Each row is at the position the shared rule draws for its image.
      const i = Math.floor(r / 5);
      const q = positionsOf(i, H, W, 5, 11)[r % 5];
      assert.equal(ga[r * C + 3], value(i, q, 3));
    }
    // The draw differs by image and by seed, and holds distinct positions.
    assert.notDeepEqual([...positionsOf(0, H, W, 5, 11)], [...positionsOf(1, H, W, 5, 11)]);
    assert.notDeepEqual([...positionsOf(0, H, W, 5, 11)], [...positionsOf(0, H, W, 5, 12)]);
    assert.equal(new Set(positionsOf(2, H, W, 5, 11)).size, 5);
    checkLayersAlign('a', sa, sb);
  });

  it('reads [samples, units] with a declared map as the maps it flattens',
    async () => {
      // The nhwc maps as a user would export them already flattened.
      writeFileSync(join(dir, 'flat.npy'), encodeNpy(nhwc(), [N * H * W, C]));
      const params = { positions: 5, seed: 11 };
      const maps = await run({ activations: join(dir, '{layer}-nhwc.npy') },
        ['a'], params);
      const sm = maps.result.summary as unknown as ExtractSummary;
      for (const map of [[H, W], { a: [H, W] }] as NetworkSpec['map'][]) {
        const flat = await run({ activations: join(dir, 'flat.npy'), map },
          ['a'], params);
        const sf = flat.result.summary as unknown as ExtractSummary;
        assert.deepEqual(sf.layers.a, sm.layers.a);
        assert.equal(sf.images, N);
        // positions: 5 drew the same positions of the same images.
        assert.deepEqual(samples(flat.out, sf, 'a'), samples(maps.out, sm, 'a'));
      }
      // data.images takes the first images, H·W rows each.
      const first = await run({ activations: join(dir, 'flat.npy'),
        map: [H, W] }, ['a'], {}, 4);
      const s4 = first.result.summary as unknown as ExtractSummary;
      assert.deepEqual(samples(first.out, s4, 'a'),
        nhwc().subarray(0, 4 * H * W * C));
    });

  it('refuses a declared map that does not fit the array or the layers',
    async () => {
      writeFileSync(join(dir, 'flat.npy'), encodeNpy(nhwc(), [N * H * W, C]));
      await assert.rejects(run({ activations: join(dir, 'flat.npy'),
        map: [5, 5] }, ['a']), (e: ConvergentError) => e.code === 'E_SHAPE' &&
        /flat.npy: got \[72,5\], 72 rows, expected a multiple of 5·5 = 25 rows/
          .test(e.message));
      await assert.rejects(run({ activations: join(dir, '{layer}-nhwc.npy'),
        map: [4, 3] }, ['a']),
      (e: Error) => e.message.includes('got a 3×4 map ([6,3,4,5], layout ' +
        'nhwc), expected the declared map [4,3]'));
      // A map naming a layer the pipeline lacks: see pipeline.test.ts
      // (validate refuses it before anything runs).
    });

  it('says when data.images does not apply to a flat array taken whole',
    async () => {
      writeFileSync(join(dir, 'rows.npy'), encodeNpy(nhwc(), [N * H * W, C]));
      const cut = await run({ activations: join(dir, 'rows.npy') }, ['a'],
        {}, 4);
      assert.equal(cut.warnings.length, 1);
      assert.match(cut.warnings[0], new RegExp('layer a of .*rows.npy is a ' +
        '\\[samples, units\\] array with no declared map, taken whole ' +
        `\\(${N * H * W} rows\\); data.images \\(4\\) does not apply to it. ` +
        'Declare its map \\(networks.x.map: \\{ a: \\[H, W\\] \\}'));
      const declared = await run({ activations: join(dir, 'rows.npy'),
        map: [H, W] }, ['a'], {}, 4);
      assert.deepEqual(declared.warnings, []);
      const whole = await run({ activations: join(dir, 'rows.npy') }, ['a']);
      assert.deepEqual(whole.warnings, []);
    });

  it('warns once per file on negative values, with the count and the minimum',
    async () => {
      const data = nhwc().map((v) => v - 10);
      writeFileSync(join(dir, 'neg.npy'), encodeNpy(data, [N, H, W, C]));
      // Two layers of one .npz: one warning naming both.
      writeFileSync(join(dir, 'neg.npz'), zipSync({
        'a.npy': encodeNpy(data, [N, H, W, C]),
        'dense.npy': encodeNpy(new Float32Array([1, -2.5, 3, 4, 5, 6]), [N, 1]),
      }));
      const one = await run({ activations: join(dir, 'neg.npy') }, ['a']);
      assert.equal(one.warnings.length, 1);
      assert.match(one.warnings[0], /neg.npy holds 10 negative values \(most /);
      assert.match(one.warnings[0], /negative -10\) among those read for layer a;/);
      assert.match(one.warnings[0], /after the ReLU/);
      const two = await run({ activations: join(dir, 'neg.npz') },
        ['a', 'dense'], { batch: 2 });
      assert.equal(two.warnings.length, 1);
      assert.match(two.warnings[0],
        /neg.npz holds 11 negative values \(most negative -10\) among/);
      assert.match(two.warnings[0], /among those read for layer a, dense;/);
      const clean = await run({ activations: join(dir, 'd.npz') }, ['a', 'dense']);
      assert.deepEqual(clean.warnings, []);
    });

  it('names the file for a wrong dtype, a wrong rank or a missing array', () => {
    assert.throws(() => describeImported(join(dir, 'ints.npy'), 'l', ['l']),
      /ints.npy: activations of layer l are int32\. Expected float16, float32 or float64/);
    assert.throws(() => describeImported(join(dir, 'three.npy'), 'l', ['l']),
      (err: Error) => {
        assert.equal((err as ConvergentError).code, 'E_SHAPE');
        assert.match(err.message,
          /three.npy: got \[6,2,2\], expected \[images, H, W, C\] \(layout nhwc\)/);
        return true;
      });
    assert.throws(() => describeImported(join(dir, 'd.npz'), 'conv9', ['conv9']),
      /d.npz: no array named 'conv9' for layer conv9\. The archive holds: a, dense/);
    assert.throws(() => describeImported(join(dir, 'a-nhwc.npy'), 'a', ['a', 'b']),
      /one .npy for 2 layers/);
    assert.throws(() => describeImported(join(dir, '{layer}.npy'), 'zz', ['zz']),
      /zz.npy: activations of layer zz not found/);
    writeFileSync(join(dir, 'empty.npy'), encodeNpy(new Float32Array(0), [0, 4]));
    assert.throws(() => describeImported(join(dir, 'empty.npy'), 'e', ['e']),
      /empty.npy: activations of layer e hold no rows \(\[0,4\]\)/);
  });

  it('describes nchw dims as height, width and units', () => {
    const d = describeImported(join(dir, 'b-nchw.npy'), 'b', ['b'], 'nchw');
    assert.deepEqual([d.images, d.height, d.width, d.units], [N, H, W, C]);
    assert.equal(d.dtype, 'float64');
  });
});

describe('checkAligned', () => {
  const entry = (samples: number, h: number, w: number, positions = h * w) =>
    ({ units: 8, samples, height: h, width: w, positions, chunks: [] });

  it('accepts layers of different width on the same samples', () => {
    checkAligned('conv3', 'net1', entry(490, 7, 7),
      'net2', { ...entry(490, 7, 7), units: 99 });
  });

  it('names both shapes when the map sizes differ', () => {
    assert.throws(() => checkAligned('conv3', 'net1', entry(490, 7, 7),
      'theirs', entry(640, 8, 8)), (err: Error) => {
      assert.equal((err as ConvergentError).code, 'E_SHAPE');
      assert.match(err.message, /layer conv3: net1 and theirs cannot be aligned/);
      assert.match(err.message,
        /got theirs \[640 samples = 10 images × 64 of 8×8 positions, 8 units\]/);
      assert.match(err.message,
        /net1 \[490 samples = 10 images × 49 of 7×7 positions, 8 units\]/);
      return true;
    });
  });

  it('refuses different image counts and different position draws', () => {
    assert.throws(() => checkAligned('c', 'a', entry(490, 7, 7), 'b',
      entry(980, 7, 7)), /20 images/);
    // 10 images × 5 positions against 5 images × 10 positions.
    assert.throws(() => checkAligned('c', 'a', entry(50, 7, 7, 5), 'b',
      entry(50, 7, 7, 10)), /cannot be aligned/);
  });

  it('aligns a flat [samples, units] layer on its partner\'s map', () => {
    const flat = { ...entry(490, 1, 1, 1), flat: true };
    checkAligned('conv3', 'net1', entry(490, 7, 7), 'theirs', flat);
    checkAligned('conv3', 'theirs', flat, 'net1', entry(490, 7, 7));
    type Entry = ExtractSummary['layers'][string];
    const [x, y] = alignFlat<Entry>(flat, entry(490, 7, 7, 3));
    assert.deepEqual([x.height, x.width, x.positions, x.flat],
      [7, 7, 3, undefined]);
    assert.equal(y.flat, undefined);
    // Two flat layers stay one sample per row.
    assert.deepEqual(alignFlat(flat, flat), [flat, flat]);
  });

  it('says to declare the map when a flat layer does not align', () => {
    const flat = { ...entry(490, 1, 1, 1), flat: true };
    // net1 took 5 of its 49 positions per image: the flat rows cannot be
    // drawn the same way.
    assert.throws(() => checkAligned('conv3', 'net1', entry(50, 7, 7, 5),
      'theirs', flat), (err: Error) => {
      assert.equal((err as ConvergentError).code, 'E_SHAPE');
      assert.match(err.message,
        /Layer conv3 of theirs is a \[samples, units\] array/);
      assert.match(err.message, /networks\.theirs\.map: \{ conv3: \[7, 7\] \}/);
      return true;
    });
    assert.throws(() => checkAligned('c', 'a', entry(490, 7, 7), 'b',
      entry(640, 8, 8)), (err: Error) => !/declare its map/.test(err.message));
  });

  it('says when a network lacks the layer', () => {
    const s = (network: string): ExtractSummary => ({ network, images: 10,
      layers: { conv1: entry(10, 1, 1) } });
    assert.throws(() => checkLayersAlign('conv2', s('a'), s('b')),
      /layer conv2 of network a: got no such layer in its extraction, expected one of conv1/);
  });
});

describe('a flat import paired with maps, through normalize and match', () => {
  // The reported case, small: a [20, 3, 3, 4] nhwc file and the same
  // values as [180, 4] rows (image-major, then position).
  const images = 20;
  const maps = new Float32Array(images * 3 * 3 * 4);
  const random = seedrandom('flat');
  for (let i = 0; i < maps.length; i++) {
    maps[i] = Math.max(0, random() - 0.3);
  }
  let dir: string;
  before(() => {
    dir = tempDir();
    writeFileSync(join(dir, 'a.npy'), encodeNpy(maps, [images, 3, 3, 4]));
    writeFileSync(join(dir, 'c.npy'), encodeNpy(maps, [images * 9, 4]));
  });
  after(() => removeDir(dir));

  async function runWith(c: string, positions: string) {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'version: 1\nname: flat\nnetworks:\n' +
      '  a: { activations: a.npy }\n' + `  c: { activations: c.npy${c} }\n` +
      'layers: [conv]\nstages:\n' +
      `  extract: { positions: ${positions}, batch: 8 }\n  match: {}\n`);
    const reg = await builtinRegistry();
    const { pipeline } = loadPipeline(file, reg);
    const outcome = await runPipeline(pipeline, reg, { jobs: 0,
      log: createLogger('silent'), progress: plainProgress(() => {}) });
    return { outcome, arts: await cachedArtifacts(pipeline, reg) };
  }

  it('aligns on the partner\'s map: every unit matches itself', async () => {
    const { outcome, arts } = await runWith('', 'all');
    assert.deepEqual(outcome.failed, []);
    const s = arts.match[0].summary!;
    assert.deepEqual(s.bipartite.pairs, [[0, 0], [1, 1], [2, 2], [3, 3]]);
    assert.ok(Math.abs(s.bipartite.mean - 1) < 1e-9, `${s.bipartite.mean}`);
    const norm = arts.normalize[0].summary!;
    // Split by image (9 positions each), not by row.
    assert.equal(norm.images.fit + norm.images.holdout, images);
  });

  it('with positions: k, says to declare the map; declared, draws the same',
    async () => {
      const { outcome } = await runWith('', '2');
      assert.equal(outcome.failed.length, 1);
      assert.match(outcome.failed[0].error, /a gives 40 samples \(3×3 map, 2 /);
      assert.match(outcome.failed[0].error,
        /declare its map, e\.g\. networks\.c\.map: \{ conv: \[3, 3\] \}/);
      const declared = await runWith(', map: [3, 3]', '2');
      assert.deepEqual(declared.outcome.failed, []);
      const s = declared.arts.match[0].summary!;
      assert.ok(Math.abs(s.bipartite.mean - 1) < 1e-9, `${s.bipartite.mean}`);
    });
});
