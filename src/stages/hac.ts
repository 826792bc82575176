/**
 * hac@<a>-<b>/<layer>: hierarchical clustering of the units of a sparse
 * mapping (method section 5). For the mapping W [unitsA, unitsB], the
 * units of both networks are clustered by average linkage on the distance
 * 1 − B, B = [[I, W], [Wᵀ, I]]: units of one network start at distance 1
 * from each other, unit a of A and unit b of B at 1 − W[a][b].
 *
 * Reads: role `mapping` = sparse-map@ at the same pair and layer with this
 * instance's decay (`weights.npy` [unitsA, unitsB] and its
 * SparseMapSummary); the runner adds that sparse-map instance when the
 * sweep lacks the decay. With `weights` set, an external .npy file
 * instead.
 *
 * Parameters:
 * - `decay` (number ≥ 0, default 1e-3): the sparse-map decay whose
 *   weights are clustered (the study used 1e-3 for conv2, 10^-2.6 for
 *   conv1); copied into the summary.
 * - `weights` (path or null, default null): a .npy weight matrix
 *   [source units × target units] (any float or integer dtype) to cluster
 *   instead of a sparse-map result, relative to the pipeline root. Its
 *   content is part of the cache key.
 * - `direction` ('a-to-b' | 'b-to-a', default 'a-to-b'): which network the
 *   mapping predicts from. A sparse-map input must have been fitted in
 *   this direction. For a `weights` file it says whether the file's rows
 *   are A's units ('a-to-b') or B's ('b-to-a', transposed here so that
 *   A's units come first).
 *
 * Writes (leaves 0..unitsA−1 are A's units, unitsA + j is unit j of B):
 * - `linkage.npy` [n − 1, 4] float64, n = unitsA + unitsB: SciPy's linkage
 *   matrix (left, right, distance, size), merge k making cluster n + k,
 *   equal to scipy.cluster.hierarchy.linkage(squareform(1 − B), 'average');
 * - `order.npy` [n] int32: the leaves in dendrogram order (leaves_list).
 *
 * Summary (HacSummary in summaries.ts): decay, leaves, unitsA, unitsB,
 * the units of A and B in each merge's cluster, and of the merges joining
 * two single units how many join A with B, A with A and B with B.
 */
import { resolve } from 'node:path';
import { ConvergentError, inputError, PipelineError, shapeError }
  from '../core/errors.js';
import { readNpy, writeNpy } from '../core/npy.js';
import type { HacInput, HacResult } from '../kernels/hac.js';
import type { HacSummary, SparseMapSummary } from './summaries.js';
import type { ResolvedPipeline, StageContext, StageDef } from './types.js';

const kernel = new URL('../kernels/hac.js', import.meta.url).href;

const directions = ['a-to-b', 'b-to-a'] as const;
type Direction = (typeof directions)[number];

interface HacParams {
  decay: number;
  weights: string | null;
  direction: Direction;
}

export const hacStage: StageDef = {
  kind: 'hac',
  version: 1,
  description: 'average-linkage clustering of the units of both networks ' +
    'on a sparse mapping',
  axes: ['pair', 'layer'],
  defaults: { decay: 1e-3, weights: null, direction: 'a-to-b' },

  inputs(coords, params, pipeline) {
    const { decay, weights } = checkParams(params, pipeline);
    if (weights !== null) {
      return [{ role: 'mapping', file: resolve(pipeline.root, weights) }];
    }
    return [{
      role: 'mapping', stage: 'sparse-map',
      coords: { ...coords, point: { decay } },
    }];
  },

  async run(ctx) {
    const params = checkParams(ctx.params, ctx.pipeline);
    const { weights, unitsA, unitsB, source } = params.weights === null
      ? mappingOf(ctx, params.direction)
      : weightsFile(ctx, params.direction);

    if (weights.every((w) => w === 0)) {
      ctx.warn(`${ctx.id}: every weight of ${source} is 0, so every ` +
        `merge is at distance 1 and the tree shows only the tie rule; ` +
        `cluster a mapping of smaller decay than ${params.decay}`);
    }
    ctx.signal.throwIfAborted();

    ctx.progress(0, 1);
    const started = performance.now();
    const input: HacInput = { weights, unitsA, unitsB };
    const result = await ctx.pool.run<HacResult>(kernel, 'hacMapping',
      input, [weights.buffer]);
    ctx.progress(1, 1);
    ctx.record('algorithm', 'average linkage by nearest-neighbour chain ' +
      '(SciPy nn_chain order and labels)');
    ctx.record('seconds', (performance.now() - started) / 1000);

    const n = unitsA + unitsB;
    writeNpy(`${ctx.out}/linkage.npy`, result.linkage, [n - 1, 4]);
    writeNpy(`${ctx.out}/order.npy`, result.order, [n]);
    return { summary: { ...summarize(result, params.decay, unitsA, n) } };
  },
};

