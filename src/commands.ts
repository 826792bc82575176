/**
 * What each CLI command does, kept apart from argument parsing so that
 * tests can call them. Results go to stdout; diagnostics to stderr.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { usageError } from './core/errors.js';
import { createLogger, type Logger } from './core/log.js';
import { expand, type Graph } from './pipeline/expand.js';
import { loadPipeline, type LoadedPipeline } from './pipeline/resolve.js';
import { Cache } from './runner/cache.js';
import { isStale, liveRuns, readOwner } from './runner/lock.js';
import { decideAll } from './runner/plan.js';
import { liveKeys, readRoot, rootFile } from './runner/roots.js';
import { defaultThreads } from './runner/pool.js';
import { createProgress } from './runner/progress.js';
import { runPipeline } from './runner/run.js';
import { runExitCode, runSummary, withoutId } from './runner/summary.js';
import { logRunDetail } from './run-detail.js';
import { select, type Selection } from './runner/select.js';
import { builtinRegistry } from './stages/index.js';
import { listFiles } from './runner/cache.js';

let log: Logger = createLogger();
export function setLogger(l: Logger) { log = l; }

const out = (s: string) => process.stdout.write(s + '\n');

interface Common { set?: string[]; cache?: string }

async function load(file: string, o: Common): Promise<LoadedPipeline> {
  return loadPipeline(file, await builtinRegistry(),
    { sets: o.set, cache: o.cache });
}

export async function validate(file: string, o: Common & { list?: boolean }) {
  const { pipeline } = await load(file, o);
  const g = expand(pipeline, await builtinRegistry());
  const byStage = countBy(g, () => true);
  // The file as typed, as its error messages name it.
  out(`${file}: valid; ${g.order.length} instances ` +
    `(${[...byStage].map(([s, n]) => `${s} ${n}`).join(', ')})`);
  if (o.list) for (const id of g.order) out(id);
}

function countBy(g: Graph, keep: (id: string) => boolean) {
  const m = new Map<string, number>();
  for (const id of g.order) {
    if (!keep(id)) continue;
    const name = g.instances.get(id)!.name;
    m.set(name, (m.get(name) ?? 0) + 1);
  }
  return m;
}

function selectionOf(o: Selection & { force?: string[] | boolean }): Selection {
  return { only: o.only, until: o.until, from: o.from,
    force: o.force === true ? [] : o.force || undefined };
}

/** What `run` takes besides the selection; `plan` takes it too. */
interface Compute { jobs?: number; engine?: string; backend?: string }

export async function plan(file: string, o: Common & Selection & Compute &
  { json?: boolean; all?: boolean }) {
  const { pipeline } = await load(file, o);
  // They choose how an instance is computed and stay out of its cache key,
  // so the plan is the same with them or without.
  for (const k of ['jobs', 'engine', 'backend'] as const) {
    if (o[k] !== undefined) {
      log.debug(`--${k} ${o[k]}: changes how instances run, not which`);
    }
  }
  const registry = await builtinRegistry();
  const g = expand(pipeline, registry);
  const { selected, forced } = select(g, selectionOf(o));
  const cache = new Cache(pipeline.cache);
  const decisions = await decideAll(g, registry, cache, pipeline,
    readRoot(cache, pipeline), selected, forced);
  if (o.json) {
    out(JSON.stringify(decisions.map(({ id, status, reason, key }) =>
      ({ id, status, reason, key })), null, 1));
    return;
  }
  const toRun = decisions.filter((d) => d.status === 'run');
  for (const d of o.all ? decisions : toRun) {
    const why = d.status === 'run' ? d.reason : '';
    out(`${d.status === 'run' ? 'run   ' : 'cached'}  ${d.id}  ${why}`.trimEnd());
  }
  out(`${toRun.length} to run, ${decisions.length - toRun.length} cached`);
}

