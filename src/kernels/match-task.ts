/**
 * The pool task behind match@: read a layer's moments, write its three
 * correlation matrices and return the matching summary. It runs on a
 * worker thread because the bipartite matching is O(n³) (seconds at
 * 4,096 units) and the matrices are large to pass between threads.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readNpy, writeNpy } from '../core/npy.js';
import type { DeadUnits, MatchSummary } from '../stages/summaries.js';
import { correlationsFromComoment } from './correlation.js';
import { orderOfB, summarizeMatching } from './matching.js';

export interface MatchTask {
  /** all.comoment.npy [n, n] and all.mean.npy [n], n = unitsA + unitsB. */
  comoment: string;
  mean: string;
  count: number;
  unitsA: number;
  unitsB: number;
  thresholds: number[];
  /** Zero-variance units as normalize@ listed them. */
  known: DeadUnits;
  /** Directory the .npy files go to. */
  out: string;
}

export interface MatchTaskResult {
  summary: MatchSummary;
  /** Zero-variance units found here that normalize@ had not listed. */
  found: { a: number[]; b: number[] };
  seconds: { correlation: number; matching: number };
}

/**
 * Correlations and matching of one (pair, layer). Writes corr_ab.npy
 * [unitsA, unitsB], corr_aa.npy [unitsA, unitsA] and corr_bb.npy
 * [unitsB, unitsB], float64, into `task.out`.
 */
export function matchLayer(task: MatchTask): MatchTaskResult {
  const { unitsA, unitsB } = task;
  const comoment = readNpy(task.comoment).data as Float64Array;
  const mean = readNpy(task.mean).data as Float64Array;
  const known = [
    ...task.known.dead.a, ...task.known.constant.a,
    ...task.known.dead.b.map((b) => unitsA + b),
    ...task.known.constant.b.map((b) => unitsA + b),
  ];

  const t0 = performance.now();
  const corr = correlationsFromComoment(comoment, unitsA, unitsB,
    { mean, count: task.count, known });
  writeNpy(join(task.out, 'corr_ab.npy'), corr.ab, [unitsA, unitsB]);
  writeNpy(join(task.out, 'corr_aa.npy'), corr.aa, [unitsA, unitsA]);
  writeNpy(join(task.out, 'corr_bb.npy'), corr.bb, [unitsB, unitsB]);

  const t1 = performance.now();
  const matching = summarizeMatching(corr.ab, unitsA, unitsB,
    task.thresholds);
  const t2 = performance.now();

  const units = deadUnits(task.known, corr.zeroVariance, mean, unitsA);
  return {
    summary: { ...matching, ...units.lists, orderOfB: orderOfB(matching) },
    found: units.found,
    seconds: { correlation: (t1 - t0) / 1000, matching: (t2 - t1) / 1000 },
  };
}

/**
 * normalize@'s lists, completed with the units found to have zero
 * variance here: a unit whose mean is exactly 0 is dead, else constant.
 */
function deadUnits(known: DeadUnits, zero: Uint8Array, mean: Float64Array,
  unitsA: number) {
  const lists: DeadUnits = {
    dead: { a: [...known.dead.a], b: [...known.dead.b] },
    constant: { a: [...known.constant.a], b: [...known.constant.b] },
  };
  const found = { a: [] as number[], b: [] as number[] };
  for (let k = 0; k < zero.length; k++) {
    if (!zero[k]) continue;
    const side = k < unitsA ? 'a' : 'b';
    const unit = k < unitsA ? k : k - unitsA;
    if (lists.dead[side].includes(unit) ||
      lists.constant[side].includes(unit)) continue;
    (mean[k] === 0 ? lists.dead : lists.constant)[side].push(unit);
    found[side].push(unit);
  }
  for (const list of [lists.dead, lists.constant]) {
    list.a.sort((p, q) => p - q);
    list.b.sort((p, q) => p - q);
  }
  return { lists, found };
}
