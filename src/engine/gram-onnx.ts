/**
 * The onnxruntime Gram engine: an in-memory one-node ONNX graph
 * G = Gemm(X, X, transA=1) run by onnxruntime-node, whose MLAS GEMM is
 * the fastest product available to Node here (engine.md: ~115 GFLOP/s on
 * X of 100,000 × 768 with two intra-op threads).
 */
import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { blockwise, type GramEngine } from './gram.js';

const { onnx } = onnxProto;

/**
 * The model bytes: one float input X [rows, units] with both dimensions
 * symbolic, so one session serves every chunk length and layer width,
 * and one output G [units, units]. Opset 13 Gemm; IR version 7.
 */
export function gramModel(): Uint8Array {
  const dims = (names: string[]) => ({
    dim: names.map((dimParam) => ({ dimParam })),
  });
  const float = onnx.TensorProto.DataType.FLOAT;
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'convergent',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'gram',
      node: [{
        opType: 'Gemm', name: 'gram', input: ['X', 'X'], output: ['G'],
        attribute: [{
          name: 'transA', type: onnx.AttributeProto.AttributeType.INT, i: 1,
        }],
      }],
      input: [{ name: 'X', type: { tensorType: {
        elemType: float, shape: dims(['rows', 'units']) } } }],
      output: [{ name: 'G', type: { tensorType: {
        elemType: float, shape: dims(['units', 'units']) } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Rows per float32 product. MLAS keeps its single-thread speed down to
 * 512 rows of 768 units (~55 GFLOP/s measured here at 256..16,384
 * rows), so short blocks cost only the float64 sum of their Grams.
 */
export const ONNX_BLOCK = 512;

/** The package's own version (ort.env.versions.node can lag it). */
function ortVersion(): string {
  const require = createRequire(import.meta.url);
  try {
    return (require('onnxruntime-node/package.json') as { version: string })
      .version;
  } catch {
    return ort.env.versions.node ?? 'unknown';
  }
}

/**
 * Build the engine with `threads` intra-op threads. With more than one,
 * the pool's threads are told not to spin between products: a spinning
 * pool would burn the cores the JS side needs to read and center the
 * next chunk.
 */
export async function createOnnxGram(threads: number): Promise<GramEngine> {
  const intra = Math.max(1, Math.floor(threads));
  const session = await ort.InferenceSession.create(gramModel(), {
    intraOpNumThreads: intra,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return {
    name: 'onnx',
    version: `onnxruntime-node ${ortVersion()}`,
    threads: intra,
    block: ONNX_BLOCK,
    gram: blockwise(ONNX_BLOCK, async (x, rows, cols) => {
      const input = new ort.Tensor('float32', x.subarray(0, rows * cols),
        [rows, cols]);
      const out = await session.run({ X: input });
      input.dispose();
      return out.G.data as Float32Array;
    }),
  };
}
