/**
 * Lock files that say who holds them (pid, host, start time), so that a
 * lock left by a killed process is noticed and broken instead of blocking
 * every later run.
 */
import { hostname } from 'node:os';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync }
  from 'node:fs';

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
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
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
      if (!isStale(path)) return false;
      // The owner died: remove its lock and try once more.
      rmSync(path, { force: true });
    }
  }
  return false;
}

export function unlock(path: string): void {
  const owner = readOwner(path);
  if (owner && owner.pid === process.pid && owner.host === hostname()) {
    rmSync(path, { force: true });
  }
}
