/**
 * From a validated document to the pipeline as the runner uses it:
 * defaults filled, names checked against each other, paths made absolute.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Registry } from '../stages/registry.js';
import type { NetworkSpec, ResolvedPipeline, StageConfig } from '../stages/types.js';
import { applyOverrides } from './overrides.js';
import { errorAt, readSource, type PipelineSource } from './source.js';
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
  const source = readSource(resolve(file));
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
  }

  return {
    name: w.name,
    file: src.file,
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
  return w.pairs;
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
      throw errorAt(src, path, `unknown stage kind '${kind}'; expected one of ` +
        `${kinds.join(', ')}.${suggest(kind, kinds)}` +
        (kindGiven === undefined ? ' (a stage with another name sets kind:)' : ''),
        kindGiven === undefined);
    }
    if (needs !== undefined && (!Array.isArray(needs) ||
      needs.some((n) => typeof n !== 'string'))) {
      throw errorAt(src, ['stages', name, 'needs'],
        `got ${JSON.stringify(needs)}, expected a list of stage names`);
    }
    for (const [i, n] of ((needs as string[]) ?? []).entries()) {
      if (!names.includes(n)) {
        throw errorAt(src, ['stages', name, 'needs', i], `unknown stage '${n}'; ` +
          `the pipeline has ${names.join(', ')}.${suggest(n, names)}`);
      }
    }
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
