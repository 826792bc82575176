/**
 * Main-thread side of normalize@: merge the per-task moments of one split
 * in task order, and name the units whose variance is exactly zero.
 */
import { emptyMoments, mergeInto, type Moments } from './moments.js';
import type { SplitPart } from './normalize-moments.js';

export interface SplitMoments extends Moments {
  /** [units] 1 where every sample of the split has the same value. */
  zero: Uint8Array;
}

/**
 * Merges task parts of one split (Chan update) in the order they are
 * added, so the result does not depend on which worker finished first.
 * A unit has zero variance in the split when no part saw it vary and all
 * parts saw the same first value; `result()` gives those units their
 * exact value as mean and a zero co-moment row and column, so rounding
 * never leaves them a tiny variance.
 */
export class PartMerger {
  private readonly m: Moments;
  private readonly varies: Uint8Array;
  private first: Float64Array | undefined;

  constructor(readonly units: number) {
    this.m = emptyMoments(units);
    this.varies = new Uint8Array(units);
  }

  add(part: SplitPart): void {
    if (part.count === 0) return;
    mergeInto(this.m, part.count, part.mean, part.comoment);
    const first = (this.first ??= part.first);
    for (let j = 0; j < this.units; j++) {
      if (part.varies[j] || part.first[j] !== first[j]) this.varies[j] = 1;
    }
  }

  result(): SplitMoments {
    const zero = new Uint8Array(this.units);
    const out = { ...this.m, zero };
    for (let j = 0; this.first && j < this.units; j++) {
      if (this.varies[j]) continue;
      zero[j] = 1;
      clearUnit(out, j, this.first[j]);
    }
    return out;
  }
}

/** The split of all samples: the merge of fit and holdout. */
export function combineSplits(fit: SplitMoments,
  holdout: SplitMoments): SplitMoments {
  const n = fit.units;
  const m = emptyMoments(n);
  mergeInto(m, fit.count, fit.mean, fit.comoment);
  mergeInto(m, holdout.count, holdout.mean, holdout.comoment);

  const zero = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const inFit = fit.count === 0 || fit.zero[j] === 1;
    const inHold = holdout.count === 0 || holdout.zero[j] === 1;
    const same = fit.count === 0 || holdout.count === 0 ||
      fit.mean[j] === holdout.mean[j];
    zero[j] = inFit && inHold && same ? 1 : 0;
  }
  const result = { ...m, zero };
  for (let j = 0; j < n; j++) {
    if (zero[j]) {
      clearUnit(result, j, fit.count > 0 ? fit.mean[j] : holdout.mean[j]);
    }
  }
  return result;
}

function clearUnit(m: Moments, j: number, value: number): void {
  const n = m.units;
  m.mean[j] = value;
  for (let k = 0; k < n; k++) {
    m.comoment[j * n + k] = 0;
    m.comoment[k * n + j] = 0;
  }
}

/** Population std per unit: √(C_jj / count); 0 for zero-variance units. */
export function stdOf(m: SplitMoments): Float64Array {
  const n = m.units;
  const std = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const c = m.comoment[j * n + j];
    std[j] = m.zero[j] || m.count === 0 || !(c > 0)
      ? 0 : Math.sqrt(c / m.count);
  }
  return std;
}

/** Zero-variance units split by side and by value (0 = dead). */
export function deadAndConstant(m: SplitMoments, unitsA: number) {
  const out = { dead: { a: [] as number[], b: [] as number[] },
    constant: { a: [] as number[], b: [] as number[] } };
  for (let j = 0; j < m.units; j++) {
    if (!m.zero[j]) continue;
    const kind = m.mean[j] === 0 ? out.dead : out.constant;
    if (j < unitsA) kind.a.push(j);
    else kind.b.push(j - unitsA);
  }
  return out;
}