/** Validate the parameters once, where the pipeline gives them. */
function checkParams(params: Record<string, any>,
  pipeline: ResolvedPipeline): HacParams {
  const spot = (name: string) =>
    ({ file: pipeline.file, path: `stages.hac.${name}` });
  const { decay, weights, direction } = params;
  if (typeof decay !== 'number' || !Number.isFinite(decay) || decay < 0) {
    throw new PipelineError(spot('decay'), `expected a number ≥ 0 such ` +
      `as 1e-3 (one of the sparse-map decays), got ${JSON.stringify(decay)}`);
  }
  if (weights !== null && weights !== undefined &&
    (typeof weights !== 'string' || weights === '')) {
    throw new PipelineError(spot('weights'), `expected the path of a .npy ` +
      `weight matrix [source units × target units], got ` +
      `${JSON.stringify(weights)}`);
  }
  if (!directions.includes(direction)) {
    throw new PipelineError(spot('direction'), `expected 'a-to-b' or ` +
      `'b-to-a', got ${JSON.stringify(direction)}`);
  }
  return { decay, weights: weights ?? null, direction };
}

interface Mapping {
  weights: Float64Array;
  unitsA: number;
  unitsB: number;
  /** What the weights came from, for messages. */
  source: string;
}

/** The weights of the sparse-map@ artifact given as role `mapping`. */
function mappingOf(ctx: StageContext, direction: Direction): Mapping {
  const mapping = ctx.inputs.mapping;
  if (!mapping || Array.isArray(mapping)) {
    throw new ConvergentError('E_STAGE', `${ctx.id}: expected one ` +
      `sparse-map@ artifact as input 'mapping', got ` +
      `${Array.isArray(mapping) ? mapping.length : 'none'}`);
  }
  const summary = mapping.summary as Partial<SparseMapSummary>;
  if (summary.direction !== undefined && summary.direction !== direction) {
    throw new PipelineError(
      { file: ctx.pipeline.file, path: 'stages.hac.direction' },
      `${ctx.id} clusters a mapping '${direction}', but ${mapping.id} was ` +
      `fitted '${summary.direction}'; give stages.hac.direction and ` +
      `stages.sparse-map.direction the same value`);
  }
  const file = mapping.file('weights.npy');
  return { ...readWeights(file, 'a-to-b'), source: file };
}

/** The external weight matrix of the `weights` parameter. */
function weightsFile(ctx: StageContext, direction: Direction): Mapping {
  const file = ctx.files.mapping;
  if (!file) {
    throw new ConvergentError('E_STAGE', `${ctx.id}: the 'weights' ` +
      `parameter is set but the runner gave no file as input 'mapping'`);
  }
  return { ...readWeights(file, direction), source: file };
}

/**
 * Read W [source, target] and return it as [unitsA, unitsB] float64:
 * as stored for 'a-to-b', transposed for 'b-to-a'.
 */
function readWeights(file: string, direction: Direction) {
  const array = readNpy(file);
  const [rows, cols] = array.shape;
  if (array.shape.length !== 2 || rows < 1 || cols < 1) {
    throw shapeError(`${file}: the mapping's weight matrix`,
      `shape [${array.shape}]`, '[source units, target units], both ≥ 1');
  }
  if (array.dtype === 'bool') {
    throw inputError(file, 'holds booleans, not weights',
      'Save the float weight matrix of the mapping.');
  }
  const bad = array.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw inputError(file, `weight [${Math.floor(bad / cols)}, ` +
      `${bad % cols}] is ${array.data[bad]}; every weight must be finite`,
      'Refit the mapping (a diverged fit gives NaN) or repair the file.');
  }

  if (direction === 'a-to-b') {
    return { weights: Float64Array.from(array.data), unitsA: rows,
      unitsB: cols };
  }
  const weights = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      weights[c * rows + r] = array.data[r * cols + c];
    }
  }
  return { weights, unitsA: cols, unitsB: rows };
}

/** HacSummary of a clustering of n = unitsA + unitsB units. */
export function summarize(result: HacResult, decay: number, unitsA: number,
  n: number): HacSummary {
  const members = Array.from(result.membersA,
    (a, k) => ({ a, b: result.membersB[k] }));

  // A merge of two leaves makes a two-unit cluster; members tell whether
  // it joins the networks or stays within one.
  let pairsAB = 0;
  let pairsAA = 0;
  let pairsBB = 0;
  for (let k = 0; k < n - 1; k++) {
    if (result.linkage[4 * k + 1] >= n) continue;
    const { a } = members[k];
    if (a === 1) pairsAB++;
    else if (a === 2) pairsAA++;
    else pairsBB++;
  }
  return { decay, leaves: n, unitsA, unitsB: n - unitsA, members, pairsAB,
    pairsAA, pairsBB };
}
