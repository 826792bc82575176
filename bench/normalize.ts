/**
 * Benchmark of normalize@, the whole stage: two 384-unit layers over
 * 1,000,000 samples written as extract-like chunk files in a temporary
 * folder, read, joined, centered and multiplied on the worker pool, per
 * Gram engine. Figures in GFLOP/s count the product alone,
 * 2·samples·n² with n = 768 (the onnx engine computes only the upper
 * block triangle, ~58% of those flops). onnx runs twice: one intra-op
 * thread on each of `cores` workers (the stage's choice) and one worker
 * with `cores` threads. Beside them: a plain tfjs matMul(xᵀ, x) on
 * the same backend (one thread), the onnx Gemm alone (all cores and one
 * thread), and NumPy's x.T @ x when Python with NumPy, SciPy and
 * scikit-learn is installed (../shared/bench/python_peer.py gram).
 *
 *   node dist/bench/normalize.js [--small] [--samples N] [--units U]
 *     [--engines onnx,tfjs] [--no-peer]
 *
 * --small (or BENCH_SMALL=1) runs 64,000 samples and no peer, in seconds.
 * Target: the onnx engine ≥ 100 GFLOP/s for the whole stage on two cores.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { createLogger } from '../src/core/log.js';
import { writeNpy } from '../src/core/npy.js';
import { gramModel } from '../src/engine/gram-onnx.js';
import { initTfjs, tf } from '../src/engine/tfjs.js';
import { createPool } from '../src/runner/pool.js';
import { normalizeStage } from '../src/stages/normalize.js';
import type { Artifact, StageContext } from '../src/stages/types.js';
import { machineLine } from './machine.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}

const small = process.argv.includes('--small') ||
  process.env.BENCH_SMALL === '1';
/** Samples per chunk file and per image (a 10 × 10 conv map). */
const FILE_ROWS = 16_384;
const POSITIONS = 100;

const asked = Number(option('samples', small ? '64000' : '1000000'));
const samples = Math.max(1, Math.round(asked / POSITIONS)) * POSITIONS;
const units = Number(option('units', '384'));
const engines = option('engines', 'onnx,tfjs').split(',');
const peer = !small && !process.argv.includes('--no-peer');
const n = 2 * units;
const flops = 2 * samples * n * n;
const cores = availableParallelism();

const gflops = (count: number, s: number) => (count / s / 1e9).toFixed(1);

/** ReLU-like float32 activations from xorshift32, half of them zero. */
function fill(x: Float32Array, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    const v = s / 4294967296 - 0.5;
    x[i] = v > 0 ? v : 0;
  }
}

/** An extract@-like artifact of one layer 'conv', written to `dir`. */
function writeSide(dir: string, network: string, seed: number): Artifact {
  mkdirSync(join(dir, 'conv'), { recursive: true });
  const chunks: string[] = [];
  const buf = new Float32Array(FILE_ROWS * units);
  for (let start = 0, k = 0; start < samples; start += FILE_ROWS, k++) {
    const rows = Math.min(FILE_ROWS, samples - start);
    fill(buf, seed * 7919 + k);
    const name = `conv/chunk-${String(k).padStart(5, '0')}.npy`;
    writeNpy(join(dir, name), buf.subarray(0, rows * units), [rows, units]);
    chunks.push(name);
  }
  const summary = { network, images: samples / POSITIONS, layers: { conv: {
    units, samples, height: 10, width: 10, positions: POSITIONS, chunks } } };
  return { id: `extract@${network}`, dir, summary,
    file: (name) => join(dir, name) };
}

/**
 * The stage on a pool of `workers` threads with one engine; returns
 * seconds and records. The stage gives each worker cores/workers
 * intra-op threads.
 */
