/**
 * extract@<network>: the post-ReLU activations of the pipeline's layers for
 * the pipeline's images, as [samples, units] float32 chunks.
 *
 * Networks:
 * - `model:` a TensorFlow.js layers or graph model.json (+ weight files);
 * - `train:` the model that train@<network> produced;
 * - `activations:` arrays exported elsewhere, `path/{layer}.npy` or one
 *   .npz with an array per layer: [images, H, W, C] (layout nhwc),
 *   [images, C, H, W] (layout: nchw) or [samples, units]; float16/32/64.
 *   [samples, units] rows are image-major, then position: with `map: [H,
 *   W]` (or `map: { layer: [H, W] }`) they are read as [images, H, W, C];
 *   without, taken whole as a flat layer (summary `flat: true`) that
 *   aligns with a partner of the same sample count (src/data/align.ts).
 *   Negative values (not post-ReLU) are a warning, once per file;
 * - `onnx:` an ONNX model run by onnxruntime-node, images fed as declared
 *   by `input: { layout: nchw | nhwc, scale, offset }` (pixel · scale +
 *   offset, pixels in [0, 1]); layer names resolve to tensors as
 *   src/engine/onnx-model.ts describes.
 * Model networks run MNIST images (`data: { source: mnist, split, images }`,
 * the first `images` of the split).
 *
 * Parameters:
 * - `batch` (256): images per forward pass and per chunk file.
 * - `positions` ('all'): spatial positions per image and conv layer, or a
 *   number k drawn per image by a generator seeded with (seed, image index,
 *   H, W, k), so that every network gets the same positions of the same
 *   image. Dense layers (and maps smaller than k) give all their positions.
 * - `seed` (0): seed of the position draw.
 * - `backend` ('auto', cosmetic): auto | tensorflow | wasm | cpu for tfjs
 *   models; `--backend` on the command line overrides it. It says how, not
 *   what: backends agree to float rounding, so it stays out of the cache
 *   key (like `--backend`) and the manifest records the one used; `--force`
 *   recomputes on another. ONNX models run on
 *   onnxruntime-node's CPU provider, one intra-op thread per pool worker.
 *
 * Outputs: `<layer>/chunk-NNNNN.npy` float32 [samples, units], one per
 * batch of images, image-major then position (row-major h·W + w) within
 * an image; summary.json as ExtractSummary (units, samples, height, width,
 * positions per image and the chunk list of each layer). Records backend,
 * backendVersion and threads. No NaN or infinity is written: a model or
 * file that produces one fails with the layer and image named.
 */
import { usageError } from '../core/errors.js';
import { checkAligned, checkLayersAlign, declaredMap, describeImported,
  type ImportedLayer } from '../data/activations.js';
import { layerDir, type Positions } from '../data/positions.js';
import type { BlockResult, LayerBlock } from '../kernels/extract-block.js';
import type { ModelBlock } from '../kernels/extract-model.js';
import type { ImportBlock, ImportResult }
  from '../kernels/extract-activations.js';
import type { OnnxBlock } from '../kernels/extract-onnx.js';
import { modelWeightFiles } from '../models/io.js';
import type { ExtractSummary } from './summaries.js';
import type { Artifact, InputRef, NetworkSpec, StageContext, StageDef,
  StageResult } from './types.js';

export { checkAligned, checkLayersAlign };

const MODEL_KERNEL = new URL('../kernels/extract-model.js', import.meta.url).href;
const IMPORT_KERNEL = new URL('../kernels/extract-activations.js',
  import.meta.url).href;
const ONNX_KERNEL = new URL('../kernels/extract-onnx.js', import.meta.url).href;

type Layers = ExtractSummary['layers'];

interface Extracted {
  images: number;
  layers: Layers;
  /** The tfjs backend, 'onnxruntime', or 'import' for given activations. */
  backend: string;
}

function checkParams(ctx: StageContext): { batch: number;
  positions: Positions; seed: number } {
  const { batch, positions, seed } = ctx.params;
  const where = `${ctx.id}: parameter`;
  if (!Number.isInteger(batch) || batch < 1) {
    throw usageError(`${where} batch must be a positive integer, got ` +
      JSON.stringify(batch));
  }
  if (positions !== 'all' && !(Number.isInteger(positions) && positions >= 1)) {
    throw usageError(`${where} positions must be 'all' or a positive ` +
      `integer, got ${JSON.stringify(positions)}`);
  }
  if (!Number.isInteger(seed)) {
    throw usageError(`${where} seed must be an integer, got ${JSON.stringify(seed)}`);
  }
  return { batch, positions, seed };
}

function checkLayerNames(ctx: StageContext): string[] {
  const layers = ctx.pipeline.layers;
  if (layers.length === 0) {
    throw usageError(`${ctx.id}: the pipeline lists no layers to extract; ` +
      'add e.g. layers: [conv1, conv2]');
  }
  const dirs = new Map<string, string>();
  for (const l of layers) {
    const other = dirs.get(layerDir(l));
    if (other !== undefined) {
      throw usageError(`${ctx.id}: layers '${other}' and '${l}' would share ` +
        `the folder ${layerDir(l)}; rename one`);
    }
    dirs.set(layerDir(l), l);
  }
  return layers;
}

