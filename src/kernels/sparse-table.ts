/**
 * The study's sparse-prediction tables (method section 4) as plain data:
 * one row per (pair, layer), one column per decay, holding the holdout
 * loss, the weights per target unit above the threshold, or the fit loss
 * of each sparse-map@ instance. Rendering (Markdown, CSV, LaTeX) is left
 * to the report.
 */
import type { SparseMapSummary } from '../stages/summaries.js';

/** One finished sparse-map@ instance. */
export interface SparseResult {
  pair?: [string, string];
  layer: string;
  summary: SparseMapSummary;
}

export type SparseField = 'holdoutLoss' | 'weightsPerUnit' | 'fitLoss';

export interface SparseRow {
  pair?: [string, string];
  layer: string;
  /** One value per decay of the table; null where no result exists. */
  values: (number | null)[];
  /** Per decay: the solver stopped before reaching its tolerance. */
  approximate: boolean[];
}

export interface SparseTable {
  field: SparseField;
  /** Column decays, ascending. */
  decays: number[];
  rows: SparseRow[];
  /** Sentences to print under the table. */
  notes: string[];
}

export interface SparseTableOptions {
  /** Row order of layers (default: order of first appearance). */
  layers?: string[];
  /** Columns (default: every decay present, ascending). */
  decays?: number[];
}

/**
 * The three tables. Rows are ordered by pair (first appearance), then
 * layer; a (pair, layer, decay) given twice keeps the later result.
 */
export function sparseTables(results: SparseResult[],
  options: SparseTableOptions = {}): Record<SparseField, SparseTable> {
  const decays = options.decays ??
    [...new Set(results.map((r) => r.summary.decay))].sort((a, b) => a - b);
  const pairKey = (r: SparseResult) => r.pair ? r.pair.join('\u0000') : '';
  const pairs = [...new Set(results.map(pairKey))];
  const layerOrder = options.layers ??
    [...new Set(results.map((r) => r.layer))];
  const rank = (layer: string) => {
    const at = layerOrder.indexOf(layer);
    return at < 0 ? layerOrder.length : at;
  };

  const keys = new Map<string, SparseResult[]>();
  for (const r of results) {
    const key = `${pairKey(r)}\u0001${r.layer}`;
    keys.set(key, [...(keys.get(key) ?? []), r]);
  }
  const groups = [...keys.values()].sort((x, y) =>
    pairs.indexOf(pairKey(x[0])) - pairs.indexOf(pairKey(y[0])) ||
    rank(x[0].layer) - rank(y[0].layer));

  const table = (field: SparseField): SparseTable => {
    const rows = groups.map((group) => {
      const at = (d: number) =>
        group.filter((r) => r.summary.decay === d).at(-1)?.summary;
      return {
        pair: group[0].pair,
        layer: group[0].layer,
        values: decays.map((d) => at(d)?.[field] ?? null),
        approximate: decays.map((d) => at(d)?.converged === false),
      };
    });
    return { field, decays, rows, notes: notesFor(results, decays) };
  };
  return {
    holdoutLoss: table('holdoutLoss'),
    weightsPerUnit: table('weightsPerUnit'),
    fitLoss: table('fitLoss'),
  };
}

function notesFor(results: SparseResult[], decays: number[]): string[] {
  const notes: string[] = [];
  const directions = new Set(results.map((r) => r.summary.direction));
  if (directions.size > 1) {
    notes.push('Rows mix both directions (a-to-b and b-to-a).');
  }
  for (const r of results) {
    const s = r.summary;
    if (s.converged || !decays.includes(s.decay)) continue;
    const where = `${r.pair ? `${r.pair.join('-')}/` : ''}${r.layer}`;
    notes.push(`${where} at decay ${s.decay}: the solver stopped before ` +
      `converging (duality gap ${s.gap.toExponential(2)} > tolerance ` +
      `${s.tolerance} after ${s.iterations} sweeps); values approximate.`);
  }
  return notes;
}
