/**
 * Compute engines for the Gram product G = xᵀx of a row-major chunk
 * x [rows, cols], the heavy part of the moments pass (method.md §1).
 *
 * Engines, fastest first (engine.md): `onnx` (onnxruntime-node, MLAS
 * GEMM, ~115 GFLOP/s on two cores), `tfjs` (tf.matMul on the active
 * tfjs backend; wasm ~19 GFLOP/s per thread). `js` is a float64
 * reference in plain loops, slow, for checking the others. `auto` takes
 * the first of onnx, tfjs that loads.
 *
 * Each thread (main or pool worker) builds its engine once and keeps it.
 */
import { usageError, ConvergentError } from '../core/errors.js';
import type { BackendChoice } from './tfjs.js';

export type EngineName = 'onnx' | 'tfjs' | 'js';
export type EngineChoice = EngineName | 'auto';

export const ENGINES: EngineName[] = ['onnx', 'tfjs', 'js'];

/** The engines `auto` tries, in order; `js` is too slow to be picked. */
export const AUTO_ORDER: EngineName[] = ['onnx', 'tfjs'];

export interface GramEngine {
  name: EngineName;
  /** Library and version, e.g. 'onnxruntime-node 1.30.0'. */
  version: string;
  /** Compute threads the engine uses for one product. */
  threads: number;
  /** tfjs only: the backend that runs the product. */
  backend?: string;
  /**
   * Float32 engines: the most rows one product sums in float32. Longer
   * chunks are cut into blocks of this length whose Grams are added in
   * float64 (see `blockwise`).
   */
  block?: number;
  /**
   * G = xᵀx, G[i, j] = Σ_r x[r, i]·x[r, j], for x row-major
   * [rows, cols] (only the first rows·cols values of `x` are read).
   * Returns G row-major [cols, cols]. With `upper`, only the entries
   * i ≤ j must be right: an engine may skip mirroring them.
   */
  gram(x: Float32Array, rows: number, cols: number, upper?: boolean):
    Promise<Float64Array | Float32Array>;
}

export interface EngineOptions {
  /** Intra-op threads (onnx); other engines run on the calling thread. */
  threads?: number;
  /** tfjs backend choice. */
  backend?: BackendChoice;
}

/**
 * The float64 reference: G[i, j] = Σ_r x[r, i]·x[r, j] summed in float64
 * over the upper triangle, then mirrored. O(rows·cols²), for tests and
 * small checks.
 */
export const jsGramEngine: GramEngine = {
  name: 'js',
  version: `node ${process.versions.node}`,
  threads: 1,
  async gram(x, rows, cols) {
    checkShape(x, rows, cols);
    const g = new Float64Array(cols * cols);
    for (let r = 0; r < rows; r++) {
      const row = r * cols;
      for (let i = 0; i < cols; i++) {
        const xi = x[row + i];
        if (xi === 0) continue;
        const gi = i * cols;
        for (let j = i; j < cols; j++) g[gi + j] += xi * x[row + j];
      }
    }
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < i; j++) g[i * cols + j] = g[j * cols + i];
    }
    return g;
  },
};

/**
 * Make a float32 product accurate for long chunks. A float32 GEMM sums
 * each entry of xᵀx over all rows in float32, and its rounding error
 * grows with the number of rows: on the planted fixture (centered
 * values) the correlation error was 1.7e-7 at 512 rows and 6.7e-7 at
 * 20,000 with onnxruntime, and 4e-7 at 512 against 1.4e-4 at 20,000 with
 * tfjs-wasm. So products run on blocks of at most `block` rows and the
 * block Grams are summed in float64: G = Σ_b x_bᵀx_b. The extra float64
 * pass costs cols² per block, a few percent of the block's 2·block·cols²
 * flops.
 */
export function blockwise(block: number,
  product: (x: Float32Array, rows: number, cols: number,
    upper: boolean) => Promise<Float32Array>) {
  return async (x: Float32Array, rows: number, cols: number,
    upper = false): Promise<Float64Array | Float32Array> => {
    checkShape(x, rows, cols);
    if (rows === 0) return new Float64Array(cols * cols);
    if (rows <= block) return product(x, rows, cols, upper);

    const g = new Float64Array(cols * cols);
    for (let start = 0; start < rows; start += block) {
      const n = Math.min(block, rows - start);
      const part = await product(x.subarray(start * cols), n, cols, upper);
      for (let i = 0; i < part.length; i++) g[i] += part[i];
    }
    return g;
  };
}

/** Refuse a chunk that holds fewer values than its stated shape. */
export function checkShape(x: Float32Array, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 ||
    cols < 1 || x.length < rows * cols) {
    throw new RangeError(`gram: a chunk of ${x.length} values cannot be ` +
      `[${rows}, ${cols}]`);
  }
}

async function load(name: EngineName,
  options: EngineOptions): Promise<GramEngine> {
  if (name === 'onnx') {
    const { createOnnxGram } = await import('./gram-onnx.js');
    return createOnnxGram(options.threads ?? 1);
  }
  if (name === 'tfjs') {
    const { createTfjsGram } = await import('./gram-tfjs.js');
    return createTfjsGram(options.backend ?? 'auto');
  }
  return jsGramEngine;
}

const cache = new Map<string, Promise<GramEngine>>();

/**
 * The engine for `choice` on this thread, built once per choice and
 * options. `auto` tries onnx then tfjs and throws only if both fail;
 * a named engine that fails to load is a usage error saying why.
 */
export function gramEngine(choice: EngineChoice = 'auto',
  options: EngineOptions = {}): Promise<GramEngine> {
  if (!(choice === 'auto' || ENGINES.includes(choice))) {
    return Promise.reject(usageError(`unknown engine '${choice}': ` +
      `expected auto, ${ENGINES.join(', ')}`));
  }
  const key = `${choice}/${options.threads ?? 1}/${options.backend ?? 'auto'}`;
  let engine = cache.get(key);
  if (!engine) {
    engine = select(choice, options);
    cache.set(key, engine);
    // A failed load must not stick: the next call tries again.
    engine.catch(() => cache.delete(key));
  }
  return engine;
}

async function select(choice: EngineChoice,
  options: EngineOptions): Promise<GramEngine> {
  const order = choice === 'auto' ? AUTO_ORDER : [choice];
  const failures: string[] = [];
  for (const name of order) {
    try {
      return await load(name, options);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (choice === 'auto') {
    throw new ConvergentError('E_STAGE', 'no Gram engine loaded (' +
      failures.join('; ') + '). Reinstall onnxruntime-node or ' +
      '@tensorflow/tfjs-backend-wasm.');
  }
  throw usageError(`engine '${choice}' is not available here ` +
    `(${failures[0]}). Use engine auto to fall back to another.`);
}

/** Every engine that loads here, for tests and benchmarks. */
export async function availableEngines(
  options: EngineOptions = {}): Promise<GramEngine[]> {
  const found: GramEngine[] = [];
  for (const name of ENGINES) {
    try {
      found.push(await gramEngine(name, options));
    } catch {
      // Not loadable on this machine: leave it out.
    }
  }
  return found;
}
