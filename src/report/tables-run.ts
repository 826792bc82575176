/**
 * Tables about the run rather than the results: the networks (where
 * they came from, test accuracy where known), the dead and constant units
 * of each network × layer, and how each stage instance ran (version,
 * seconds, backend, engine, threads, warnings) from the manifests.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { recordText } from '../core/records.js';
import type { Artifact } from '../stages/types.js';
import type { Found, ReportArtifacts } from './collect.js';
import type { Cell, Column, Table } from './table.js';
import { Notes, missingNote, numberCell } from './cells.js';

/** Where a network comes from, in a few words. */
export function networkSource(arts: ReportArtifacts, name: string): string {
  const spec = arts.pipeline.networks[name];
  const rel = (p: string) => relative(arts.pipeline.root, p) || p;
  if (!spec) return 'not declared';
  if (spec.train) return `trained here (seed ${spec.train.seed})`;
  if (spec.model) return `TF.js model ${rel(spec.model)}`;
  if (spec.onnx) return `ONNX model ${rel(spec.onnx)}`;
  if (spec.activations) return `activations ${rel(spec.activations)}`;
  return 'unknown';
}

/** The test accuracy a train@ summary reports, under any usual name. */
export function testAccuracy(summary: Record<string, any> | undefined):
  number | undefined {
  if (!summary) return undefined;
  const candidates = [summary.testAccuracy, summary.accuracy,
    summary.test?.accuracy, summary.evaluation?.accuracy];
  return candidates.find((v) => typeof v === 'number' && Number.isFinite(v));
}

/**
 * A model trained by another pipeline (train@ publishes the model folder)
 * keeps its record beside model.json: summary.json or training.json.
 */
export function accuracyBesideModel(model: string | undefined):
  number | undefined {
  if (!model) return undefined;
  for (const name of ['summary.json', 'training.json']) {
    try {
      const found = testAccuracy(JSON.parse(
        readFileSync(join(dirname(model), name), 'utf8')));
      if (found !== undefined) return found;
    } catch { /* no record there: try the next name */ }
  }
  return undefined;
}

export function networksTable(arts: ReportArtifacts): Table {
  const notes = new Notes();
  const columns: Column[] = [
    { key: 'network', label: 'network', kind: 'text' },
    { key: 'source', label: 'source', kind: 'text' },
    { key: 'accuracy', label: 'test accuracy', kind: 'percent' },
    { key: 'images', label: 'images', kind: 'count' },
    { key: 'backend', label: 'backend', kind: 'text' },
  ];
  let unknown = false;
  const rows = Object.keys(arts.pipeline.networks).map((network) => {
    const train = arts.train.find((t) => t.network === network);
    const extract = arts.extract.find((e) => e.network === network);
    const accuracy = testAccuracy(train?.summary) ??
      accuracyBesideModel(arts.pipeline.networks[network]?.model) ?? null;
    if (accuracy === null) unknown = true;
    if (!extract?.summary) {
      missingNote(extract?.id ?? `extract@${network}`, notes);
    }
    const s = extract?.summary;
    const backend = s?.backend ?? extract?.artifact?.manifest?.records.backend;
    return {
      network, source: networkSource(arts, network), accuracy,
      images: s ? numberCell(s.images, 'images', extract!.id, notes) : null,
      backend: typeof backend === 'string' ? backend : null,
    } as Record<string, Cell>;
  });
  const source = 'test accuracy: the accuracy on the test images ' +
    'recorded when the network was trained (training.json beside the ' +
    'model)' + (unknown ? '; \u2014 where none was recorded.' : '.');
  return { name: 'networks', title: 'Networks', columns, rows,
    notes: [source, ...notes.list] };
}

const unitList = (units: number[] | undefined): string | null =>
  units === undefined ? null : units.length === 0 ? 'none' : units.join(', ');

interface LayerUnits {
  dead?: number[];
  constant?: number[];
  /** The instance that named them. */
  from: string;
}

/**
 * Zero-variance units per network × layer, once each: a network's layer
 * appears in every pair it belongs to, and every match (or normalize)
 * result names its units; the first found is shown, and a result that
 * names other units gets a note.
 */
export function deadUnitsTable(arts: ReportArtifacts): Table {
  const notes = new Notes();
  const columns: Column[] = [
    { key: 'network', label: 'network', kind: 'text' },
    { key: 'layer', label: 'layer', kind: 'text' },
    { key: 'dead', label: 'dead', kind: 'text' },
    { key: 'constant', label: 'constant', kind: 'text' },
  ];
  const known = new Map<string, LayerUnits>();
  const missing = new Map<string, string>();
  const same = (x?: number[], y?: number[]) =>
    JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
  for (const f of [...arts.match, ...arts.normalize]) {
    for (const [side, network] of [['a', f.pair[0]], ['b', f.pair[1]]] as
      const) {
      const key = `${network}\u0000${f.layer}`;
      const s = f.summary;
      if (!s) {
        if (!missing.has(key)) missing.set(key, f.id);
        continue;
      }
      const units = { dead: s.dead?.[side], constant: s.constant?.[side],
        from: f.id };
      const first = known.get(key);
      if (!first) known.set(key, units);
      else if (!same(first.dead, units.dead) ||
        !same(first.constant, units.constant)) {
        notes.add(`${network} ${f.layer}: ${units.from} names other ` +
          `zero-variance units than ${first.from}, shown here.`);
      }
    }
  }

  const paired = new Set(arts.pipeline.pairs.flat());
  const rows: Record<string, Cell>[] = [];
  for (const network of Object.keys(arts.pipeline.networks)) {
    if (!paired.has(network)) continue;
    for (const layer of arts.pipeline.layers) {
      const key = `${network}\u0000${layer}`;
      const units = known.get(key);
      if (!units && missing.has(key)) missingNote(missing.get(key)!, notes);
      rows.push({ network, layer, dead: unitList(units?.dead),
        constant: unitList(units?.constant) });
    }
  }
  return {
    name: 'dead-units', title: 'Dead and constant units', columns, rows,
    groupBy: 'network',
    notes: ['Units (0-based channel indices) whose variance is zero: dead ' +
      'units never fire, constant units hold one non-zero value. Their ' +
      'correlations are 0.', ...notes.list],
  };
}

