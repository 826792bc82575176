/**
 * Every figure of the report, written under figures/ of the output:
 * per pair × layer the correlation heatmaps (within A, within B, and
 * between, B's units in matched order) and the clustering figure; per
 * pair the matched-value curves (correlation and MI) and the sparse
 * mapping's holdout loss and weights per unit against decay.
 *
 * A pipeline may hold several stages of one kind (sparse-fine beside
 * sparse-map, say). Each draws its own figures; those of a stage not
 * named like its kind go to figures/<a>-<b>/<stage>/ and their captions
 * name it. Match stages that read the same normalize stage have the same
 * correlations, so they are drawn once.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readNpy } from '../core/npy.js';
import type { HacSummary, MatchingSummary, MatchSummary }
  from '../stages/summaries.js';
import type { Artifact } from '../stages/types.js';
import { type CurvePoint, curvesSpec, type DecayPoint, decaySpec, renderSvg }
  from './charts.js';
import type { PairLayerFound, ReportArtifacts, ReportRole } from './collect.js';
import { hacMapping, samePair, upstreamStage } from './collect.js';
import { decayLabel, pairLabel, safeName } from './format.js';
import { hacFigure } from './hac-figure.js';
import { heatmap } from './heatmap.js';

export type FigureKind = 'corr-aa' | 'corr-bb' | 'corr-ab' | 'hac'
  | 'curves-correlation' | 'curves-mi' | 'holdout-loss' | 'weights-per-unit';

export interface Figure {
  kind: FigureKind;
  /** Path relative to the output folder, with forward slashes. */
  file: string;
  pair: [string, string];
  layer?: string;
  /** The stages drawn, when their kind has several figure sets. */
  stages?: string[];
  caption: string;
}

export interface Figures {
  figures: Figure[];
  /** Figures that could not be drawn, and why. */
  notes: string[];
}

/** figures/<a>-<b>/ for a pair, safe as a folder name. */
export function pairFolder(pair: [string, string]): string {
  return `figures/${safeName(pair[0])}-${safeName(pair[1])}`;
}

/**
 * Stages whose figures are drawn together, under `folder` (figures/<a>-<b>
 * plus `sub`); `label` names them when their kind has several sets.
 */
interface FigureSet {
  stages: string[];
  sub: string;
  label?: string;
}

/** The figure sets of `kind` from stages grouped as `groups`. */
function figureSets(kind: ReportRole, groups: string[][]): FigureSet[] {
  return groups.map((stages) => {
    const own = groups.length === 1 || stages.includes(kind);
    return { stages, sub: own ? '' : `/${safeName(stages[0])}`,
      label: groups.length > 1 ? stages.join(', ') : undefined };
  });
}

/** Every set of figures the artifacts' stages make, per kind. */
function allSets(arts: ReportArtifacts) {
  const { pipeline, stages } = arts;
  // Match stages reading one normalize stage share their correlations.
  const byMoments = new Map<string, string[]>();
  for (const stage of stages.match) {
    const moments = upstreamStage(pipeline, stage, 'normalize');
    byMoments.set(moments, [...(byMoments.get(moments) ?? []), stage]);
  }
  return {
    match: figureSets('match', [...byMoments.values()]),
    mi: figureSets('mutual-info', stages['mutual-info'].map((s) => [s])),
    sparse: figureSets('sparse-map', arts.sparseGroups.map((g) => g.stages)),
    hac: figureSets('hac', stages.hac.map((s) => [s])),
  };
}

/** A caption, after the stages' names when the kind has several sets. */
const named = (set: FigureSet, caption: string) =>
  set.label ? `${set.label}: ${caption}` : caption;

class Writer {
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];
  constructor(readonly out: string) {}

  write(figure: Figure, bytes: Buffer | string): void {
    const path = join(this.out, figure.file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    this.figures.push(figure);
  }
}

/** A float64 matrix file of an artifact, checked against its shape. */
function matrix(artifact: Artifact, name: string, rows: number,
  cols: number): Float64Array | Float32Array | string {
  const path = artifact.file(name);
  if (!existsSync(path)) return `${name} is missing`;
  const m = readNpy(path);
  if (m.shape.length !== 2 || m.shape[0] !== rows || m.shape[1] !== cols) {
    return `${name} has shape [${m.shape}], expected [${rows}, ${cols}]`;
  }
  return m.data as Float64Array;
}

