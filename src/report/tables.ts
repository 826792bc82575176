/**
 * The study's tables, built from stage summaries: the matching summary
 * (on correlation and on MI), the sparse-prediction tables (holdout loss,
 * weights per unit and fit loss per layer × decay) and the clustering
 * summary. Each comes out as a Table (table.ts) for the four formatters.
 */
import { closest } from 'fastest-levenshtein';
import { usageError } from '../core/errors.js';
import type { MatchingSummary } from '../stages/summaries.js';
import { gaussianThresholds } from '../stages/mutual-info.js';
import type { PairLayerFound, ReportArtifacts, SparseFound, SparseGroup }
  from './collect.js';
import { samePair } from './collect.js';
import { decayLabel, decayLabelTex } from './format.js';
import { type Cell, type Column, type Format, type Table, formats,
  renderFormat } from './table.js';
import { Notes, leadingColumns, missingNote, numberCell, pairLayerCells,
  pairLayerColumns, pairLayerRow } from './cells.js';
import { deadUnitsTable, networksTable, stageSummaryTable, stagesTable }
  from './tables-run.js';
import { deadSide, deadSideNote, fewLiveTargetsNote, noLiveTargetsNote,
  targetsOf } from './live-units.js';

/**
 * The matching summary (method section 2): per pair × layer the units,
 * the mean matched value under semi and bipartite matching, how many of
 * A's units have the same partner under both, and the fraction of A's
 * units whose best value is below each threshold ("no match > t").
 * With results of several stages, a stage column tells their rows apart.
 */
export function matchingTable(found: PairLayerFound<MatchingSummary>[],
  measure: 'correlation' | 'mi', thresholds: number[] = [],
  unit = 'nats'): Table {
  const notes = new Notes();
  const all = new Set(thresholds);
  for (const f of found) for (const b of f.summary?.below ?? []) {
    all.add(b.threshold);
  }
  const levels = [...all].sort((x, y) => x - y);
  const withCorr = found.some((f) =>
    typeof (f.summary as any)?.agreeWithCorrelation === 'number');

  const stages = new Set(found.map((f) => f.stage)).size;
  const columns: Column[] = [...leadingColumns(stages),
    { key: 'unitsA', label: 'units A', kind: 'count' },
    { key: 'unitsB', label: 'units B', kind: 'count' },
    { key: 'semi', label: 'mean semi', kind: 'number' },
    { key: 'bipartite', label: 'mean bipartite', kind: 'number' },
    { key: 'agree', label: 'semi = bipartite', kind: 'ratio' },
    ...levels.map((t): Column => ({ key: `below ${t}`,
      label: `no match > ${t}`, kind: 'percent' })),
  ];
  if (withCorr) {
    columns.push({ key: 'agreeWithCorrelation',
      label: 'same as correlation', kind: 'ratio' });
  }

  const rows = found.map((f) => pairLayerRow(f, columns, notes,
    (s, row, num) => {
      row.unitsA = num(s.unitsA, 'unitsA');
      row.unitsB = num(s.unitsB, 'unitsB');
      row.semi = num(s.semi?.mean, 'semi.mean');
      row.bipartite = num(s.bipartite?.mean, 'bipartite.mean');
      row.agree = typeof s.agree === 'number' && row.unitsA !== null
        ? { k: s.agree, n: row.unitsA as number } : num(s.agree, 'agree');
      for (const t of levels) {
        const hit = s.below?.find((b) => b.threshold === t);
        row[`below ${t}`] = hit ? num(hit.fraction, `below ${t}`) : null;
        if (!hit) notes.add(`${f.id}: no fraction for threshold ${t} (its ` +
          'stage ran with other thresholds); shown as \u2014.');
      }
      if (withCorr) {
        const k = (s as any).agreeWithCorrelation;
        row.agreeWithCorrelation = typeof k === 'number' && row.unitsA !== null
          ? { k, n: row.unitsA as number } : null;
      }

      // A side all dead: ties everywhere, so the agreements are chance;
      // the means (0) are the method's answer and stay.
      const dead = deadSide(s);
      if (dead) {
        row.agree = null;
        if (withCorr) row.agreeWithCorrelation = null;
        notes.add(deadSideNote(f.id, measure, dead));
      }
    }));

  const what = measure === 'correlation' ? 'correlation' : `MI (${unit})`;
  const intro = [
    `Mean matched ${what} of A's units under semi-matching (each unit ` +
      'takes its best partner) and bipartite matching (one-to-one, ' +
      'largest total; min(units A, units B) pairs).',
    "semi = bipartite: A's units whose two partners are the same unit, " +
      'of units A (CSV and JSON give the count alone).',
    `no match > t: fraction of A's units whose best ${what} is below t.`,
  ];
  if (withCorr) intro.push("same as correlation: A's units whose MI " +
    'bipartite partner is their correlation bipartite partner (CSV and ' +
    'JSON: the count).');
  return {
    name: measure === 'correlation' ? 'matching-correlation' : 'matching-mi',
    title: measure === 'correlation'
      ? 'One-to-one matching on correlation'
      : `One-to-one matching on mutual information (${unit})`,
    columns, rows, notes: [...intro, ...notes.list], groupBy: 'pair',
  };
}