/** Every artifact the report read, once each, in report order. */
export function allFound(arts: ReportArtifacts): Found<unknown>[] {
  return [...arts.train, ...arts.extract, ...arts.normalize, ...arts.match,
    ...arts.mi, ...arts.sparse, ...arts.hac];
}

/** A stage's name, with its kind when renamed: "sparse-fine (sparse-map)". */
export function stageLabel(arts: ReportArtifacts, stage: string): string {
  const kind = arts.pipeline.stages[stage]?.kind ?? stage;
  return kind === stage ? stage : `${stage} (${kind})`;
}

export function stagesTable(arts: ReportArtifacts): Table {
  const notes = new Notes();
  const columns: Column[] = [
    { key: 'instance', label: 'instance', kind: 'text' },
    { key: 'version', label: 'version', kind: 'count' },
    { key: 'seconds', label: 'seconds', kind: 'number' },
    { key: 'backend', label: 'backend', kind: 'text' },
    { key: 'engine', label: 'engine', kind: 'text' },
    { key: 'threads', label: 'threads', kind: 'text' },
    { key: 'warnings', label: 'warnings', kind: 'count' },
    { key: 'started', label: 'started', kind: 'text' },
  ];
  const rows = allFound(arts).filter((f) => f.artifact).map((f) => {
    const m = (f.artifact as Artifact).manifest;
    if (!m) {
      notes.add('Instances without a manifest (not written by the ' +
        'runner) show \u2014 for how they ran.');
    }
    const r = m?.records ?? {};
    return {
      instance: f.id, version: m?.version ?? null,
      seconds: m ? numberCell(m.seconds, 'seconds', f.id, notes) : null,
      backend: recordText(r.backend), engine: recordText(r.engine),
      threads: recordText(r.threads), warnings: m?.warnings.length ?? null,
      started: m?.started ?? null,
    } as Record<string, Cell>;
  });
  return {
    name: 'stages', title: 'Stage instances read by the report',
    columns, rows,
    notes: ['Seconds: wall time of the instance when it was computed ' +
      '(cached results keep the time of the run that made them).',
      ...notes.list],
  };
}

/** Distinct values, joined: "wasm" or "wasm, cpu"; null when none. */
function distinct(values: (string | null)[]): string | null {
  const set = [...new Set(values.filter((v): v is string => v !== null))];
  return set.length ? set.join(', ') : null;
}

/** The instances of each stage together: count, time, how they ran. */
export function stageSummaryTable(arts: ReportArtifacts): Table {
  const columns: Column[] = [
    { key: 'stage', label: 'stage', kind: 'text' },
    { key: 'version', label: 'version', kind: 'text' },
    { key: 'instances', label: 'instances', kind: 'count' },
    { key: 'seconds', label: 'seconds, total', kind: 'number' },
    { key: 'slowest', label: 'slowest', kind: 'number' },
    { key: 'backend', label: 'backend', kind: 'text' },
    { key: 'engine', label: 'engine', kind: 'text' },
    { key: 'threads', label: 'threads', kind: 'text' },
    { key: 'warnings', label: 'warnings', kind: 'count' },
  ];
  const groups = new Map<string, Found<unknown>[]>();
  for (const f of allFound(arts)) {
    if (!f.artifact) continue;
    const stage = f.id.split('@')[0];
    groups.set(stage, [...(groups.get(stage) ?? []), f]);
  }
  const rows = [...groups].map(([name, list]) => {
    const stage = stageLabel(arts, name);
    const ms = list.map((f) => f.artifact!.manifest);
    const has = ms.filter((m) => m !== undefined);
    const times = has.map((m) => m!.seconds).filter(Number.isFinite);
    const rec = (k: string) =>
      distinct(has.map((m) => recordText(m!.records[k])));
    return {
      stage, instances: list.length,
      version: distinct(has.map((m) => String(m!.version))),
      seconds: times.length ? times.reduce((s, t) => s + t, 0) : null,
      slowest: times.length ? Math.max(...times) : null,
      backend: rec('backend'), engine: rec('engine'), threads: rec('threads'),
      warnings: has.length ? has.reduce((s, m) => s + m!.warnings.length, 0)
        : null,
    } as Record<string, Cell>;
  });
  return {
    name: 'stage-summary', title: 'Time and setup per stage', columns, rows,
    notes: ['Seconds: wall time when computed; a cached instance keeps the ' +
      'time of the run that made it. Instances run in parallel, so the ' +
      'total is compute time, not elapsed time.'],
  };
}
