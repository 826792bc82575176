/**
 * The runner's promises, scenario by scenario (see README, "Cache"):
 * what reruns after which change, and what survives failures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync }
  from 'node:fs';
import { join } from 'node:path';
import { loadPipeline } from '../src/pipeline/resolve.js';
import { expand } from '../src/pipeline/expand.js';
import { Cache } from '../src/runner/cache.js';
import { decideAll } from '../src/runner/plan.js';
import { readRoot } from '../src/runner/roots.js';
import { select } from '../src/runner/select.js';
import { registry } from '../src/stages/registry.js';
import { stages } from './fixtures/stages.js';
import { basePipeline, project, runIn, testRegistry, write } from './runner-helpers.js';
import { removeDir } from './helpers.js';

const sorted = (xs: string[]) => [...xs].sort();

test('a cold run computes every instance; a warm run none', async () => {
  const { dir, file } = project();
  const cold = await runIn(file);
  // 3 sources, 3 pairs, 3 x 2 sweep points, 1 total.
  assert.equal(cold.ran.length, 13);
  assert.deepEqual(cold.failed, []);
  const warm = await runIn(file);
  assert.deepEqual(warm.ran, []);
  assert.equal(warm.cached.length, 13);
  removeDir(dir);
});

test('sweep points are instances with readable, stable ids', async () => {
  const { dir, file } = project();
  const { pipeline } = loadPipeline(file, testRegistry);
  const g = expand(pipeline, testRegistry);
  assert.ok(g.instances.has('scale@n1-n22/factor=2'));
  assert.ok(g.instances.has('combine@n22-n333'));
  assert.ok(g.instances.has('source@n1'));
  assert.deepEqual(g.instances.get('total')!.inputs[0].from.length, 6);
  removeDir(dir);
});

test('1. a new stage version reruns it and its descendants only', async () => {
  const { dir, file } = project();
  await runIn(file);
  const bumped = registry(stages.map((s) => s.def.kind === 'combine'
    ? { ...s, def: { ...s.def, version: 2 } } : s));
  const r = await runIn(file, { reg: bumped });
  // combine's output bytes are unchanged, so downstream stays cached.
  assert.deepEqual(sorted(r.ran), ['combine@n1-n22', 'combine@n1-n333',
    'combine@n22-n333']);
  const { pipeline } = loadPipeline(file, bumped);
  const cache = new Cache(pipeline.cache);
  const root = readRoot(cache, pipeline)!;
  assert.equal(root.instances['combine@n1-n22'].parts.version, 2);
  removeDir(dir);
});

test('2. cosmetic edits rerun nothing', async () => {
  const { dir, file } = project();
  await runIn(file);
  write(file, `# the same pipeline, rewritten
name: demo
version: 1
stages:
  total: {}
  scale: { factors: [1.0, 2e0] }   # the same numbers
  combine: { offset: 0.0 }
  source: { scale: 1, count: 4, label: renamed }
pairs: all
networks:
  n1: { activations: ./acts.npy }
  n22: { activations: acts.npy }
  n333: { activations: acts.npy }
`);
  const r = await runIn(file);
  assert.deepEqual(r.ran, []);
  const cwd = process.cwd();
  process.chdir(join(dir, 'pipelines'));
  try {
    assert.deepEqual((await runIn('../pipeline.yaml')).ran, []);
  } finally {
    process.chdir(cwd);
  }
  removeDir(dir);
});

test('a changed parameter reruns only its descendants', async () => {
  const { dir, file } = project();
  await runIn(file);
  const r = await runIn(file, { sets: ['stages.combine.offset=1'] });
  assert.deepEqual(sorted(r.ran), sorted([
    'combine@n1-n22', 'combine@n1-n333', 'combine@n22-n333',
    'scale@n1-n22/factor=1', 'scale@n1-n22/factor=2',
    'scale@n1-n333/factor=1', 'scale@n1-n333/factor=2',
    'scale@n22-n333/factor=1', 'scale@n22-n333/factor=2', 'total']));
  const one = await runIn(file, { sets: ['stages.combine.offset=1',
    'stages.scale.factors=[1, 3]'] });
  assert.deepEqual(sorted(one.ran), sorted(['scale@n1-n22/factor=3',
    'scale@n1-n333/factor=3', 'scale@n22-n333/factor=3', 'total']));
  removeDir(dir);
});

test('6. a flipped byte in a cached output is detected and recomputed',
  async () => {
    const { dir, file } = project();
    const first = await runIn(file);
    const { pipeline } = loadPipeline(file, testRegistry);
    const cache = new Cache(pipeline.cache);
    const key = readRoot(cache, pipeline)!.instances['source@n1'].key;
    const path = join(cache.objects(key), 'values.json');
    const bytes = readFileSync(path);
    bytes[1] = bytes[1] === 0x31 ? 0x32 : 0x31;
    writeFileSync(path, bytes);
    const r = await runIn(file);
    assert.deepEqual(r.ran, ['source@n1']);
    assert.equal(readFileSync(path, 'utf8'),
      JSON.stringify([2, 3, 4, 5]));
    assert.equal(first.ran.length, 13);
    removeDir(dir);
  });

test('7. plan lists exactly what run then does, with reasons', async () => {
  const { dir, file } = project();
  await runIn(file);
  const sets = ['stages.scale.factors=[1, 5]'];
  const { pipeline } = loadPipeline(file, testRegistry, { sets });
  const g = expand(pipeline, testRegistry);
  const { selected, forced } = select(g, {});
  const cache = new Cache(pipeline.cache);
  const plan = await decideAll(g, testRegistry, cache, pipeline,
    readRoot(cache, pipeline),
    selected, forced);
  const planned = plan.filter((d) => d.status === 'run');
  const r = await runIn(file, { sets });
  assert.deepEqual(sorted(planned.map((d) => d.id)), sorted(r.ran));
  assert.match(planned.find((d) => d.id === 'total')!.reason,
    /parameters changed|input/);
  assert.equal(planned.find((d) => d.id === 'scale@n1-n22/factor=5')!.reason,
    'not computed yet');
  removeDir(dir);
});

test('8. gc keeps what the latest run references; a missing entry is ' +
  'recomputed', async () => {
  const { dir, file } = project();
  await runIn(file);
  await runIn(file, { sets: ['stages.source.scale=3'] });
  const { pipeline } = loadPipeline(file, testRegistry);
  const cache = new Cache(pipeline.cache);
  const root = readRoot(cache, pipeline)!;
  const live = new Set(Object.values(root.instances).map((i) => i.key));
  const before = cache.keys().length;
  for (const k of cache.keys()) if (!live.has(k)) cache.remove(k);
  assert.ok(cache.keys().length < before);
  assert.deepEqual((await runIn(file, { sets: ['stages.source.scale=3'] })).ran, []);
  rmSync(cache.objects(root.instances['combine@n1-n22'].key), { recursive: true });
  const r = await runIn(file, { sets: ['stages.source.scale=3'] });
  assert.deepEqual(r.ran, ['combine@n1-n22']);
  removeDir(dir);
});

test('9. a failed branch keeps its siblings; the rerun does only it',
  async () => {
    const { dir, file } = project();
    process.env.CONVERGENT_TEST_FAIL = 'combine@n1-n22';
    let r;
    try {
      r = await runIn(file);
    } finally {
      delete process.env.CONVERGENT_TEST_FAIL;
    }
    assert.deepEqual(r.failed.map((f) => f.id), ['combine@n1-n22']);
    assert.match(r.failed[0].error, /failed on purpose/);
    assert.deepEqual(sorted(r.skipped), sorted(['scale@n1-n22/factor=1',
      'scale@n1-n22/factor=2', 'total']));
    assert.equal(r.ran.length, 13 - 4);
    const again = await runIn(file);
    assert.deepEqual(sorted(again.ran), sorted(['combine@n1-n22',
      'scale@n1-n22/factor=1', 'scale@n1-n22/factor=2', 'total']));
    removeDir(dir);
  });

test('3. a worker that dies while writing loses only its instance',
  async () => {
    const { dir, file } = project();
    process.env.CONVERGENT_TEST_CRASH = 'combine@n1-n333';
    let r;
    try {
      r = await runIn(file, { jobs: 2 });
    } finally {
      delete process.env.CONVERGENT_TEST_CRASH;
    }
    assert.deepEqual(r.failed.map((f) => f.id), ['combine@n1-n333']);
    const { pipeline } = loadPipeline(file, testRegistry);
    assert.deepEqual(readdirSync(join(pipeline.cache, 'tmp')), []);
    const again = await runIn(file, { jobs: 2 });
    assert.ok(again.ran.includes('combine@n1-n333'));
    assert.deepEqual(again.failed, []);
    removeDir(dir);
  });

test('10. a cache folder that cannot be written fails the run loudly',
  async () => {
    const { dir, file } = project();
    writeFileSync(join(dir, 'blocker'), 'a file, not a folder');
    await assert.rejects(runIn(file, { sets: ['cache=blocker/cache'] }),
      (err: Error & { code?: string }) => err.code === 'E_CACHE' &&
        /cannot write the cache folder .*blocker/.test(err.message));
    removeDir(dir);
  });

test('--only, --until, --from and --force select instances', async () => {
  const { dir, file } = project();
  const only = await runIn(file, { only: ['combine@n1-n22'] });
  assert.deepEqual(sorted(only.ran), ['combine@n1-n22', 'source@n1', 'source@n22']);
  const until = await runIn(file, { until: ['combine'] });
  assert.deepEqual(sorted(until.ran), ['combine@n1-n333', 'combine@n22-n333',
    'source@n333']);
  const from = await runIn(file, { from: ['scale@n1-n22/factor=2'] });
  assert.ok(from.ran.includes('scale@n1-n22/factor=2'));
  assert.ok(from.ran.includes('total'));
  const force = await runIn(file, { force: ['source@n1'] });
  assert.deepEqual(force.ran, ['source@n1']);
  await assert.rejects(runIn(file, { only: ['nope'] }), /no stage or instance/);
  await assert.rejects(runIn(file, { until: ['combien'] }), new RegExp(
    '^[^]*--until combien: no stage or instance matches; stages are .* ' +
    "\\(ids look like scale@n1-n22/factor=1; globs such as .* work\\)\\. " +
    "Did you mean 'combine'\\?$"));
  removeDir(dir);
});

test('Ctrl-C stops cleanly and keeps what finished', async () => {
  const { dir, file } = project(basePipeline.replace('scale: 1 }',
    'scale: 1, delayMs: 400 }'));
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 150);
  const r = await runIn(file, { signal: controller.signal, jobs: 2 });
  assert.equal(r.cancelled, true);
  assert.ok(r.ran.length < 13);
  // Nothing failed: what was running was stopped, the rest never started.
  assert.deepEqual(r.failed, []);
  assert.deepEqual(r.skipped, []);
  assert.equal(r.ran.length + r.interrupted.length + r.notStarted, 13);

  // The record names what was stopped and what never started.
  const events = readFileSync(r.record, 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { event: string; id?: string; ids?: string[] });
  assert.deepEqual(events.filter((e) => e.event === 'cancelled')
    .map((e) => e.id).sort(), [...r.interrupted].sort());
  const unstarted = events.find((e) => e.event === 'not-started');
  assert.equal(unstarted?.ids?.length ?? 0, r.notStarted);
  const { pipeline } = loadPipeline(file, testRegistry);
  assert.deepEqual(readdirSync(join(pipeline.cache, 'tmp')), []);
  const again = await runIn(file);
  assert.equal(again.ran.length + again.cached.length, 13);
  assert.deepEqual(again.failed, []);
  removeDir(dir);
});

test('an upstream stage the file does not list runs with its defaults',
  async () => {
    const { dir, file } = project(basePipeline.replace(
      /  source: .*\n  combine: .*\n/, ''));
    const { pipeline } = loadPipeline(file, testRegistry);
    const g = expand(pipeline, testRegistry);
    assert.equal(g.instances.get('source@n1')!.implicit, true);
    assert.equal(g.instances.get('combine@n1-n22')!.params.offset, 0);
    mkdirSync(join(dir, 'x'));
    removeDir(dir);
  });

/**
 * The combine stage as if defined in code.js, which reaches dep.js as
 * `code` says; editing dep.js must rerun exactly the combine instances.
 */
