/**
 * What the latest run of each pipeline references: the keys that garbage
 * collection keeps, and the key parts that name why an instance reruns.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Cache } from './cache.js';
import { writeAtomic } from './cache.js';
import type { KeyParts } from './plan.js';
import { sha256 } from '../core/hash.js';

export interface RootRecord {
  pipeline: string;
  file: string;
  updated: string;
  instances: Record<string, { key: string; parts: KeyParts }>;
}

/**
 * The record's file name: the pipeline's name and its file, so that a
 * copy of a pipeline (same name, another file) keeps its own record and
 * garbage collection spares the results of both.
 */
export function rootFile(p: { name: string; file: string }): string {
  return `${p.name}-${sha256(p.file).slice(0, 12)}.json`;
}

export function readRoot(cache: Cache,
  p: { name: string; file: string }): RootRecord | undefined {
  return readRootFile(cache, rootFile(p));
}

function readRootFile(cache: Cache, file: string): RootRecord | undefined {
  try {
    return JSON.parse(readFileSync(cache.roots(file), 'utf8'));
  } catch {
    return undefined;
  }
}

export function writeRoot(cache: Cache, record: RootRecord): void {
  writeAtomic(cache.roots(rootFile({ name: record.pipeline, file: record.file })),
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
    const root = readRootFile(cache, n);
    for (const i of Object.values(root?.instances ?? {})) keys.add(i.key);
  }
  return keys;
}