type SparseField = 'holdoutLoss' | 'weightsPerUnit' | 'fitLoss';

const sparseTitles: Record<SparseField, [string, string, string]> = {
  holdoutLoss: ['sparse-holdout', 'Sparse prediction: holdout loss',
    'Holdout loss L = (1 / (2 nB)) sum_j mean((y_j - y^_j)^2) on ' +
    'standardized units; predicting zero scores 0.5 on the fit split, ' +
    'about 0.5 on the holdout (its units are standardized with the fit ' +
    "split's moments)."],
  weightsPerUnit: ['sparse-weights', 'Sparse prediction: weights per unit',
    'Mean number of weights per target unit with |w| > 1e-3 (the ' +
    "study's \"significantly non-zero\")."],
  fitLoss: ['sparse-fit', 'Sparse prediction: fit loss',
    'Loss L on the fit split (the images the mapping was fitted on).'],
};

/** Decay columns, labelled as the study wrote them, exact in CSV. */
function decayColumns(decays: number[]): Column[] {
  return decays.map((d) => ({ key: String(d), label: decayLabel(d),
    tex: decayLabelTex(d), csv: String(d), kind: 'number' as const }));
}

/** Which stage ran which decays, when several stages share the columns. */
function sparseSourceNotes(groups: SparseGroup[],
  arts: ReportArtifacts): string[] {
  const notes: string[] = [];
  if (arts.stages['sparse-map'].length < 2) return notes;
  for (const g of groups) {
    if (g.stages.length < 2) continue;
    for (const stage of g.stages) {
      const own = [...new Set(arts.pipeline.stages[stage].params.decays as
        number[])].sort((x, y) => x - y).map(decayLabel).join(', ');
      notes.push(`Decays ${own}: stage ${stage}.`);
    }
  }
  if (groups.length > 1) {
    notes.push('stages: the sparse-map stages of the row; \u2014 under a ' +
      'decay they did not run.');
  }
  return notes;
}

/**
 * One value of the sparse mapping per pair × layer (rows) and decay
 * (columns), as in the study's table: holdout loss, weights per target
 * unit above 1e-3, or fit loss. Every sparse-map stage is shown: stages
 * of one direction with distinct decays share a row (their decays merged
 * into ascending columns); a stage that repeats a decay, or maps the
 * other way, gets rows of its own, named in a stages column.
 */
