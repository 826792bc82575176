/**
 * The contract between the runner and the stages. A stage kind is a
 * StageDef; the runner expands it over networks, pairs, layers and sweep
 * values into stage instances, resolves each instance's inputs to cached
 * artifacts, and calls `run` with a context whose `out` directory is a
 * private temporary place that the runner publishes into the cache once
 * `run` returns.
 */
import type { Logger } from '../core/log.js';

/** What a stage fans out over. */
export type Axis = 'network' | 'pair' | 'layer';

/** The coordinates of one stage instance. */
export interface Coords {
  network?: string;
  /** An ordered pair of networks (A, B). */
  pair?: [string, string];
  layer?: string;
  /** One value of the stage's sweep parameter, e.g. { decay: 0.001 }. */
  point?: Record<string, number>;
}

/** The spatial size [H, W] of a layer's map. */
export type MapSize = [height: number, width: number];

/** A network as the pipeline declares it (paths already absolute). */
export interface NetworkSpec {
  name: string;
  /** TensorFlow.js layers or graph model (model.json). */
  model?: string;
  /** ONNX model file. */
  onnx?: string;
  /** Activations exported from any framework; `{layer}` is replaced. */
  activations?: string;
  /** Layout of 4-d imported activations. */
  layout?: 'nhwc' | 'nchw';
  /**
   * Map of [samples, units] imported activations (rows image-major, then
   * position): one [H, W] for every layer, or per layer name.
   */
  map?: MapSize | Record<string, MapSize>;
  /** Train this network here (built-in MNIST convnet) with this seed. */
  train?: { seed: number };
  /** ONNX only: how images are fed, e.g. 'nchw' and a scale. */
  input?: { layout?: 'nhwc' | 'nchw'; scale?: number; offset?: number };
}

export interface DataSpec {
  source: 'mnist' | 'none';
  split: 'train' | 'test';
  images: number;
}

/** The pipeline after validation, defaults and path resolution. */
export interface ResolvedPipeline {
  name: string;
  /** The pipeline file, absolute. */
  file: string;
  /** The file as the user typed it, for messages (default: `file`). */
  shown?: string;
  /** Directory that relative paths in the file resolve against. */
  root: string;
  /** Where results are published: <root>/outputs/<name> by default. */
  outputs: string;
  /** Content-addressed store: <root>/outputs/.cache by default. */
  cache: string;
  networks: Record<string, NetworkSpec>;
  data: DataSpec;
  layers: string[];
  pairs: [string, string][];
  /** Stage name -> resolved parameters (defaults filled). */
  stages: Record<string, StageConfig>;
}

export interface StageConfig {
  /** The stage kind; equals the name unless the user renamed it. */
  kind: string;
  /** Names of the stages this one reads, replacing the kind's defaults. */
  needs?: string[];
  params: Record<string, unknown>;
}

/** A reference from one instance to what it reads. */
export type InputRef =
  /** The output of another stage instance, by stage kind or name. */
  | { role: string; stage: string; coords: Coords;
      /** The role takes a list of artifacts, even of one. */
      many?: boolean }
  /** An external file whose content is part of the cache key. */
  | { role: string; file: string };

/** What the runner records beside every cached instance. */
export interface Manifest {
  id: string;
  kind: string;
  key: string;
  version: number;
  params: Record<string, unknown>;
  /** Content hashes of the inputs, by role. */
  inputs: Record<string, string | string[]>;
  /** Every output file: relative path, bytes, SHA-256. */
  outputs: { path: string; bytes: number; sha256: string }[];
  /** SHA-256 of the outputs list: what readers of this instance hash. */
  digest: string;
  /** Copies made out of the cache after publishing (see StageResult). */
  publish: { from: string; to: string }[];
  /** Facts recorded by the stage (backend, engine, threads, versions). */
  records: Record<string, unknown>;
  warnings: string[];
  started: string;
  seconds: number;
}

