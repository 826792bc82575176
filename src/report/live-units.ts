/**
 * Dead units in the tables. By the method's rule a unit of zero variance
 * has correlation (and MI) 0 with everything and is named, not hidden.
 * Left alone, the numbers they produce read as a perfect result: a
 * sparse mapping onto dead targets has loss 0, and a layer with no live
 * units has ties everywhere, so its partners agree by accident. These
 * helpers say when a cell means nothing and write the note for it.
 */
import type { DeadUnits, MatchingSummary, MutualInfoSummary,
  SparseMapSummary } from '../stages/summaries.js';
import { fixed } from './format.js';

/** Units of a predicted layer, and how many of them are live. */
export interface Targets { units: number; live: number }

/**
 * The target units of one row of the sparse tables, from any of its
 * results (every decay maps onto the same units); undefined when no
 * summary says (written before sparse-map recorded them).
 */
export function targetsOf(
  summaries: (Partial<SparseMapSummary> | undefined)[]): Targets | undefined {
  const s = summaries.find((x) => typeof x?.targets === 'number' &&
    typeof x?.liveTargets === 'number');
  return s ? { units: s.targets!, live: s.liveTargets! } : undefined;
}

/** Why a row with no live target shows em dashes. */
export function noLiveTargetsNote(where: string, side: string,
  t: Targets): string {
  return `${where}: no live target units (all ${t.units} units of ` +
    `${side} have zero variance): there is nothing to predict, so the ` +
    'row shows \u2014 (its loss of 0 would read as a perfect prediction).';
}

/** What a loss means when most targets are dead (they score 0). */
export function fewLiveTargetsNote(where: string, side: string,
  t: Targets): string {
  const dead = t.units - t.live;
  return `${where}: ${dead} of the ${t.units} target units of ${side} ` +
    'have zero variance and count as predicted (loss 0); the losses ' +
    `cover the ${t.live} live unit(s), and predicting zero would score ` +
    `${fixed(0.5 * t.live / t.units)} here, not 0.5.`;
}

/** Units of one side of a matching with no variance (or one MI bin). */
function silent(s: Partial<MatchingSummary & DeadUnits & MutualInfoSummary>,
  side: 'a' | 'b'): number {
  return new Set([...(s.dead?.[side] ?? []), ...(s.constant?.[side] ?? []),
    ...(s.single?.[side] ?? [])]).size;
}

/**
 * The side of a matching whose units are all dead (zero variance, or a
 * single MI bin), with its unit count; undefined when both have a live
 * unit.
 */
export function deadSide(s: MatchingSummary):
  { side: 'A' | 'B'; units: number } | undefined {
  if (s.unitsA > 0 && silent(s, 'a') >= s.unitsA) {
    return { side: 'A', units: s.unitsA };
  }
  if (s.unitsB > 0 && silent(s, 'b') >= s.unitsB) {
    return { side: 'B', units: s.unitsB };
  }
  return undefined;
}

/** Why a matching row's agreement counts show em dashes. */
export function deadSideNote(id: string, measure: 'correlation' | 'mi',
  dead: { side: 'A' | 'B'; units: number }): string {
  const [what, why] = measure === 'correlation'
    ? ['correlation', 'zero variance'] : ['MI', 'a single occupied bin'];
  return `${id}: no live units in ${dead.side} (all ${dead.units} have ` +
    `${why}): every ${what} with them is 0, so partners are ties ` +
    'and semi = bipartite is shown as \u2014; the means of 0 are the ' +
    `${what}s.`;
}