export function sparseTable(arts: ReportArtifacts, field: SparseField):
  Table {
  const notes = new Notes();
  const [name, title, intro] = sparseTitles[field];
  const groups = arts.sparseGroups;
  const decays = [...new Set(groups.flatMap((g) => g.decays))]
    .sort((x, y) => x - y);
  const twoWays = new Set(groups.map((g) => g.direction)).size > 1;
  const columns: Column[] = [...pairLayerColumns];
  if (groups.length > 1) {
    columns.push({ key: 'stage', label: 'stages', kind: 'text' });
  }
  if (twoWays) {
    columns.push({ key: 'direction', label: 'predicts', kind: 'text' });
  }
  columns.push(...decayColumns(decays));

  const rows: Record<string, Cell>[] = [];
  const { pairs, layers } = arts.pipeline;
  const cells = pairs.flatMap((pair) => layers.flatMap((layer) =>
    groups.map((g) => ({ pair, layer, g }))));
  for (const { pair, layer, g } of cells) {
    const row = pairLayerCells({ pair, layer });
    row.stage = g.stages.join(', ');
    row.direction = g.direction === 'a-to-b' ? 'B from A' : 'A from B';
    for (const d of decays) row[String(d)] = null;
    const mine = arts.sparse.filter((f) => f.inSweep &&
      g.stages.includes(f.stage) && samePair(f.pair, pair) &&
      f.layer === layer);
    for (const f of mine) {
      const s = f.summary;
      if (!s) {
        missingNote(f.id, notes);
        continue;
      }
      row[String(f.decay)] = numberCell(s[field], field, f.id, notes);
      if (s.converged === false) {
        notes.add(`${f.id}: the solver stopped before converging (duality ` +
          `gap ${s.gap} > tolerance ${s.tolerance} after ${s.iterations} ` +
          'iterations); its values are approximate.');
      }
    }
    const where = `${pair[0]}-${pair[1]}/${layer}` +
      (groups.length > 1 ? ` (${row.stage})` : '');
    markDeadTargets(row, mine, where, g.direction, field, notes);
    rows.push(row);
  }
  return { name, title, columns, rows,
    notes: [intro, ...sparseSourceNotes(groups, arts), ...notes.list],
    groupBy: 'pair' };
}

/**
 * Dead targets score loss 0, so a row mapping onto none that is live
 * would read as a perfect prediction: it shows em dashes instead, and a
 * row whose targets are mostly dead gets a note with what zero scores.
 */
function markDeadTargets(row: Record<string, Cell>, mine: SparseFound[],
  where: string, direction: SparseGroup['direction'], field: SparseField,
  notes: Notes): void {
  const targets = targetsOf(mine.map((f) => f.summary));
  if (!targets) return;
  const side = direction === 'b-to-a' ? 'A' : 'B';
  if (targets.live === 0) {
    for (const f of mine) row[String(f.decay)] = null;
    notes.add(noLiveTargetsNote(where, side, targets));
  } else if (2 * (targets.units - targets.live) >= targets.units &&
    field !== 'weightsPerUnit') {
    notes.add(fewLiveTargetsNote(where, side, targets));
  }
}

/**
 * The clustering of each mapping (method section 5): leaves, and of the
 * first merges that form two-unit clusters how many join A with B, two
 * units of A, or two of B. One row per hac stage and pair × layer, with
 * a stage column when there are several.
 */
export function hacTable(arts: ReportArtifacts): Table {
  const notes = new Notes();
  const stages = new Set(arts.hac.map((f) => f.stage)).size;
  const columns: Column[] = [...leadingColumns(stages),
    { key: 'decay', label: 'decay', kind: 'decay' },
    { key: 'leaves', label: 'leaves', kind: 'count' },
    { key: 'pairsAB', label: 'pairs A-B', kind: 'count' },
    { key: 'pairsAA', label: 'pairs A-A', kind: 'count' },
    { key: 'pairsBB', label: 'pairs B-B', kind: 'count' },
  ];
  const rows = arts.hac.map((f) => pairLayerRow(f, columns, notes,
    (s, row, num) => {
      row.decay = num(s.decay, 'decay');
      row.leaves = num(s.leaves, 'leaves');
      row.pairsAB = num(s.pairsAB, 'pairsAB');
      row.pairsAA = num(s.pairsAA, 'pairsAA');
      row.pairsBB = num(s.pairsBB, 'pairsBB');
    }));
  return {
    name: 'hac', title: 'Hierarchical clustering of the sparse mappings',
    columns, rows, groupBy: 'pair',
    notes: ['Average linkage on 1 - B, B = [[I, W], [W^T, I]]. pairs: ' +
      'of the merges that join two single units, how many join a unit ' +
      'of A with one of B, two of A, or two of B.', ...notes.list],
  };
}