/** A finished stage instance as read back from the cache. */
export interface Artifact {
  id: string;
  /** Directory holding the instance's files. */
  dir: string;
  /** The JSON the stage returned as its summary. */
  summary: Record<string, any>;
  /** Absolute path of one of its files. */
  file(name: string): string;
  /** The runner's record of how it was made (absent in unit tests). */
  manifest?: Manifest;
}

/** The shared worker-thread pool, as stages see it. */
export interface Pool {
  /**
   * Run `fn` exported by the module at `module` (a file URL or absolute
   * path; pass `import.meta.resolve('../kernels/x.js')` or
   * `new URL('../kernels/x.js', import.meta.url).href`) on a worker thread.
   * Arguments must be structured-clonable; typed arrays listed in
   * `transfer` move without a copy. Workers that load tfjs keep their
   * backend between tasks.
   */
  run<T>(module: string, fn: string, args: unknown,
    transfer?: ArrayBufferLike[]): Promise<T>;
  /** Worker threads in the pool. */
  readonly threads: number;
}

export interface StageContext {
  id: string;
  kind: string;
  /** This instance's parameters (a sweep parameter holds one value). */
  params: Record<string, any>;
  coords: Coords;
  pipeline: ResolvedPipeline;
  /** Upstream artifacts by role; a role fed by several instances is an array. */
  inputs: Record<string, Artifact | Artifact[]>;
  /** External input files by role, absolute. */
  files: Record<string, string>;
  /** Private directory to write outputs into; published by the runner. */
  out: string;
  pool: Pool;
  /** Report progress of long work (shown as a bar on a terminal). */
  progress(done: number, total: number): void;
  log: Logger;
  /** A warning recorded in the manifest and shown in the report. */
  warn(message: string): void;
  /** Facts about how the result was computed (backend, threads, versions). */
  record(key: string, value: unknown): void;
  signal: AbortSignal;
  /** Engine/backend requested on the command line, if any. */
  engine?: string;
  backend?: string;
  /**
   * Inputs that failed (with the error) or were skipped after a failure
   * (no error); they are absent from `inputs`. Only for stages with
   * runsWithFailedInputs.
   */
  failedInputs?: { id: string; error?: string }[];
}

export interface StageResult {
  /** Small results, stored as summary.json and shown by the report. */
  summary: Record<string, unknown>;
  /**
   * Files or folders of `out` to copy out of the cache after publishing,
   * e.g. trained models into the repository or the report into outputs/.
   * `to` is relative to the pipeline root.
   */
  publish?: { from: string; to: string }[];
}

export interface StageDef {
  kind: string;
  /** Bump when the stage's results would change for the same inputs. */
  version: number;
  /** One line for `convergent dag` and the report. */
  description: string;
  /** Fan-out: [] (one instance), ['network'], ['pair', 'layer'], ... */
  axes: Axis[];
  /**
   * A list-valued parameter whose values become separate instances, e.g.
   * { param: 'decays', as: 'decay' }: the instance sees params.decay.
   */
  sweep?: { param: string; as: string };
  /** Default parameter values, merged under what the pipeline gives. */
  defaults: Record<string, unknown>;
  /**
   * Parameters that do not change results (progress, paths to publish to)
   * and so stay out of the cache key.
   */
  cosmetic?: string[];
  /**
   * What else the result depends on besides parameters and inputs, for
   * the cache key. Default: the instance's coordinates. A stage that reads
   * the pipeline (networks, data, layers) returns the parts it reads.
   */
  context?(coords: Coords, pipeline: ResolvedPipeline): unknown;
  /**
   * Run even when some inputs failed (or were skipped after a failure),
   * on the ones that finished; see StageContext.failedInputs. The run
   * still fails. The report sets it, so that one failed pair does not
   * take the report of the others with it.
   */
  runsWithFailedInputs?: boolean;
  /** Restrict networks for the 'network' axis (e.g. train: only `train:`). */
  networks?(pipeline: ResolvedPipeline): string[];
  /** What an instance reads. `stage` names default to kinds. */
  inputs(coords: Coords, params: Record<string, any>,
    pipeline: ResolvedPipeline): InputRef[];
  run(ctx: StageContext): Promise<StageResult>;
}
