/**
 * The record of a pipeline's latest run (cache/roots/): exactly the
 * instances that run used, so that gc frees what the pipeline dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expand } from '../src/pipeline/expand.js';
import { loadPipeline } from '../src/pipeline/resolve.js';
import { Cache } from '../src/runner/cache.js';
import { liveKeys, readRoot } from '../src/runner/roots.js';
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
