/**
 * The study's tables, built from stage summaries: the matching summary
 * (on correlation and on MI), the sparse-prediction tables (holdout loss,
 * weights per unit and fit loss per layer × decay) and the clustering
 * summary. Each comes out as a Table (table.ts) for the four formatters.
 */
import { closest } from 'fastest-levenshtein';
import { usageError } from '../core/errors.js';
import type { MatchingSummary, SparseMapSummary } from '../stages/summaries.js';
import type { PairLayerFound, ReportArtifacts, SparseFound }
  from './collect.js';
import { decayLabel, decayLabelTex } from './format.js';
import { type Cell, type Column, type Format, type Table, formats,
  renderFormat } from './table.js';
import { Notes, missingNote, numberCell, pairLayerCells, pairLayerColumns,
  pairLayerRow } from './cells.js';
import { deadUnitsTable, networksTable, stageSummaryTable, stagesTable }
  from './tables-run.js';

/**
 * The matching summary (method section 2): per pair × layer the units,
 * the mean matched value under semi and bipartite matching, how many of
 * A's units have the same partner under both, and the fraction of A's
 * units whose best value is below each threshold ("no match > t").
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

  const columns: Column[] = [...pairLayerColumns,
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
    }));

  const what = measure === 'correlation' ? 'correlation' : `MI (${unit})`;
  const intro = [
    `Mean matched ${what} of A's units under semi-matching (each unit ` +
      'takes its best partner) and bipartite matching (one-to-one, ' +
      'largest total; min(units A, units B) pairs).',
    "semi = bipartite: A's units whose two partners are the same unit.",
    `no match > t: fraction of A's units whose best ${what} is below t.`,
  ];
  if (withCorr) intro.push("same as correlation: A's units whose MI " +
    'bipartite partner is their correlation bipartite partner.');
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
    'standardized units; predicting zero scores 0.5.'],
  weightsPerUnit: ['sparse-weights', 'Sparse prediction: weights per unit',
    'Mean number of weights per target unit with |w| > 1e-3 (the ' +
    "study's \"significantly non-zero\")."],
  fitLoss: ['sparse-fit', 'Sparse prediction: fit loss',
    'Loss L on the fit split (the images the mapping was fitted on).'],
};

/**
 * One value of the sparse mapping per pair × layer (rows) and decay
 * (columns), as in the study's table: holdout loss, weights per target
 * unit above 1e-3, or fit loss.
 */
export function sparseTable(sparse: SparseFound[], decays: number[],
  field: SparseField): Table {
  const notes = new Notes();
  const [name, title, intro] = sparseTitles[field];
  const inSweep = sparse.filter((s) => s.inSweep);
  const columns: Column[] = [...pairLayerColumns, ...decays.map((d) => ({
    key: String(d), label: decayLabel(d), tex: decayLabelTex(d),
    csv: String(d), kind: 'number' as const }))];

  const rows: Record<string, Cell>[] = [];
  for (const f of inSweep) {
    let row = rows.find((r) => r.a === f.pair[0] && r.b === f.pair[1] &&
      r.layer === f.layer);
    if (!row) rows.push(row = pairLayerCells(f));
    const s = f.summary as SparseMapSummary | undefined;
    if (!s) {
      missingNote(f.id, notes);
      row[String(f.decay)] = null;
      continue;
    }
    row[String(f.decay)] = numberCell(s[field], field, f.id, notes);
    if (s.converged === false) {
      notes.add(`${f.id}: the solver stopped before converging (duality ` +
        `gap ${s.gap} > tolerance ${s.tolerance} after ${s.iterations} ` +
        'iterations); its values are approximate.');
    }
  }
  for (const row of rows) for (const d of decays) {
    if (!(String(d) in row)) row[String(d)] = null;
  }
  return { name, title, columns, rows, notes: [intro, ...notes.list],
    groupBy: 'pair' };
}

/**
 * The clustering of each mapping (method section 5): leaves, and of the
 * first merges that form two-unit clusters how many join A with B, two
 * units of A, or two of B.
 */
export function hacTable(arts: ReportArtifacts): Table {
  const notes = new Notes();
  const columns: Column[] = [...pairLayerColumns,
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

/** Every table the artifacts allow, in report order. */
export function buildTables(arts: ReportArtifacts): Table[] {
  const out: Table[] = [networksTable(arts)];
  const params = (role: 'match' | 'mutual-info') => {
    const stage = arts.stages[role];
    return stage ? arts.pipeline.stages[stage].params : {};
  };
  if (arts.stages.match) {
    const t = params('match').thresholds;
    out.push(matchingTable(arts.match, 'correlation',
      Array.isArray(t) ? t : []));
  }
  if (arts.stages['mutual-info']) {
    const unit = arts.mi.find((f) => f.summary)?.summary?.unit ?? 'nats';
    out.push(matchingTable(arts.mi, 'mi', [], unit));
  }
  if (arts.stages['sparse-map']) {
    for (const field of ['holdoutLoss', 'weightsPerUnit', 'fitLoss'] as const) {
      out.push(sparseTable(arts.sparse, arts.decays, field));
    }
  }
  if (arts.stages.hac) out.push(hacTable(arts));
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
