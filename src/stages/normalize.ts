/**
 * normalize@<a>-<b>/<layer>: one streaming pass over the aligned
 * activations of networks A and B at one layer, accumulating in float64
 * the count, mean and co-moment of the joined units [A | B], separately
 * for a fit and a holdout part of the images (method.md §1).
 *
 * Reads: role `a` = extract@<a>, role `b` = extract@<b> (ExtractSummary;
 * float32 chunk files [samples, units], image-major then position).
 *
 * Parameters:
 * - `holdout` (0.2): fraction of the images held out, in [0, 1). The
 *   split is by image (all positions of an image on one side), seeded
 *   and deterministic, the same for every layer and pair; at least one
 *   image stays in fit.
 * - `seed` (0): seed of the split.
 * - `engine` ('auto'): Gram product engine, auto | onnx | tfjs | js
 *   (auto = onnx, else tfjs; js is a slow float64 reference). A
 *   --engine other than auto on the command line overrides it.
 *   Cosmetic: engines agree to float32 rounding (~2e-7 on
 *   correlations), so a change does not rerun the stage.
 * - `chunk` ('auto'): rows centered together per Gram product; auto
 *   takes the engine's accurate block (onnx 2048, tfjs 256). Cosmetic.
 *
 * Writes (float64 .npy, n = unitsA + unitsB, A's units first):
 * - `<split>.mean.npy` [n] and `<split>.comoment.npy` [n, n]
 *   (Σ (x − mean)(x − mean)ᵀ over the split's samples), for split in
 *   all | fit | holdout; a zero-variance unit has its exact value as
 *   mean and a zero row and column;
 * - `std.npy` [n], population std over all samples (0 for zero variance).
 * Summary: NormalizeSummary (counts, images per split, dead and constant
 * units per side, engine). Records: engine {name, version, threads,
 * backend}, chunk, tasks.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { readNpyHeader, writeNpy } from '../core/npy.js';
import { ConvergentError, inputError, usageError } from '../core/errors.js';
import { alignFlat, declareMapHint } from '../data/align.js';
import { ENGINES, type EngineChoice } from '../engine/gram.js';
import type { BackendChoice } from '../engine/tfjs.js';
import { holdoutCount, splitImages } from '../kernels/normalize-split.js';
import { combineSplits, deadAndConstant, PartMerger, stdOf,
  type SplitMoments } from '../kernels/normalize-combine.js';
import type { ChunkFile, NormalizeTask, NormalizeTaskResult, SideSource }
  from '../kernels/normalize-moments.js';
import type { ExtractSummary, NormalizeSummary } from './summaries.js';
import type { Artifact, StageContext, StageDef } from './types.js';

const kernel = new URL('../kernels/normalize-moments.js', import.meta.url)
  .href;

/**
 * Samples per pool task, rounded to whole images. Fixed rather than
 * derived from the pool size, so that the chunk boundaries and the merge
 * order, hence every rounding, are the same whatever --jobs is.
 */
const TASK_SAMPLES = 32_768;

export const normalizeStage: StageDef = {
  kind: 'normalize',
  version: 1,
  description: 'float64 moments of [A | B] per layer, fit and holdout',
  axes: ['pair', 'layer'],
  defaults: { holdout: 0.2, seed: 0, engine: 'auto', chunk: 'auto' },
  cosmetic: ['engine', 'chunk'],
  inputs(coords) {
    const [a, b] = coords.pair!;
    return [
      { role: 'a', stage: 'extract', coords: { network: a } },
      { role: 'b', stage: 'extract', coords: { network: b } },
    ];
  },
  run,
};

