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

/**
 * The analysis kinds a pipeline may hold several stages of (each under
 * its own name): the report reads every listed stage of these kinds.
 */
export const analysisKinds =
  ['match', 'mutual-info', 'sparse-map', 'hac'] as const;
export type AnalysisKind = typeof analysisKinds[number];

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
  /** The stage's name in the pipeline, e.g. sparse-fine. */
  stage: string;
  artifact?: Artifact;
  summary?: S;
}

export interface PairLayerFound<S> extends Found<S> {
  pair: [string, string];
  layer: string;
}

export interface SparseFound extends PairLayerFound<SparseMapSummary> {
  decay: number;
  /** False for a decay read only for a clustering figure. */
  inSweep: boolean;
}

export interface NetworkFound<S> extends Found<S> {
  network: string;
}

/**
 * Sparse-map stages whose results share one row of the sparse tables:
 * same direction, no decay in common, so every cell has one source.
 */
export interface SparseGroup {
  /** Stage names, in pipeline order. */
  stages: string[];
  direction: 'a-to-b' | 'b-to-a';
  /** The union of their sweeps, ascending. */
  decays: number[];
}

/** Everything the tables, figures and HTML are made from. */
export interface ReportArtifacts {
  pipeline: ResolvedPipeline;
  /**
   * Stage names per role: every listed stage of an analysis kind, in
   * pipeline order (none when the pipeline lists none); the one stage
   * read for normalize (when read), extract and train.
   */
  stages: Record<ReportRole, string[]>;
  /** The sparse-map stages as rows of the sparse tables. */
  sparseGroups: SparseGroup[];
  match: PairLayerFound<MatchSummary>[];
  mi: PairLayerFound<MutualInfoSummary>[];
  sparse: SparseFound[];
  hac: PairLayerFound<HacSummary>[];
  /** Read for its warnings, timings and dead units. */
  normalize: PairLayerFound<NormalizeSummary>[];
  extract: NetworkFound<ExtractSummary>[];
  train: NetworkFound<Record<string, any>>[];
  /**
   * Instances the report lacks because they failed (with the error) or
   * were skipped after a failure in the run that made it; none when it
   * is rebuilt from the cache.
   */
  failed: LostInput[];
}

/** An input that failed (error given) or was skipped after a failure. */
export interface LostInput { id: string; error?: string }

/** The stage of `kind` in the pipeline: the one named so, else the first. */
export function stageNamed(pipeline: ResolvedPipeline,
  kind: string): string | undefined {
  const stages = pipeline.stages;
  if (stages[kind] && (stages[kind].kind ?? kind) === kind) return kind;
  return Object.keys(stages).find((name) => stages[name].kind === kind);
}

/** Every stage of `kind` the pipeline lists, in pipeline order. */
export function stagesOfKind(pipeline: ResolvedPipeline,
  kind: string): string[] {
  return Object.keys(pipeline.stages).filter((name) =>
    (pipeline.stages[name].kind ?? name) === kind);
}

/**
 * The stage of `kind` that stage `reader` reads, as the runner picks it
 * (src/pipeline/expand.ts): one of its `needs` of that kind, else the
 * stage named like the kind, else the only stage of the kind, else an
 * implicit stage named like the kind (with the kind's defaults).
 */
export function upstreamStage(pipeline: ResolvedPipeline, reader: string,
  kind: string): string {
  const stages = pipeline.stages;
  const byNeeds = stages[reader]?.needs?.find((n) =>
    n === kind || stages[n]?.kind === kind);
  if (byNeeds) return byNeeds;
  if (stages[kind]) return kind;
  const ofKind = Object.keys(stages).filter((n) => stages[n].kind === kind);
  return ofKind.length === 1 ? ofKind[0] : kind;
}

function numbers(value: unknown): number[] {
  return Array.isArray(value)
    ? value.filter((v): v is number => typeof v === 'number') : [];
}

/** The decays a sparse-map stage sweeps (its `decays`). */
export function sweepOf(pipeline: ResolvedPipeline, stage: string): number[] {
  return numbers(pipeline.stages[stage]?.params.decays);
}

/**
 * The sparse-map result a hac stage clusters: the stage it reads and
 * the decay; undefined when it is given a `weights` file instead.
 */
export function hacMapping(pipeline: ResolvedPipeline,
  hac: string): { stage: string; decay: number } | undefined {
  const params = pipeline.stages[hac]?.params ?? {};
  if (typeof params.weights === 'string') return undefined;
  // The hac stage's default decay, when a test pipeline leaves it out.
  const decay = typeof params.decay === 'number' ? params.decay : 1e-3;
  return { stage: upstreamStage(pipeline, hac, 'sparse-map'), decay };
}

/**
 * The sparse-map stages as table rows: each joins the first group of
 * its direction it shares no decay with, else starts its own. With one
 * stage, or a second that only adds decays, there is one row per pair ×
 * layer as in the study; a second stage that repeats a decay (other
 * tolerance, say) gets rows of its own.
 */
