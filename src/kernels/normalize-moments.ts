/**
 * The worker kernel of normalize@: stream a range of images of two
 * networks' activations from their chunk files, join each sample as
 * [A | B], and accumulate fit and holdout moments separately. Runs on a
 * pool thread and reads the files itself, so no activation array crosses
 * threads; only the moments ([n, n] float64 per split) come back.
 */
import { readNpyRows, type NpyHeader } from '../core/npy.js';
import { inputError } from '../core/errors.js';
import { gramEngine, type EngineChoice } from '../engine/gram.js';
import type { BackendChoice } from '../engine/tfjs.js';
import { chunkFor, MomentsAccumulator, type Moments } from './moments.js';

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

/** Rows [start, end) of a layer spread over chunk files, as float32. */
function readRows(side: SideSource, start: number, end: number): Float32Array {
  const out = new Float32Array((end - start) * side.units);
  let base = 0;
  for (const file of side.files) {
    const lo = Math.max(start, base);
    const hi = Math.min(end, base + file.rows);
    if (lo < hi) {
      const part = readNpyRows(file.path, lo - base, hi - base, file.header);
      out.set(part.data as Float32Array, (lo - start) * side.units);
    }
    base += file.rows;
    if (base >= end) break;
  }
  return out;
}

/** Fills one split's chunk buffer with joined rows and flushes it. */
class SplitStream {
  private readonly buf: Float32Array;
  private rows = 0;
  private seen = false;
  readonly first: Float64Array;
  readonly varies: Uint8Array;
  /** Units that have not varied yet: the only ones still checked. */
  private steady: number[];

  constructor(private readonly acc: MomentsAccumulator,
    private readonly chunk: number) {
    const n = acc.units;
    this.buf = new Float32Array(chunk * n);
    this.first = new Float64Array(n).fill(NaN);
    this.varies = new Uint8Array(n);
    this.steady = Array.from({ length: n }, (_, j) => j);
  }

  /** Append one joined sample [a | b]; true when the buffer is full. */
  push(a: Float32Array, b: Float32Array): boolean {
    const at = this.rows * this.acc.units;
    this.buf.set(a, at);
    this.buf.set(b, at + a.length);
    return ++this.rows === this.chunk;
  }

  async flush(): Promise<void> {
    if (this.rows === 0) return;
    this.checkSteady();
    await this.acc.add(this.buf, this.rows);
    this.rows = 0;
  }

  /** Drop from `steady` every unit whose value changes in the buffer. */
  private checkSteady(): void {
    const n = this.acc.units;
    if (!this.seen) {
      for (let j = 0; j < n; j++) this.first[j] = this.buf[j];
      this.seen = true;
    }
    this.steady = this.steady.filter((j) => {
      const v = this.first[j];
      for (let k = j; k < this.rows * n; k += n) {
        if (this.buf[k] !== v) {
          this.varies[j] = 1;
          return false;
        }
      }
      return true;
    });
  }

  part(): SplitPart {
    return { ...this.acc.moments(), first: this.first, varies: this.varies };
  }
}

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
  const fit = new SplitStream(new MomentsAccumulator(n, engine), chunk);
  const hold = new SplitStream(new MomentsAccumulator(n, engine), chunk);

  const images = task.holdout.length;
  const perRead = Math.max(1, Math.floor(READ_SAMPLES / positions));
  for (let i0 = 0; i0 < images; i0 += perRead) {
    const i1 = Math.min(images, i0 + perRead);
    const start = (task.firstImage + i0) * positions;
    const end = (task.firstImage + i1) * positions;
    const xa = readRows(a, start, end);
    const xb = readRows(b, start, end);
    for (let r = 0; r < end - start; r++) {
      const split = task.holdout[i0 + Math.floor(r / positions)] ? hold : fit;
      const full = split.push(xa.subarray(r * a.units, (r + 1) * a.units),
        xb.subarray(r * b.units, (r + 1) * b.units));
      if (full) await split.flush();
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
