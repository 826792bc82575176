/**
 * Helpers shared by the table builders: notes that explain missing
 * values, cells that refuse non-finite numbers, and the pair × layer
 * columns that start most tables.
 */
import type { Cell, Column } from './table.js';

/** Notes without repeats, in the order first given. */
export class Notes {
  private readonly seen = new Set<string>();
  readonly list: string[] = [];

  add(note: string): void {
    if (this.seen.has(note)) return;
    this.seen.add(note);
    this.list.push(note);
  }
}

/** A number for a cell: null (and a note saying why) unless finite. */
export function numberCell(value: unknown, what: string, where: string,
  notes: Notes): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  // The note must not print the value itself: "NaN" may not reach a table.
  const came = value === undefined ? 'absent' : typeof value === 'number'
    ? 'not a finite number' : `not a number (${typeof value})`;
  notes.add(`${where}: ${what} is ${came} in its summary; shown as \u2014.`);
  return null;
}

export function missingNote(id: string, notes: Notes): void {
  notes.add(`${id}: no result in the cache (the stage has not run or ` +
    'failed); its values are shown as \u2014.');
}

/** The leading columns every per-pair × layer table has. */
export const pairLayerColumns: Column[] = [
  { key: 'a', label: 'A', kind: 'text' },
  { key: 'b', label: 'B', kind: 'text' },
  { key: 'layer', label: 'layer', kind: 'text' },
];

/**
 * The cells naming a result: pair, layer, and its stage (shown only by
 * tables with a stage column); `pair` is the hidden grouping key.
 */
export function pairLayerCells(found: { pair: [string, string];
  layer: string; stage?: string }): Record<string, Cell> {
  const [a, b] = found.pair;
  const row: Record<string, Cell> = { a, b, layer: found.layer,
    pair: `${a}\u0000${b}` };
  if (found.stage !== undefined) row.stage = found.stage;
  return row;
}

/** The column naming the stage of a row, for kinds with several stages. */
export const stageColumn: Column = { key: 'stage', label: 'stage',
  kind: 'text' };

/** The pair × layer columns, then a stage column if `stages` > 1. */
export function leadingColumns(stages: number): Column[] {
  return stages > 1 ? [...pairLayerColumns, stageColumn]
    : [...pairLayerColumns];
}

/** A number cell of one result: `what` names the value in its notes. */
export type NumberCellOf = (value: unknown, what: string) => number | null;

/**
 * The row of one pair × layer result: its pair, layer and stage cells,
 * then `fill` writes the rest from the summary. A result with no summary
 * gets null in every other column, and a note.
 */
export function pairLayerRow<S>(
  found: { id: string; pair: [string, string]; layer: string;
    stage?: string; summary?: S },
  columns: Column[], notes: Notes,
  fill: (summary: S, row: Record<string, Cell>, num: NumberCellOf) => void,
): Record<string, Cell> {
  const row = pairLayerCells(found);
  const s = found.summary;
  if (!s) {
    missingNote(found.id, notes);
    for (const c of columns) if (!(c.key in row)) row[c.key] = null;
    return row;
  }

  fill(s, row, (v, what) => numberCell(v, what, found.id, notes));
  return row;
}
