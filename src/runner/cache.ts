/**
 * The content-addressed store. An instance's outputs live in
 * objects/<key>/ with a manifest.json that is written last; an instance
 * is computed in tmp/ and renamed into place in one step, so a kill at
 * any moment leaves either nothing or a complete entry. Readers check
 * every output against the manifest and treat a mismatch as a miss.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync,
  readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ConvergentError } from '../core/errors.js';
import { canonicalJson, hashFile, sha256 } from '../core/hash.js';
import type { Artifact, Manifest } from '../stages/types.js';
import { isAlive } from './lock.js';

/** Bump when the layout of the store changes. */
export const CACHE_FORMAT = 1;

export interface Lookup {
  artifact?: Artifact;
  /** Why an entry that exists cannot be used (corrupt, incomplete). */
  problem?: string;
}

type Stamps = Record<string, [number, number]>;

export class Cache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  objects(key = ''): string { return join(this.dir, 'objects', key); }
  locks(name = ''): string { return join(this.dir, 'locks', name); }
  roots(name = ''): string { return join(this.dir, 'roots', name); }
  private tmp(name = ''): string { return join(this.dir, 'tmp', name); }

  /** Create the folders and prove the cache can be written, loudly. */
  open(): this {
    try {
      for (const d of ['objects', 'tmp', 'locks', 'roots']) {
        mkdirSync(join(this.dir, d), { recursive: true });
      }
      accessSync(this.dir, constants.W_OK);
      const probe = this.tmp(`probe-${process.pid}`);
      writeFileSync(probe, '');
      rmSync(probe);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new ConvergentError('E_CACHE', `cannot write the cache folder ` +
        `${this.dir} (${code}). Fix its permissions or choose another ` +
        'with --cache <dir> or cache: in the pipeline.');
    }
    return this;
  }

  has(key: string): boolean {
    return existsSync(join(this.objects(key), 'manifest.json'));
  }

  /**
   * Read an entry, checking each output's size and hash. Hashes are
   * recomputed only for files whose size or mtime changed since they were
   * last verified, so a warm run does not reread gigabytes.
   */
  async lookup(key: string, full = false): Promise<Lookup> {
    const dir = this.objects(key);
    let manifest = readManifest(dir);
    if (!manifest) {
      if (!existsSync(dir)) return {};
      // Entries arrive by one rename with their manifest inside: a folder
      // that appeared after the read above was just published by another
      // run, and is complete. Only a second miss is a broken entry.
      manifest = readManifest(dir);
      // Gone again (gc or verify removed it meanwhile) is simply a miss.
      if (!manifest && !existsSync(dir)) return {};
      if (!manifest) return { problem: 'its manifest is missing or unreadable' };
    }
    const stampsFile = join(dir, '.verified.json');
    let stamps: Stamps = {};
    try {
      stamps = JSON.parse(readFileSync(stampsFile, 'utf8'));
    } catch { /* verify everything */ }
    const fresh: Stamps = {};
    for (const out of manifest.outputs) {
      const path = join(dir, out.path);
      let st;
      try {
        st = statSync(path);
      } catch {
        return { problem: `output ${out.path} is missing` };
      }
      if (st.size !== out.bytes) {
        return { problem: `output ${out.path} has ${st.size} bytes, ` +
          `the manifest says ${out.bytes}` };
      }
      const seen = stamps[out.path];
      if (full || !seen || seen[0] !== st.size || seen[1] !== st.mtimeMs) {
        if (await hashFile(path) !== out.sha256) {
          return { problem: `output ${out.path} does not match its manifest ` +
            '(its bytes changed)' };
        }
      }
      fresh[out.path] = [st.size, st.mtimeMs];
    }
    try {
      writeAtomic(stampsFile, JSON.stringify(fresh));
    } catch { /* a read-only cache still reads; it just rehashes */ }
    return { artifact: toArtifact(dir, manifest) };
  }

  /** A private folder to compute an instance in. */
  begin(key: string): string {
    const dir = this.tmp(`${key}.${process.pid}.${randomBytes(4).toString('hex')}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /**
   * Hash the outputs, write the manifest last, and rename the folder into
   * the store. When another run published the same key first, its entry
   * stands (identical keys compute identical bytes) and ours is dropped.
   */
  async commit(tmp: string, summary: Record<string, unknown>,
    manifest: Omit<Manifest, 'outputs' | 'digest'>): Promise<Artifact> {
    writeFileSync(join(tmp, 'summary.json'), JSON.stringify(summary, null, 1));
    const outputs: Manifest['outputs'] = [];
    for (const file of listFiles(tmp)) {
      outputs.push({ path: file, bytes: statSync(join(tmp, file)).size,
        sha256: await hashFile(join(tmp, file)) });
    }
    const digest = sha256(canonicalJson(outputs.map((o) => [o.path, o.sha256])));
    const full: Manifest = { ...manifest, outputs, digest };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(full, null, 1));

    const dest = this.objects(manifest.key);
    // The files were just hashed: stamp them verified, so the next read
    // does not hash them again (a rename keeps their mtimes).
    const stamps: Stamps = {};
    for (const out of outputs) {
      const st = statSync(join(tmp, out.path));
      stamps[out.path] = [st.size, st.mtimeMs];
    }
    writeFileSync(join(tmp, '.verified.json'), JSON.stringify(stamps));
    try {
      renameSync(tmp, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      rmSync(tmp, { recursive: true, force: true });
      const theirs = await this.lookup(manifest.key);
      if (theirs.artifact) return theirs.artifact;
      throw new ConvergentError('E_CACHE', `cache entry ${dest} exists but ` +
        `is unusable (${theirs.problem}); run convergent verify`);
    }
    return toArtifact(dest, full);
  }

  discard(tmp: string): void {
    rmSync(tmp, { recursive: true, force: true });
  }

  /** Remove an entry (a corrupt one, or one gc does not keep). */
  remove(key: string): void {
    // Rename first so that a reader never sees a half-deleted entry.
    const dir = this.objects(key);
    const doomed = this.tmp(`gc-${key}.${process.pid}`);
    try {
      renameSync(dir, doomed);
    } catch {
      return;
    }
    rmSync(doomed, { recursive: true, force: true });
  }

  keys(): string[] {
    try {
      return readdirSync(this.objects()).filter((k) => !k.startsWith('.'));
    } catch {
      return [];
    }
  }

  /** Temporary folders left by processes that died mid-stage. */
  sweepOrphans(): number {
    let n = 0;
    let names: string[] = [];
    try {
      names = readdirSync(this.tmp());
    } catch {
      return 0;
    }
    for (const name of names) {
      const pid = Number(name.split('.')[1]);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && pid !== process.pid) {
        continue;
      }
      if (pid === process.pid) continue;
      rmSync(this.tmp(name), { recursive: true, force: true });
      n++;
    }
    return n;
  }
}

function readManifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function toArtifact(dir: string, manifest: Manifest): Artifact {
  let summary: Record<string, any> = {};
  try {
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  } catch { /* checked against the manifest already */ }
  return { id: manifest.id, dir, summary, manifest,
    file: (name: string) => join(dir, name) };
}

/** Every file under `dir`, as sorted relative posix paths. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.filter((f) => f !== 'manifest.json' && f !== '.verified.json').sort();
}

/** Write through a temporary file and a rename: never half a file. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
