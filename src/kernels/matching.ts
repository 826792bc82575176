/**
 * One-to-one matching of units on a similarity matrix (correlation or
 * mutual information), as in section 2 of the method: semi-matching in
 * both directions, the bipartite matching of largest total, and the
 * summary figures the study tabulated.
 */
import { checkFinite } from '../core/errors.js';
import type { MatchingSummary } from '../stages/summaries.js';
import { hungarian } from './hungarian.js';

export { hungarian } from './hungarian.js';
export type { Assignment } from './hungarian.js';

/**
 * Summarize the matchings of S [unitsA, unitsB] (C-order, finite).
 *
 * - semi: partnerOfA[i] = argmax_j S[i, j], partnerOfB[j] =
 *   argmax_i S[i, j] (the lowest index on ties); semi.mean is the mean of
 *   valueOfA over A's units.
 * - bipartite: the min(unitsA, unitsB) pairs maximizing Σ S[a, b], each
 *   unit used at most once, listed by a; mean = total / pairs.
 * - agree: units of A whose semi and bipartite partners coincide.
 * - below: for each threshold t, the fraction of A's units with
 *   valueOfA < t (a unit with no partner above t).
 * - curves: valueOfA and the bipartite values, each sorted high to low.
 *
 * A side with no units gives partner -1 and value 0 on the other side and
 * means of 0, never NaN.
 *
 * @throws RangeError on a size mismatch, a non-finite S entry or
 *   threshold.
 */
export function summarizeMatching(sim: Float64Array, unitsA: number,
  unitsB: number, thresholds: number[]): MatchingSummary {
  thresholds.forEach((t, k) => checkFinite(`thresholds[${k}]`, t));
  const assignment = hungarian(sim, unitsA, unitsB);

  const partnerOfA = new Array<number>(unitsA).fill(-1);
  const valueOfA = new Array<number>(unitsA).fill(0);
  for (let i = 0; i < unitsA; i++) {
    const row = i * unitsB;
    for (let j = 0; j < unitsB; j++) {
      if (j === 0 || sim[row + j] > valueOfA[i]) {
        partnerOfA[i] = j;
        valueOfA[i] = sim[row + j];
      }
    }
  }

  const partnerOfB = new Array<number>(unitsB).fill(-1);
  const valueOfB = new Array<number>(unitsB).fill(0);
  for (let i = 0; i < unitsA; i++) {
    const row = i * unitsB;
    for (let j = 0; j < unitsB; j++) {
      if (i === 0 || sim[row + j] > valueOfB[j]) {
        partnerOfB[j] = i;
        valueOfB[j] = sim[row + j];
      }
    }
  }

  const pairs: [number, number][] = [];
  const values: number[] = [];
  let agree = 0;
  for (let a = 0; a < unitsA; a++) {
    const b = assignment.colOfRow[a];
    if (b < 0) continue;
    pairs.push([a, b]);
    values.push(sim[a * unitsB + b]);
    if (b === partnerOfA[a]) agree++;
  }

  const below = thresholds.map((threshold) => ({
    threshold,
    fraction: unitsA === 0 ? 0
      : valueOfA.filter((v) => v < threshold).length / unitsA,
  }));

  return {
    unitsA, unitsB,
    semi: {
      partnerOfA, valueOfA, partnerOfB, valueOfB,
      mean: unitsA === 0 ? 0 : sum(valueOfA) / unitsA,
    },
    bipartite: {
      pairs, values,
      total: assignment.total,
      mean: pairs.length === 0 ? 0 : assignment.total / pairs.length,
    },
    agree,
    below,
    curves: { semi: descending(valueOfA), bipartite: descending(values) },
  };
}

/**
 * B's units in an order aligned with A's: the bipartite partners of A's
 * units 0, 1, ... (skipping unmatched A units), then B's unmatched units
 * in ascending index. Reordering the columns of S by it puts the matched
 * pairs on the diagonal.
 */
export function orderOfB(matching: MatchingSummary): number[] {
  const order = matching.bipartite.pairs.map(([, b]) => b);
  const used = new Uint8Array(matching.unitsB);
  for (const b of order) used[b] = 1;
  for (let b = 0; b < matching.unitsB; b++) if (!used[b]) order.push(b);
  return order;
}

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function descending(xs: number[]): number[] {
  return xs.slice().sort((p, q) => q - p);
}
