/**
 * The worker kernel of normalize@: stream a range of images of two
 * networks' activations from their chunk files, join each sample as
 * [A | B], and accumulate fit and holdout moments separately. Runs on a
 * pool thread and reads the files itself, so no activation array crosses
 * threads; only the moments ([n, n] float64 per split) come back.
 */
import { throwIfCancelled } from '../core/cancel.js';
import type { NpyHeader } from '../core/npy.js';
import { inputError } from '../core/errors.js';
import { gramEngine, type EngineChoice } from '../engine/gram.js';
import type { BackendChoice } from '../engine/tfjs.js';
import { chunkFor, MomentsAccumulator, type Moments } from './moments.js';
import { readRows } from './normalize-read.js';
import { SplitStream } from './normalize-stream.js';

/** One chunk file of a layer: its rows (samples) and parsed header. */
export interface ChunkFile {
  path: string;
  rows: number;
  header: NpyHeader;
}

export interface SideSource {
  /** The layer's chunk files, in sample order. */
  files: ChunkFile[];
  units: number;
}

export interface NormalizeTask {
  a: SideSource;
  b: SideSource;
  /** Samples per image. */
  positions: number;
  /** The task's images: [firstImage, firstImage + holdout.length). */
  firstImage: number;
  /** Per image of the task: 1 = holdout, 0 = fit. */
  holdout: Uint8Array;
  /** Rows per Gram product; 0 = the engine's own block. */
  chunk: number;
  engine: EngineChoice;
  /** Intra-op threads of the engine (onnx). */
  threads: number;
  backend?: BackendChoice;
}

/** Moments of one split plus what tells a zero-variance unit. */
export interface SplitPart extends Moments {
  /** Per unit: the first value seen (NaN before any sample). */
  first: Float64Array;
  /** Per unit: 1 once a value differs from `first`. */
  varies: Uint8Array;
}

export interface NormalizeTaskResult {
  fit: SplitPart;
  holdout: SplitPart;
  engine: { name: string; version: string; threads: number;
    backend?: string };
  chunk: number;
}

/** Samples read per file access, rounded to whole images. */
const READ_SAMPLES = 8192;

/**
 * Moments of the task's images, fit and holdout apart. Throws if a unit
 * has NaN or infinite activations (they would poison every moment).
 */
export async function normalizeMoments(
  task: NormalizeTask): Promise<NormalizeTaskResult> {
  const engine = await gramEngine(task.engine,
    { threads: task.threads, backend: task.backend });
  const chunk = task.chunk > 0 ? task.chunk : chunkFor(engine);
  const { a, b, positions } = task;
  const n = a.units + b.units;
  const stream = () => new SplitStream(new MomentsAccumulator(n, engine),
    a.units, b.units, chunk);
  const fit = stream();
  const hold = stream();

  const images = task.holdout.length;
  const perRead = Math.max(1, Math.floor(READ_SAMPLES / positions));
  const xa = new Float32Array(perRead * positions * a.units);
  const xb = new Float32Array(perRead * positions * b.units);
  for (let i0 = 0; i0 < images; i0 += perRead) {
    throwIfCancelled();
    const i1 = Math.min(images, i0 + perRead);
    const start = (task.firstImage + i0) * positions;
    const end = (task.firstImage + i1) * positions;
    readRows(a, start, end, xa);
    readRows(b, start, end, xb);
    // Runs of consecutive images on the same side go over in one copy.
    for (let i = i0; i < i1;) {
      let j = i + 1;
      while (j < i1 && task.holdout[j] === task.holdout[i]) j++;
      await (task.holdout[i] ? hold : fit).push(xa, xb,
        (i - i0) * positions, (j - i0) * positions);
      i = j;
    }
  }
  await fit.flush();
  await hold.flush();

  const result = {
    fit: fit.part(), holdout: hold.part(), chunk,
    engine: { name: engine.name, version: engine.version,
      threads: engine.threads, backend: engine.backend },
  };
  checkFinite(task, result.fit);
  checkFinite(task, result.holdout);
  return result;
}

function checkFinite(task: NormalizeTask, part: SplitPart): void {
  const j = part.mean.findIndex((v) => !Number.isFinite(v));
  if (j < 0) return;
  const side = j < task.a.units ? task.a : task.b;
  const unit = j < task.a.units ? j : j - task.a.units;
  const first = task.firstImage * task.positions;
  const last = (task.firstImage + task.holdout.length) * task.positions;
  throw inputError(side.files[0]?.path ?? '<no file>', `unit ${unit} has ` +
    `NaN or infinite activations among samples ${first}..${last - 1}`,
    'Check the network or the exported activations for overflow.');
}

/**
 * Load the engine on this worker and say which it is: lets a caller
 * (the benchmark) start workers and sessions before timing.
 */
export async function loadEngine(args: { engine: EngineChoice;
  threads: number; backend?: BackendChoice }) {
  const e = await gramEngine(args.engine,
    { threads: args.threads, backend: args.backend });
  return { name: e.name, version: e.version, threads: e.threads,
    backend: e.backend };
}
