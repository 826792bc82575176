/**
 * Plug-in mutual information between every unit of layer A and every unit
 * of layer B from their joint histograms of bin codes (method.md §3):
 *
 *   MI(a, b) = Σ_ij p(i,j) · log( p(i,j) / (p(i) p(j)) )
 *            = (Σ_ij t(n_ij) − Σ_i t(n_i) − Σ_j t(n_j)) / N + log N
 *
 * with n the sample counts, N the samples and t(n) = n·log n (t(0) = 0),
 * in nats. The second form needs one table lookup per histogram cell.
 *
 * This is the hot kernel: nA·nB·N histogram increments. What keeps it fast:
 * - Codes are unit-major, one contiguous run of N bytes per unit.
 * - For unit a, only the samples where a is above zero (code ≠ 0) are
 *   visited; ReLU layers are mostly zeros. Row 0 of each joint histogram
 *   is recovered afterwards as B's marginal minus the rows counted.
 * - B's codes are packed four units to a 32-bit word per sample, and eight
 *   B units are counted per pass, so each visited sample costs two loads
 *   and eight increments into small, cache-resident histograms.
 * The entry point `mutualInfoRows` takes one structured-clonable task so
 * that pool workers can run blocks of A units (see mutual-info-parallel).
 */

/** One block of A units against all of B. */
export interface MutualInfoTask {
  /** [rows, samples] codes of the A units of this block, unit-major. */
  codesA: Uint8Array;
  /** [rows, levels] sample counts per code of those A units. */
  countsA: Int32Array;
  /** B's codes packed by `packUnits`. */
  packedB: Uint32Array;
  /** [unitsB, levels] sample counts per code of B's units. */
  countsB: Int32Array;
  rows: number;
  unitsB: number;
  samples: number;
  /** Codes per unit: bins + 1. */
  levels: number;
}

/** Units packed per 32-bit word, and units counted per pass (two words). */
const PER_WORD = 4;
const PER_PASS = 8;

/**
 * Pack unit-major codes [units, samples] into words: word g·samples + s
 * holds the codes of units 4g..4g+3 at sample s, lowest byte first. Units
 * are padded with code 0 up to a multiple of eight (words in pairs).
 * @returns Uint32Array [ceil(units / 8)·2, samples]
 */
export function packUnits(codes: Uint8Array, units: number, samples: number,
  shared = false): Uint32Array {
  const words = Math.ceil(units / PER_PASS) * (PER_PASS / PER_WORD);
  const bytes = words * samples * 4;
  const packed = new Uint32Array(
    shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));

  for (let u = 0; u < units; u++) {
    const code = codes.subarray(u * samples, (u + 1) * samples);
    const at = Math.floor(u / PER_WORD) * samples;
    const word = packed.subarray(at, at + samples);
    const shift = (u % PER_WORD) * 8;
    for (let s = 0; s < samples; s++) word[s] |= code[s] << shift;
  }
  return packed;
}

/** t(n) = n·log(n) for n = 0..samples, t(0) = 0. */
export function nLogNTable(samples: number): Float64Array {
  const t = new Float64Array(samples + 1);
  for (let n = 2; n <= samples; n++) t[n] = n * Math.log(n);
  return t;
}

/** Σ_c t(counts[at + c]) over one unit's `levels` codes. */
function marginalTerm(counts: Int32Array, at: number, levels: number,
  t: Float64Array): number {
  let sum = 0;
  for (let c = 0; c < levels; c++) sum += t[counts[at + c]];
  return sum;
}

function occupiedBins(counts: Int32Array, at: number, levels: number): number {
  let occupied = 0;
  for (let c = 0; c < levels; c++) if (counts[at + c] > 0) occupied++;
  return occupied;
}

/**
 * MI in nats of each A unit of the task against every B unit.
 * A unit with a single occupied bin (on either side) gets exactly 0;
 * rounding that would make an MI slightly negative is clamped to 0.
 * @returns Float64Array [rows, unitsB], row-major
 */