/** Merge per-block results of one layer, in block order. */
function merge(blocks: LayerBlock[]): Layers[string] {
  const first = blocks[0];
  return {
    units: first.units, height: first.height, width: first.width,
    positions: first.positions,
    samples: blocks.reduce((a, b) => a + b.samples, 0),
    chunks: blocks.flatMap((b) => b.chunks),
  };
}

/** Split [0, n) into runs of whole batches, a few per pool thread. */
function blocks(n: number, batch: number, threads: number) {
  const batches = Math.ceil(n / batch);
  const per = Math.max(1, Math.ceil(batches / (threads * 4)));
  const out: { start: number; end: number; firstChunk: number }[] = [];
  for (let b = 0; b < batches; b += per) {
    out.push({ start: b * batch, end: Math.min(n, (b + per) * batch),
      firstChunk: b });
  }
  return out;
}

/** Run tasks on the pool, reporting progress as each one finishes. */
async function runAll<T>(ctx: StageContext, tasks: (() => Promise<T>)[]) {
  let done = 0;
  ctx.progress(0, tasks.length);
  return Promise.all(tasks.map(async (task) => {
    const r = await task();
    ctx.progress(++done, tasks.length);
    return r;
  }));
}

function modelFile(ctx: StageContext, spec: NetworkSpec): string {
  if (spec.train) {
    const a = ctx.inputs.model as Artifact | undefined;
    if (!a) {
      throw usageError(`${ctx.id}: no model from train@${spec.name} was given`);
    }
    return a.file('model.json');
  }
  return ctx.files.model ?? spec.model!;
}

/**
 * Images through a model, on the pool: TF.js models (layers, graph, or
 * trained here) by extract-model.ts, ONNX models by extract-onnx.ts.
 */
async function fromModel(ctx: StageContext, spec: NetworkSpec,
  layers: string[]): Promise<Extracted> {
  const { batch, positions, seed } = checkParams(ctx);
  const data = ctx.pipeline.data;
  if (data.source !== 'mnist') {
    throw usageError(`${ctx.id}: network ${spec.name} is a model and needs ` +
      "images: add data: { source: mnist, split: test, images: 10000 }");
  }
  if (!Number.isInteger(data.images) || data.images < 1) {
    throw usageError(`${ctx.id}: data.images must be a positive integer, ` +
      `got ${JSON.stringify(data.images)}`);
  }
  const common = { layers, split: data.split, batch, positions, seed,
    out: ctx.out };
  const parts = blocks(data.images, batch, ctx.pool.threads);
  const results = await runAll(ctx, parts.map((part) => () => {
    if (spec.onnx) {
      const block: OnnxBlock = { ...common, ...part, model: ctx.files.onnx ??
        spec.onnx, input: spec.input ?? {} };
      return ctx.pool.run<BlockResult>(ONNX_KERNEL, 'extractOnnxBlock', block);
    }
    const block: ModelBlock = { ...common, ...part, model: modelFile(ctx, spec),
      backend: ctx.backend ?? ctx.params.backend ?? 'auto' };
    return ctx.pool.run<BlockResult>(MODEL_KERNEL, 'extractModelBlock', block);
  }));

  const first = results[0];
  ctx.record('backend', first.backend.backend);
  ctx.record('backendVersion', first.backend.version);
  ctx.record('threads', first.backend.threads);
  ctx.record('workers', Math.min(ctx.pool.threads, parts.length));
  for (const [asked, read] of Object.entries(first.substitutions)) {
    ctx.log.info(`${ctx.id}: layer ${asked} read at the ReLU ${read}`);
  }
  for (const w of first.warnings) ctx.warn(w);
  const out: Layers = {};
  for (const l of layers) out[l] = merge(results.map((r) => r.layers[l]));
  return { images: data.images, layers: out, backend: first.backend.backend };
}

/**
 * data.images cuts arrays by image; a flat array with no map has no
 * images to cut, so it is taken whole. Say so when the two differ, since
 * its layer then covers other images than the same network's others.
 */
function warnWholeFlat(ctx: StageContext, spec: NetworkSpec,
  sources: ImportedLayer[], images: number | undefined): void {
  if (images === undefined) return;
  for (const s of sources) {
    if (!s.flat || s.images === images) continue;
    ctx.warn(`${ctx.id}: layer ${s.layer} of ${s.file} is a [samples, ` +
      `units] array with no declared map, taken whole (${s.images} rows); ` +
      `data.images (${images}) does not apply to it. Declare its map ` +
      `(networks.${spec.name}.map: { ${s.layer}: [H, W] }; [1, 1] for one ` +
      'row per image) to read it by image like the other layers.');
  }
}

