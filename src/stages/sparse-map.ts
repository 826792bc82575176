/**
 * sparse-map@<a>-<b>/<layer>/decay=<d>: the sparse (LASSO) mapping that
 * predicts one network's layer from the other's, at one decay (method
 * section 4). Each decay of the sweep is its own cached instance.
 *
 * Reads: role `moments` = normalize@ at the same pair and layer:
 * `fit.mean.npy`, `fit.comoment.npy`, `holdout.mean.npy`,
 * `holdout.comoment.npy` (float64, A's units first) and its
 * NormalizeSummary (counts per split, dead and constant units).
 *
 * The problem, on units standardized with the FIT split's mean and std
 * (zero-variance units standardize to 0):
 *   L(W) = (1/(2·m)) Σ_j mean((y_j − x·w'_j)²),  m target units,
 * and L + decay·Σ|W| splits per target into
 *   ½·mean((y_j − x·w'_j)²) + α‖w'_j‖₁,  α = decay·√(nA·nB).
 * Decay 0 is ordinary least squares, solved exactly (minimum-norm
 * solution through an eigendecomposition, so collinear units give a
 * defined answer). Other decays run coordinate descent on the fit Gram
 * matrix along a short path of penalties from α_max (where W = 0) down to
 * α, with exact fixed-support steps, until the duality gap of every
 * target is at most tolerance·½·mean(y_j²). The holdout loss applies the
 * fitted W' to the holdout moments with the fit standardization, no
 * refit. Predicting zero scores 0.5 × (live target units)/m.
 *
 * Parameters:
 * - `decays` (number[], default [0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]): the
 *   sweep; each value becomes an instance with `decay`.
 * - `direction` ('a-to-b' | 'b-to-a', default 'a-to-b'): predict B from A,
 *   or A from B.
 * - `tolerance` (number > 0, default 1e-8): duality gap per target,
 *   relative to ½·mean(y²) (the objective at W = 0).
 * - `maxIterations` (integer ≥ 1, default 10,000): sweeps over all source
 *   units allowed per target and penalty.
 * - `threshold` (number ≥ 0, default 1e-3): |W| above it counts as a
 *   weight in `weightsPerUnit` (the study's "significantly non-zero").
 *
 * Writes `weights.npy`: W float64 in the study's units
 * (W = W'·√(sources/targets)), [unitsA, unitsB] for a-to-b and
 * [unitsB, unitsA] for b-to-a; rows of dead source units and columns of
 * dead target units are 0.
 *
 * Summary (SparseMapSummary in summaries.ts): decay, alpha, direction,
 * fitLoss, holdoutLoss, weightsPerUnit, gap (largest relative duality gap
 * over targets), tolerance, converged, iterations (most sweeps any target
 * spent at its final penalty; 0 for decay 0), targets and liveTargets
 * (units of the predicted layer, and those not of zero variance).
 *
 * Records: `solver` (Cholesky or minimum-norm eigen least squares at
 * decay 0, else Gram coordinate descent), `alpha`, `sweeps`, `exactSteps`,
 * `rank` (decay 0), `seconds`. Warnings: the iteration limit (with the
 * gap, the tolerance and what to change), collinear source units at
 * decay 0, and zero-variance units that normalize@ did not list.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inputError, PipelineError } from '../core/errors.js';
import { readNpyHeader, writeNpy } from '../core/npy.js';
import type { SparseMapResult, SparseMapTaskArgs }
  from '../kernels/lasso-task.js';
import { momentsInput, momentsOf } from './inputs.js';
import type { NormalizeSummary, SparseMapSummary } from './summaries.js';
import type { Artifact, StageContext, StageDef } from './types.js';

const taskModule = new URL('../kernels/lasso-task.js', import.meta.url).href;

const directions = ['a-to-b', 'b-to-a'] as const;
type Direction = typeof directions[number];

interface SparseParams {
  decay: number;
  direction: Direction;
  tolerance: number;
  maxIterations: number;
  threshold: number;
}

export const sparseMapStage: StageDef = {
  kind: 'sparse-map',
  version: 2,
  description: 'sparse (LASSO) mapping between the units of two ' +
    'networks, one instance per decay',
  axes: ['pair', 'layer'],
  sweep: { param: 'decays', as: 'decay' },
  defaults: {
    decays: [0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1],
    direction: 'a-to-b',
    tolerance: 1e-8,
    maxIterations: 10_000,
    threshold: 1e-3,
  },

  inputs: momentsInput,

  async run(ctx) {
    const params = checkParams(ctx);
    const moments = momentsOf(ctx, ['fit', 'holdout']);
    const summary = moments.summary as NormalizeSummary;
    const { unitsA, unitsB } = summary;
    const n = unitsA + unitsB;
    const files = {
      fitMean: moments.file('fit.mean.npy'),
      fitComoment: moments.file('fit.comoment.npy'),
      holdoutMean: moments.file('holdout.mean.npy'),
      holdoutComoment: moments.file('holdout.comoment.npy'),
    };
    checkShape(files.fitMean, [n]);
    checkShape(files.fitComoment, [n, n]);
    checkShape(files.holdoutMean, [n]);
    checkShape(files.holdoutComoment, [n, n]);
    checkCounts(moments, summary);
    ctx.signal.throwIfAborted();

    const b = (u: number) => unitsA + u;
    const zero = [...summary.dead.a, ...summary.constant.a,
      ...summary.dead.b.map(b), ...summary.constant.b.map(b)];
    const args: SparseMapTaskArgs = {
      ...params, unitsA, unitsB, zero, files,
      count: { fit: summary.count.fit, holdout: summary.count.holdout },
    };
    ctx.progress(0, 1);
    const result = await ctx.pool.run<SparseMapResult>(
      taskModule, 'sparseMapTask', args);
    ctx.progress(1, 1);

    writeNpy(join(ctx.out, 'weights.npy'), result.weights, result.shape);
    report(ctx, params, result, unitsA);
    const targets = targetUnits(params, summary, result.zeroOnFit);
    warnDeadTargets(ctx, targets);
    const out: SparseMapSummary = {
      decay: params.decay, alpha: result.alpha, direction: params.direction,
      fitLoss: result.fitLoss, holdoutLoss: result.holdoutLoss,
      weightsPerUnit: result.weightsPerUnit, gap: result.gap,
      tolerance: params.tolerance, converged: result.converged,
      iterations: result.iterations, targets: targets.units,
      liveTargets: targets.live,
    };
    return { summary: { ...out } };
  },
};

/**
 * The predicted layer's units, and how many vary on the fit split: the
 * dead and constant units normalize@ names, and any it missed that are
 * constant on the fit split (`zeroOnFit`, indices into [A | B]).
 */
