import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as tfl from '@tensorflow/tfjs-layers';
import { extractStage } from '../src/stages/extract.js';
import { loadMnist } from '../src/data/mnist.js';
import { positionsOf } from '../src/data/positions.js';
import { initTfjs, tf } from '../src/engine/tfjs.js';
import { saveLayersModel } from '../src/models/io.js';
import { readNpy, writeNpy } from '../src/core/npy.js';
import { createPool } from '../src/runner/pool.js';
import type { ExtractSummary } from '../src/stages/summaries.js';
import type { NetworkSpec } from '../src/stages/types.js';
import { artifact, removeDir, runStage, tempDir, testPipeline }
  from './helpers.js';

const { onnx } = onnxProto;

/**
 * A tiny model with weights set by hand, so every activation has a closed
 * form in the pixels x of the image:
 *   c1 (3×3, same, ReLU): unit 0 = relu(x[h, w] - 0.5),
 *                         unit 1 = relu(mean of the 3×3 neighbourhood,
 *                                       zero-padded),
 *                         unit 2 = relu(-x[h, w]) = 0 (a dead unit)
 *   pool 2×2 → 14×14×3, flatten
 *   d1 (dense, ReLU): unit 0 = relu(Σ of the pooled unit-0 map − 1),
 *                     unit 1 = relu(1 − Σ of the pooled unit-1 map / 100)
 */
function handModel(): tfl.LayersModel {
  const model = tfl.sequential();
  model.add(tfl.layers.conv2d({ name: 'c1', inputShape: [28, 28, 1],
    filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }));
  model.add(tfl.layers.maxPooling2d({ name: 'pool', poolSize: 2 }));
  model.add(tfl.layers.flatten({ name: 'flat' }));
  model.add(tfl.layers.dense({ name: 'd1', units: 2, activation: 'relu' }));
  const k = new Float32Array(3 * 3 * 1 * 3);
  for (let i = 0; i < 9; i++) k[i * 3 + 1] = 1 / 9;
  k[4 * 3 + 0] = 1;
  k[4 * 3 + 2] = -1;
  const d = new Float32Array(14 * 14 * 3 * 2);
  for (let q = 0; q < 14 * 14; q++) {
    d[(q * 3 + 0) * 2 + 0] = 1;
    d[(q * 3 + 1) * 2 + 1] = -0.01;
  }
  model.setWeights([
    tf.tensor4d(k, [3, 3, 1, 3]), tf.tensor1d([-0.5, 0, 0]),
    tf.tensor2d(d, [588, 2]), tf.tensor1d([-1, 1]),
  ]);
  return model;
}

/** The same activations, computed with loops over the raw pixels. */
function byHand(x: Float32Array) {
  const at = (h: number, w: number) =>
    h < 0 || w < 0 || h > 27 || w > 27 ? 0 : x[h * 28 + w];
  const c1 = new Float64Array(784 * 3);
  for (let h = 0; h < 28; h++) {
    for (let w = 0; w < 28; w++) {
      let sum = 0;
      for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) sum += at(h + a, w + b);
      c1[(h * 28 + w) * 3] = Math.max(0, at(h, w) - 0.5);
      c1[(h * 28 + w) * 3 + 1] = Math.max(0, sum / 9);
    }
  }
  const pooled = [0, 0];
  for (let h = 0; h < 14; h++) {
    for (let w = 0; w < 14; w++) {
      for (const u of [0, 1]) {
        let m = 0;
        for (const [a, b] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          m = Math.max(m, c1[((2 * h + a) * 28 + 2 * w + b) * 3 + u]);
        }
        pooled[u] += m;
      }
    }
  }
  return { c1, d1: [Math.max(0, pooled[0] - 1), Math.max(0, 1 - pooled[1] / 100)] };
}

/** All chunks of a layer, concatenated: [samples, units]. */
function samplesOf(out: string, summary: ExtractSummary, layer: string) {
  const e = summary.layers[layer];
  const parts = e.chunks.map((c) => readNpy(join(out, c)));
  const data = new Float32Array(e.samples * e.units);
  let at = 0;
  for (const p of parts) {
    assert.equal(p.shape[1], e.units);
    data.set(p.data as Float32Array, at);
    at += p.data.length;
  }
  assert.equal(at, data.length);
  return data;
}

