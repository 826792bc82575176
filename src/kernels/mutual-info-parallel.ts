/**
 * All-pairs mutual information on the worker pool: A's units are split
 * into blocks, each block runs `mutualInfoRows` on a pool thread against
 * all of B, and the rows are assembled here. Codes held in a
 * SharedArrayBuffer (binLayer(..., shared = true)) reach the workers
 * without a copy; B is packed once, into shared memory, for all blocks.
 */
import type { Pool } from '../stages/types.js';
import type { LayerBins } from './binning.js';
import { packUnits, type MutualInfoTask } from './mutual-info.js';

const kernel = new URL('./mutual-info.js', import.meta.url).href;

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
