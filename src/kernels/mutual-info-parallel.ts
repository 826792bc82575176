/**
 * Binning and all-pairs mutual information on the worker pool. Units are
 * split into blocks, one task per block. Arrays held in SharedArrayBuffers
 * reach the workers without a copy: the values to bin (when the caller
 * put them there), the codes binning writes, and B's packed codes, which
 * every MI block reads. MI blocks are blocks of A's units, each against
 * all of B; their rows are assembled here.
 */
import type { Pool } from '../stages/types.js';
import { checkBinning, type BinUnitsTask, type LayerBins }
  from './binning.js';
import { packUnits, type MutualInfoTask } from './mutual-info.js';

const kernel = new URL('./mutual-info.js', import.meta.url).href;
const binner = new URL('./binning.js', import.meta.url).href;

/**
 * `binLayer` on the pool: unit-major values [units, samples] (best in a
 * SharedArrayBuffer; otherwise each block is copied to its worker) give
 * codes in shared memory, ready for `mutualInfoOnPool`.
 */
export async function binLayerOnPool(pool: Pool,
  values: Float32Array | Float64Array, units: number, samples: number,
  bins = 20, zero = 1e-6): Promise<LayerBins> {
  if (values.length !== units * samples) {
    throw new RangeError(`values hold ${values.length} numbers, expected ` +
      `${units} units x ${samples} samples = ${units * samples}`);
  }
  checkBinning(bins, zero);
  const codes = new Uint8Array(new SharedArrayBuffer(units * samples));
  const counts = new Int32Array(units * (bins + 1));
  const single: number[] = [];
  const shared = values.buffer instanceof SharedArrayBuffer;
  const size = Math.ceil(units / Math.max(1, pool.threads * 2));

  const tasks: Promise<void>[] = [];
  for (let start = 0; start < units; start += size) {
    const end = Math.min(units, start + size);
    const range = [start * samples, end * samples] as const;
    const task: BinUnitsTask = {
      values: shared ? values.subarray(...range) : values.slice(...range),
      codes: codes.subarray(...range),
      units: end - start, samples, bins, zero, first: start,
    };
    tasks.push(pool.run<{ counts: Int32Array; single: number[] }>(
      binner, 'binUnits', task).then((block) => {
      counts.set(block.counts, start * (bins + 1));
      single.push(...block.single.map((u) => start + u));
    }));
  }
  await Promise.all(tasks);
  single.sort((p, q) => p - q);
  return { units, samples, bins, codes, counts, single };
}

export interface MutualInfoRun {
  /** Blocks of A units; default 8 per pool thread (at most unitsA). */
  blocks?: number;
  /** Called as blocks finish. */
  progress?(done: number, total: number): void;
}

/**
 * MI [a.units, b.units] in nats, row-major, for two binned layers on the
 * same aligned samples and with the same bins.
 */
export async function mutualInfoOnPool(pool: Pool, a: LayerBins, b: LayerBins,
  run: MutualInfoRun = {}): Promise<Float64Array> {
  if (a.samples !== b.samples || a.bins !== b.bins) {
    throw new RangeError(`layers binned differently: A has ${a.samples} ` +
      `samples in ${a.bins} bins, B ${b.samples} in ${b.bins}; both must ` +
      'be binned on the same aligned samples with the same bins');
  }
  const { samples } = a;
  const levels = a.bins + 1;
  const out = new Float64Array(a.units * b.units);
  if (a.units === 0 || b.units === 0) return out;

  const shared = a.codes.buffer instanceof SharedArrayBuffer;
  // Packed into shared memory: every block reads the same copy.
  const packedB = packUnits(b.codes, b.units, samples, true);
  const blocks = Math.max(1, Math.min(a.units,
    run.blocks ?? pool.threads * 8));
  const size = Math.ceil(a.units / blocks);

  let done = 0;
  const total = Math.ceil(a.units / size);
  const tasks: Promise<void>[] = [];
  for (let start = 0; start < a.units; start += size) {
    const end = Math.min(a.units, start + size);
    // A view of shared memory is passed as is; an ordinary one is sliced,
    // since cloning a view would copy its whole buffer.
    const codesA = shared
      ? a.codes.subarray(start * samples, end * samples)
      : a.codes.slice(start * samples, end * samples);
    const task: MutualInfoTask = {
      codesA,
      countsA: a.counts.slice(start * levels, end * levels),
      packedB, countsB: b.counts,
      rows: end - start, unitsB: b.units, samples, levels,
    };
    tasks.push(pool.run<Float64Array>(kernel, 'mutualInfoRows', task)
      .then((rows) => {
        out.set(rows, start * b.units);
        run.progress?.(++done, total);
      }));
  }
  await Promise.all(tasks);
  return out;
}