async function runNormalize(a: Artifact, b: Artifact, engine: string,
  workers: number) {
  const pool = createPool({ threads: workers });
  const records: Record<string, unknown> = {};
  const out = mkdtempSync(join(tmpdir(), 'convergent-bench-out-'));
  const ctx = {
    id: 'normalize@bench', kind: 'normalize',
    params: { ...normalizeStage.defaults, engine },
    coords: { pair: ['a', 'b'], layer: 'conv' },
    inputs: { a, b }, files: {}, out, pool,
    progress: () => {}, log: createLogger('warn'), warn: console.warn,
    record: (k: string, v: unknown) => { records[k] = v; },
    signal: new AbortController().signal,
  } as unknown as StageContext;
  try {
    // Start the workers and load the engine before timing.
    const kernel = new URL('../src/kernels/normalize-moments.js',
      import.meta.url).href;
    const threads = Math.max(1, Math.floor(cores / workers));
    await Promise.all(Array.from({ length: workers }, () => pool.run(
      kernel, 'loadEngine', { engine, threads })));
    const start = performance.now();
    await normalizeStage.run(ctx);
    return { seconds: (performance.now() - start) / 1000, records };
  } finally {
    await pool.close();
    rmSync(out, { recursive: true, force: true });
  }
}

/** Plain tfjs matMul(xᵀ, x) on this thread, transposed beforehand. */
async function tfjsMatMul(rows: number): Promise<string> {
  const info = await initTfjs('auto');
  const x = new Float32Array(rows * n);
  fill(x, 5);
  const xt = tf.tidy(() => tf.transpose(tf.tensor2d(x, [rows, n])));
  const xs = tf.tensor2d(x, [rows, n]);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    const g = tf.matMul(xt, xs);
    await g.data();
    best = Math.min(best, (performance.now() - start) / 1000);
    g.dispose();
  }
  tf.dispose([xt, xs]);
  return `tfjs matMul(xT, x) [${n} x ${rows}] x [${rows} x ${n}], ` +
    `${info.backend}, 1 thread: ${gflops(2 * rows * n * n, best)} GFLOP/s`;
}

/** The one-node onnx Gemm(X, X, transA=1) alone on one [rows, n] array. */
async function onnxGemm(rows: number, threads: number): Promise<string> {
  const session = await ort.InferenceSession.create(gramModel(n, 1),
    { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const x = new Float32Array(rows * n);
  fill(x, 9);
  const input = new ort.Tensor('float32', x, [rows, n]);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    await session.run({ X: input });
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  await session.release();
  return `onnx Gemm(X, X, transA=1) X [${rows} x ${n}], ${threads} ` +
    `thread(s): ${gflops(2 * rows * n * n, best)} GFLOP/s`;
}

function numpyPeer(): string | undefined {
  const script = fileURLToPath(new URL(
    '../../../shared/bench/python_peer.py', import.meta.url));
  const r = spawnSync('python3', [script, 'gram'], { encoding: 'utf8' });
  return r.status === 0 ? `numpy x.T @ x: ${r.stdout.trim()}` : undefined;
}

async function main(): Promise<void> {
  console.log(machineLine(`${cores} pool threads`));
  console.log(`normalize@ ${units}+${units} units x ${samples} samples ` +
    `(${(flops / 1e9).toFixed(0)} GFLOP in the product)`);

  const dir = mkdtempSync(join(tmpdir(), 'convergent-bench-'));
  try {
    const prepared = performance.now();
    const a = writeSide(join(dir, 'a'), 'a', 1);
    const b = writeSide(join(dir, 'b'), 'b', 2);
    console.log(`chunk files written in ` +
      `${((performance.now() - prepared) / 1000).toFixed(1)} s (not timed)`);

    // onnx also on one worker with every core as intra-op threads: the
    // alternative to the stage's one thread per worker (see normalize.ts).
    const runs = engines.flatMap((e) => e === 'onnx' && cores > 1
      ? [[e, cores], [e, 1]] as const : [[e, cores]] as const);
    for (const [engine, workers] of runs) {
      const { seconds, records } = await runNormalize(a, b, engine,
        workers);
      const used = records.engine as { version: string; threads: number;
        backend?: string };
      console.log(`stage, engine ${engine} (${used.version}` +
        `${used.backend ? `, ${used.backend}` : ''}, ${used.threads} ` +
        `thread(s) x ${workers} worker(s), chunk ${records.chunk}): ` +
        `${seconds.toFixed(2)} s, ${gflops(flops, seconds)} GFLOP/s`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(await tfjsMatMul(small ? 8192 : 32768));
  const rows = small ? 16384 : 100_000;
  console.log(await onnxGemm(rows, cores));
  console.log(await onnxGemm(rows, 1));
  if (peer) console.log(numpyPeer() ?? 'numpy peer: not available');
}

await main();
