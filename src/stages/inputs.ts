/**
 * The normalize@ input that match@ and sparse-map@ both read: the moments
 * of the same pair and layer, under the role `moments`.
 */
import { ConvergentError, inputError } from '../core/errors.js';
import type { Artifact, Coords, InputRef, StageContext } from './types.js';

/** The normalize@ instance at this pair and layer, as role `moments`. */
export function momentsInput(coords: Coords): InputRef[] {
  return [{
    role: 'moments', stage: 'normalize',
    coords: { pair: coords.pair, layer: coords.layer },
  }];
}

/**
 * The one normalize@ artifact given as role `moments`, checked to carry
 * the summary fields this stage reads: unitsA, unitsB, the sample count
 * of each split in `splits` (e.g. ['all'] or ['fit', 'holdout']), and the
 * dead and constant units.
 */
export function momentsOf(ctx: StageContext, splits: string[]): Artifact {
  const moments = ctx.inputs.moments;
  if (!moments || Array.isArray(moments)) {
    throw new ConvergentError('E_STAGE', `${ctx.id}: expected one ` +
      `normalize@ artifact as input 'moments', got ` +
      `${Array.isArray(moments) ? `${moments.length}` : 'none'}`);
  }

  const s = moments.summary;
  const counts = [s.unitsA, s.unitsB, ...splits.map((k) => s.count?.[k])];
  if (!counts.every((c) => Number.isInteger(c) && c >= 0) ||
    !s.dead || !s.constant) {
    const fields = splits.map((k) => `count.${k}`).join(', ');
    throw inputError(moments.file('summary.json'),
      `not a normalize@ summary (unitsA, unitsB, ${fields}, dead and ` +
      'constant are required)', 'Rerun normalize@ for this pair and layer.');
  }
  return moments;
}