describe('extract from a TF.js layers model', () => {
  let dir: string;
  let modelJson: string;
  const images = 5;
  const pipeline = (layers: string[], spec?: Partial<NetworkSpec>) => testPipeline({
    root: dir, layers, data: { source: 'mnist', split: 'test', images },
    networks: { hand: { name: 'hand', model: modelJson, ...spec } },
  });

  before(async () => {
    await initTfjs('wasm');
    dir = tempDir();
    await saveLayersModel(handModel(), join(dir, 'hand'));
    modelJson = join(dir, 'hand', 'model.json');
  });
  after(() => removeDir(dir));

  it('gives the hand-computed post-ReLU values, in image-major order', async () => {
    const { result, out, records } = await runStage(extractStage, {
      coords: { network: 'hand' }, pipeline: pipeline(['c1', 'd1']),
      params: { batch: 2, backend: 'wasm' },
    });
    const s = result.summary as unknown as ExtractSummary;
    assert.equal(s.network, 'hand');
    assert.equal(s.images, images);
    assert.equal(s.backend, 'wasm');
    assert.equal(records.backend, 'wasm');
    assert.equal(records.threads, 1);
    assert.deepEqual({ ...s.layers.c1, chunks: s.layers.c1.chunks.length },
      { units: 3, height: 28, width: 28, positions: 784, samples: 5 * 784,
        chunks: 3 });
    assert.deepEqual(s.layers.d1.chunks,
      ['d1/chunk-00000.npy', 'd1/chunk-00001.npy', 'd1/chunk-00002.npy']);
    assert.deepEqual(readNpy(join(out, s.layers.c1.chunks[2])).shape, [784, 3]);

    const c1 = samplesOf(out, s, 'c1');
    const d1 = samplesOf(out, s, 'd1');
    const mnist = loadMnist('test', { count: images });
    for (let i = 0; i < images; i++) {
      const want = byHand(mnist.pixels.subarray(i * 784, (i + 1) * 784));
      for (let q = 0; q < 784 * 3; q++) {
        assert.ok(Math.abs(c1[i * 784 * 3 + q] - want.c1[q]) < 1e-5,
          `image ${i} value ${q}: ${c1[i * 784 * 3 + q]} vs ${want.c1[q]}`);
      }
      assert.ok(Math.abs(d1[2 * i] - want.d1[0]) < 1e-3 * Math.max(1, want.d1[0]));
      assert.ok(Math.abs(d1[2 * i + 1] - want.d1[1]) < 1e-4);
    }
    // Unit 2 of c1 is a dead ReLU: exactly zero everywhere.
    for (let r = 0; r < 5 * 784; r++) assert.equal(c1[r * 3 + 2], 0);
  });

  it('the cpu backend gives the same values', async () => {
    const run = (backend: string) => runStage(extractStage, {
      coords: { network: 'hand' }, pipeline: pipeline(['c1']),
      params: { batch: 3, backend } });
    const a = await run('cpu');
    const b = await run('wasm');
    assert.equal(a.records.backend, 'cpu');
    const sa = samplesOf(a.out, a.result.summary as any, 'c1');
    const sb = samplesOf(b.out, b.result.summary as any, 'c1');
    for (let i = 0; i < sa.length; i++) assert.ok(Math.abs(sa[i] - sb[i]) < 1e-6);
    await initTfjs('wasm');
  });

  it('takes k positions per image, the same ones as from the full map', async () => {
    const all = await runStage(extractStage, { coords: { network: 'hand' },
      pipeline: pipeline(['c1', 'd1']), params: { batch: 2 } });
    const some = await runStage(extractStage, { coords: { network: 'hand' },
      pipeline: pipeline(['c1', 'd1']), params: { batch: 2, positions: 7, seed: 3 } });
    const s = some.result.summary as unknown as ExtractSummary;
    assert.equal(s.layers.c1.positions, 7);
    assert.equal(s.layers.c1.samples, 35);
    // A dense layer has one position: k larger than that takes it.
    assert.equal(s.layers.d1.positions, 1);
    const full = samplesOf(all.out, all.result.summary as any, 'c1');
    const got = samplesOf(some.out, s, 'c1');
    for (let i = 0; i < images; i++) {
      const taken = positionsOf(i, 28, 28, 7, 3);
      taken.forEach((q, j) => {
        for (let u = 0; u < 3; u++) {
          assert.equal(got[(i * 7 + j) * 3 + u], full[(i * 784 + q) * 3 + u]);
        }
      });
    }
  });

  it('runs on worker threads, each with its own backend, to the same bytes',
    async () => {
      const pool = createPool({ threads: 2 });
      try {
        const run = (p?: typeof pool) => runStage(extractStage, {
          coords: { network: 'hand' }, pipeline: pipeline(['c1', 'd1']),
          params: { batch: 1, backend: 'wasm' }, pool: p });
        const a = await run(pool);
        const b = await run();
        const sa = a.result.summary as unknown as ExtractSummary;
        assert.equal(a.records.backend, 'wasm');
        assert.equal(a.records.workers, 2);
        assert.equal(sa.layers.c1.chunks.length, images);
        assert.deepEqual(samplesOf(a.out, sa, 'c1'),
          samplesOf(b.out, b.result.summary as any, 'c1'));
      } finally {
        await pool.close();
      }
    });

  it('names the missing layer and lists the model\'s layers', async () => {
    await assert.rejects(runStage(extractStage, { coords: { network: 'hand' },
      pipeline: pipeline(['c1', 'conv9']) }),
    /hand\/model.json: the model has no layer 'conv9'\. Its layers are: c1, pool, flat, d1/);
  });

  it('reads a trained network from the upstream train artifact', async () => {
    const { result } = await runStage(extractStage, {
      coords: { network: 't' }, params: { batch: 5 },
      inputs: { model: artifact(join(dir, 'hand'), {}) },
      pipeline: testPipeline({ root: dir, layers: ['d1'],
        data: { source: 'mnist', split: 'test', images: 5 },
        networks: { t: { name: 't', train: { seed: 1 } } } }),
    });
    const s = result.summary as unknown as ExtractSummary;
    assert.equal(s.layers.d1.samples, 5);
    assert.equal(s.layers.d1.chunks.length, 1);
  });

  it('lists model.json and its weight files as inputs', () => {
    const p = pipeline(['c1']);
    const refs = extractStage.inputs({ network: 'hand' }, {}, p);
    assert.deepEqual(refs, [
      { role: 'model', file: modelJson },
      { role: 'weights', file: join(dir, 'hand', 'weights.bin') },
    ]);
    const t = testPipeline({ networks: { t: { name: 't', train: { seed: 2 } } } });
    assert.deepEqual(extractStage.inputs({ network: 't' }, {}, t),
      [{ role: 'model', stage: 'train', coords: { network: 't' } }]);
  });

  it('refuses bad parameters and a model network without images', async () => {
    await assert.rejects(runStage(extractStage, { coords: { network: 'hand' },
      pipeline: pipeline(['c1']), params: { positions: 0 } }),
    /positions must be 'all' or a positive integer, got 0/);
    await assert.rejects(runStage(extractStage, { coords: { network: 'hand' },
      pipeline: { ...pipeline(['c1']), data: { source: 'none', split: 'test',
        images: 0 } } }), /needs images/);
    await assert.rejects(runStage(extractStage, { coords: { network: 'hand' },
      pipeline: { ...pipeline(['c1']), data: { source: 'mnist', split: 'test',
        images: 0 } } }), /data.images must be a positive integer, got 0/);
  });
});