function correlationFigures(w: Writer, f: PairLayerFound<MatchSummary>,
  set: FigureSet) {
  const s = f.summary!;
  const folder = pairFolder(f.pair) + set.sub;
  const layer = safeName(f.layer);
  const [a, b] = f.pair;
  const sides: [FigureKind, string, number, number, string][] = [
    ['corr-aa', 'corr_aa.npy', s.unitsA, s.unitsA, `within ${a}`],
    ['corr-bb', 'corr_bb.npy', s.unitsB, s.unitsB, `within ${b}`],
    ['corr-ab', 'corr_ab.npy', s.unitsA, s.unitsB,
      `${a} (rows) against ${b} (columns, in matched order)`],
  ];
  for (const [kind, name, rows, cols, what] of sides) {
    const m = matrix(f.artifact!, name, rows, cols);
    if (typeof m === 'string') {
      w.notes.push(`${f.id}: no ${kind} heatmap, ${m}.`);
      continue;
    }
    const order = kind === 'corr-ab' && s.orderOfB?.length === cols
      ? s.orderOfB : undefined;
    const map = heatmap(m, rows, cols, { min: -1, max: 1, cols: order });
    if (map.nonFinite > 0) {
      w.notes.push(`${f.id}: ${name} holds ${map.nonFinite} non-finite ` +
        'values, drawn gray.');
    }
    w.write({ kind, file: `${folder}/${kind}-${layer}.png`, pair: f.pair,
      layer: f.layer, stages: set.label ? set.stages : undefined,
      caption: named(set, `${f.layer}: correlation ${what}`) }, map.png);
  }
}

const sameDecay = (x: number, y: number) =>
  Math.abs(x - y) <= 1e-12 * Math.max(Math.abs(x), Math.abs(y));

/**
 * The mapping W [unitsA, unitsB] a clustering used: the hac stage's
 * weights file when it was given one (transposed for 'b-to-a'), else the
 * result of the sparse-map stage it reads at its decay. A string says
 * why there is none.
 */
function clusteredWeights(arts: ReportArtifacts,
  f: PairLayerFound<HacSummary>): ArrayLike<number> | string {
  const s = f.summary!;
  const params = arts.pipeline.stages[f.stage]?.params ?? {};
  if (typeof params.weights === 'string') {
    const path = resolve(arts.pipeline.root, params.weights);
    if (!existsSync(path)) return `its weights file ${path} is missing`;
    const m = readNpy(path);
    const [rows, cols] = m.shape;
    if (params.direction !== 'b-to-a') {
      return rows === s.unitsA && cols === s.unitsB ? m.data
        : `${path} has shape [${m.shape}], expected [${s.unitsA}, ${s.unitsB}]`;
    }
    if (rows !== s.unitsB || cols !== s.unitsA) {
      return `${path} has shape [${m.shape}], expected [${s.unitsB}, ` +
        `${s.unitsA}] (direction b-to-a)`;
    }
    const w = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) w[j * rows + i] = m.data[i * cols + j];
    }
    return w;
  }
  const from = hacMapping(arts.pipeline, f.stage)?.stage ?? 'sparse-map';
  const map = arts.sparse.find((m) => m.stage === from &&
    samePair(m.pair, f.pair) && m.layer === f.layer &&
    sameDecay(m.decay, s.decay) && m.artifact);
  return map ? matrix(map.artifact!, 'weights.npy', s.unitsA, s.unitsB)
    : `no ${from} result at decay ${s.decay} for its weights`;
}

function clusterFigure(w: Writer, arts: ReportArtifacts,
  f: PairLayerFound<HacSummary>, set: FigureSet) {
  const s = f.summary!;
  const n = s.unitsA + s.unitsB;
  const link = matrix(f.artifact!, 'linkage.npy', n - 1, 4);
  const orderPath = f.artifact!.file('order.npy');
  if (typeof link === 'string' || !existsSync(orderPath)) {
    w.notes.push(`${f.id}: no clustering figure, ` +
      `${typeof link === 'string' ? link : 'order.npy is missing'}.`);
    return;
  }

  const weights = clusteredWeights(arts, f);
  if (typeof weights === 'string') {
    w.notes.push(`${f.id}: no clustering figure, ${weights}.`);
    return;
  }
  const figure = hacFigure({ weights, unitsA: s.unitsA, unitsB: s.unitsB,
    linkage: link, order: readNpy(orderPath).data });
  w.write({ kind: 'hac', file: `${pairFolder(f.pair)}${set.sub}/hac-` +
    `${safeName(f.layer)}.png`, pair: f.pair, layer: f.layer,
  stages: set.label ? set.stages : undefined,
  caption: named(set, `${f.layer}: B = [[I, W], [W\u1d40, I]] in leaf ` +
    `order (decay ${decayLabel(s.decay)}), diagonal colored by network, ` +
    'merges as brackets') }, figure.png);
}

/** Sorted matched values of every layer of one pair, as curve points. */
function curvePoints(found: PairLayerFound<MatchingSummary>[]): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const f of found) {
    for (const scheme of ['semi', 'bipartite'] as const) {
      const values = f.summary?.curves?.[scheme] ?? [];
      values.forEach((value, i) => {
        if (Number.isFinite(value)) {
          points.push({ layer: f.layer, scheme, rank: i + 1, value });
        }
      });
    }
  }
  return points;
}