/**
 * One warning per file holding negative values: the method assumes
 * post-ReLU activations (MI's bin 0 holds the zeros, a dead unit is one
 * that is always 0), so these are probably taken before the ReLU.
 */
function warnNegatives(ctx: StageContext, sources: ImportedLayer[],
  results: ImportResult[], owner: number[]): void {
  const files = new Map<string, { count: number; min: number;
    layers: Set<string> }>();
  results.forEach((r, t) => {
    if (r.negatives === 0) return;
    const source = sources[owner[t]];
    const f = files.get(source.file) ??
      { count: 0, min: 0, layers: new Set<string>() };
    f.count += r.negatives;
    f.min = Math.min(f.min, r.mostNegative);
    f.layers.add(source.layer);
    files.set(source.file, f);
  });
  for (const [file, f] of files) {
    ctx.warn(`${ctx.id}: ${file} holds ${f.count} negative values ` +
      `(most negative ${Number(f.min.toPrecision(4))}) among those read ` +
      `for layer ${[...f.layers].join(', ')}; activations are expected ` +
      'after the ReLU (>= 0): mutual ' +
      'information puts values <= zero into its bin 0 and a dead unit ' +
      'is one that is always 0. Export the ReLU outputs, or clip with ' +
      'numpy.maximum(arr, 0) if these are meant to be post-ReLU.');
  }
}

async function fromActivations(ctx: StageContext, spec: NetworkSpec,
  layers: string[]): Promise<Extracted> {
  const { batch, positions, seed } = checkParams(ctx);
  const data = ctx.pipeline.data;
  const images = data.source === 'none' ? undefined : data.images;
  const sources = layers.map((l) => describeImported(spec.activations!, l,
    layers, spec.layout ?? 'nhwc', images, declaredMap(spec.map, l)));
  warnWholeFlat(ctx, spec, sources, images);

  const tasks: (() => Promise<ImportResult>)[] = [];
  const owner: number[] = [];
  sources.forEach((source, i) => {
    for (const part of blocks(source.images, batch, ctx.pool.threads)) {
      const block: ImportBlock = { source, batch, positions, seed,
        out: ctx.out, ...part };
      owner.push(i);
      tasks.push(() => ctx.pool.run<ImportResult>(IMPORT_KERNEL,
        'extractImportBlock', block));
    }
  });
  const results = await runAll(ctx, tasks);
  warnNegatives(ctx, sources, results, owner);

  ctx.record('backend', 'import');
  const out: Layers = {};
  layers.forEach((l, i) => {
    const merged = merge(results.filter((_, t) => owner[t] === i));
    out[l] = sources[i].flat ? { ...merged, flat: true } : merged;
  });
  return { images: images ?? Math.max(...sources.map((s) => s.images)),
    layers: out, backend: 'import' };
}

export const extractStage: StageDef = {
  kind: 'extract',
  version: 2,
  description: 'post-ReLU activations of each layer as [samples, units] chunks',
  axes: ['network'],
  defaults: { batch: 256, positions: 'all', seed: 0, backend: 'auto' },
  cosmetic: ['backend'],

  context(coords, pipeline) {
    const spec = pipeline.networks[coords.network!];
    // Paths stay out: the files' contents are hashed as inputs instead.
    return { coords, layers: pipeline.layers, data: pipeline.data,
      layout: spec?.layout ?? null, map: spec?.map ?? null,
      input: spec?.input ?? null,
      train: spec?.train ?? null,
      kind: spec?.train ? 'train' : spec?.model ? 'model'
        : spec?.onnx ? 'onnx' : 'activations' };
  },

  inputs(coords, _params, pipeline): InputRef[] {
    const spec = pipeline.networks[coords.network!];
    if (spec.train) {
      return [{ role: 'model', stage: 'train', coords: { network: spec.name } }];
    }
    if (spec.model) {
      return [{ role: 'model', file: spec.model },
        ...modelWeightFiles(spec.model).map((file) => ({ role: 'weights', file }))];
    }
    if (spec.onnx) return [{ role: 'onnx', file: spec.onnx }];
    const files = new Set(pipeline.layers.map((l) =>
      spec.activations!.replaceAll('{layer}', l)));
    return [...files].map((file) => ({ role: 'activations', file }));
  },

  async run(ctx): Promise<StageResult> {
    const name = ctx.coords.network!;
    const spec = ctx.pipeline.networks[name];
    const layers = checkLayerNames(ctx);
    if (spec.map !== undefined && !spec.activations) {
      throw usageError(`${ctx.id}: networks.${name}.map declares the map ` +
        'of [samples, units] imported activations; this network is a ' +
        'model, whose maps are read from it: remove map');
    }
    const got = spec.activations ? await fromActivations(ctx, spec, layers)
      : await fromModel(ctx, spec, layers);
    const summary: ExtractSummary = { network: name, images: got.images,
      layers: got.layers, backend: got.backend };
    return { summary: { ...summary, positions: ctx.params.positions,
      seed: ctx.params.seed } };
  },
};