describe('extract from a TF.js graph model', () => {
  it('reads a layer at the Relu scoped under its name', async () => {
    const dir = tempDir();
    try {
      // conv1/Conv2D (1×1 filter of weight 2, same padding) -> conv1/Relu,
      // then a Relu of the negated map that no layer name reaches.
      const b64 = (t: string) => Buffer.from(t).toString('base64');
      const float = { type: 'DT_FLOAT' };
      const topology = { node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: float, shape: { shape: {
          dim: [{ size: '-1' }, { size: '28' }, { size: '28' }, { size: '1' }] } } } },
        { name: 'w', op: 'Const', attr: { dtype: float, value: { tensor: {
          dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '1' }, { size: '1' },
            { size: '1' }, { size: '1' }] } } } } },
        { name: 'conv1/Conv2D', op: 'Conv2D', input: ['x', 'w'], attr: { T: float,
          strides: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: b64('SAME') },
          data_format: { s: b64('NHWC') }, dilations: { list: { i: ['1', '1', '1', '1'] } } } },
        { name: 'conv1/Relu', op: 'Relu', input: ['conv1/Conv2D'], attr: { T: float } },
        { name: 'neg', op: 'Neg', input: ['conv1/Relu'], attr: { T: float } },
        { name: 'out/Relu', op: 'Relu', input: ['neg'], attr: { T: float } },
      ], versions: { producer: 1 } };
      writeFileSync(join(dir, 'model.json'), JSON.stringify({
        format: 'graph-model', modelTopology: topology,
        weightsManifest: [{ paths: ['w.bin'], weights: [
          { name: 'w', shape: [1, 1, 1, 1], dtype: 'float32' }] }] }));
      writeFileSync(join(dir, 'w.bin'), new Uint8Array(new Float32Array([2]).buffer));
      const pipeline = (layer: string) => testPipeline({ root: dir,
        layers: [layer], data: { source: 'mnist', split: 'test', images: 2 },
        networks: { g: { name: 'g', model: join(dir, 'model.json') } } });

      const { result, out } = await runStage(extractStage, {
        coords: { network: 'g' }, pipeline: pipeline('conv1') });
      const s = result.summary as unknown as ExtractSummary;
      assert.deepEqual([s.layers.conv1.units, s.layers.conv1.height,
        s.layers.conv1.samples], [1, 28, 2 * 784]);
      const got = samplesOf(out, s, 'conv1');
      const mnist = loadMnist('test', { count: 2 });
      for (let i = 0; i < got.length; i++) {
        assert.ok(Math.abs(got[i] - 2 * mnist.pixels[i]) < 1e-6);
      }
      await assert.rejects(runStage(extractStage, { coords: { network: 'g' },
        pipeline: pipeline('conv2') }),
      /the graph model has no node 'conv2'\. Its ReLU nodes are: conv1\/Relu, out\/Relu/);
    } finally {
      removeDir(dir);
    }
  });
});

