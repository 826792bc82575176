/**
 * report: the tables, figures and HTML page a researcher takes away from
 * a run. One instance (id `report`), no fan-out.
 *
 * Reads (each role arrives as an array, in the order below). Every
 * stage the pipeline lists of kind match, mutual-info, sparse-map and hac
 * is read, by name: a second stage of a kind (`sparse-fine: { kind:
 * sparse-map, ... }`) shows beside the first. A kind the pipeline does
 * not list is not read, so the report never makes one run; extract,
 * normalize and train are read even when implicit, since they run anyway:
 * - `match`: <stage>@<a>-<b>/<layer> for every match stage, pair × layer;
 * - `mutual-info`: the same for every mutual-info stage;
 * - `sparse-map`: <stage>@<a>-<b>/<layer>/decay=<d> for every decay of
 *   each sparse-map stage's `decays`, and for each hac stage without a
 *   `weights` file the sparse-map result it clusters (the stage it reads:
 *   its `needs`, else the one the runner picks; at its decay) when that
 *   is outside the sweeps (the clustering figure's W);
 * - `hac`: <stage>@<a>-<b>/<layer> for every hac stage;
 * - `extract`: extract@<network> for every network;
 * - `normalize`: normalize@<a>-<b>/<layer> when match or sparse-map is
 *   listed (for its warnings, timings and dead units);
 * - `train`: train@<network> for networks declared with `train:`.
 *
 * Several stages of a kind: the matching and HAC tables get a stage
 * column (a row per stage); the sparse tables merge the decays of stages
 * of one direction into one row per pair × layer, and give a stage that
 * repeats a decay (or maps the other way) rows of its own, named in a
 * `stages` column.
 *
 * Parameters:
 * - `formats` (list of md | csv | tex | json, default all four): the
 *   table files written.
 *
 * Writes, and publishes to <outputs> (outputs/<pipeline name> unless the
 * pipeline says otherwise):
 * - `tables/<name>.<format>` for the tables networks,
 *   matching-correlation, matching-mi, sparse-holdout, sparse-weights,
 *   sparse-fit, hac and dead-units (one row per network × layer), those
 *   whose stages the pipeline has; `timings/<name>.<format>` for
 *   stage-summary and stages. A "k / n" cell (semi = bipartite) is the
 *   count k in CSV and JSON;
 * - `figures/<a>-<b>/`: corr-aa-<layer>.png, corr-bb-<layer>.png,
 *   corr-ab-<layer>.png (heatmaps, -1 blue .. 1 red, B's units in matched
 *   order), hac-<layer>.png (B in leaf order with brackets),
 *   curves-correlation.svg, curves-mi.svg, holdout-loss.svg,
 *   weights-per-unit.svg (Vega-Lite charts). The figures of a second
 *   stage of a kind (one not named like its kind) go to
 *   `figures/<a>-<b>/<stage>/` under the same names; match stages reading
 *   the same normalize stage share their figures;
 * - `report.html`, self-contained apart from those figure files.
 *
 * Runs even when some of these failed or were skipped (runsWithFailedInputs):
 * their values show as em dashes, and the Warnings section lists them
 * with their errors; the run itself still fails.
 *
 * Summary: { tables: [file...], figures: [file...], notes: [...],
 * failed: [instance id...] }.
 */
import { relative } from 'node:path';
import { PipelineError } from '../core/errors.js';
import { buildReport } from '../report/build.js';
import { collectArtifacts, reportInputRefs } from '../report/collect.js';
import { type Format, formats } from '../report/table.js';
import type { StageContext, StageDef } from './types.js';

function checkFormats(ctx: StageContext): Format[] {
  const given = ctx.params.formats ?? formats;
  const bad = Array.isArray(given)
    ? given.filter((f) => !formats.includes(f)) : [given];
  if (bad.length > 0 || given.length === 0) {
    throw new PipelineError({ file: ctx.pipeline.file,
      path: 'stages.report.formats' }, `got ${JSON.stringify(given)}, ` +
      `expected a non-empty list of ${formats.join(', ')}; remove ` +
      `${bad.map((b) => JSON.stringify(b)).join(', ') || 'nothing'}`);
  }
  return given as Format[];
}

export const reportStage: StageDef = {
  kind: 'report',
  version: 1,
  description: 'tables (md, csv, tex, json), figures and report.html',
  axes: [],
  defaults: { formats: [...formats] },
  // One failed pair must not take the report of the others with it: the
  // runner still fails the run, and the page lists what is missing.
  runsWithFailedInputs: true,

  inputs(_coords, _params, pipeline) {
    return reportInputRefs(pipeline);
  },

  // The page shows the pipeline as resolved: a change of meaning reruns
  // the report, a new comment or reordered keys do not.
  context: (_coords, p) => ({ name: p.name, networks: p.networks,
    data: p.data, layers: p.layers, pairs: p.pairs, stages: p.stages }),

  async run(ctx) {
    const tableFormats = checkFormats(ctx);
    const failed = ctx.failedInputs ?? [];
    const arts = collectArtifacts(ctx.pipeline, ctx.inputs, failed);
    const built = await buildReport(arts, ctx.out,
      { formats: tableFormats });
    for (const note of built.notes) ctx.warn(note);
    if (failed.length > 0) {
      ctx.warn(`made without ${failed.length} instance(s) that failed or ` +
        `were skipped (${failed.slice(0, 3).map((f) => f.id).join(', ')}` +
        `${failed.length > 3 ? ', ...' : ''}); their values show as ` +
        '\u2014 and the Warnings section lists them.');
    }

    const { version: vegaVersion } = await import('vega');
    const { version: vegaLiteVersion } = await import('vega-lite');
    ctx.record('vega', vegaVersion);
    ctx.record('vega-lite', vegaLiteVersion);
    const to = relative(ctx.pipeline.root, ctx.pipeline.outputs) ||
      `outputs/${ctx.pipeline.name}`;
    return {
      summary: {
        tables: built.tables,
        figures: built.figures.map((f) => f.file),
        notes: built.notes,
        failed: failed.map((f) => f.id),
      },
      publish: [{ from: '.', to }],
    };
  },
};
