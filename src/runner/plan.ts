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
// Kernels that run on pool threads are named by URL, not imported:
// `new URL('../kernels/x.js', import.meta.url)`. They are the stage's
// code as much as its imports are.
const kernelUrlRe =
  /\bnew\s+URL\(\s*['"](\.{1,2}\/[^'"]+\.js)['"]\s*,\s*import\.meta\.url/g;

function localModules(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const re of [importRe, kernelUrlRe]) {
      for (const m of text.matchAll(re)) {
        stack.push(resolve(dirname(file), m[1]));
      }
    }
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
  const { parts, pending } = partsOf(inst, registry, digests, files, pipeline);
  return pending.length ? undefined : parts;
}

/**
 * The key parts as far as they are known: every part but the digests of
 * `pending` upstream instances (not computed yet), whose roles are left
 * out of `inputs`. Enough to say why an instance will rerun.
 */
export function partsOf(inst: Instance, registry: Registry,
  digests: Map<string, string>, files: Record<string, string[]>,
  pipeline: ResolvedPipeline): { parts: KeyParts; pending: string[] } {
  const entry = registry.get(inst.kind)!;
  const context = entry.def.context
    ? entry.def.context(inst.coords, pipeline) : inst.coords;
  const params = { ...inst.params };
  for (const c of entry.def.cosmetic ?? []) delete params[c];
  const inputs: KeyParts['inputs'] = {};
  const pending: string[] = [];
  for (const input of inst.inputs) {
    const ds = input.from.map((id) => digests.get(id));
    const missing = input.from.filter((id) => !digests.has(id));
    pending.push(...missing);
    if (missing.length) continue;
    inputs[input.role] = input.many ? (ds as string[]) : ds[0]!;
  }
  return { pending, parts: { format: CACHE_FORMAT, kind: inst.kind,
    version: entry.def.version, code: codeHash(entry.url), params,
    context: context ?? null, inputs, files } };
}

export function keyOf(parts: KeyParts): string {
  return sha256(canonicalJson(parts));
}

/**
 * Why an instance whose key is not in the cache has to run: the first
 * part of its key that differs from the latest run's, from the most
 * direct cause on. `recomputed` are the upstream instances computed anew
 * (in `plan`: not cached yet; in `run`: ran in this run), so that plan
 * and run give one instance the same reason.
 */
export function whyRun(parts: KeyParts, previous?: { parts: KeyParts },
  recomputed: string[] = []): string {
  if (!previous) return 'not computed yet';
  const was = previous.parts;
  if (was.version !== parts.version) {
    return `stage version changed (${was.version} -> ${parts.version})`;
  }
  if (was.code !== parts.code) return 'stage code changed';
  if (was.format !== parts.format) return 'cache format changed';
  const params = changedKeys(was.params, parts.params);
  if (params.length) return `parameters changed: ${params.join(', ')}`;
  const context = contextChange(was.context, parts.context);
  if (context) return context;
  const files = changedKeys(was.files, parts.files);
  if (files.length) return `file changed: ${files.join(', ')}`;
  if (recomputed.length) return `input will be recomputed (${few(recomputed)})`;
  const inputs = changedKeys(was.inputs, parts.inputs);
  if (inputs.length) return `input changed: ${inputs.join(', ')}`;
  return 'not in the cache';
}

function changedKeys(a: Record<string, unknown>,
  b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null));
}

function few(items: string[]): string {
  return items.slice(0, 2).join(', ') + (items.length > 2 ? ', ...' : '');
}

/**
 * What changed of what a stage reads of the pipeline, by part: e.g.
 * "the pipeline's stages changed: sparse-map.decays" for the report,
 * "the pipeline's layers changed" for extract.
 */
export function contextChange(was: unknown, now: unknown): string | undefined {
  const paths = differences(was ?? null, now ?? null, []);
  if (!paths.length) return undefined;
  const byPart = new Map<string, string[]>();
  for (const [part, ...rest] of paths) {
    if (part === undefined) return 'what it reads of the pipeline changed';
    // A stage's settings read as sparse-map.decays, not .params.decays.
    const shown = part === 'stages' && rest[1] === 'params'
      ? [rest[0], ...rest.slice(2)] : rest;
    const list = byPart.get(part) ?? [];
    if (shown.length) list.push(shown.join('.'));
    byPart.set(part, list);
  }
  return [...byPart].map(([part, list]) => `the pipeline's ${part} changed` +
    (list.length ? `: ${list.slice(0, 3).join(', ')}` +
      (list.length > 3 ? ', ...' : '') : '')).join('; ');
}

/** The paths at which two JSON values differ; objects are compared by key. */
function differences(a: unknown, b: unknown, path: string[]): string[][] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
      .flatMap((k) => differences(a[k] ?? null, b[k] ?? null, [...path, k]));
  }
  return canonicalJson(a) === canonicalJson(b) ? [] : [path];
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
    const { parts, pending } = partsOf(inst, registry, digests,
      await fileParts(inst, hashes), pipeline);
    if (pending.length) {
      // No key yet; the reason is the one `run` will give once it has one.
      out.push({ id, status: 'run', reason: forced.has(id) ? 'forced'
        : whyRun(parts, root?.instances[id], pending) });
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
