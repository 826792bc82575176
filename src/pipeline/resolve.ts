/**
 * From a validated document to the pipeline as the runner uses it:
 * defaults filled, names checked against each other, paths made absolute.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Registry } from '../stages/registry.js';
import type { NetworkSpec, ResolvedPipeline, StageConfig } from '../stages/types.js';
import { applyOverrides } from './overrides.js';
import { errorAt, readSource, spotOf, type PipelineSource } from './source.js';
import { suggest } from './suggest.js';
import { validateParams, validateTop } from './validate.js';

export interface LoadOptions {
  /** `--set path=value` overrides. */
  sets?: string[];
  /** Cache folder from the command line (wins over the file). */
  cache?: string;
}

/** The pipeline as written (after overrides), before defaults. */
export interface WrittenPipeline {
  version: 1;
  name: string;
  root?: string;
  cache?: string;
  outputs?: string;
  networks: Record<string, Omit<NetworkSpec, 'name'>>;
  data?: { source: 'mnist' | 'none'; split?: 'train' | 'test'; images?: number };
  layers?: string[];
  pairs?: 'all' | [string, string][];
  stages: Record<string, Record<string, unknown> | null>;
}

export interface LoadedPipeline {
  pipeline: ResolvedPipeline;
  source: PipelineSource;
  written: WrittenPipeline;
}

export function loadPipeline(file: string, registry: Registry,
  options: LoadOptions = {}): LoadedPipeline {
  const source = readSource(resolve(file), file);
  applyOverrides(source, options.sets ?? []);
  const value = source.doc.toJS() as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw errorAt(source, [], 'expected a mapping with version, name, ' +
      'networks and stages');
  }
  validateTop(source, value);
  const written = value as WrittenPipeline;
  return { pipeline: resolvePipeline(source, written, registry, options),
    source, written };
}


function resolvePipeline(src: PipelineSource, w: WrittenPipeline,
  registry: Registry, options: LoadOptions): ResolvedPipeline {
  const fileDir = dirname(src.file);
  const root = resolve(fileDir, w.root ?? '.');
  const at = (p: string) => (isAbsolute(p) ? p : resolve(root, p));
  const networkNames = Object.keys(w.networks);

  const networks: Record<string, NetworkSpec> = {};
  for (const [name, spec] of Object.entries(w.networks)) {
    networks[name] = resolveNetwork(src, name, spec, at, w.layers ?? []);
  }

  const pairs = resolvePairs(src, w, networkNames);
  const stages = resolveStages(src, w, registry);
  const needsLayers = Object.values(stages).some((s) =>
    registry.get(s.kind)!.def.axes.includes('layer'));
  if (needsLayers && !w.layers) {
    throw errorAt(src, [], "missing required key 'layers': the stages " +
      'compare networks layer by layer; list the layers, e.g. [conv1, conv2]');
  }
  const needsImages = Object.values(networks).some((n) => n.model || n.onnx);
  if (needsImages && (!w.data || w.data.source === 'none')) {
    throw errorAt(src, w.data ? ['data', 'source'] : [],
      'networks given as models need images: add ' +
      "data: { source: mnist, split: test, images: 10000 }");
  }
  if (w.data?.source === 'mnist' && w.data.images !== undefined) {
    const split = w.data.split ?? 'test';
    const has = split === 'train' ? 60000 : 10000;
    if (w.data.images > has) {
      throw errorAt(src, ['data', 'images'], `got ${w.data.images}, expected ` +
        `at most ${has}: the MNIST ${split} split has ${has} images`);
    }
  }
  for (const [name, n] of Object.entries(networks)) {
    checkModelLayers(src, name, n.model, w.layers ?? []);
    checkMapLayers(src, name, n.map, w.layers ?? []);
  }
  checkHoldout(src, stages);

  return {
    name: w.name,
    file: src.file,
    shown: src.shown,
    root,
    outputs: at(w.outputs ?? `outputs/${w.name}`),
    cache: options.cache ? resolve(options.cache) : at(w.cache ?? 'outputs/.cache'),
    networks,
    data: {
      source: w.data?.source ?? 'none',
      split: w.data?.split ?? 'test',
      images: w.data?.images ?? (w.data?.split === 'train' ? 60000 : 10000),
    },
    layers: w.layers ?? [],
    pairs,
    stages,
  };
}