function targetUnits(params: SparseParams, summary: NormalizeSummary,
  zeroOnFit: number[]): { units: number; live: number } {
  const side = params.direction === 'a-to-b' ? 'b' : 'a';
  const units = side === 'b' ? summary.unitsB : summary.unitsA;
  const first = side === 'b' ? summary.unitsA : 0;
  const missed = zeroOnFit.filter((u) => u >= first && u < first + units);
  const dead = summary.dead[side].length + summary.constant[side].length +
    missed.length;
  return { units, live: units - dead };
}

/**
 * Dead target units score 0 loss by definition (nothing to predict), so a
 * layer whose targets are mostly dead shows a low loss that says little:
 * say so beside the number rather than let it read as a good prediction.
 * The report's tables show no loss at all when no target unit is live.
 */
function warnDeadTargets(ctx: StageContext,
  targets: { units: number; live: number }): void {
  const dead = targets.units - targets.live;
  if (dead * 2 < targets.units) return;
  ctx.warn(`${dead} of the ${targets.units} target units have zero ` +
    'variance and count as perfectly predicted (loss 0); the losses ' +
    `cover only the ${targets.live} live units.`);
}

/** Warnings and run records from one solve. */
function report(ctx: StageContext, params: SparseParams,
  result: SparseMapResult, unitsA: number): void {
  const [source, target] = params.direction === 'a-to-b'
    ? ['A', 'B'] : ['B', 'A'];
  if (!result.converged) {
    ctx.warn(`${ctx.id}: the LASSO stopped on the iteration limit for ` +
      `${result.unconverged.length} target units of ${target} ` +
      `(${listUnits(result.unconverged)}): largest duality gap ` +
      `${result.gap.toExponential(2)} > tolerance ${params.tolerance} ` +
      `after ${params.maxIterations} sweeps; its losses and weights are ` +
      `approximate. Raise stages.${stageName(ctx)}.maxIterations, or ` +
      `loosen stages.${stageName(ctx)}.tolerance (e.g. to ` +
      `${(params.tolerance * 100).toExponential(0)}).`);
  }
  if (result.rank !== undefined && result.rank < result.liveSources) {
    ctx.warn(`${ctx.id}: the ${result.liveSources} live units of ` +
      `${source} span only ${result.rank} dimensions on the fit split ` +
      `(collinear units); decay 0 reports the minimum-norm least-squares ` +
      'weights, one of many equally good ones.');
  }
  if (result.zeroOnFit.length > 0) {
    const named = result.zeroOnFit.map((u) =>
      u < unitsA ? `A${u}` : `B${u - unitsA}`);
    ctx.warn(`${ctx.id}: units ${named.join(', ')} are constant on the ` +
      'fit split although normalize@ did not list them as dead or ' +
      'constant; they standardize to 0 and get no weights.');
  }
  ctx.record('solver', result.method === 'least-squares'
    ? (result.olsMethod === 'cholesky'
      ? 'least squares (Cholesky, independent units)'
      : 'minimum-norm least squares (symmetric eigendecomposition)')
    : 'Gram coordinate descent with exact fixed-support steps');
  ctx.record('alpha', result.alpha);
  ctx.record('sweeps', result.totalSweeps);
  ctx.record('exactSteps', result.exactSteps);
  if (result.rank !== undefined) ctx.record('rank', result.rank);
  ctx.record('seconds', result.seconds);
}

