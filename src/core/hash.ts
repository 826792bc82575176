import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** SHA-256 of a string or buffer, hex. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of a file's bytes, streamed so large arrays need no memory. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Canonical JSON: keys sorted, numbers in JavaScript's shortest round-trip
 * form (so 1e-3, 0.001 and 1.0e-3 are one string), no whitespace.
 * Non-finite numbers are refused: they must never reach a cache key.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new RangeError(`cannot hash the non-finite number ${value}`);
    }
    return JSON.stringify(Object.is(value, -0) ? 0 : value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const body = entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${body.join(',')}}`;
  }
  throw new TypeError(`cannot hash a value of type ${typeof value}`);
}
