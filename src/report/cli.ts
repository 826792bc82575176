/**
 * The report commands of the CLI, on cached results only:
 * `convergent table <pipeline> [name] --format md|csv|tex|json` and
 * `convergent report <pipeline>`. The instances are the ones the current
 * pipeline would use (same cache keys as `plan` and `run`); one that is
 * not cached shows as em dashes, with a note naming it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { usageError } from '../core/errors.js';
import { ancestors, expand } from '../pipeline/expand.js';
import { suggest } from '../pipeline/suggest.js';
import { Cache } from '../runner/cache.js';
import { decideAll } from '../runner/plan.js';
import { publishFolder } from '../runner/publish.js';
import { readRoot } from '../runner/roots.js';
import type { Registry } from '../stages/registry.js';
import type { Artifact, ResolvedPipeline } from '../stages/types.js';
import { buildReport } from './build.js';
import { type ReportArtifacts, collectArtifacts, instanceId, reportRefs,
  stageNamed } from './collect.js';
import { type Format, formats } from './table.js';
import { renderTable, tableNames } from './tables.js';

/** The report's artifacts as the cache holds them for this pipeline. */
export async function cachedArtifacts(pipeline: ResolvedPipeline,
  registry: Registry): Promise<ReportArtifacts> {
  const graph = expand(pipeline, registry);
  const wanted = reportRefs(pipeline).map((r) =>
    instanceId(r.stage, r.coords)).filter((id) => graph.instances.has(id));
  const cache = new Cache(pipeline.cache);
  const decisions = await decideAll(graph, registry, cache, pipeline,
    readRoot(cache, pipeline), ancestors(graph, wanted), new Set());
  const found = new Map<string, Artifact>();
  for (const d of decisions) if (d.artifact) found.set(d.id, d.artifact);
  return collectArtifacts(pipeline, (ref) =>
    found.get(instanceId(ref.stage, ref.coords)));
}

function reportFormats(pipeline: ResolvedPipeline): Format[] {
  const stage = stageNamed(pipeline, 'report');
  const given = stage ? pipeline.stages[stage].params.formats : undefined;
  return Array.isArray(given) ? given as Format[] : formats;
}

/** One table (or all of them) of the pipeline, as text. */
export async function printTable(pipeline: ResolvedPipeline,
  registry: Registry, name: string | undefined,
  format: string): Promise<string> {
  if (!formats.includes(format as Format)) {
    throw usageError(`--format ${format}: use one of ${formats.join(', ')}.`);
  }
  const arts = await cachedArtifacts(pipeline, registry);
  const names = tableNames(arts);
  // Checked here so that a suggestion is made only when one is near.
  if (name !== undefined && !names.includes(name)) {
    throw usageError(`pipeline '${pipeline.name}' has no table '${name}'; ` +
      `its tables: ${names.join(', ')}.${suggest(name, names)}`);
  }
  return renderTable(name, format as Format, arts).trimEnd();
}

/** Rebuild report.html, tables/ and figures/ in the outputs folder. */
export async function rebuildReport(pipeline: ResolvedPipeline,
  registry: Registry): Promise<string> {
  const arts = await cachedArtifacts(pipeline, registry);

  // Built beside the outputs, then swapped in the way a run publishes, so
  // a run publishing at the same time never meets a half-written report.
  mkdirSync(dirname(pipeline.outputs), { recursive: true });
  const tmp = mkdtempSync(join(dirname(pipeline.outputs), '.report-'));
  try {
    await buildReport(arts, tmp, { formats: reportFormats(pipeline) });
    await publishFolder(pipeline, tmp, pipeline.outputs,
      `convergent report of ${pipeline.name}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return join(pipeline.outputs, 'report.html');
}
