import { closest, distance } from 'fastest-levenshtein';

/**
 * " Did you mean 'x'?" when known names are near enough to be meant:
 * names that the given one begins (`matc` for `matching-mi`), else the
 * closest within an edit per three letters, or two letters swapped.
 * Two edits in a short name leave little of it (`matc` is not `hac`).
 */
export function suggest(name: string, known: string[]): string {
  const near = nearest(name, known);
  if (!near.length) return '';
  const quoted = near.map((n) => `'${n}'`);
  const list = quoted.length === 1 ? quoted[0]
    : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
  return ` Did you mean ${list}?`;
}

/** The known names `suggest` offers, best first; none when none is near. */
export function nearest(name: string, known: string[]): string[] {
  if (!known.length || !name) return [];
  if (name.length >= 3) {
    const longer = known.filter((k) => k !== name && k.startsWith(name));
    if (longer.length) return longer.slice(0, 3);
  }
  const near = closest(name, known);
  const limit = Math.max(1, Math.floor(Math.max(name.length, near.length) / 3));
  return distance(name, near) <= limit || swapped(name, near) ? [near] : [];
}

/** Whether `a` is `b` with two neighbouring letters swapped. */
function swapped(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i + 1 < a.length && a[i] === b[i + 1] && a[i + 1] === b[i] &&
    a.slice(i + 2) === b.slice(i + 2);
}
