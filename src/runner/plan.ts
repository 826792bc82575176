/**
 * The one decision function behind `plan`, `status` and `run`: for each
 * instance, is it cached, and if not, why must it run. A key is a hash of
 * named parts; when an instance reruns, the part that changed is named.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, hashFile, sha256 } from '../core/hash.js';
import type { Graph, Instance } from '../pipeline/expand.js';
import type { Registry } from '../stages/registry.js';
import type { Artifact, ResolvedPipeline } from '../stages/types.js';
import { CACHE_FORMAT, type Cache } from './cache.js';
import type { RootRecord } from './roots.js';

/** What a cache key is made of. */
export interface KeyParts {
  format: number;
  kind: string;
  version: number;
  code: string;
  params: Record<string, unknown>;
  /** Coordinates and what else the stage reads of the pipeline. */
  context: unknown;
  /** Digest of each upstream artifact, by role. */
  inputs: Record<string, string | string[]>;
  /** Content hash of each external file, by role. */
  files: Record<string, string[]>;
}

export type Status = 'cached' | 'run';

export interface Decision {
  id: string;
  status: Status;
  reason: string;
  key?: string;
  parts?: KeyParts;
  artifact?: Artifact;
}

const codeHashes = new Map<string, string>();

/**
 * Hash of the code that runs a stage: the module defining it and every
 * module of ours it imports, transitively (relative imports; packages are
 * pinned by the lockfile). Editing a kernel reruns the stages using it.
 */
export function codeHash(url: string): string {
  let h = codeHashes.get(url);
  if (!h) {
    const files = [...localModules(url.startsWith('file:')
      ? fileURLToPath(url) : url)].sort();
    h = sha256(files.map((f) => sha256(readFileSync(f))).join(''));
    codeHashes.set(url, h);
  }
  return h;
}

/** Forget the hashes: each run reads the code as it is now. */
export function forgetCodeHashes(): void {
  codeHashes.clear();
}

const importRe = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function localModules(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) stack.push(resolve(dirname(file), m[1]));
  }
  return seen;
}

/** Content hashes of external files, computed once per process. */
export class FileHashes {
  private memo = new Map<string, Promise<string>>();

  get(path: string): Promise<string> {
    let h = this.memo.get(path);
    if (!h) {
      h = hashFile(path);
      this.memo.set(path, h);
    }
    return h;
  }
}

export function keyParts(inst: Instance, registry: Registry,
  digests: Map<string, string>, files: Record<string, string[]>,
  pipeline: ResolvedPipeline): KeyParts | undefined {
  const entry = registry.get(inst.kind)!;
  const context = entry.def.context
    ? entry.def.context(inst.coords, pipeline) : inst.coords;
  const params = { ...inst.params };
  for (const c of entry.def.cosmetic ?? []) delete params[c];
  const inputs: KeyParts['inputs'] = {};
  for (const input of inst.inputs) {
    const ds = input.from.map((id) => digests.get(id));
    if (ds.some((d) => d === undefined)) return undefined;
    inputs[input.role] = input.many ? (ds as string[]) : ds[0]!;
  }
  return { format: CACHE_FORMAT, kind: inst.kind, version: entry.def.version,
    code: codeHash(entry.url), params, context: context ?? null, inputs, files };
}

export function keyOf(parts: KeyParts): string {
  return sha256(canonicalJson(parts));
}

/** Why an instance whose key is not in the cache has to run. */
export function whyRun(parts: KeyParts, previous?: { parts: KeyParts }): string {
  if (!previous) return 'not computed yet';
  const was = previous.parts;
  if (was.version !== parts.version) {
    return `stage version changed (${was.version} -> ${parts.version})`;
  }
  if (was.code !== parts.code) return 'stage code changed';
  if (was.format !== parts.format) return 'cache format changed';
  const changed = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .filter((k) => canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null));
  const params = changed(was.params, parts.params);
  if (params.length) return `parameters changed: ${params.join(', ')}`;
  if (canonicalJson(was.context ?? null) !== canonicalJson(parts.context ?? null)) {
    return 'what it reads of the pipeline changed (networks, data or layers)';
  }
  const inputs = changed(was.inputs, parts.inputs);
  if (inputs.length) return `input changed: ${inputs.join(', ')}`;
  const files = changed(was.files, parts.files);
  if (files.length) return `file changed: ${files.join(', ')}`;
  return 'not in the cache';
}

/** Hash each external file of an instance. */
export async function fileParts(inst: Instance,
  hashes: FileHashes): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const f of inst.files) {
    (out[f.role] ??= []).push(await hashes.get(f.path));
  }
  return out;
}

/**
 * Decide every selected instance in dependency order without running
 * anything: what `plan` prints and what `run` then does.
 */
export async function decideAll(g: Graph, registry: Registry, cache: Cache,
  pipeline: ResolvedPipeline, root: RootRecord | undefined,
  selected: Set<string>, forced: Set<string>,
  hashes = new FileHashes()): Promise<Decision[]> {
  const digests = new Map<string, string>();
  const out: Decision[] = [];
  for (const id of g.order) {
    if (!selected.has(id)) continue;
    const inst = g.instances.get(id)!;
    const parts = keyParts(inst, registry, digests,
      await fileParts(inst, hashes), pipeline);
    if (!parts) {
      const pending = inst.inputs.flatMap((i) => i.from)
        .filter((f) => !digests.has(f));
      out.push({ id, status: 'run', reason: `input will be recomputed ` +
        `(${pending.slice(0, 2).join(', ')}${pending.length > 2 ? ', ...' : ''})` });
      continue;
    }
    const key = keyOf(parts);
    if (forced.has(id)) {
      out.push({ id, status: 'run', reason: 'forced', key, parts });
      continue;
    }
    const found = await cache.lookup(key);
    if (found.artifact) {
      digests.set(id, found.artifact.manifest!.digest);
      out.push({ id, status: 'cached', reason: 'cached', key, parts,
        artifact: found.artifact });
    } else {
      const why = found.problem
        ? `cached output is corrupt: ${found.problem}`
        : whyRun(parts, root?.instances[id]);
      out.push({ id, status: 'run', reason: why, key, parts });
    }
  }
  return out;
}