export async function run(file: string, o: Common & Selection & Compute) {
  const { pipeline } = await load(file, o);
  const registry = await builtinRegistry();
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nstopping: finishing nothing new, keeping what ' +
      'is done (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const quiet = log.level === 'error' || log.level === 'silent';
  const progress = createProgress(undefined, undefined, quiet);
  // On a terminal, log lines go above the bars instead of through them.
  const tty = !!process.stderr.isTTY && !process.env.CI;
  const runLog = tty && !quiet
    ? createLogger(log.level, (line) => progress.line(line)) : log;
  log.debug(`run: cache ${pipeline.cache}; ` +
    `${o.jobs ?? defaultThreads()} worker threads; ` +
    `engine ${o.engine ?? 'as the pipeline says'}; ` +
    `backend ${o.backend ?? 'as the pipeline says'}`);
  try {
    const r = await runPipeline(pipeline, registry, { ...selectionOf(o),
      jobs: o.jobs, engine: o.engine, backend: o.backend, log: runLog,
      progress, signal: controller.signal });
    logRunDetail(r.record, new Cache(pipeline.cache).objects(), log);
    out(runSummary(r));
    for (const f of r.failed) {
      process.stderr.write(failureLine(f.id, f.error) + '\n');
    }
    process.exitCode = runExitCode(r);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** "failed <id>: <error>", the id once though most errors begin with it. */
export function failureLine(id: string, error: string): string {
  return `failed ${id}: ${withoutId(id, error)}`;
}

export async function status(file: string, o: Common) {
  const { pipeline } = await load(file, o);
  const registry = await builtinRegistry();
  const g = expand(pipeline, registry);
  const cache = new Cache(pipeline.cache);
  const decisions = await decideAll(g, registry, cache, pipeline,
    readRoot(cache, pipeline), new Set(g.order), new Set());
  const cached = new Set(decisions.filter((d) => d.status === 'cached')
    .map((d) => d.id));
  const total = countBy(g, () => true);
  const have = countBy(g, (id) => cached.has(id));
  for (const [name, n] of total) {
    out(`${name.padEnd(14)} ${String(have.get(name) ?? 0).padStart(4)} / ${n} cached`);
  }
  out(cached.size === g.order.length ? 'up to date'
    : `${g.order.length - cached.size} of ${g.order.length} to run`);
}

export async function dag(file: string, o: Common & { format: string }) {
  const { pipeline } = await load(file, o);
  const g = expand(pipeline, await builtinRegistry());
  const edges: [string, string][] = [];
  for (const id of g.order) {
    for (const i of g.instances.get(id)!.inputs) {
      for (const f of i.from) edges.push([f, id]);
    }
  }
  if (o.format === 'json') {
    out(JSON.stringify({ nodes: g.order.map((id) => {
      const { name, kind, coords, params } = g.instances.get(id)!;
      return { id, name, kind, coords, params };
    }), edges }, null, 1));
  } else if (o.format === 'dot') {
    out('digraph convergent {\n  rankdir=LR;\n  node [shape=box];');
    for (const id of g.order) out(`  "${id}";`);
    for (const [a, b] of edges) out(`  "${a}" -> "${b}";`);
    out('}');
  } else {
    const node = new Map(g.order.map((id, i) => [id, `n${i}`]));
    out('flowchart LR');
    for (const id of g.order) out(`  ${node.get(id)}["${id}"]`);
    for (const [a, b] of edges) out(`  ${node.get(a)} --> ${node.get(b)}`);
  }
}

function entryBytes(dir: string): number {
  try {
    return listFiles(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}

export async function gc(file: string, o: Common & { dryRun?: boolean }) {
  const { pipeline } = await load(file, o);
  const cache = new Cache(pipeline.cache).open();
  // A run records what it used only when it ends: until then its new
  // entries look unreferenced.
  const [busy] = liveRuns(cache.locks());
  const using = busy && `a run is using ${pipeline.cache} (pid ${busy.pid}, ` +
    `since ${busy.started}: ${busy.purpose}); gc would take entries it ` +
    'has not recorded yet. Run gc when it has ended.';
  if (using && !o.dryRun) throw usageError(using);
  const keep = liveKeys(cache);
  const keys = cache.keys();
  let n = 0;
  let bytes = 0;
  for (const key of keys) {
    if (keep.has(key)) continue;
    bytes += entryBytes(cache.objects(key));
    n++;
    if (!o.dryRun) cache.remove(key);
  }
  const orphans = o.dryRun ? 0 : cache.sweepOrphans();
  out(`${o.dryRun ? 'would remove' : 'removed'} ${n} entries ` +
    `(${(bytes / 1e6).toFixed(1)} MB); kept ${keys.length - n}` +
    (orphans ? `; cleared ${orphans} unfinished folders` : '') +
    (using ? `. Not now, though: ${using}` : ''));
}

export async function verify(file: string, o: Common) {
  const { pipeline } = await load(file, o);
  const cache = new Cache(pipeline.cache).open();
  let bad = 0;
  const keys = cache.keys();
  for (const key of keys) {
    const r = await cache.lookup(key, true);
    if (!r.artifact) {
      bad++;
      out(`corrupt ${key.slice(0, 12)}: ${r.problem}; removed (it will be ` +
        'recomputed when needed)');
      cache.remove(key);
    }
  }
  out(`${keys.length - bad} entries verified, ${bad} corrupt`);
  if (bad) process.exitCode = 1;
}

export async function unlock(file: string, o: Common & { force?: boolean }) {
  const { pipeline } = await load(file, o);
  const cache = new Cache(pipeline.cache).open();
  let removed = 0;
  let live = 0;
  for (const name of readdirSync(cache.locks())) {
    const path = cache.locks(name);
    if (o.force || isStale(path)) {
      rmSync(path, { force: true });
      removed++;
    } else {
      live++;
      const owner = readOwner(path);
      out(`held by pid ${owner?.pid} on ${owner?.host} since ${owner?.started}: ` +
        `${owner?.purpose}`);
    }
  }
  out(`removed ${removed} lock(s)` + (live ? `; ${live} held by live runs ` +
    '(--force removes them too)' : ''));
}

export async function clean(file: string, o: Common) {
  const { pipeline } = await load(file, o);
  const cache = new Cache(pipeline.cache);
  const root = cache.roots(rootFile(pipeline));
  const shown = relative(process.cwd(), pipeline.outputs) || pipeline.outputs;
  if (!existsSync(pipeline.outputs) && !existsSync(root)) {
    out(`nothing to remove: ${shown} does not exist and no run is recorded`);
    return;
  }
  rmSync(pipeline.outputs, { recursive: true, force: true });
  rmSync(root, { force: true });
  out(`removed ${shown}; run convergent gc to free the cache entries it used`);
}

export async function table(file: string, name: string | undefined,
  o: Common & { format: string }) {
  const { pipeline } = await load(file, o);
  const { printTable } = await import('./report/cli.js');
  out(await printTable(pipeline, await builtinRegistry(), name, o.format));
}

export async function report(file: string, o: Common) {
  const { pipeline } = await load(file, o);
  const { rebuildReport } = await import('./report/cli.js');
  const path = await rebuildReport(pipeline, await builtinRegistry());
  out(`report: ${relative(process.cwd(), path)}`);
}