export function sparseGroupsOf(pipeline: ResolvedPipeline): SparseGroup[] {
  const groups: SparseGroup[] = [];
  for (const stage of stagesOfKind(pipeline, 'sparse-map')) {
    const direction = pipeline.stages[stage].params.direction === 'b-to-a'
      ? 'b-to-a' : 'a-to-b';
    const sweep = sweepOf(pipeline, stage);
    const group = groups.find((g) => g.direction === direction &&
      !sweep.some((d) => g.decays.includes(d)));
    if (group) {
      group.stages.push(stage);
      group.decays = [...group.decays, ...sweep];
    } else {
      groups.push({ stages: [stage], direction, decays: [...sweep] });
    }
  }
  for (const g of groups) {
    g.decays = [...new Set(g.decays)].sort((x, y) => x - y);
  }
  return groups;
}

/**
 * Every instance the report reads, in a fixed order: per pair × layer
 * every listed stage of match, then of mutual-info, then of sparse-map
 * (each decay of its sweep), the sparse-map result each hac stage
 * clusters when outside those sweeps, every hac stage, and normalize
 * when they read it; then extract per network and train per `train:`
 * network. An analysis kind the pipeline does not list is not read (it
 * would run just for the report); an instance is listed once.
 */
export function reportRefs(pipeline: ResolvedPipeline): StageRef[] {
  const refs: StageRef[] = [];
  const seen = new Set<string>();
  const add = (ref: StageRef) => {
    const id = instanceId(ref.stage, ref.coords);
    if (seen.has(id)) return;
    seen.add(id);
    refs.push(ref);
  };
  const name = (role: ReportRole) => stageNamed(pipeline, role);
  const listed = (kind: AnalysisKind) => stagesOfKind(pipeline, kind);

  for (const pair of pipeline.pairs) {
    for (const layer of pipeline.layers) {
      const coords = { pair: [pair[0], pair[1]] as [string, string], layer };
      for (const role of ['match', 'mutual-info'] as const) {
        for (const stage of listed(role)) add({ role, stage, coords });
      }
      for (const stage of listed('sparse-map')) {
        for (const decay of sweepOf(pipeline, stage)) {
          add({ role: 'sparse-map', stage,
            coords: { ...coords, point: { decay } } });
        }
      }
      // The clustering figure draws the W its hac stage clustered.
      for (const hac of listed('hac')) {
        const mapping = hacMapping(pipeline, hac);
        if (!mapping) continue;
        add({ role: 'sparse-map', stage: mapping.stage,
          coords: { ...coords, point: { decay: mapping.decay } } });
      }
      for (const stage of listed('hac')) add({ role: 'hac', stage, coords });
      // match and sparse-map read normalize@, so it runs anyway.
      const normalize = name('normalize') ?? (listed('match').length +
        listed('sparse-map').length > 0 ? 'normalize' : undefined);
      if (normalize) add({ role: 'normalize', stage: normalize, coords });
    }
  }

  // Every analysis reads extract@, and a `train:` network is trained
  // whether or not the file lists these stages, so they are read even
  // when implicit: that runs nothing that would not run anyway.
  for (const network of Object.keys(pipeline.networks)) {
    add({ role: 'extract', stage: name('extract') ?? 'extract',
      coords: { network } });
    if (pipeline.networks[network].train) {
      add({ role: 'train', stage: name('train') ?? 'train',
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
  failed: LostInput[] = []): ReportArtifacts {
  const refs = reportRefs(pipeline);
  const lookup = typeof source === 'function'
    ? source : lookupInInputs(refs, source);
  const stages = Object.fromEntries(reportRoles.map((role) =>
    [role, [] as string[]])) as Record<ReportRole, string[]>;
  for (const kind of analysisKinds) stages[kind] = stagesOfKind(pipeline, kind);
  for (const ref of refs) {
    if (analysisKinds.includes(ref.role as AnalysisKind)) continue;
    if (!stages[ref.role].includes(ref.stage)) stages[ref.role].push(ref.stage);
  }
  if (stages.extract.length === 0) stages.extract.push('extract');
  const out: ReportArtifacts = {
    pipeline, stages, sparseGroups: sparseGroupsOf(pipeline),
    match: [], mi: [], sparse: [], hac: [], normalize: [], extract: [],
    train: [], failed,
  };

  for (const ref of refs) {
    const artifact = lookup(ref);
    const base = { ref, id: instanceId(ref.stage, ref.coords),
      stage: ref.stage, artifact, summary: artifact?.summary as any };
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
      out.sparse.push({ ...at, decay,
        inSweep: sweepOf(pipeline, ref.stage).includes(decay) });
    }
  }
  return out;
}

export function samePair(a: [string, string], b: [string, string]): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

export { instanceId };