function listUnits(units: number[]): string {
  const shown = units.slice(0, 10).join(', ');
  return units.length > 10 ? `${shown}, …` : shown;
}

function stageName(ctx: StageContext): string {
  const at = ctx.id.indexOf('@');
  return at > 0 ? ctx.id.slice(0, at) : ctx.kind;
}

/** Validate the parameters once, where the pipeline gives them. */
function checkParams(ctx: StageContext): SparseParams {
  const p = ctx.params;
  const fail = (name: string, expected: string, got: unknown) =>
    new PipelineError(
      { file: ctx.pipeline.file, path: `stages.${stageName(ctx)}.${name}` },
      `${ctx.id}: expected ${expected}, got ${JSON.stringify(got)}`);
  const number = (v: unknown): v is number =>
    typeof v === 'number' && Number.isFinite(v);

  if (!number(p.decay) || p.decay < 0) {
    throw fail('decays', 'decays ≥ 0 such as [0, 1e-4, 1e-3]', p.decay);
  }
  if (!directions.includes(p.direction)) {
    throw fail('direction', "'a-to-b' or 'b-to-a'", p.direction);
  }
  if (!number(p.tolerance) || p.tolerance <= 0) {
    throw fail('tolerance', 'a number > 0 such as 1e-8', p.tolerance);
  }
  if (!Number.isInteger(p.maxIterations) || p.maxIterations < 1) {
    throw fail('maxIterations', 'an integer ≥ 1 such as 10000',
      p.maxIterations);
  }
  if (!number(p.threshold) || p.threshold < 0) {
    throw fail('threshold', 'a number ≥ 0 such as 1e-3', p.threshold);
  }
  return {
    decay: p.decay, direction: p.direction, tolerance: p.tolerance,
    maxIterations: p.maxIterations, threshold: p.threshold,
  };
}

/** A mapping needs samples to fit on and samples to score on. */
function checkCounts(moments: Artifact, summary: NormalizeSummary): void {
  const where = moments.file('summary.json');
  if (summary.count.fit < 2) {
    throw inputError(where, `the fit split holds ${summary.count.fit} ` +
      'samples, too few to fit a mapping',
      'Give data.images more images or lower stages.normalize.holdout.');
  }
  if (summary.count.holdout < 1) {
    throw inputError(where, 'the holdout split is empty, so the mapping ' +
      'has no holdout loss', 'Set stages.normalize.holdout above 0 ' +
      '(e.g. 0.2).');
  }
}

function checkShape(file: string, expected: number[]): void {
  if (!existsSync(file)) {
    throw inputError(file, 'missing from the normalize@ artifact',
      'Rerun normalize@ for this pair and layer.');
  }
  const { shape, dtype } = readNpyHeader(file);
  if (dtype !== 'float64' || shape.join() !== expected.join()) {
    throw inputError(file, `${dtype} [${shape}], expected float64 ` +
      `[${expected}] (unitsA + unitsB from the summary)`,
      'Rerun normalize@ for this pair and layer.');
  }
}
