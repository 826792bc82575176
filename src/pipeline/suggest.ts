import { closest, distance } from 'fastest-levenshtein';

/** " Did you mean 'x'?" when a known name is near enough to be meant. */
export function suggest(name: string, known: string[]): string {
  if (!known.length) return '';
  const near = closest(name, known);
  const limit = Math.max(2, Math.floor(Math.max(name.length, near.length) / 3));
  return distance(name, near) <= limit ? ` Did you mean '${near}'?` : '';
}
