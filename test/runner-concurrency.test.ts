/**
 * Two runs on one cache, at the exact moments where one run looks while
 * the other publishes. The other run is simulated in this process: the
 * file system calls of the runner are intercepted, and the "other run"
 * publishes its entry between two of them. Real concurrent processes hit
 * these windows only now and then; here they are hit every time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createLogger } from '../src/core/log.js';
import { loadPipeline } from '../src/pipeline/resolve.js';
import { Cache } from '../src/runner/cache.js';
import { tryLock } from '../src/runner/lock.js';
import { readRoot } from '../src/runner/roots.js';
import { project, runIn, testRegistry } from './runner-helpers.js';
import { removeDir } from './helpers.js';

const real = { readFileSync: fs.readFileSync, existsSync: fs.existsSync };

/** Replace fs functions for every module (named imports included). */
function intercept(fns: Partial<typeof real>): () => void {
  Object.assign(fs, fns);
  syncBuiltinESMExports();
  return () => {
    Object.assign(fs, real);
    syncBuiltinESMExports();
  };
}

const enoent = (path: string) => Object.assign(
  new Error(`ENOENT: no such file or directory, open '${path}'`),
  { code: 'ENOENT' });

/**
 * A cached project whose source@n1 entry is taken out of the store, as if
 * another live run had computed it and were about to publish it: its
 * folder is ready outside objects/ and that run holds the key's lock.
 */
async function otherRunPublishing() {
  const { dir, file } = project();
  await runIn(file);
  const { pipeline } = loadPipeline(file, testRegistry);
  const cache = new Cache(pipeline.cache);
  const key = readRoot(cache, pipeline)!.instances['source@n1'].key;
  const staged = join(pipeline.cache, 'staged');
  renameSync(cache.objects(key), staged);
  const lock = cache.locks(`${key}.lock`);
  writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(),
    started: new Date().toISOString(), purpose: 'the other run' }));
  const publish = () => {
    renameSync(staged, cache.objects(key));
    rmSync(lock);
  };
  return { dir, file, manifest: join(cache.objects(key), 'manifest.json'),
    entry: cache.objects(key), publish };
}

async function runLogged(file: string) {
  const warnings: string[] = [];
  const r = await runIn(file, { log: createLogger('warn',
    (line) => warnings.push(line)) });
  return { ...r, warnings };
}

/**
 * Run while the interception is in place; the other run's entry must
 * have been published during it, and used as it is: no warning, nothing
 * computed.
 */
async function assertUsedAsIs(other: { file: string; dir: string },
  restore: () => void, published: () => boolean): Promise<void> {
  let r;
  try {
    r = await runLogged(other.file);
  } finally {
    restore();
  }
  assert.equal(published(), true);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.ran, []);
  assert.equal(r.cached.length, 13);
  removeDir(other.dir);
}

test('an entry published between a reader\'s manifest read and its ' +
  'folder check is used, not called corrupt', async () => {
  const other = await otherRunPublishing();
  let published = false;
  const restore = intercept({
    readFileSync: ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      if (path === other.manifest && !published) {
        // The read misses; the other run renames its folder in just after.
        published = true;
        other.publish();
        throw enoent(String(path));
      }
      return (real.readFileSync as Function)(path, ...rest);
    }) as typeof fs.readFileSync,
  });
  await assertUsedAsIs(other, restore, () => published);
});

test('an entry published between a reader\'s miss and its lock is used, ' +
  'not computed again', async () => {
  const other = await otherRunPublishing();
  let missed = false;
  let published = false;
  const restore = intercept({
    readFileSync: ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      if (path === other.manifest && !published) missed = true;
      return (real.readFileSync as Function)(path, ...rest);
    }) as typeof fs.readFileSync,
    existsSync: (path: fs.PathLike) => {
      const there = real.existsSync(path);
      if (path === other.entry && missed && !published) {
        // The reader has seen a miss; the other run publishes and
        // releases its lock before the reader tries to take it.
        published = true;
        other.publish();
      }
      return there;
    },
  });
  await assertUsedAsIs(other, restore, () => published);
});

test('breaking a stale lock never removes the fresh lock of a run that ' +
  'broke it first', () => {
  const { dir } = project();
  const lock = join(dir, 'key.lock');
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  const stale = JSON.stringify({ pid: dead, host: hostname(),
    started: '2020-01-01T00:00:00.000Z', purpose: 'a killed run' });
  const fresh = JSON.stringify({ pid: process.pid, host: hostname(),
    started: new Date().toISOString(), purpose: 'the other run' });
  writeFileSync(lock, stale);
  let replaced = false;
  const restore = intercept({
    readFileSync: ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      const text = (real.readFileSync as Function)(path, ...rest);
      if (path === lock && !replaced) {
        // Just after this read, the other run breaks the stale lock and
        // takes the key itself.
        replaced = true;
        rmSync(lock);
        writeFileSync(lock, fresh);
      }
      return text;
    }) as typeof fs.readFileSync,
  });
  let took;
  try {
    took = tryLock(lock, 'this run');
  } finally {
    restore();
  }
  assert.equal(replaced, true);
  assert.equal(took, false);
  assert.equal(readFileSync(lock, 'utf8'), fresh);
  removeDir(dir);
});