function resolveNetwork(src: PipelineSource, name: string,
  spec: Omit<NetworkSpec, 'name'>, at: (p: string) => string,
  layers: string[]): NetworkSpec {
  checkNetworkKeys(src, name, spec);
  const out: NetworkSpec = { ...spec, name };
  for (const key of ['model', 'onnx'] as const) {
    const p = spec[key];
    if (p === undefined) continue;
    out[key] = at(p);
    if (!existsSync(out[key]!)) {
      throw errorAt(src, ['networks', name, key], `missing file ${out[key]}; ` +
        'check the path (relative paths start at the pipeline root)');
    }
  }
  if (spec.activations !== undefined) {
    out.activations = at(spec.activations);
    const files = spec.activations.includes('{layer}')
      ? layers.map((l) => out.activations!.replaceAll('{layer}', l))
      : [out.activations];
    const missing = files.find((f) => !existsSync(f));
    if (missing) {
      throw errorAt(src, ['networks', name, 'activations'],
        `missing file ${missing}; export one file per layer ` +
        '(or one .npz holding every layer)');
    }
  }
  return out;
}

/**
 * `layout` and `input` describe one kind of network each; on another they
 * would be ignored, yet still enter cache keys, so they are refused.
 */
function checkNetworkKeys(src: PipelineSource, name: string,
  spec: Omit<NetworkSpec, 'name'>): void {
  const kind = spec.model ? 'model' : spec.onnx ? 'onnx'
    : spec.train ? 'train' : 'activations';
  const a = /^[aeiou]/.test(kind) ? 'an' : 'a';
  if (spec.layout !== undefined && kind !== 'activations') {
    throw errorAt(src, ['networks', name, 'layout'], 'layout applies to ' +
      'activations only (the axis order of imported arrays), not to ' +
      `${a} ${kind} network, whose activations convergent reads itself; ` +
      'remove it' +
      (kind === 'onnx' ? ' (the order of the images fed to an ONNX model is ' +
        'input: { layout: nchw })' : ''), true);
  }
  if (spec.map !== undefined && kind !== 'activations') {
    throw errorAt(src, ['networks', name, 'map'], 'map applies to ' +
      'activations only (the map a [samples, units] file flattens), not ' +
      `to ${a} ${kind} network, whose maps convergent reads itself; ` +
      'remove it', true);
  }
  if (spec.input !== undefined && kind !== 'onnx') {
    throw errorAt(src, ['networks', name, 'input'], 'input applies to ' +
      'onnx networks only (how images are fed to the model), not to ' +
      `${a} ${kind} network; remove it`, true);
  }
}

function resolvePairs(src: PipelineSource, w: WrittenPipeline,
  names: string[]): [string, string][] {
  if (w.pairs === undefined || w.pairs === 'all') {
    // Networks that are trained or given: every unordered pair, in order.
    const out: [string, string][] = [];
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) out.push([names[i], names[j]]);
    }
    return out;
  }
  w.pairs.forEach((pair, i) => pair.forEach((n, j) => {
    if (!names.includes(n)) {
      throw errorAt(src, ['pairs', i, j], `unknown network '${n}'; the ` +
        `pipeline defines ${names.join(', ')}.${suggest(n, names)}`);
    }
  }));
  checkRepeatedPairs(src, w.pairs);
  return w.pairs;
}

/**
 * A pair listed twice would be compared twice under one id. [b, a] is
 * another comparison (mappings have a direction), and [a, a] a sanity
 * check, so only an exact repeat is refused.
 */
function checkRepeatedPairs(src: PipelineSource, pairs: [string, string][]) {
  const first = new Map<string, number>();
  pairs.forEach((pair, i) => {
    const key = JSON.stringify(pair);
    const j = first.get(key);
    if (j === undefined) {
      first.set(key, i);
      return;
    }
    const at = spotOf(src, ['pairs', j]);
    const where = at.line === undefined ? ''
      : ` (line ${at.line}, column ${at.column})`;
    throw errorAt(src, ['pairs', i], `the pair [${pair.join(', ')}] repeats ` +
      `pairs[${j}]${where}; list each pair once`);
  });
}

function resolveStages(src: PipelineSource, w: WrittenPipeline,
  registry: Registry): Record<string, StageConfig> {
  const kinds = [...registry.keys()];
  const names = Object.keys(w.stages);
  const out: Record<string, StageConfig> = {};
  for (const [name, raw] of Object.entries(w.stages)) {
    const { kind: kindGiven, needs, ...params } = raw ?? {};
    const kind = typeof kindGiven === 'string' ? kindGiven : name;
    const entry = registry.get(kind);
    if (!entry) {
      const path = kindGiven === undefined ? ['stages', name] : ['stages', name, 'kind'];
      // A stage named freely must say its kind; say so where it is missing.
      const named = kindGiven === undefined
        ? ` A stage of your own name gives one of them as its kind: ` +
          `'${name}: { kind: <kind>, ... }'.` : '';
      throw errorAt(src, path, `unknown stage kind '${kind}'; expected one of ` +
        `${kinds.join(', ')}.${suggest(kind, kinds)}${named}`,
        kindGiven === undefined);
    }
    if (needs !== undefined && (!Array.isArray(needs) ||
      needs.some((n) => typeof n !== 'string'))) {
      throw errorAt(src, ['stages', name, 'needs'],
        `got ${JSON.stringify(needs)}, expected a list of stage names`);
    }
    checkNeeds(src, w, registry, name, needs as string[] | undefined);
    validateParams(src, name, kind, params, entry.schema);
    out[name] = {
      kind,
      needs: needs as string[] | undefined,
      params: { ...structuredClone(entry.def.defaults), ...params },
    };
  }
  return out;
}

