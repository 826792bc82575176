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

export function pairLayerCells(found: { pair: [string, string];
  layer: string }): Record<string, Cell> {
  const [a, b] = found.pair;
  return { a, b, layer: found.layer, pair: `${a}\u0000${b}` };
}
