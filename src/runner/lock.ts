/**
 * Lock files that say who holds them (pid, host, start time), so that a
 * lock left by a killed process is noticed and broken instead of blocking
 * every later run.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { closeSync, linkSync, openSync, readdirSync, readFileSync,
  renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  /** What the owner is doing, for `convergent unlock` and messages. */
  purpose: string;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readOwner(path: string): LockOwner | undefined {
  return parseOwner(readText(path));
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parseOwner(text: string | undefined): LockOwner | undefined {
  try {
    return text === undefined ? undefined : JSON.parse(text) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * A lock whose owner is dead. Only owners on this host can be checked; a
 * lock from another host is left to `convergent unlock --force`. A lock
 * file that cannot be parsed is either being written this instant or was
 * cut short by a kill during its write: stale once it is a few seconds old.
 */
export function isStale(path: string, owner = readOwner(path)): boolean {
  if (!owner) {
    try {
      return Date.now() - statSync(path).mtimeMs > 5000;
    } catch {
      return true;
    }
  }
  return owner.host === hostname() && !isAlive(owner.pid);
}

/** Take the lock, breaking a stale one; false when a live owner holds it. */
export function tryLock(path: string, purpose: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      const owner: LockOwner = { pid: process.pid, host: hostname(),
        started: new Date().toISOString(), purpose };
      writeSync(fd, JSON.stringify(owner));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const seen = readText(path);
      if (!isStale(path, parseOwner(seen))) return false;
      // The owner died: remove its lock and try once more.
      breakLock(path, seen);
    }
  }
  return false;
}

/**
 * Remove the stale lock whose text was `seen`. Another run may have
 * broken it and taken the key since we looked: removing by name would
 * delete that run's fresh lock and let both compute. So move the lock
 * aside first, and give it back unless it is the one judged stale.
 */
function breakLock(path: string, seen: string | undefined): void {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.old`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  if (readText(aside) !== seen) {
    // A link creates the name only if it is free: should a third run
    // have taken the key meanwhile, its lock stands.
    try {
      linkSync(aside, path);
    } catch { /* a newer lock holds the key */ }
  }
  rmSync(aside, { force: true });
}

export function unlock(path: string): void {
  const owner = readOwner(path);
  if (owner && owner.pid === process.pid && owner.host === hostname()) {
    rmSync(path, { force: true });
  }
}

/** The lock a run holds on its cache for as long as it runs. */
export function runLockName(pid = process.pid): string {
  return `run-${pid}.lock`;
}

/** Owners of the run locks in `dir` that are alive. */
export function liveRuns(dir: string): LockOwner[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => /^run-\d+\.lock$/.test(n))
    .map((n) => join(dir, n))
    .map((path) => ({ path, owner: readOwner(path) }))
    .filter(({ path, owner }) => owner && !isStale(path, owner))
    .map(({ owner }) => owner!);
}
