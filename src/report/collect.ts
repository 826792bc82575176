/**
 * Which finished stage instances the report reads, and how they are found
 * again: the same list of references serves the report stage's `inputs()`
 * (the runner resolves them) and the CLI's rebuild from the cache (a
 * lookup function resolves them).
 */
import type { Artifact, Coords, InputRef, ResolvedPipeline }
  from '../stages/types.js';
import { instanceId } from '../pipeline/expand.js';
import type { ExtractSummary, HacSummary, MatchSummary, MutualInfoSummary,
  NormalizeSummary, SparseMapSummary } from '../stages/summaries.js';

/** The stage kinds the report reads; each is also its input role. */
export const reportRoles = ['match', 'mutual-info', 'sparse-map', 'hac',
  'normalize', 'extract', 'train'] as const;
export type ReportRole = typeof reportRoles[number];

/** A reference to one stage instance (never an external file). */
export interface StageRef {
  role: ReportRole;
  /** The stage's name in the pipeline (equals the kind unless renamed). */
  stage: string;
  coords: Coords;
}

/** One expected instance, with its artifact when it was found. */
export interface Found<S> {
  ref: StageRef;
  /** The runner's instance id, e.g. match@net1-net2/conv2. */
  id: string;
  artifact?: Artifact;
  summary?: S;
}

export interface PairLayerFound<S> extends Found<S> {
  pair: [string, string];
  layer: string;
}

export interface SparseFound extends PairLayerFound<SparseMapSummary> {
  decay: number;
  /** False for a decay read only for the HAC figure. */
  inSweep: boolean;
}

export interface NetworkFound<S> extends Found<S> {
  network: string;
}

/** Everything the tables, figures and HTML are made from. */
export interface ReportArtifacts {
  pipeline: ResolvedPipeline;
  /** Stage name per role, for the roles the pipeline has. */
  stages: Partial<Record<ReportRole, string>>;
  /** The sparse-map sweep, in pipeline order. */
  decays: number[];
  match: PairLayerFound<MatchSummary>[];
  mi: PairLayerFound<MutualInfoSummary>[];
  sparse: SparseFound[];
  hac: PairLayerFound<HacSummary>[];
  /** Read for its warnings, timings and dead units. */
  normalize: PairLayerFound<NormalizeSummary>[];
  extract: NetworkFound<ExtractSummary>[];
  train: NetworkFound<Record<string, any>>[];
}

/** The stage of `kind` in the pipeline: the one named so, else the first. */
export function stageNamed(pipeline: ResolvedPipeline,
  kind: string): string | undefined {
  const stages = pipeline.stages;
  if (stages[kind] && (stages[kind].kind ?? kind) === kind) return kind;
  return Object.keys(stages).find((name) => stages[name].kind === kind);
}

function numbers(value: unknown): number[] {
  return Array.isArray(value)
    ? value.filter((v): v is number => typeof v === 'number') : [];
}

/** The sweep decays, and the HAC decay when it is outside the sweep. */
function decaysOf(pipeline: ResolvedPipeline) {
  const sparse = stageNamed(pipeline, 'sparse-map');
  const hac = stageNamed(pipeline, 'hac');
  const sweep = sparse ? numbers(pipeline.stages[sparse].params.decays) : [];
  const extra: number[] = [];
  const hacParams = hac ? pipeline.stages[hac].params : {};
  // A hac stage given a weights file reads no sparse-map result.
  const hacDecay = typeof hacParams.weights === 'string'
    ? undefined : hacParams.decay;
  if (sparse && typeof hacDecay === 'number' && !sweep.includes(hacDecay)) {
    extra.push(hacDecay);
  }
  return { sweep, extra };
}

/**
 * Every instance the report reads, in a fixed order: per pair × layer
 * match, mutual-info, sparse-map (each decay), hac, for the stages the
 * pipeline lists (an unlisted one would run just for the report), and
 * normalize when they read it; then extract per network and train per
 * `train:` network.
 */
