/**
 * mutual-info@<a>-<b>/<layer>: mutual information between every unit of
 * A and every unit of B on binned activations, and the one-to-one
 * matchings on it (method section 3).
 *
 * Reads: role `a` = extract@<a>, role `b` = extract@<b> (ExtractSummary:
 * float32 chunks [samples, units] of the layer, in sample order); and,
 * only when the pipeline has a stage of kind `match`, role `correlation`
 * = match@ at the same pair and layer, to count how often the MI and the
 * correlation bipartite matchings give an A unit the same partner.
 *
 * Parameters:
 * - `samples` (integer, default 60000): aligned samples drawn uniformly
 *   without replacement, the same indices for both networks. When the
 *   layer has fewer, all are used and a warning says so.
 * - `seed` (integer, default 0): seed of that draw (seedrandom's alea).
 * - `bins` (integer, default 20): equal-mass bins for the values above
 *   `zero`; bin 0 holds the values ≤ `zero` (see kernels/binning.ts).
 * - `zero` (number, default 1e-6): the ReLU-zero threshold.
 * - `unit` ('nats' | 'bits', default 'nats'): unit of mi.npy and of every
 *   value in the summary.
 * - `thresholds` (number[] in `unit`, default null): the summary gives,
 *   for each t, the fraction of A's units whose best MI with any unit of B
 *   is below t. MI has no [0, 1] scale, so the default is the MI that a
 *   pair of jointly Gaussian units with correlation 0.3, 0.5 and 0.7
 *   carries, −½·ln(1 − ρ²), to 4 digits: 0.04716, 0.1438, 0.3367 nats
 *   (0.06803, 0.2075, 0.4857 bits), so the fractions sit beside match@'s.
 *
 * Writes: `mi.npy` float64 [unitsA, unitsB], plug-in MI from the joint
 * histograms of the binned units. A unit with a single occupied bin (dead,
 * or constant) has MI 0 with every unit.
 *
 * Summary (MutualInfoSummary in summaries.ts): semi and bipartite
 * matchings on MI, agreement, fractions below thresholds, sorted curves,
 * the samples used, bins, zero, unit, the single-bin units of each side,
 * and `agreeWithCorrelation` when match@ was read.
 */
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { ConvergentError, inputError, PipelineError, shapeError }
  from '../core/errors.js';
import { readNpy, readNpyHeader, writeNpy } from '../core/npy.js';
import { alignFlat, declareMapHint } from '../data/align.js';
import { MAX_BINS, type LayerBins } from '../kernels/binning.js';
import { summarizeMatching } from '../kernels/matching.js';
import { binLayerOnPool, mutualInfoOnPool }
  from '../kernels/mutual-info-parallel.js';
import type { ExtractSummary, MatchSummary, MutualInfoSummary }
  from './summaries.js';
import type { Artifact, InputRef, StageContext, StageDef } from './types.js';

type LayerEntry = ExtractSummary['layers'][string];

