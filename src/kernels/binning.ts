/**
 * Binning of unit activations for the mutual-information estimate
 * (method.md §3). Each unit is binned on its own:
 *
 *   code 0          value ≤ zero                 (the ReLU zeros)
 *   code 1..bins    value > zero, equal-mass bins whose edges e_1..e_{bins-1}
 *                   are the k/bins quantiles (k = 1..bins-1) of the values
 *                   above zero, NumPy's default 'linear' method
 *                   (Hyndman & Fan type 7)
 *
 * A value equal to an edge goes to the LOWER bin (our rule), so for
 * v > zero the code is 1 + #{k : e_k < v}, which is
 * `1 + numpy.searchsorted(edges, v, side='left')`. Edges are computed and
 * compared in float64 (float32 activations widen exactly).
 */

/** The result of binning one unit. */
export interface UnitBins {
  /** Code per sample, 0..bins. */
  codes: Uint8Array;
  /** The bins-1 interior edges (empty when no value is above zero). */
  edges: Float64Array;
  /** Samples per code: counts[c] for c = 0..bins. */
  counts: Int32Array;
  /** True when a single code is occupied: such a unit has MI 0. */
  single: boolean;
}

/** Largest bin count that keeps codes 0..bins inside a Uint8. */
export const MAX_BINS = 255;

/** Check `bins` and `zero` once at the boundary of every entry point. */
export function checkBinning(bins: number, zero: number): void {
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_BINS) {
    throw new RangeError(`bins must be an integer from 1 to ${MAX_BINS} ` +
      `(codes are stored as uint8), got ${bins}`);
  }
  if (!Number.isFinite(zero)) {
    throw new RangeError(`zero must be a finite number, got ${zero}`);
  }
}

/**
 * The k/bins quantile of `sorted` (length m ≥ 1) by linear
 * interpolation between order statistics (NumPy's default 'linear'
 * method, Hyndman & Fan type 7):
 *
 *   h = (m − 1)·k / bins,  lo = ⌊h⌋,  γ = h − lo
 *   Q = x[lo] + (x[lo+1] − x[lo])·γ          if γ < 0.5
 *   Q = x[lo+1] − (x[lo+1] − x[lo])·(1 − γ)  otherwise (NumPy's form)
 *
 * h is split into lo and γ with integer arithmetic, so an edge that falls
 * on an order statistic is exactly that value. NumPy computes h in
 * floating point and can land an ulp short of an integer (9461.999999999998
 * for 9462), which puts the edge a hair below the order statistic and
 * moves the values tied with it one bin up; a strictly increasing
 * transform of the unit could then change its bins. On the planted
 * fixture both give the same codes.
 *
 * Only x[lo] and x[lo+1] are read, so `sorted` may be an array in which
 * just the ranks of `edgeRanks` are in place (see `selectRanks`).
 */
