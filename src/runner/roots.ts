/**
 * What the latest run of each pipeline references: the keys that garbage
 * collection keeps, and the key parts that name why an instance reruns.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Cache } from './cache.js';
import { writeAtomic } from './cache.js';
import type { KeyParts } from './plan.js';

export interface RootRecord {
  pipeline: string;
  file: string;
  updated: string;
  instances: Record<string, { key: string; parts: KeyParts }>;
}

export function readRoot(cache: Cache, name: string): RootRecord | undefined {
  try {
    return JSON.parse(readFileSync(cache.roots(`${name}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

export function writeRoot(cache: Cache, record: RootRecord): void {
  writeAtomic(cache.roots(`${record.pipeline}.json`),
    JSON.stringify(record, null, 1));
}

/** Keys referenced by any pipeline's latest run. */
export function liveKeys(cache: Cache): Set<string> {
  const keys = new Set<string>();
  let names: string[] = [];
  try {
    names = readdirSync(cache.roots()).filter((n) => n.endsWith('.json'));
  } catch {
    return keys;
  }
  for (const n of names) {
    const root = readRoot(cache, n.slice(0, -5));
    for (const i of Object.values(root?.instances ?? {})) keys.add(i.key);
  }
  return keys;
}