describe('extract from imported activations of a model', () => {
  it('an exported nhwc array gives the model\'s own samples', async () => {
    const dir = tempDir();
    try {
      await initTfjs('wasm');
      await saveLayersModel(handModel(), join(dir, 'm'));
      const model = join(dir, 'm', 'model.json');
      // The model's full c1 map, exported as [4, 28, 28, 3].
      const all = await runStage(extractStage, { coords: { network: 'm' },
        params: { batch: 4 }, pipeline: testPipeline({ root: dir,
          layers: ['c1'], data: { source: 'mnist', split: 'test', images: 4 },
          networks: { m: { name: 'm', model } } }) });
      const full = samplesOf(all.out, all.result.summary as any, 'c1');
      writeNpy(join(dir, 'c1.npy'), full, [4, 28, 28, 3]);

      const pipeline = (positions: number) => ({ coords: { network: 'n' },
        params: { batch: 3, positions, seed: 9 },
        pipeline: testPipeline({ root: dir, layers: ['c1'],
          data: { source: 'mnist' as const, split: 'test' as const, images: 4 },
          networks: { m: { name: 'm', model },
            n: { name: 'n', activations: join(dir, '{layer}.npy') } } }) });
      const imported = await runStage(extractStage, pipeline(5));
      const fromModel = await runStage(extractStage, { ...pipeline(5),
        coords: { network: 'm' } });
      const a = samplesOf(imported.out, imported.result.summary as any, 'c1');
      const b = samplesOf(fromModel.out, fromModel.result.summary as any, 'c1');
      assert.equal(a.length, 4 * 5 * 3);
      assert.deepEqual(a, b);
    } finally {
      removeDir(dir);
    }
  });
});

