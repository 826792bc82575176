import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import onnxProto from 'onnx-proto';
import { availableEngines, blockwise, gramEngine, jsGramEngine }
  from '../src/engine/gram.js';
import { columnBlocks, gramModel } from '../src/engine/gram-onnx.js';

function randomRows(rows: number, cols: number, seed: string): Float32Array {
  const rng = seedrandom(seed);
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = rng() * 2 - 1;
  return x;
}

describe('Gram engines', () => {
  it('computes a small integer Gram exactly on every engine', async () => {
    // x = [[1, 2, 0], [3, 4, -1]]: xᵀx = [[10, 14, -3], [14, 20, -4],
    // [-3, -4, 1]].
    const x = new Float32Array([1, 2, 0, 3, 4, -1]);
    const engines = await availableEngines();
    assert.ok(engines.some((e) => e.name === 'js'));
    for (const engine of engines) {
      const g = await engine.gram(x, 2, 3);
      assert.deepEqual([...g], [10, 14, -3, 14, 20, -4, -3, -4, 1],
        engine.name);
    }
  });

  it('agrees with the float64 reference on long chunks', async () => {
    // 1,500 rows cross several float32 blocks (512 onnx, 256 tfjs) and end
    // on a partial one.
    const rows = 1500;
    const cols = 37;
    const x = randomRows(rows, cols, 'engines');
    const copy = x.slice();
    const ref = await jsGramEngine.gram(x, rows, cols);
    for (const engine of await availableEngines()) {
      const g = await engine.gram(x, rows, cols);
      assert.equal(g.length, cols * cols);
      let err = 0;
      for (let i = 0; i < cols; i++) {
        for (let j = 0; j < cols; j++) {
          const scale = Math.sqrt(ref[i * cols + i] * ref[j * cols + j]);
          err = Math.max(err, Math.abs(g[i * cols + j] - ref[i * cols + j]) /
            scale);
        }
      }
      assert.ok(err < 2e-6, `${engine.name}: relative error ${err}`);
      assert.deepEqual(x, copy, `${engine.name} changed its input`);
    }
  });

  it('agrees with the reference on wide layers (column-block graph)',
    async () => {
      // 300 units: the onnx graph cuts them into two column blocks.
      const rows = 700;
      const cols = 300;
      const x = randomRows(rows, cols, 'wide');
      const ref = await jsGramEngine.gram(x, rows, cols);
      const onnx = await gramEngine('onnx');
      const full = await onnx.gram(x, rows, cols);
      const upper = await onnx.gram(x, rows, cols, true);
      for (let i = 0; i < cols; i++) {
        for (let j = 0; j < cols; j++) {
          const k = i * cols + j;
          const scale = Math.sqrt(ref[i * cols + i] * ref[j * cols + j]);
          assert.ok(Math.abs(full[k] - ref[k]) < 2e-6 * scale, `[${i}, ${j}]`);
          assert.equal(full[k], full[j * cols + i]);
          if (i <= j) assert.equal(upper[k], full[k]);
        }
      }
    });

  it('builds column blocks that tile the upper triangle', () => {
    const { onnx } = onnxProto;
    assert.equal(columnBlocks(44), 1);
    assert.equal(columnBlocks(768), 6);
    const model = onnx.ModelProto.decode(gramModel(768));
    const gemms = model.graph!.node!.filter((n) => n.opType === 'Gemm');
    assert.equal(gemms.length, 6);
    assert.equal(model.graph!.output!.length, 6);
  });

  it('reads only the first rows·cols values of a longer buffer', async () => {
    const x = new Float32Array([1, 2, 3, 4, 99, 99]);
    for (const engine of await availableEngines()) {
      assert.deepEqual([...await engine.gram(x, 2, 2)], [10, 14, 14, 20],
        engine.name);
    }
  });

  it('returns zeros for an empty chunk and refuses a short one', async () => {
    for (const engine of await availableEngines()) {
      assert.deepEqual([...await engine.gram(new Float32Array(0), 0, 2)],
        [0, 0, 0, 0], engine.name);
      await assert.rejects(engine.gram(new Float32Array(5), 2, 3),
        RangeError);
    }
  });

  it('sums blocks in float64', async () => {
    const calls: number[] = [];
    const product = async (x: Float32Array, rows: number, cols: number) => {
      calls.push(rows);
      return new Float32Array(await jsGramEngine.gram(x, rows, cols));
    };
    const x = new Float32Array([1, 2, 3, 4, 5]);
    const g = await blockwise(2, product)(x, 5, 1);
    assert.deepEqual(calls, [2, 2, 1]);
    assert.ok(g instanceof Float64Array);
    assert.deepEqual([...g], [55]);
  });

  it('picks onnx by default and records version and threads', async () => {
    const auto = await gramEngine('auto', { threads: 2 });
    assert.equal(auto.name, 'onnx');
    assert.equal(auto.threads, 2);
    assert.match(auto.version, /^onnxruntime-node \d+\.\d+/);
    const tfjs = await gramEngine('tfjs');
    assert.match(tfjs.version, /tfjs/);
    assert.ok(tfjs.backend && ['tensorflow', 'wasm', 'cpu']
      .includes(tfjs.backend));
    await assert.rejects(gramEngine('cuda' as never),
      (e: Error & { code?: string }) => e.code === 'E_USAGE' &&
        /expected auto, onnx, tfjs, js/.test(e.message));
  });

  it('builds a one-node Gemm graph with transA = 1', () => {
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.decode(gramModel(768, 1));
    const nodes = model.graph!.node!;
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0].opType, 'Gemm');
    assert.deepEqual(nodes[0].input, ['X', 'X']);
    const transA = nodes[0].attribute!.find((a) => a.name === 'transA');
    assert.equal(Number(transA!.i), 1);
  });
});