async function run(ctx: StageContext) {
  const { holdout, seed, engine, chunk } = checkParams(ctx);
  const { a, b, images, positions } = alignedLayers(ctx);
  const sides = { a: chunkFiles(a), b: chunkFiles(b) };
  const n = a.units + b.units;

  const mask = splitImages(images, holdout, seed);
  const held = holdoutCount(images, holdout);
  if (holdout > 0 && held === 0) {
    ctx.warn(`${ctx.id}: ${images} image(s) are too few to hold out ` +
      `${holdout} of them; the holdout split is empty`);
  }

  // The pool runs at most pool.threads tasks at once, over every stage
  // instance. onnxruntime adds its own intra-op threads, so each task
  // takes an equal share of the cores: with 2 cores and 2 workers, one
  // thread each, and a worker's JS work (reading and centering the next
  // chunk) overlaps the other worker's product instead of leaving an
  // intra-op thread idle. With --jobs 1 the one task gets every core.
  const threads = Math.max(1,
    Math.floor(availableParallelism() / Math.max(1, ctx.pool.threads)));
  const perTask = Math.max(1, Math.floor(TASK_SAMPLES / positions));
  const tasks: NormalizeTask[] = [];
  for (let first = 0; first < images; first += perTask) {
    const last = Math.min(images, first + perTask);
    tasks.push({
      a: sides.a, b: sides.b, positions, firstImage: first,
      holdout: mask.slice(first, last), chunk, engine, threads,
      backend: ctx.backend as BackendChoice | undefined,
    });
  }

  ctx.signal.throwIfAborted();
  const { fit, hold, first } = await runTasks(ctx, tasks, n,
    images * positions);
  const all = combineSplits(fit, hold);
  write(ctx.out, { all, fit, holdout: hold });

  ctx.record('engine', first.engine);
  ctx.record('chunk', first.chunk);
  ctx.record('tasks', tasks.length);
  const summary: NormalizeSummary = {
    unitsA: a.units, unitsB: b.units,
    count: { all: all.count, fit: fit.count, holdout: hold.count },
    images: { fit: images - held, holdout: held },
    engine: first.engine.name,
    ...deadAndConstant(all, a.units),
  };
  return { summary: { ...summary } };
}

/**
 * Run the tasks on the pool and merge their moments in task order as
 * they arrive, holding only the results that came early (not all of
 * them: each carries two [n, n] float64 matrices).
 */
async function runTasks(ctx: StageContext, tasks: NormalizeTask[],
  n: number, total: number) {
  const fit = new PartMerger(n);
  const hold = new PartMerger(n);
  const early = new Map<number, NormalizeTaskResult>();
  let next = 0;
  let done = 0;
  let first: NormalizeTaskResult | undefined;
  ctx.progress(0, total);

  await Promise.all(tasks.map(async (task, t) => {
    early.set(t, await ctx.pool.run<NormalizeTaskResult>(
      kernel, 'normalizeMoments', task));
    for (let r = early.get(next); r; r = early.get(next)) {
      first ??= r;
      fit.add(r.fit);
      hold.add(r.holdout);
      early.delete(next++);
    }
    done += task.holdout.length * task.positions;
    ctx.progress(done, total);
  }));
  return { fit: fit.result(), hold: hold.result(), first: first! };
}

function write(out: string, splits: Record<string, SplitMoments>): void {
  for (const [name, m] of Object.entries(splits)) {
    writeNpy(join(out, `${name}.mean.npy`), m.mean, [m.units]);
    writeNpy(join(out, `${name}.comoment.npy`), m.comoment,
      [m.units, m.units]);
  }
  writeNpy(join(out, 'std.npy'), stdOf(splits.all), [splits.all.units]);
}

function checkParams(ctx: StageContext) {
  const { holdout, seed } = ctx.params;
  const where = `${ctx.id}: parameter`;
  if (typeof holdout !== 'number' || !(holdout >= 0 && holdout < 1)) {
    throw usageError(`${where} holdout must be a fraction in [0, 1), ` +
      `got ${JSON.stringify(holdout)}`);
  }
  if (!Number.isSafeInteger(seed)) {
    throw usageError(`${where} seed must be an integer, ` +
      `got ${JSON.stringify(seed)}`);
  }
  // An engine named on the command line wins over the pipeline's: it is
  // the later, more specific request. Its `auto` leaves the pipeline's.
  const cli = ctx.engine && ctx.engine !== 'auto' ? ctx.engine : undefined;
  const engine = (cli ?? ctx.params.engine) as EngineChoice;
  if (!(engine === 'auto' || ENGINES.includes(engine))) {
    throw usageError(`${where} engine must be auto, ${ENGINES.join(', ')}; ` +
      `got ${JSON.stringify(engine)}`);
  }
  const raw = ctx.params.chunk;
  const chunk = raw === 'auto' ? 0 : raw;
  if (!Number.isSafeInteger(chunk) || chunk < 0) {
    throw usageError(`${where} chunk must be 'auto' or a positive ` +
      `number of rows, got ${JSON.stringify(raw)}`);
  }
  return { holdout, seed, engine, chunk: chunk as number };
}

type ExtractLayer = ExtractSummary['layers'][string];

interface LayerSide extends ExtractLayer {
  network: string;
  artifact: Artifact;
}