describe('extract from an ONNX model', () => {
  const F = onnx.TensorProto.DataType.FLOAT;
  const INTS = onnx.AttributeProto.AttributeType.INTS;
  let dir: string;
  let tfModel: string;
  let onnxModel: string;

  /** TF's [Kh, Kw, Ci, Co] filter as ONNX's [Co, Ci, Kh, Kw]. */
  function toOihw(w: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
    const out = new Float32Array(w.length);
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) {
        out[((o * ci + i) * kh + a) * kw + b] = w[((a * kw + b) * ci + i) * co + o];
      }
    }
    return out;
  }

  const init = (name: string, dims: number[], data: Float32Array) => ({
    name, dims, dataType: F, rawData: new Uint8Array(data.slice().buffer) });

  before(async () => {
    await initTfjs('wasm');
    dir = tempDir();
    // c1: 3×3 same, 4 units, ReLU → 2×2 max pool → c2: 3×3 valid, 3 units, ReLU
    const model = tfl.sequential();
    model.add(tfl.layers.conv2d({ name: 'c1', inputShape: [28, 28, 1],
      filters: 4, kernelSize: 3, padding: 'same', activation: 'relu',
      kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }),
      biasInitializer: tfl.initializers.randomUniform({ seed: 2 }) }));
    model.add(tfl.layers.maxPooling2d({ name: 'pool', poolSize: 2 }));
    model.add(tfl.layers.conv2d({ name: 'c2', filters: 3, kernelSize: 3,
      padding: 'valid', activation: 'relu',
      kernelInitializer: tfl.initializers.glorotNormal({ seed: 3 }),
      biasInitializer: tfl.initializers.randomUniform({ seed: 4 }) }));
    await saveLayersModel(model, join(dir, 'tf'));
    tfModel = join(dir, 'tf', 'model.json');
    const [w1, b1, w2, b2] = await Promise.all(
      model.getWeights().map((t) => t.data() as Promise<Float32Array>));

    // The same network in ONNX: a Conv node named c1 followed by a Relu,
    // and a Relu whose name scopes c2 as PyTorch's exporter writes it.
    const graph = {
      name: 'same-as-tf',
      input: [{ name: 'image', type: { tensorType: { elemType: F, shape: {
        dim: [{ dimParam: 'n' }, { dimValue: 1 }, { dimValue: 28 },
          { dimValue: 28 }] } } } }],
      output: [{ name: 'logits', type: { tensorType: { elemType: F } } }],
      initializer: [init('w1', [4, 1, 3, 3], toOihw(w1, [3, 3, 1, 4])),
        init('b1', [4], b1), init('w2', [3, 4, 3, 3], toOihw(w2, [3, 3, 4, 3])),
        init('b2', [3], b2)],
      node: [
        { name: 'c1', opType: 'Conv', input: ['image', 'w1', 'b1'],
          output: ['t1'], attribute: [{ name: 'pads', type: INTS, ints: [1, 1, 1, 1] }] },
        { name: 'relu_a', opType: 'Relu', input: ['t1'], output: ['t2'] },
        { name: 'pool', opType: 'MaxPool', input: ['t2'], output: ['t3'],
          attribute: [{ name: 'kernel_shape', type: INTS, ints: [2, 2] },
            { name: 'strides', type: INTS, ints: [2, 2] }] },
        { name: '/features/conv', opType: 'Conv', input: ['t3', 'w2', 'b2'],
          output: ['t4'] },
        { name: '/c2/Relu', opType: 'Relu', input: ['t4'],
          output: ['/c2/Relu_output_0'] },
        { name: 'flat', opType: 'Flatten', input: ['/c2/Relu_output_0'],
          output: ['logits'] },
      ],
    };
    onnxModel = join(dir, 'same.onnx');
    writeFileSync(onnxModel, onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph })).finish());
  });
  after(() => removeDir(dir));

  const pipeline = (layers: string[]) => testPipeline({ root: dir, layers,
    data: { source: 'mnist', split: 'test', images: 6 },
    networks: { tf: { name: 'tf', model: tfModel },
      ox: { name: 'ox', onnx: onnxModel, input: { layout: 'nchw', scale: 1 } } } });

  it('gives the activations of the same TF.js model to 1e-5', async () => {
    const run = (network: string) => runStage(extractStage, {
      coords: { network }, pipeline: pipeline(['c1', 'c2']),
      params: { batch: 4, positions: 20, seed: 5 } });
    const a = await run('tf');
    const b = await run('ox');
    const sa = a.result.summary as unknown as ExtractSummary;
    const sb = b.result.summary as unknown as ExtractSummary;
    assert.equal(sb.backend, 'onnxruntime');
    assert.match(String(b.records.backendVersion), /^onnxruntime-node \d/);
    assert.deepEqual(sb.layers.c2, { ...sa.layers.c2 });
    assert.deepEqual([sb.layers.c2.height, sb.layers.c2.units], [12, 3]);
    for (const layer of ['c1', 'c2']) {
      const x = samplesOf(a.out, sa, layer);
      const y = samplesOf(b.out, sb, layer);
      let err = 0;
      let nonzero = 0;
      for (let i = 0; i < x.length; i++) {
        err = Math.max(err, Math.abs(x[i] - y[i]));
        if (x[i] > 0) nonzero++;
      }
      assert.ok(err < 1e-5, `${layer}: largest difference ${err}`);
      assert.ok(nonzero > x.length / 10, `${layer}: mostly zeros`);
      assert.ok([...y].every((v) => v >= 0), `${layer} is post-ReLU`);
    }
  });

  it('lists the tensors it has when a layer is not found', async () => {
    await assert.rejects(runStage(extractStage, { coords: { network: 'ox' },
      pipeline: pipeline(['conv5']) }),
    new RegExp("same.onnx: the ONNX model has no tensor or node 'conv5'\\. " +
      'Its Relu outputs are: t2, /c2/Relu_output_0; ' +
      'all tensors: t1, t2, t3, t4, /c2/Relu_output_0, logits'));
  });
});