export function reportRefs(pipeline: ResolvedPipeline): StageRef[] {
  const refs: StageRef[] = [];
  const name = (role: ReportRole) => stageNamed(pipeline, role);
  const { sweep, extra } = decaysOf(pipeline);

  for (const pair of pipeline.pairs) {
    for (const layer of pipeline.layers) {
      const coords = { pair: [pair[0], pair[1]] as [string, string], layer };
      for (const role of ['match', 'mutual-info'] as const) {
        const stage = name(role);
        if (stage) refs.push({ role, stage, coords });
      }
      const sparse = name('sparse-map');
      for (const decay of sparse ? [...sweep, ...extra] : []) {
        refs.push({ role: 'sparse-map', stage: sparse!,
          coords: { ...coords, point: { decay } } });
      }
      const hac = name('hac');
      if (hac) refs.push({ role: 'hac', stage: hac, coords });
      // match and sparse-map read normalize@, so it runs anyway.
      const normalize = name('normalize') ??
        (name('match') || name('sparse-map') ? 'normalize' : undefined);
      if (normalize) refs.push({ role: 'normalize', stage: normalize, coords });
    }
  }

  // Every analysis reads extract@, and a `train:` network is trained
  // whether or not the file lists these stages, so they are read even
  // when implicit: that runs nothing that would not run anyway.
  for (const network of Object.keys(pipeline.networks)) {
    refs.push({ role: 'extract', stage: name('extract') ?? 'extract',
      coords: { network } });
    if (pipeline.networks[network].train) {
      refs.push({ role: 'train', stage: name('train') ?? 'train',
        coords: { network } });
    }
  }
  return refs;
}

/** The refs as the stage contract wants them. */
export function reportInputRefs(pipeline: ResolvedPipeline): InputRef[] {
  // `many`: a role arrives as an array even when one instance feeds it.
  return reportRefs(pipeline).map((r) => ({ role: r.role, stage: r.stage,
    coords: r.coords, many: true }));
}

/** Finds the artifact of one reference, or undefined if there is none. */
export type ArtifactLookup = (ref: StageRef) => Artifact | undefined;

/**
 * A lookup over the runner's `ctx.inputs`: per role, the artifacts come
 * in the order of the refs. When a role holds fewer artifacts than refs
 * (a rebuild from a partial cache), they are matched by instance id.
 */
export function lookupInInputs(refs: StageRef[],
  inputs: Record<string, Artifact | Artifact[]>): ArtifactLookup {
  const found = new Map<string, Artifact>();
  const key = (ref: StageRef) => instanceId(ref.stage, ref.coords);
  for (const role of reportRoles) {
    const given = inputs[role];
    const list = given === undefined ? [] : Array.isArray(given)
      ? given : [given];
    const wanted = refs.filter((r) => r.role === role);
    const byId = new Map(list.map((a) => [a.manifest?.id ?? a.id, a]));
    wanted.forEach((ref, i) => {
      const artifact = list.length === wanted.length
        ? list[i] : byId.get(key(ref));
      if (artifact) found.set(key(ref), artifact);
    });
  }
  return (ref) => found.get(key(ref));
}

/** Gather the report's artifacts by pair, layer, decay and network. */
export function collectArtifacts(pipeline: ResolvedPipeline,
  source: ArtifactLookup | Record<string, Artifact | Artifact[]>,
): ReportArtifacts {
  const refs = reportRefs(pipeline);
  const lookup = typeof source === 'function'
    ? source : lookupInInputs(refs, source);
  const { sweep } = decaysOf(pipeline);
  const out: ReportArtifacts = {
    pipeline, stages: {}, decays: sweep,
    match: [], mi: [], sparse: [], hac: [], normalize: [], extract: [],
    train: [],
  };
  for (const role of reportRoles) {
    const stage = stageNamed(pipeline, role);
    if (stage) out.stages[role] = stage;
  }
  out.stages.extract ??= 'extract';

  for (const ref of refs) {
    const artifact = lookup(ref);
    const base = { ref, id: instanceId(ref.stage, ref.coords), artifact,
      summary: artifact?.summary as any };
    const { pair, layer, network, point } = ref.coords;
    if (network !== undefined) {
      const entry = { ...base, network };
      if (ref.role === 'extract') out.extract.push(entry);
      else out.train.push(entry);
      continue;
    }
    const at = { ...base, pair: pair!, layer: layer! };
    if (ref.role === 'match') out.match.push(at);
    else if (ref.role === 'mutual-info') out.mi.push(at);
    else if (ref.role === 'hac') out.hac.push(at);
    else if (ref.role === 'normalize') out.normalize.push(at);
    else {
      const decay = point!.decay;
      out.sparse.push({ ...at, decay, inSweep: sweep.includes(decay) });
    }
  }
  return out;
}

export function samePair(a: [string, string], b: [string, string]): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

export { instanceId };