export const mutualInfoStage: StageDef = {
  kind: 'mutual-info',
  version: 1,
  description: 'mutual information between units on binned activations, ' +
    'and matching on it',
  axes: ['pair', 'layer'],
  defaults: {
    samples: 60000, seed: 0, bins: 20, zero: 1e-6, unit: 'nats',
    thresholds: null,
  },

  inputs(coords, _params, pipeline) {
    const [a, b] = coords.pair!;
    const refs: InputRef[] = [
      { role: 'a', stage: 'extract', coords: { network: a } },
      { role: 'b', stage: 'extract', coords: { network: b } },
    ];
    // Only compared when match@ runs anyway: asking for it would
    // otherwise pull normalize@ and match@ into every MI pipeline.
    if (Object.values(pipeline.stages).some((s) => s.kind === 'match')) {
      refs.push({ role: 'correlation', stage: 'match',
        coords: { pair: coords.pair, layer: coords.layer } });
    }
    return refs;
  },

  async run(ctx) {
    const p = checkParams(ctx);
    const layer = ctx.coords.layer!;
    const [nameA, nameB] = ctx.coords.pair!;
    const extractA = single(ctx, 'a');
    const extractB = single(ctx, 'b');
    const givenA = layerOf(extractA, layer);
    const givenB = layerOf(extractB, layer);
    // A flat [samples, units] import takes its partner's map (align.ts).
    const [entryA, entryB] = alignFlat(givenA, givenB);
    if (entryA.samples !== entryB.samples || entryA.height !== entryB.height ||
      entryA.width !== entryB.width) {
      throw shapeError(`${ctx.id}: layer ${layer} of ${nameA} and ${nameB}`,
        `${describe(entryA)} and ${describe(entryB)}`,
        'the same spatial size and sample count on both (aligned samples)' +
        declareMapHint(layer, nameA, givenA, nameB, givenB)
          .replace(/^ /, '. ').replace(/\.$/, ''));
    }

    const available = entryA.samples;
    if (available === 0) {
      throw inputError(extractA.file('summary.json'),
        `layer ${layer} has no samples`, 'Extract some images first.');
    }
    if (available < p.samples) {
      ctx.warn(`${ctx.id}: ${p.samples} samples asked for, layer ${layer} ` +
        `has ${available} aligned samples; using all ${available}`);
    }
    const picked = drawSamples(available, Math.min(p.samples, available),
      p.seed);
    const total = 2 + ctx.pool.threads * 8;
    ctx.progress(0, total);

    const started = performance.now();
    const binsA = await binOnPool(ctx, readPicked(extractA, entryA, layer,
      picked), entryA.units, picked.length, p);
    ctx.progress(1, total);
    ctx.signal.throwIfAborted();
    const binsB = await binOnPool(ctx, readPicked(extractB, entryB, layer,
      picked), entryB.units, picked.length, p);
    ctx.progress(2, total);
    ctx.signal.throwIfAborted();

    const mi = await mutualInfoOnPool(ctx.pool, binsA, binsB, {
      blocks: total - 2,
      progress: (done, blocks) => ctx.progress(2 + done, 2 + blocks),
    });
    if (p.unit === 'bits') {
      for (let k = 0; k < mi.length; k++) mi[k] /= Math.LN2;
    }
    writeNpy(join(ctx.out, 'mi.npy'), mi, [binsA.units, binsB.units]);

    const matching = summarizeMatching(mi, binsA.units, binsB.units,
      p.thresholds);
    const summary: MutualInfoSummary = {
      ...matching,
      samples: picked.length, bins: p.bins, zero: p.zero, unit: p.unit,
      single: { a: binsA.single, b: binsB.single },
    };
    const correlation = ctx.inputs.correlation;
    if (correlation && !Array.isArray(correlation)) {
      summary.agreeWithCorrelation = agreement(summary, correlation);
    }
    ctx.record('estimator', 'plug-in, joint histograms of binned units');
    ctx.record('threads', ctx.pool.threads);
    ctx.record('samplesAvailable', available);
    ctx.record('seconds', (performance.now() - started) / 1000);
    return { summary: { ...summary } };
  },
};

interface Params {
  samples: number; seed: number; bins: number; zero: number;
  unit: 'nats' | 'bits'; thresholds: number[];
}

/** Parameters as resolved, checked once here (the schema checks as written). */
function checkParams(ctx: StageContext): Params {
  const { samples, seed, bins, zero, unit, thresholds } = ctx.params;
  const fail = (name: string, expected: string, got: unknown) =>
    new PipelineError(
      { file: ctx.pipeline.file, path: `stages.${ctx.kind}.${name}` },
      `expected ${expected}, got ${JSON.stringify(got)}`);
  if (!Number.isInteger(samples) || samples < 2) {
    throw fail('samples', 'an integer of at least 2', samples);
  }
  if (!Number.isInteger(seed) || seed < 0) {
    throw fail('seed', 'a non-negative integer', seed);
  }
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_BINS) {
    throw fail('bins', `an integer from 1 to ${MAX_BINS}`, bins);
  }
  if (typeof zero !== 'number' || !Number.isFinite(zero)) {
    throw fail('zero', 'a finite number such as 1e-6', zero);
  }
  if (unit !== 'nats' && unit !== 'bits') {
    throw fail('unit', "'nats' or 'bits'", unit);
  }
  const ok = thresholds === null || (Array.isArray(thresholds) &&
    thresholds.every((t) => typeof t === 'number' && Number.isFinite(t)));
  if (!ok) throw fail('thresholds', `a list of numbers in ${unit}`, thresholds);
  return { samples, seed, bins, zero, unit,
    thresholds: thresholds ?? gaussianThresholds(unit) };
}

/**
 * −½·ln(1 − ρ²) for ρ = 0.3, 0.5, 0.7: the MI of jointly Gaussian units
 * with those correlations, to 4 significant digits, in `unit`.
 */
