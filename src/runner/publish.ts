/**
 * Copying what a stage asked to publish (trained models, the report) out
 * of the cache. Two runs may publish to one place at once: a lock per
 * destination takes them in turn, and each entry is copied beside its
 * destination and swapped in by renames, so that the destination holds
 * one complete copy, never a mix of two or a folder half deleted.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync,
  renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../core/log.js';
import { sha256 } from '../core/hash.js';
import type { Artifact, ResolvedPipeline } from '../stages/types.js';
import { Cache } from './cache.js';
import { tryLock, unlock } from './lock.js';

/**
 * Files of an entry that belong to the cache, not to what it publishes:
 * a folder published whole leaves them out (a stage that means to publish
 * its summary names it, as train does for training.json).
 */
const own = new Set(['manifest.json', '.verified.json', 'summary.json']);

export async function publish(p: ResolvedPipeline, artifact: Artifact,
  log: Logger): Promise<void> {
  for (const { from, to } of artifact.manifest?.publish ?? []) {
    const src = join(artifact.dir, from);
    const dest = isAbsolute(to) ? to : resolve(p.root, to);
    try {
      await whileLocked(p, dest, `${p.name} publishes ${artifact.id}`, () => {
        if (from === '.' || from === '') copyEntries(src, dest);
        else copyOne(src, dest, artifact.id, log);
      });
    } catch (err) {
      log.warn(`could not publish ${from} of ${artifact.id} to ${dest}: ` +
        `${(err as Error).message}`);
    }
  }
}

/**
 * Put a folder built elsewhere (`convergent report` rebuilding from the
 * cache) into `dest` as a run publishes: in turn with any run doing the
 * same, each top-level entry swapped in whole.
 */
export async function publishFolder(p: ResolvedPipeline, src: string,
  dest: string, purpose: string): Promise<void> {
  await whileLocked(p, dest, purpose, () => copyEntries(src, dest));
}

async function whileLocked(p: ResolvedPipeline, dest: string,
  purpose: string, copy: () => void): Promise<void> {
  const lock = new Cache(p.cache).locks(
    `publish-${sha256(dest).slice(0, 16)}.lock`);
  await takeLock(lock, `${purpose} to ${dest}`);
  try {
    copy();
  } finally {
    unlock(lock);
  }
}

/** Wait while another live run publishes to the same place. */
async function takeLock(path: string, purpose: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  while (!tryLock(path, purpose)) await sleep(50);
}

/**
 * A folder into a folder that holds more (outputs/<pipeline>/ keeps the
 * run records in runs/): each top-level entry is replaced whole, the
 * rest of the folder is left alone.
 */
function copyEntries(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const name of readdirSync(src)) {
    if (!own.has(name)) replace(join(src, name), join(dest, name));
  }
}

function copyOne(src: string, dest: string, id: string, log: Logger): void {
  if (existsSync(dest) && statSync(dest).isFile() && statSync(src).isFile() &&
    !readFileSync(dest).equals(readFileSync(src))) {
    log.warn(`${id}: replaced ${dest} with a different file`);
  }
  mkdirSync(dirname(dest), { recursive: true });
  replace(src, dest);
}

/**
 * Copy `src` beside `dest` under a temporary name, then swap it in. A
 * file replaces a file in one rename; a folder moves the old one aside
 * first, so a reader may find it missing for an instant, never partial.
 */
function replace(src: string, dest: string): void {
  sweepLeftovers(dest);
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const fresh = join(dirname(dest), `.${basename(dest)}.${tag}.new`);
  const old = join(dirname(dest), `.${basename(dest)}.${tag}.old`);
  cpSync(src, fresh, { recursive: true });
  try {
    renameSync(fresh, dest);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!['ENOTEMPTY', 'EEXIST', 'EISDIR', 'ENOTDIR'].includes(code ?? '')) {
      rmSync(fresh, { recursive: true, force: true });
      throw err;
    }
  }
  try {
    renameSync(dest, old);
  } catch (err) {
    // Removed meanwhile (convergent clean): there is nothing to set aside.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  renameSync(fresh, dest);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Temporary copies of a publisher killed mid-copy. The lock is held, so
 * no live publisher owns any of them.
 */
function sweepLeftovers(dest: string): void {
  const prefix = `.${basename(dest)}.`;
  let names: string[] = [];
  try {
    names = readdirSync(dirname(dest));
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /\.\d+\.[0-9a-f]{8}\.(new|old)$/.test(name)) {
      rmSync(join(dirname(dest), name), { recursive: true, force: true });
    }
  }
}