export function quantileEdge(sorted: ArrayLike<number>, k: number,
  bins: number): number {
  const m = sorted.length;
  const scaled = (m - 1) * k;       // exact: below 2^53 for any real layer
  const lo = Math.floor(scaled / bins);
  const rest = scaled - lo * bins;
  if (rest === 0 || lo >= m - 1) return sorted[Math.min(lo, m - 1)];

  const gamma = rest / bins;
  const a = sorted[lo];
  const b = sorted[lo + 1];
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** The order statistics (0-based ranks, ascending) the edges read. */
export function edgeRanks(m: number, bins: number): Int32Array {
  const ranks = new Set<number>();
  for (let k = 1; k < bins; k++) {
    const lo = Math.floor((m - 1) * k / bins);
    ranks.add(lo);
    if (lo + 1 < m) ranks.add(lo + 1);
  }
  return Int32Array.from(ranks).sort();
}

/**
 * Partial sort: afterwards x[r] is the r-th smallest value for every r in
 * `ranks` (ascending), as after a full sort. A quickselect that follows
 * every side holding a wanted rank (median-of-three pivot, Hoare
 * partition, which keeps ties balanced); about 1.6x faster than
 * Float64Array.prototype.sort for the 38 ranks of 20 bins.
 */
export function selectRanks(x: Float64Array, ranks: Int32Array): void {
  selectWithin(x, 0, x.length - 1, ranks, 0, ranks.length);
}

function selectWithin(x: Float64Array, left: number, right: number,
  ranks: Int32Array, from: number, to: number): void {
  while (from < to) {
    if (right - left < 16) {
      insertionSort(x, left, right);
      return;
    }
    const a = x[left];
    const b = x[(left + right) >>> 1];
    const c = x[right];
    const pivot = a < b ? (b < c ? b : a < c ? c : a)
      : (a < c ? a : b < c ? c : b);

    // Afterwards x[left..j] ≤ pivot ≤ x[i..right], and whatever lies
    // strictly between j and i equals the pivot: already in place.
    let i = left;
    let j = right;
    while (i <= j) {
      while (x[i] < pivot) i++;
      while (x[j] > pivot) j--;
      if (i <= j) {
        const t = x[i];
        x[i++] = x[j];
        x[j--] = t;
      }
    }

    let p = from;
    while (p < to && ranks[p] <= j) p++;
    let q = p;
    while (q < to && ranks[q] < i) q++;
    // Recurse into the shorter side, loop on the other: the stack stays
    // O(log m) deep.
    if (j - left < right - i) {
      selectWithin(x, left, j, ranks, from, p);
      left = i;
      from = q;
    } else {
      selectWithin(x, i, right, ranks, q, to);
      right = j;
      to = p;
    }
  }
}

function insertionSort(x: Float64Array, left: number, right: number): void {
  for (let i = left + 1; i <= right; i++) {
    const v = x[i];
    let j = i - 1;
    while (j >= left && x[j] > v) {
      x[j + 1] = x[j];
      j--;
    }
    x[j + 1] = v;
  }
}

/**
 * Bin one unit's values (length S) into codes 0..bins (see the file
 * comment). Values must be finite; a NaN or ±Inf throws a RangeError.
 *
 * @param values the unit's S samples
 * @param bins equal-mass bins above zero (default 20)
 * @param zero values ≤ zero go to code 0 (default 1e-6)
 * @param codes optional output, length S (e.g. a slice of a shared array)
 */
export function binUnit(values: ArrayLike<number>, bins = 20, zero = 1e-6,
  codes: Uint8Array = new Uint8Array(values.length)): UnitBins {
  checkBinning(bins, zero);
  const n = values.length;
  if (codes.length !== n) {
    throw new RangeError(`codes has length ${codes.length}, ` +
      `expected ${n} (one per sample)`);
  }

  // The edges read a few order statistics of the values above zero.
  let above = 0;
  for (let s = 0; s < n; s++) {
    const v = values[s];
    if (!Number.isFinite(v)) {
      throw new RangeError(`sample ${s} is ${v}; activations must be finite`);
    }
    if (v > zero) above++;
  }
  const positive = new Float64Array(above);
  for (let s = 0, k = 0; s < n; s++) {
    if (values[s] > zero) positive[k++] = values[s];
  }
  if (above > 0) selectRanks(positive, edgeRanks(above, bins));
  const edges = new Float64Array(above > 0 ? bins - 1 : 0);
  for (let k = 0; k < edges.length; k++) {
    edges[k] = quantileEdge(positive, k + 1, bins);
  }

  // Code = 1 + number of edges strictly below the value (binary search).
  const counts = new Int32Array(bins + 1);
  for (let s = 0; s < n; s++) {
    const v = values[s];
    let code = 0;
    if (v > zero) {
      let lo = 0;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (edges[mid] < v) lo = mid + 1;
        else hi = mid;
      }
      code = lo + 1;
    }
    codes[s] = code;
    counts[code]++;
  }

  let occupied = 0;
  for (let c = 0; c <= bins; c++) if (counts[c] > 0) occupied++;
  return { codes, edges, counts, single: occupied <= 1 };
}

/** Binned units of one layer, stored unit-major for the MI kernel. */
export interface LayerBins {
  units: number;
  samples: number;
  bins: number;
  /** [units, samples] codes; codes of unit u at u·samples. */
  codes: Uint8Array;
  /** [units, bins + 1] samples per code. */
  counts: Int32Array;
  /** Units with a single occupied bin. */
  single: number[];
}

/**
 * Bin every unit of a layer given unit-major values [units, samples].
 * With `shared`, the codes live in a SharedArrayBuffer so that worker
 * threads read them without a copy.
 */
export function binLayer(values: Float32Array | Float64Array, units: number,
  samples: number, bins = 20, zero = 1e-6, shared = false): LayerBins {
  const buffer = shared ? new SharedArrayBuffer(units * samples)
    : new ArrayBuffer(units * samples);
  const codes = new Uint8Array(buffer);
  const { counts, single } = binUnits({ values, codes, units, samples,
    bins, zero });
  return { units, samples, bins, codes, counts, single };
}

/** A block of units to bin into `codes`, for a pool worker. */
export interface BinUnitsTask {
  /** [units, samples] values, unit-major. */
  values: Float32Array | Float64Array;
  /** [units, samples] output, written in place (shared memory on a pool). */
  codes: Uint8Array;
  units: number;
  samples: number;
  bins: number;
  zero: number;
  /** Index of the first unit in the layer, for error messages. */
  first?: number;
}

/**
 * Bin `units` units into `codes`.
 * @returns counts [units, bins + 1] and the single-bin units (block-relative)
 */
export function binUnits(task: BinUnitsTask): {
  counts: Int32Array; single: number[];
} {
  const { values, codes, units, samples, bins, zero, first = 0 } = task;
  if (values.length !== units * samples || codes.length !== units * samples) {
    throw new RangeError(`values hold ${values.length} numbers and codes ` +
      `${codes.length}, expected ${units} units x ${samples} samples = ` +
      `${units * samples}`);
  }
  checkBinning(bins, zero);
  const counts = new Int32Array(units * (bins + 1));
  const single: number[] = [];

  for (let u = 0; u < units; u++) {
    const at = u * samples;
    let unit: UnitBins;
    try {
      unit = binUnit(values.subarray(at, at + samples), bins, zero,
        codes.subarray(at, at + samples));
    } catch (err) {
      throw new RangeError(`unit ${first + u}: ${(err as Error).message}`);
    }
    counts.set(unit.counts, u * (bins + 1));
    if (unit.single) single.push(u);
  }
  return { counts, single };
}