export function gaussianThresholds(unit: 'nats' | 'bits'): number[] {
  const scale = unit === 'bits' ? Math.LN2 : 1;
  return [0.3, 0.5, 0.7].map((rho) =>
    Number((-0.5 * Math.log(1 - rho * rho) / scale).toPrecision(4)));
}

/**
 * `count` distinct indices drawn uniformly from 0..total−1 (Floyd's
 * algorithm, O(count) memory), in ascending order so that chunks are read
 * once, front to back. The same seed gives the same indices.
 */
export function drawSamples(total: number, count: number,
  seed: number): Int32Array {
  if (count >= total) return Int32Array.from({ length: total }, (_, i) => i);
  const random = seedrandom.alea(String(seed));
  const chosen = new Set<number>();
  for (let j = total - count; j < total; j++) {
    const t = Math.floor(random() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from(chosen).sort();
}

/**
 * Read the picked samples of one network's layer into unit-major values
 * [units, picked], in shared memory for the pool, checking every chunk.
 */
function readPicked(art: Artifact, entry: LayerEntry, layer: string,
  picked: Int32Array): Float32Array {
  const { units } = entry;
  const count = picked.length;
  const values = new Float32Array(new SharedArrayBuffer(units * count * 4));
  let start = 0;
  let k = 0;
  for (const chunk of entry.chunks) {
    const file = art.file(chunk);
    const { shape, dtype } = readNpyHeader(file);
    if (dtype !== 'float32' || shape.length !== 2 || shape[1] !== units) {
      throw shapeError(file, `${dtype} [${shape}]`,
        `float32 [rows, ${units}] (units of layer ${layer})`);
    }
    const end = start + shape[0];
    if (k < count && picked[k] < end) {
      const { data } = readNpy(file);
      for (; k < count && picked[k] < end; k++) {
        const row = (picked[k] - start) * units;
        for (let u = 0; u < units; u++) {
          const v = data[row + u];
          if (!Number.isFinite(v)) {
            throw inputError(file, `row ${picked[k] - start}, unit ${u} is ` +
              `${v}`, 'Activations must be finite; check the network.');
          }
          values[u * count + k] = v;
        }
      }
    }
    start = end;
  }
  if (start !== entry.samples) {
    throw inputError(art.file('summary.json'), `layer ${layer}: the chunks ` +
      `hold ${start} samples, the summary says ${entry.samples}`,
      'Rerun extract@ for this network.');
  }
  return values;
}

function binOnPool(ctx: StageContext, values: Float32Array, units: number,
  samples: number, p: Params): Promise<LayerBins> {
  return binLayerOnPool(ctx.pool, values, units, samples, p.bins, p.zero);
}

/** A units whose MI bipartite partner is their correlation partner. */
function agreement(mi: MutualInfoSummary, correlation: Artifact): number {
  const corr = correlation.summary as MatchSummary;
  if (corr.unitsA !== mi.unitsA || corr.unitsB !== mi.unitsB ||
    !Array.isArray(corr.bipartite?.pairs)) {
    throw shapeError(correlation.file('summary.json'),
      `a match@ summary of ${corr.unitsA} x ${corr.unitsB} units`,
      `${mi.unitsA} x ${mi.unitsB} units with bipartite pairs`);
  }
  const partner = new Map(corr.bipartite.pairs);
  return mi.bipartite.pairs.filter(([a, b]) => partner.get(a) === b).length;
}

function single(ctx: StageContext, role: string): Artifact {
  const input = ctx.inputs[role];
  if (!input || Array.isArray(input)) {
    throw new ConvergentError('E_STAGE', `${ctx.id}: expected one extract@ ` +
      `artifact as input '${role}', got ` +
      `${Array.isArray(input) ? input.length : 'none'}`);
  }
  return input;
}

function layerOf(art: Artifact, layer: string): LayerEntry {
  const summary = art.summary as ExtractSummary;
  const entry = summary.layers?.[layer];
  if (!entry) {
    throw inputError(art.file('summary.json'), `no layer '${layer}' ` +
      `(it has ${Object.keys(summary.layers ?? {}).join(', ') || 'none'})`,
      'Add the layer to the pipeline\'s layers and rerun extract@.');
  }
  return entry;
}

function describe(e: LayerEntry): string {
  return `${e.height}x${e.width} with ${e.samples} samples`;
}
