/**
 * Why an instance reruns: the reason names the part of its key that
 * changed, and `plan` and `run` give the same reason for the same state
 * (README, "Cache": one decision function for plan, status and run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { expand } from '../src/pipeline/expand.js';
import { loadPipeline } from '../src/pipeline/resolve.js';
import { Cache } from '../src/runner/cache.js';
import { decideAll } from '../src/runner/plan.js';
import { readRoot } from '../src/runner/roots.js';
import { select } from '../src/runner/select.js';
import { registry, type Registry } from '../src/stages/registry.js';
import { stages } from './fixtures/stages.js';
import { basePipeline, project, runIn, testRegistry, write }
  from './runner-helpers.js';
import { removeDir } from './helpers.js';

/** `total` reading the whole pipeline, as the report does. */
const readsPipeline = registry(stages.map((s) => s.def.kind === 'total'
  ? { ...s, def: { ...s.def,
    context: (_c: unknown, p: { pairs: unknown; stages: unknown }) =>
      ({ pairs: p.pairs, stages: p.stages }) } } : s));

async function planned(file: string, reg: Registry, sets?: string[]) {
  const { pipeline } = loadPipeline(file, reg, { sets });
  const g = expand(pipeline, reg);
  const { selected, forced } = select(g, {});
  const cache = new Cache(pipeline.cache);
  const decisions = await decideAll(g, reg, cache, pipeline,
    readRoot(cache, pipeline), selected, forced);
  return new Map(decisions.filter((d) => d.status === 'run')
    .map((d) => [d.id, d.reason]));
}

/** The reason of each instance that ran, as the run's record has it. */
async function ran(file: string, reg: Registry, sets?: string[]) {
  const r = await runIn(file, { reg, sets });
  const events = readFileSync(r.record, 'utf8').trim().split('\n')
    .map((line) => JSON.parse(line));
  return new Map(events.filter((e) => e.event === 'ran')
    .map((e) => [e.id as string, e.reason as string]));
}

test('a stage that reads the pipeline names the part that changed, ' +
  'in plan and run alike', async () => {
  const { dir, file } = project();
  await runIn(file, { reg: readsPipeline });
  const sets = ['stages.scale.factors=[1, 3]'];
  const plan = await planned(file, readsPipeline, sets);
  const run = await ran(file, readsPipeline, sets);
  assert.equal(plan.get('total'),
    "the pipeline's stages changed: scale.factors");
  assert.deepEqual(run, plan);
  removeDir(dir);
});

test('after an edit of the file, plan and run give every instance the ' +
  'same reason', async () => {
  const { dir, file } = project();
  await runIn(file);
  write(file, basePipeline.replace('factors: [1, 2]', 'factors: [1, 3]')
    .replace('offset: 0', 'offset: 1'));
  const plan = await planned(file, testRegistry);
  const run = await ran(file, testRegistry);
  assert.equal(plan.get('combine@n1-n22'), 'parameters changed: offset');
  assert.equal(plan.get('scale@n1-n22/factor=1'),
    'input will be recomputed (combine@n1-n22)');
  assert.equal(plan.get('scale@n1-n22/factor=3'), 'not computed yet');
  assert.equal(plan.get('total'), 'input will be recomputed ' +
    '(scale@n1-n22/factor=1, scale@n1-n22/factor=3, ...)');
  assert.deepEqual(run, plan);
  removeDir(dir);
});

test('a forced instance is forced in plan and run, its inputs pending ' +
  'or not', async () => {
  const { dir, file } = project();
  await runIn(file);
  const { pipeline } = loadPipeline(file, testRegistry);
  const g = expand(pipeline, testRegistry);
  const force = ['source@n1', 'combine@n1-n22'];
  const { selected, forced } = select(g, { force });
  const cache = new Cache(pipeline.cache);
  const plan = await decideAll(g, testRegistry, cache, pipeline,
    readRoot(cache, pipeline), selected, forced);
  const reasons = new Map(plan.map((d) => [d.id, d.reason]));
  assert.equal(reasons.get('source@n1'), 'forced');
  assert.equal(reasons.get('combine@n1-n22'), 'forced');
  const r = await runIn(file, { force });
  const events = readFileSync(r.record, 'utf8').trim().split('\n')
    .map((line) => JSON.parse(line)).filter((e) => e.event === 'ran');
  assert.deepEqual(events.map((e) => e.reason), ['forced', 'forced']);
  removeDir(dir);
});