export function mutualInfoRows(task: MutualInfoTask): Float64Array {
  const { codesA, countsA, packedB, countsB, rows, unitsB, samples,
    levels } = task;
  const cells = levels * levels;
  const out = new Float64Array(rows * unitsB);
  if (samples === 0) return out;

  const t = nLogNTable(samples);
  const logN = Math.log(samples);
  const termB = new Float64Array(unitsB);
  const liveB = new Uint8Array(unitsB);
  for (let j = 0; j < unitsB; j++) {
    termB[j] = marginalTerm(countsB, j * levels, levels, t);
    liveB[j] = occupiedBins(countsB, j * levels, levels) > 1 ? 1 : 0;
  }

  // Per A unit: its samples above zero and their histogram row offsets.
  const visit = new Int32Array(samples);
  const rowAt = new Int32Array(samples);
  const hist = new Int32Array(PER_PASS * cells);
  const passes = Math.ceil(unitsB / PER_PASS);
  const h1 = cells, h2 = 2 * cells, h3 = 3 * cells, h4 = 4 * cells;
  const h5 = 5 * cells, h6 = 6 * cells, h7 = 7 * cells;

  for (let i = 0; i < rows; i++) {
    if (occupiedBins(countsA, i * levels, levels) <= 1) continue;
    const termA = marginalTerm(countsA, i * levels, levels, t);
    const a = codesA.subarray(i * samples, (i + 1) * samples);
    let m = 0;
    for (let s = 0; s < samples; s++) {
      const c = a[s];
      if (c !== 0) {
        visit[m] = s;
        rowAt[m] = c * levels;
        m++;
      }
    }

    for (let p = 0; p < passes; p++) {
      hist.fill(0);
      const w0 = packedB.subarray(2 * p * samples, (2 * p + 1) * samples);
      const w1 = packedB.subarray((2 * p + 1) * samples, (2 * p + 2) * samples);
      for (let k = 0; k < m; k++) {
        const s = visit[k];
        const r = rowAt[k];
        const x = w0[s];
        const y = w1[s];
        hist[r + (x & 255)]++;
        hist[h1 + r + ((x >>> 8) & 255)]++;
        hist[h2 + r + ((x >>> 16) & 255)]++;
        hist[h3 + r + (x >>> 24)]++;
        hist[h4 + r + (y & 255)]++;
        hist[h5 + r + ((y >>> 8) & 255)]++;
        hist[h6 + r + ((y >>> 16) & 255)]++;
        hist[h7 + r + (y >>> 24)]++;
      }

      const last = Math.min(PER_PASS, unitsB - p * PER_PASS);
      for (let q = 0; q < last; q++) {
        const j = p * PER_PASS + q;
        if (!liveB[j]) continue;
        const joint = jointTerm(hist, q * cells, countsB, j * levels,
          levels, t);
        const mi = (joint - termA - termB[j]) / samples + logN;
        out[i * unitsB + j] = mi > 0 ? mi : 0;
      }
    }
  }
  return out;
}

/**
 * Σ t(n_ij) over one joint histogram whose row 0 (A at code 0) was not
 * counted: n_0j = (B's count of code j) − Σ_{i≥1} n_ij.
 */
function jointTerm(hist: Int32Array, at: number, countsB: Int32Array,
  bAt: number, levels: number, t: Float64Array): number {
  let sum = 0;
  for (let c = 0; c < levels; c++) {
    let counted = 0;
    for (let r = 1; r < levels; r++) {
      const n = hist[at + r * levels + c];
      counted += n;
      sum += t[n];
    }
    sum += t[countsB[bAt + c] - counted];
  }
  return sum;
}

/**
 * All pairs on the calling thread: MI [unitsA, unitsB] in nats from
 * unit-major codes and per-unit code counts (as `binLayer` returns them).
 */
export function mutualInfo(codesA: Uint8Array, countsA: Int32Array,
  unitsA: number, codesB: Uint8Array, countsB: Int32Array, unitsB: number,
  samples: number, levels: number): Float64Array {
  return mutualInfoRows({
    codesA, countsA, packedB: packUnits(codesB, unitsB, samples), countsB,
    rows: unitsA, unitsB, samples, levels,
  });
}