async function editRerunsCombine(code: string, dep: string) {
  const { dir, file } = project();
  const url = join(dir, 'code.js');
  writeFileSync(url, code);
  writeFileSync(join(dir, dep), 'export const k = 1;\n');
  const reg = () => registry(stages.map((s) => s.def.kind === 'combine'
    ? { ...s, url } : s));
  await runIn(file, { reg: reg() });
  writeFileSync(join(dir, dep), 'export const k = 2;\n');
  const r = await runIn(file, { reg: reg() });
  assert.deepEqual(sorted(r.ran), ['combine@n1-n22', 'combine@n1-n333',
    'combine@n22-n333']);
  return { dir, file };
}

test('1. editing a module a stage imports reruns that stage', async () => {
  const { dir, file } = await editRerunsCombine(
    "import { k } from './kernel.js';\n", 'kernel.js');
  const { pipeline } = loadPipeline(file, testRegistry);
  const root = readRoot(new Cache(pipeline.cache), pipeline)!;
  assert.ok(root.instances.total);
  removeDir(dir);
});

test('1. editing a kernel a stage names by URL reruns that stage',
  async () => {
    // Pool kernels are not imported but named: new URL(..., import.meta.url).
    const { dir } = await editRerunsCombine("const kernel = new URL(\n" +
      "  './task.js',\n  import.meta.url).href;\n", 'task.js');
    removeDir(dir);
  });

test('11. a copy of a pipeline keeps its own record; gc spares both',
  async () => {
    const { dir, file } = project();
    await runIn(file);
    const copy = join(dir, 'copy.yaml');
    writeFileSync(copy, readFileSync(file, 'utf8').replace('factors: [1, 2]',
      'factors: [7]'));
    await runIn(copy);
    const { pipeline } = loadPipeline(file, testRegistry);
    const cache = new Cache(pipeline.cache);
    const { liveKeys } = await import('../src/runner/roots.js');
    const live = liveKeys(cache);
    // Every entry either run made is still referenced.
    assert.deepEqual(cache.keys().filter((k) => !live.has(k)), []);
    assert.deepEqual((await runIn(file)).ran, []);
    removeDir(dir);
  });
