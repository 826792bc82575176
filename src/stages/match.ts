/**
 * match@<a>-<b>/<layer>: one-to-one matching of units on correlation
 * (method section 2).
 *
 * Reads: role `moments` = normalize@ at the same pair and layer
 * (`all.comoment.npy`, `all.mean.npy` and its NormalizeSummary).
 *
 * Parameters:
 * - `thresholds` (number[], default [0.3, 0.5, 0.7]): for each t, the
 *   summary gives the fraction of A's units whose best correlation with
 *   any unit of B is below t (the study's "no match > 0.5" column).
 *
 * Writes (float64 .npy):
 * - `corr_ab.npy` [unitsA, unitsB]: Pearson correlation of A's and B's
 *   units over all aligned samples;
 * - `corr_aa.npy` [unitsA, unitsA], `corr_bb.npy` [unitsB, unitsB]:
 *   within each network.
 * Zero-variance (dead or constant) units have correlation 0 with every
 * unit, themselves included; live units have 1 on the diagonal.
 *
 * Summary (MatchSummary in summaries.ts): semi-matching both ways,
 * bipartite matching of largest total correlation (Jonker–Volgenant),
 * agreement count, fractions below thresholds, sorted curves, B's units
 * in A-aligned order (`orderOfB`), and the dead and constant units.
 */
import { existsSync } from 'node:fs';
import { inputError, PipelineError, shapeError } from '../core/errors.js';
import { readNpyHeader } from '../core/npy.js';
import type { MatchTask, MatchTaskResult } from '../kernels/match-task.js';
import { momentsInput, momentsOf } from './inputs.js';
import type { NormalizeSummary } from './summaries.js';
import type { StageContext, StageDef } from './types.js';

const taskModule = new URL('../kernels/match-task.js', import.meta.url).href;

export const matchStage: StageDef = {
  kind: 'match',
  version: 1,
  description: 'one-to-one matching of units on correlation ' +
    '(semi and bipartite)',
  axes: ['pair', 'layer'],
  defaults: { thresholds: [0.3, 0.5, 0.7] },

  inputs: momentsInput,

  async run(ctx) {
    const thresholds = checkThresholds(ctx);
    const moments = momentsOf(ctx, ['all']);
    const summary = moments.summary as NormalizeSummary;
    const { unitsA, unitsB } = summary;
    const comoment = moments.file('all.comoment.npy');
    const mean = moments.file('all.mean.npy');
    checkShape(comoment, [unitsA + unitsB, unitsA + unitsB]);
    checkShape(mean, [unitsA + unitsB]);
    ctx.signal.throwIfAborted();

    ctx.progress(0, 1);
    const task: MatchTask = {
      comoment, mean, count: summary.count.all, unitsA, unitsB,
      thresholds, out: ctx.out,
      known: { dead: summary.dead, constant: summary.constant },
    };
    const result = await ctx.pool.run<MatchTaskResult>(
      taskModule, 'matchLayer', task);
    ctx.progress(1, 1);

    for (const side of ['a', 'b'] as const) {
      const units = result.found[side];
      if (units.length === 0) continue;
      ctx.warn(`${ctx.id}: units ${units.join(', ')} of network ` +
        `${side.toUpperCase()} have zero variance (std at most 1e-10 of ` +
        `their mean) but normalize@ did not list them; their ` +
        `correlations are set to 0`);
    }
    ctx.record('solver', 'Jonker-Volgenant shortest augmenting path');
    ctx.record('seconds', result.seconds);
    return { summary: { ...result.summary } };
  },
};

function checkThresholds(ctx: StageContext): number[] {
  const value: unknown = ctx.params.thresholds;
  const ok = Array.isArray(value) &&
    value.every((t) => typeof t === 'number' && Number.isFinite(t));
  if (!ok) {
    throw new PipelineError(
      { file: ctx.pipeline.file, path: `stages.${ctx.kind}.thresholds` },
      `expected a list of numbers such as [0.3, 0.5, 0.7], got ` +
      `${JSON.stringify(value)}`);
  }
  return value as number[];
}

function checkShape(file: string, expected: number[]) {
  if (!existsSync(file)) {
    throw inputError(file, 'missing from the normalize@ artifact',
      'Rerun normalize@ for this pair and layer.');
  }
  const { shape, dtype } = readNpyHeader(file);
  if (dtype !== 'float64' || shape.join() !== expected.join()) {
    throw shapeError(file, `${dtype} [${shape}]`,
      `float64 [${expected}] (unitsA + unitsB from the summary)`);
  }
}
