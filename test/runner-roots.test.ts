/**
 * The record of a pipeline's latest run (cache/roots/): exactly the
 * instances that run used, so that gc frees what the pipeline dropped.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expand } from '../src/pipeline/expand.js';
import { loadPipeline } from '../src/pipeline/resolve.js';
import { Cache } from '../src/runner/cache.js';
import { liveKeys, readRoot } from '../src/runner/roots.js';
import { liveRuns, runLockName, tryLock, unlock }
  from '../src/runner/lock.js';
import { basePipeline, cliSync, project, runIn, testRegistry, write }
  from './runner-helpers.js';
import { removeDir } from './helpers.js';

const sorted = (xs: string[]) => [...xs].sort();

function latest(file: string) {
  const { pipeline } = loadPipeline(file, testRegistry);
  const cache = new Cache(pipeline.cache);
  return { cache, root: readRoot(cache, pipeline)!,
    ids: expand(pipeline, testRegistry).order };
}

test('a sweep point removed from the file leaves the record; gc frees it',
  async () => {
    const { dir, file } = project();
    await runIn(file);
    write(file, basePipeline.replace('factors: [1, 2]', 'factors: [1, 3]'));
    assert.equal((await runIn(file)).ran.length, 4);
    write(file, basePipeline);
    assert.deepEqual((await runIn(file)).ran, []);

    const { cache, root, ids } = latest(file);
    assert.deepEqual(sorted(Object.keys(root.instances)), sorted(ids));
    assert.equal(liveKeys(cache).size, 13);
    const gc = cliSync(['gc', file], dir);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /^removed 4 entries \(0\.0 MB\); kept 13$/m);
    assert.deepEqual((await runIn(file)).ran, []);
    removeDir(dir);
  });

test('a partial run keeps the record of the instances it did not run',
  async () => {
    const { dir, file } = project();
    await runIn(file);
    const before = latest(file).root;
    const r = await runIn(file, { only: ['combine@n1-n22'],
      sets: ['stages.combine.offset=1'] });
    assert.deepEqual(r.ran, ['combine@n1-n22']);
    const { root, ids } = latest(file);
    assert.deepEqual(sorted(Object.keys(root.instances)), sorted(ids));
    assert.notEqual(root.instances['combine@n1-n22'].key,
      before.instances['combine@n1-n22'].key);
    assert.equal(root.instances.total.key, before.instances.total.key);
    removeDir(dir);
  });

test('gc waits for a run in progress: its new entries are not yet ' +
  'recorded', async () => {
  const { dir, file } = project();
  await runIn(file);
  write(file, basePipeline.replace('factors: [1, 2]', 'factors: [1, 3]'));
  await runIn(file);
  const { cache } = latest(file);
  assert.equal(cache.keys().length, 17, 'four entries are unreferenced');

  // As a live run holds it (this test process is alive), and as a dead
  // run leaves it behind.
  const lock = cache.locks(runLockName());
  assert.ok(tryLock(lock, 'test: convergent run'));
  const busy = cliSync(['gc', file], dir);
  assert.equal(busy.code, 2);
  assert.match(busy.stderr, new RegExp(`a run is using .* \\(pid ` +
    `${process.pid}, since .*: test: convergent run\\); gc would take ` +
    'entries it has not recorded yet\\. Run gc when it has ended\\.'));
  assert.equal(cache.keys().length, 17, 'gc removed nothing');
  const dry = cliSync(['gc', file, '-n'], dir);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^would remove 4 entries .*; kept 13\. Not now, though: a run is using /m);
  unlock(lock);

  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(cache.locks(runLockName(dead)), JSON.stringify({
    pid: dead, host: hostname(), started: new Date().toISOString(),
    purpose: 'a killed run' }));
  const gc = cliSync(['gc', file], dir);
  assert.equal(gc.code, 0, gc.stderr);
  assert.match(gc.stdout, /^removed 4 entries .*; kept 13$/m);
  removeDir(dir);
});

test('a run releases its run lock when it ends', async () => {
  const { dir, file } = project();
  const { pipeline } = loadPipeline(file, testRegistry);
  const locks = new Cache(pipeline.cache).locks();
  await runIn(file);
  assert.deepEqual(liveRuns(locks), []);
  removeDir(dir);
});