/**
 * Each `needs` entry names a stage of the file, or a stage kind the file
 * leaves out, which runs implicitly with its defaults. A kind the file
 * lists under another name is ambiguous: the entry must use that name.
 */
function checkNeeds(src: PipelineSource, w: WrittenPipeline,
  registry: Registry, name: string, needs: string[] | undefined): void {
  const names = Object.keys(w.stages);
  const listed = new Set(Object.entries(w.stages).map(([n, raw]) =>
    (typeof raw?.kind === 'string' ? raw.kind : n)));
  const implicit = [...registry.keys()].filter((k) => !listed.has(k));
  for (const [i, n] of (needs ?? []).entries()) {
    if (names.includes(n) || implicit.includes(n)) continue;
    const named = names.filter((m) => w.stages[m]?.kind === n);
    const hint = named.length
      ? ` The ${n} stage${named.length > 1 ? 's are' : ' is'} named ` +
        `${named.join(', ')}; use that name.`
      : suggest(n, [...names, ...implicit]);
    throw errorAt(src, ['stages', name, 'needs', i], `unknown stage '${n}'; ` +
      `the pipeline has ${names.join(', ')}` + (implicit.length
      ? `; a kind it leaves out (${implicit.join(', ')}) can be named too, ` +
        'and runs with its defaults.' : '.') + hint);
  }
}

/** A per-layer map must name layers the pipeline compares. */
function checkMapLayers(src: PipelineSource, network: string,
  map: NetworkSpec['map'], layers: string[]): void {
  if (!map || Array.isArray(map)) return;
  for (const layer of Object.keys(map)) {
    if (!layers.includes(layer)) {
      throw errorAt(src, ['networks', network, 'map', layer], `map names ` +
        `layer '${layer}', which is not in the pipeline's layers; ` +
        'expected one of ' +
        `${layers.join(', ')}.${suggest(layer, layers)}`, true);
    }
  }
}

/**
 * A sparse mapping is scored on the holdout images: with none held out
 * every sparse-map instance would fail after the hours before it.
 */
function checkHoldout(src: PipelineSource,
  stages: Record<string, StageConfig>): void {
  const kinds = new Set(Object.values(stages).map((s) => s.kind));
  if (!kinds.has('sparse-map') && !kinds.has('hac')) return;
  for (const [name, s] of Object.entries(stages)) {
    if (s.kind === 'normalize' && s.params.holdout === 0) {
      throw errorAt(src, ['stages', name, 'holdout'], 'got 0, expected a ' +
        'fraction above 0: sparse-map scores its mappings on the holdout ' +
        'images (the study held out a part; 0.2 is the default)');
    }
  }
}

/**
 * A TensorFlow.js layers model names its layers in model.json: a layer the
 * pipeline asks for that the model lacks is bad input, found before any
 * image is read. (Graph models are checked when extraction loads them.)
 */
function checkModelLayers(src: PipelineSource, network: string,
  model: string | undefined, layers: string[]): void {
  if (!model) return;
  let names: string[];
  try {
    const json = JSON.parse(readFileSync(model, 'utf8'));
    const config = json?.modelTopology?.model_config?.config ??
      json?.modelTopology?.config;
    const list = Array.isArray(config) ? config : config?.layers;
    if (!Array.isArray(list)) return;
    names = list.map((l: { config?: { name?: string }; name?: string }) =>
      l.config?.name ?? l.name).filter((n: unknown) => typeof n === 'string');
  } catch {
    throw errorAt(src, ['networks', network, 'model'], `${model} is not a ` +
      'readable TensorFlow.js model.json');
  }
  layers.forEach((layer, i) => {
    if (!names.includes(layer)) {
      throw errorAt(src, ['layers', i], `network ${network} has no layer ` +
        `'${layer}'; its layers are ${names.join(', ')}.${suggest(layer, names)}`);
    }
  });
}