function numbers(value: unknown): number[] {
  return Array.isArray(value)
    ? value.filter((v): v is number => typeof v === 'number') : [];
}

/** The MI table, its unit from the summaries (else the parameters). */
function miTable(arts: ReportArtifacts): Table {
  const unitOf = (stage: string) => {
    const read = arts.mi.find((f) => f.stage === stage && f.summary);
    const given = arts.pipeline.stages[stage].params.unit;
    return read?.summary?.unit ?? (typeof given === 'string' ? given
      : 'nats');
  };
  const units = arts.stages['mutual-info'].map((s) => [s, unitOf(s)]);
  const distinct = [...new Set(units.map(([, u]) => u))];
  const table = matchingTable(arts.mi, 'mi', [], distinct.join(' or '));
  if (distinct.length > 1) {
    table.notes.push(`MI units: ${units.map(([s, u]) => `${s} in ${u}`)
      .join(', ')}.`);
  }

  // Thresholds in nats mean little to a reader; say where the defaults
  // come from, so that the columns read against the correlation table's.
  const defaults = distinct.flatMap((u) =>
    u === 'nats' || u === 'bits' ? gaussianThresholds(u) : []);
  if (table.columns.some((c) => defaults.some((t) => c.key === `below ${t}`))) {
    table.notes.push('Default thresholds: the MI of two jointly Gaussian ' +
      'units with correlation 0.3, 0.5 and 0.7, −½ ln(1 − ' +
      'ρ²), so that the columns compare with the correlation ' +
      "table's; set the mutual-info stage's thresholds to choose others.");
  }
  return table;
}

/** Every table the artifacts allow, in report order. */
export function buildTables(arts: ReportArtifacts): Table[] {
  const out: Table[] = [networksTable(arts)];
  const matches = arts.stages.match;
  if (matches.length > 0) {
    const thresholds = matches.flatMap((s) =>
      numbers(arts.pipeline.stages[s].params.thresholds));
    out.push(matchingTable(arts.match, 'correlation', thresholds));
  }
  if (arts.stages['mutual-info'].length > 0) out.push(miTable(arts));
  if (arts.stages['sparse-map'].length > 0) {
    for (const field of ['holdoutLoss', 'weightsPerUnit', 'fitLoss'] as const) {
      out.push(sparseTable(arts, field));
    }
  }
  if (arts.stages.hac.length > 0) out.push(hacTable(arts));
  if (arts.match.length + arts.normalize.length > 0) {
    out.push(deadUnitsTable(arts));
  }
  out.push(stageSummaryTable(arts), stagesTable(arts));
  return out;
}

/** Names `convergent table` accepts for these artifacts. */
export function tableNames(arts: ReportArtifacts): string[] {
  return buildTables(arts).map((t) => t.name);
}

/**
 * One table (or, without a name, every table, separated by a blank line;
 * CSV and JSON give one document per table) in one format, as text.
 * Throws a usage error naming the tables there are for an unknown name.
 */
export function renderTable(name: string | undefined, format: Format,
  arts: ReportArtifacts): string {
  if (!formats.includes(format)) {
    throw usageError(`unknown table format '${format}'; use one of ` +
      `${formats.join(', ')}.`);
  }
  const tables = buildTables(arts);
  if (name === undefined) {
    return tables.map((t) => renderFormat(t, format)).join('\n');
  }
  const table = tables.find((t) => t.name === name);
  if (!table) {
    const names = tables.map((t) => t.name);
    throw usageError(`pipeline '${arts.pipeline.name}' has no table ` +
      `'${name}' (did you mean '${closest(name, names)}'?); its tables: ` +
      `${names.join(', ')}.`);
  }
  return renderFormat(table, format);
}