type Sets = ReturnType<typeof allSets>;

/** The matched-value curves of a pair, per match and per MI set. */
async function curveCharts(w: Writer, arts: ReportArtifacts,
  pair: [string, string], sets: Sets) {
  const layers = arts.pipeline.layers;
  const folder = pairFolder(pair);
  const label = pairLabel(pair);
  const of = <T extends { pair: [string, string]; stage: string }>(
    list: T[], set: FigureSet) => list.filter((f) =>
    samePair(f.pair, pair) && f.stage === set.stages[0]);
  const titled = (set: FigureSet, title: string) =>
    set.label ? `${title} (${set.label})` : title;

  for (const set of sets.match) {
    const match = curvePoints(of(arts.match, set));
    if (match.length === 0) continue;
    const svg = await renderSvg(curvesSpec(match, layers,
      titled(set, `Matched correlation, ${label}`), 'correlation'));
    w.write({ kind: 'curves-correlation', file: `${folder}${set.sub}/` +
      'curves-correlation.svg', pair, stages: set.label ? set.stages
      : undefined, caption: named(set, 'Matched correlation of each unit ' +
      'of A, sorted, per layer: semi-matching and bipartite matching') },
    svg);
  }
  for (const set of sets.mi) {
    const found = of(arts.mi, set);
    const mi = curvePoints(found);
    if (mi.length === 0) continue;
    const unit = found.find((f) => f.summary)?.summary?.unit ?? 'nats';
    const svg = await renderSvg(curvesSpec(mi, layers,
      titled(set, `Matched mutual information, ${label}`), `MI (${unit})`));
    w.write({ kind: 'curves-mi', file: `${folder}${set.sub}/curves-mi.svg`,
      pair, stages: set.label ? set.stages : undefined,
      caption: named(set, 'Matched mutual information of each unit of A, ' +
        'sorted, per layer') }, svg);
  }
}

/** Holdout loss and weights per unit against decay, per sparse set. */
async function decayCharts(w: Writer, arts: ReportArtifacts,
  pair: [string, string], sets: Sets) {
  const layers = arts.pipeline.layers;
  const label = pairLabel(pair);
  for (const [i, set] of sets.sparse.entries()) {
    const group = arts.sparseGroups[i];
    const folder = pairFolder(pair) + set.sub;
    const extra = { pair, stages: set.label ? set.stages : undefined };
    const title = (what: string) => `${what} against decay, ${label}` +
      (set.label ? ` (${set.label})` : '');
    const sparse = arts.sparse.filter((f) => samePair(f.pair, pair) &&
      f.inSweep && f.summary && set.stages.includes(f.stage));
    const points = (field: 'holdoutLoss' | 'weightsPerUnit'): DecayPoint[] =>
      sparse.map((f) => ({ layer: f.layer, decay: f.decay,
        value: f.summary![field] })).filter((p) => Number.isFinite(p.value));

    const holdout = points('holdoutLoss');
    if (holdout.length > 0) {
      const svg = await renderSvg(decaySpec(holdout, layers, group.decays,
        title('Holdout loss'), 'holdout loss', 0.5));
      w.write({ kind: 'holdout-loss', file: `${folder}/holdout-loss.svg`,
        ...extra, caption: named(set, 'Holdout loss of the sparse mapping ' +
          'per layer; the dashed line (0.5) is the loss of predicting ' +
          'zero') }, svg);
    }
    const weights = points('weightsPerUnit');
    if (weights.length > 0) {
      const svg = await renderSvg(decaySpec(weights, layers, group.decays,
        title('Weights per unit'), 'weights per unit'));
      w.write({ kind: 'weights-per-unit', file: `${folder}/weights-per-` +
        'unit.svg', ...extra, caption: named(set, 'Mean number of weights ' +
        'per target unit with |w| > 1e-3') }, svg);
    }
  }
}

/** Draw every figure the artifacts allow into `out`/figures/. */
export async function writeFigures(arts: ReportArtifacts,
  out: string): Promise<Figures> {
  const w = new Writer(out);
  const sets = allSets(arts);
  for (const pair of arts.pipeline.pairs) {
    await curveCharts(w, arts, pair, sets);
    await decayCharts(w, arts, pair, sets);
    for (const layer of arts.pipeline.layers) {
      const at = <T extends { pair: [string, string]; layer: string;
        stage: string }>(list: T[], stage: string) => list.find((f) =>
        samePair(f.pair, pair) && f.layer === layer && f.stage === stage);
      for (const set of sets.match) {
        const match = at(arts.match, set.stages[0]);
        if (match?.summary) correlationFigures(w, match, set);
      }
      for (const set of sets.hac) {
        const hac = at(arts.hac, set.stages[0]);
        if (hac?.summary) clusterFigure(w, arts, hac, set);
      }
    }
  }
  return { figures: w.figures, notes: w.notes };
}
