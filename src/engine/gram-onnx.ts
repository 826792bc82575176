/**
 * The onnxruntime Gram engine: an in-memory ONNX graph of Gemm nodes run
 * by onnxruntime-node, whose MLAS GEMM is the fastest product available
 * to Node here (engine.md: ~115 GFLOP/s for Gemm(X, X, transA=1) on
 * X of 100,000 × 768 with two intra-op threads).
 *
 * xᵀx is symmetric, so the graph computes only its upper block triangle:
 * with the units cut into k column blocks X_i, block row i is
 * G_i = X_iᵀ·X[:, s_i:] (Gemm with transA=1 on two Slices of X). That is
 * (k + 1)/2k of the full product's flops, 58% at k = 6; measured here on
 * one thread at 768 units, 2,048 rows: 27–37 ms against 54–60 ms for the
 * one-node Gemm(X, X, transA=1) that `gramModel(cols, 1)` builds.
 */
import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { blockwise, type GramEngine } from './gram.js';

const { onnx } = onnxProto;

/**
 * Rows per float32 product. MLAS keeps its single-thread speed from 256
 * to 16,384 rows of 768 units (~55 GFLOP/s measured here), and the
 * correlation error on the planted fixture stays near 2e-7 up to 2,048
 * rows (1.7e-7 at 512, 2.3e-7 at 2,048, 3.9e-7 at 4,096). 2,048 keeps
 * the float64 work per product (cols², in JavaScript) near 1% of it.
 */
export const ONNX_BLOCK = 2048;

/** Column blocks of about this many units (k = 6 at 768 units). */
const BLOCK_UNITS = 128;

/** How many column blocks the graph for `cols` units uses. */
export function columnBlocks(cols: number): number {
  return Math.max(1, Math.round(cols / BLOCK_UNITS));
}

/** Start of column block i of k over cols units; start(k) = cols. */
function blockStart(i: number, k: number, cols: number): number {
  return Math.round((i * cols) / k);
}

/**
 * The model bytes for `cols` units in `k` column blocks: input
 * X [rows, cols] float (rows symbolic), outputs G0..G{k−1} with
 * G_i = X[:, s_i:s_{i+1}]ᵀ · X[:, s_i:] of shape [s_{i+1} − s_i,
 * cols − s_i]. k = 1 is the one-node graph Gemm(X, X, transA=1).
 * Opset 13, IR version 7.
 */
export function gramModel(cols: number, k = columnBlocks(cols)): Uint8Array {
  const float = onnx.TensorProto.DataType.FLOAT;
  const int64 = onnx.TensorProto.DataType.INT64;
  const transA = {
    name: 'transA', type: onnx.AttributeProto.AttributeType.INT, i: 1,
  };
  const constant = (name: string, value: number) => ({
    name, dataType: int64, dims: [1], int64Data: [value],
  });

  const node: OnnxTypes.INodeProto[] = [];
  const initializer = k > 1 ? [constant('axis', 1), constant('end', cols)]
    : [];
  const output: OnnxTypes.IValueInfoProto[] = [];
  if (k === 1) {
    node.push({ opType: 'Gemm', input: ['X', 'X'], output: ['G0'],
      attribute: [transA] });
  }
  for (let i = 0; k > 1 && i < k; i++) {
    initializer.push(constant(`s${i}`, blockStart(i, k, cols)));
    initializer.push(constant(`e${i}`, blockStart(i + 1, k, cols)));
    node.push(
      { opType: 'Slice', input: ['X', `s${i}`, `e${i}`, 'axis'],
        output: [`X${i}`] },
      { opType: 'Slice', input: ['X', `s${i}`, 'end', 'axis'],
        output: [`R${i}`] },
      { opType: 'Gemm', input: [`X${i}`, `R${i}`], output: [`G${i}`],
        attribute: [transA] });
  }
  for (let i = 0; i < k; i++) {
    output.push({ name: `G${i}`, type: { tensorType: { elemType: float } } });
  }

  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'convergent',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'gram', node, initializer, output,
      input: [{ name: 'X', type: { tensorType: { elemType: float,
        shape: { dim: [{ dimParam: 'rows' }, { dimValue: cols }] } } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

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
 * next chunk. One session per layer width, made on first use.
 */
export async function createOnnxGram(threads: number): Promise<GramEngine> {
  const intra = Math.max(1, Math.floor(threads));
  const sessions = new Map<number, Promise<ort.InferenceSession>>();
  const sessionFor = (cols: number) => {
    let s = sessions.get(cols);
    if (!s) {
      s = ort.InferenceSession.create(gramModel(cols), {
        intraOpNumThreads: intra,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // Warnings only would reach stderr; errors still throw.
        logSeverityLevel: 3,
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      sessions.set(cols, s);
    }
    return s;
  };
  // Fail here, not at the first product, if the runtime cannot load.
  await sessionFor(1);

  return {
    name: 'onnx',
    version: `onnxruntime-node ${ortVersion()}`,
    threads: intra,
    block: ONNX_BLOCK,
    gram: blockwise(ONNX_BLOCK, async (x, rows, cols, upper) => {
      const session = await sessionFor(cols);
      const input = new ort.Tensor('float32', x.subarray(0, rows * cols),
        [rows, cols]);
      const out = await session.run({ X: input });
      input.dispose();
      return assemble(out, cols, upper);
    }),
  };
}

/**
 * G [cols, cols] from the block rows G_i: block row i lands at rows and
 * columns from s_i on. The strict lower triangle outside the diagonal
 * blocks is mirrored unless only the upper triangle is asked for.
 */
function assemble(out: ort.InferenceSession.ReturnType, cols: number,
  upper: boolean): Float32Array {
  const k = Object.keys(out).length;
  if (k === 1) return out.G0.data as Float32Array;

  const g = new Float32Array(cols * cols);
  for (let i = 0; i < k; i++) {
    const block = out[`G${i}`].data as Float32Array;
    const start = blockStart(i, k, cols);
    const width = cols - start;
    const end = blockStart(i + 1, k, cols);
    for (let p = 0; p < end - start; p++) {
      g.set(block.subarray(p * width, (p + 1) * width),
        (start + p) * cols + start);
    }
  }
  if (!upper) {
    for (let i = 1; i < cols; i++) {
      for (let j = 0; j < i; j++) g[i * cols + j] = g[j * cols + i];
    }
  }
  return g;
}