/** The layer on both sides, refused unless its samples align. */
function alignedLayers(ctx: StageContext) {
  const layer = ctx.coords.layer;
  const pair = ctx.coords.pair;
  if (!layer || !pair) {
    throw new ConvergentError('E_STAGE', `${ctx.id}: normalize runs per ` +
      'pair and layer, but the instance has no pair or layer coordinates');
  }
  const givenA = sideOf(ctx, 'a', pair[0], layer);
  const givenB = sideOf(ctx, 'b', pair[1], layer);
  // A flat [samples, units] import takes its partner's map (align.ts).
  const [a, b] = alignFlat(givenA, givenB);

  if (a.samples !== b.samples || a.height !== b.height ||
    a.width !== b.width || a.positions !== b.positions) {
    throw new ConvergentError('E_SHAPE', `${ctx.id}: layer '${layer}' ` +
      `cannot be aligned: ${shape(a)}, ${shape(b)}. Both networks must ` +
      'see the same images at the same positions: compare layers of the ' +
      'same spatial size, extracted from the same data.' +
      (declareMapHint(layer, pair[0], givenA, pair[1], givenB) ||
        mismatchHint(ctx, layer, a, b)));
  }
  if (!(a.positions >= 1) || !(a.samples >= 1) ||
    a.samples % a.positions !== 0) {
    throw inputError(a.artifact.dir, `layer '${layer}' has ${a.samples} ` +
      `samples, not a whole number of images of ${a.positions} positions`,
      'Rerun extract.');
  }
  return { a, b, positions: a.positions, images: a.samples / a.positions };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const imagesOf = (s: LayerSide) => s.positions > 0 ? s.samples / s.positions : 0;

function shape(s: LayerSide): string {
  return `${s.network} gives ${plural(s.samples, 'sample')} ` +
    `(${s.height}×${s.width} map, ${plural(s.positions, 'position')} per ` +
    `image, ${plural(imagesOf(s), 'image')})`;
}

/** The likely cause, when it is one of the two common ones. */
function mismatchHint(ctx: StageContext, layer: string, a: LayerSide,
  b: LayerSide): string {
  // A declared map decides how the rows split into images: check it first.
  const declared = [a, b].find((s) =>
    ctx.pipeline.networks[s.network]?.map !== undefined);
  if (declared) {
    return ` networks.${declared.network}.map reads its ${layer} rows as ` +
      `${declared.height}×${declared.width} maps: check it against the ` +
      'array (rows = images × H × W).';
  }
  if (imagesOf(a) !== imagesOf(b)) {
    return ` They hold different numbers of images (${imagesOf(a)} and ` +
      `${imagesOf(b)}): export or extract both from the same images.`;
  }
  return a.height !== b.height || a.width !== b.width
    ? ' An imported [images, C, H, W] array read as [images, H, W, C] ' +
      'shows a wrong map: declare layout: nchw for it.'
    : '';
}

function sideOf(ctx: StageContext, role: 'a' | 'b', network: string,
  layer: string): LayerSide {
  const artifact = ctx.inputs[role];
  if (!artifact || Array.isArray(artifact)) {
    throw new ConvergentError('E_STAGE', `${ctx.id}: expected one ` +
      `extract@${network} artifact as input '${role}'`);
  }
  const layers = (artifact.summary as ExtractSummary).layers ?? {};
  const found = layers[layer];
  if (!found) {
    throw inputError(artifact.dir, `extract@${network} has no layer ` +
      `'${layer}' (it has ${Object.keys(layers).join(', ') || 'none'})`,
      'Add the layer to the pipeline and rerun extract.');
  }
  return { ...found, network, artifact };
}

/** Headers of a side's chunk files, checked against its summary. */
function chunkFiles(side: LayerSide): SideSource {
  const files: ChunkFile[] = [];
  let rows = 0;
  for (const name of side.chunks) {
    const path = side.artifact.file(name);
    const header = readNpyHeader(path);
    const [count, units] = header.shape;
    if (header.dtype !== 'float32' || header.shape.length !== 2 ||
      units !== side.units) {
      throw inputError(path, `holds ${header.dtype} [${header.shape}], ` +
        `expected float32 [samples, ${side.units}]`, 'Rerun extract.');
    }
    files.push({ path, rows: count, header });
    rows += count;
  }
  if (rows !== side.samples) {
    throw inputError(side.artifact.dir, `the chunk files of ` +
      `${side.network} hold ${rows} samples, its summary says ` +
      `${side.samples}`, 'Rerun extract.');
  }
  return { files, units: side.units };
}
