/**
 * The scheduler: instances whose inputs are ready run concurrently, their
 * heavy kernels on the shared worker pool; each is computed in a private
 * folder and published into the cache, so a failure or a kill loses only
 * the instances in flight. One failed instance does not stop its siblings.
 */
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConvergentError } from '../core/errors.js';
import { sha256 } from '../core/hash.js';
import { createLogger, type Logger } from '../core/log.js';
import { expand, type Graph, type Instance } from '../pipeline/expand.js';
import type { Registry } from '../stages/registry.js';
import type { Artifact, ResolvedPipeline, StageContext } from '../stages/types.js';
import { Cache } from './cache.js';
import { runLockName, tryLock, unlock } from './lock.js';
import { decideAll, fileParts, FileHashes, forgetCodeHashes, keyOf, keyParts, whyRun,
  type Decision, type KeyParts } from './plan.js';
import { createPool, defaultThreads, inlinePool, type ClosablePool } from './pool.js';
import { createProgress, type Progress } from './progress.js';
import { publish } from './publish.js';
import { RunRecord } from './record.js';
import { readRoot, writeRoot, type RootRecord } from './roots.js';
import { select, type Selection } from './select.js';
import { withoutId } from './summary.js';

export interface RunOptions extends Selection {
  /** Worker threads; 0 runs every kernel on the main thread. */
  jobs?: number;
  engine?: string;
  backend?: string;
  progress?: Progress;
  log?: Logger;
  /** Aborts the run (Ctrl-C). */
  signal?: AbortSignal;
}

export interface RunOutcome {
  ran: string[];
  cached: string[];
  failed: { id: string; error: string }[];
  skipped: string[];
  /** Cancelled while running, and never started, when interrupted. */
  interrupted: string[];
  notStarted: number;
  /** Interrupted with work stopped or not started: the run is partial. */
  cancelled: boolean;
  /** Interrupted after every instance had settled: the run is complete. */
  lateInterrupt: boolean;
  seconds: number;
  record: string;
}

interface Done {
  artifact: Artifact;
  key: string;
  parts: KeyParts;
}

export async function runPipeline(p: ResolvedPipeline, registry: Registry,
  options: RunOptions = {}): Promise<RunOutcome> {
  // Held for the whole run, record included: gc must not take what this
  // run has made but not yet recorded as its latest.
  const cache = new Cache(p.cache).open();
  const lock = cache.locks(runLockName());
  tryLock(lock, `${p.name}: convergent run`);
  try {
    return await runHolding(p, registry, options, cache);
  } finally {
    unlock(lock);
  }
}

async function runHolding(p: ResolvedPipeline, registry: Registry,
  options: RunOptions, cache: Cache): Promise<RunOutcome> {
  const t0 = Date.now();
  forgetCodeHashes();
  const log = options.log ?? createLogger();
  const progress = options.progress ?? createProgress();
  cache.sweepOrphans();
  const g = expand(p, registry);
  const { selected, forced } = select(g, options);
  const previous = readRoot(cache, p);
  const hashes = new FileHashes();
  const record = new RunRecord(p.outputs);
  record.add({ event: 'start', pipeline: p.name, instances: selected.size });

  // Missing input files are bad input: refuse before anything runs.
  for (const id of selected) {
    for (const f of g.instances.get(id)!.files) {
      if (!existsSync(f.path)) {
        throw new ConvergentError('E_INPUT', `${id} reads ${f.path} ` +
          `(${f.role}), which does not exist`);
      }
    }
  }

  const abort = new AbortController();
  // Every pool task listens on the signal; hundreds may be queued at once.
  setMaxListeners(0, abort.signal);
  const onAbort = () => abort.abort();
  options.signal?.addEventListener('abort', onAbort);
  const jobs = options.jobs ?? defaultThreads();
  const pool: ClosablePool = jobs === 0 ? inlinePool()
    : createPool({ threads: jobs, signal: abort.signal });

  const done = new Map<string, Done>();
  const outcome: RunOutcome = { ran: [], cached: [], failed: [], skipped: [],
    interrupted: [], notStarted: 0, cancelled: false, lateInterrupt: false,
    seconds: 0, record: record.file };
  const state = new Map<string, 'waiting' | 'running' | 'over'>();
  for (const id of g.order) if (selected.has(id)) state.set(id, 'waiting');
  progress.start(state.size);

  const digests = new Map<string, string>();
  const ranHere = new Set<string>();
  const running = new Set<Promise<void>>();
  const limit = Math.max(2, 2 * Math.max(1, jobs));

  const settle = (id: string) => state.set(id, 'over');
  const lost = (f: string) => state.get(f) === 'over' && !done.has(f);
  // A stage that runsWithFailedInputs (the report) waits for every input
  // to settle, then runs on those that finished.
  const lenient = (inst: Instance) =>
    registry.get(inst.kind)!.def.runsWithFailedInputs === true;
  const blocked = (inst: Instance) => !lenient(inst) &&
    inst.inputs.some((i) => i.from.some(lost));
  const ready = (inst: Instance) => inst.inputs.every((i) =>
    i.from.every((f) => done.has(f) || (lenient(inst) && lost(f))));
  const failedInputs = (inst: Instance) => inst.inputs
    .flatMap((i) => i.from).filter(lost).map((id) => ({ id,
      error: outcome.failed.find((f) => f.id === id)?.error }));

  const startOne = async (inst: Instance) => {
    const t = Date.now();
    progress.begin(inst.id);
    try {
      const result = await settleInstance(inst);
      done.set(inst.id, result.done);
      digests.set(inst.id, result.done.artifact.manifest!.digest);
      const seconds = (Date.now() - t) / 1000;
      if (result.ran) {
        outcome.ran.push(inst.id);
        ranHere.add(inst.id);
      } else {
        outcome.cached.push(inst.id);
      }
      record.add({ event: result.ran ? 'ran' : 'cached', id: inst.id,
        key: result.done.key, seconds, reason: result.reason });
      progress.end(inst.id, result.ran ? 'ran' : 'cached', seconds,
        result.ran ? result.reason : undefined);
      await publish(p, result.done.artifact, log);
    } catch (err) {
      const seconds = (Date.now() - t) / 1000;
      if (abort.signal.aborted) {
        outcome.interrupted.push(inst.id);
        record.add({ event: 'cancelled', id: inst.id, seconds });
        progress.end(inst.id, 'stopped', seconds, 'interrupted');
      } else {
        const message = err instanceof Error ? err.message : String(err);
        outcome.failed.push({ id: inst.id, error: message });
        record.add({ event: 'failed', id: inst.id, seconds, error: message,
          stack: err instanceof Error ? err.stack : undefined });
        progress.end(inst.id, 'failed', seconds,
          withoutId(inst.id, message.split('\n')[0]));
      }
    } finally {
      settle(inst.id);
    }
  };

  const settleInstance = async (inst: Instance) => {
    // A failed input enters the key as its error: once it succeeds, the
    // key changes, so a result made without it is not reused.
    const lostInputs = failedInputs(inst);
    const known = lostInputs.length === 0 ? digests : new Map([...digests,
      ...lostInputs.map((f) =>
        [f.id, `failed:${sha256(f.error ?? 'skipped')}`] as const)]);
    const parts = keyParts(inst, registry, known,
      await fileParts(inst, hashes), p);
    if (!parts) throw new Error(`internal: inputs of ${inst.id} not ready`);
    const key = keyOf(parts);
    const lockFile = cache.locks(`${key}.lock`);
    const cached = (artifact: Artifact) =>
      ({ ran: false, reason: 'cached', done: { artifact, key, parts } });
    for (;;) {
      const hit = forced.has(inst.id) ? {} : await cache.lookup(key);
      if (hit.artifact) return cached(hit.artifact);
      if (tryLock(lockFile, `${p.name} ${inst.id}`)) break;
      // Another live run computes the same key: wait for its result.
      if (abort.signal.aborted) throw new Error('cancelled');
      await sleep(200);
    }
    try {
      // Look again with the lock held: the run we waited for may have
      // published between our last look and our lock. Only now is a bad
      // entry really bad, not one that another run is publishing.
      const hit = forced.has(inst.id) ? {} : await cache.lookup(key);
      if (hit.artifact) return cached(hit.artifact);
      if (hit.problem) {
        log.warn(`${inst.id}: cached output is corrupt (${hit.problem}); ` +
          'recomputing it');
        cache.remove(key);
      }
      // Upstream instances that ran here had no key yet when `plan` looked:
      // naming them keeps the two reasons one.
      const recomputed = inst.inputs.flatMap((i) => i.from)
        .filter((f) => ranHere.has(f));
      const reason = forced.has(inst.id) ? 'forced'
        : whyRun(parts, previous?.instances[inst.id], recomputed);
      const artifact = await compute(inst, key, parts);
      return { ran: true, reason, done: { artifact, key, parts } };
    } finally {
      unlock(lockFile);
    }
  };

  const compute = async (inst: Instance, key: string, parts: KeyParts) => {
    const entry = registry.get(inst.kind)!;
    const tmp = cache.begin(key);
    const warnings: string[] = [];
    const records: Record<string, unknown> = {};
    const started = new Date();
    const inputs: StageContext['inputs'] = {};
    for (const input of inst.inputs) {
      const arts = input.from.filter((f) => done.has(f))
        .map((f) => done.get(f)!.artifact);
      if (arts.length === 0 && !input.many) continue;
      inputs[input.role] = input.many ? arts : arts[0];
    }
    const files: Record<string, string> = {};
    for (const f of inst.files) files[f.role] ??= f.path;
    // This instance's own view of the pool, so that when one of its tasks
    // fails, the others are waited for before its folder is removed.
    const tasks = new Set<Promise<unknown>>();
    const ownPool: typeof pool = {
      threads: pool.threads,
      run<T>(module: string, fn: string, args: unknown,
        transfer?: ArrayBufferLike[]) {
        const job = pool.run<T>(module, fn, args, transfer);
        tasks.add(job.catch(() => undefined));
        return job;
      },
      close: async () => {},
    };
    try {
      const result = await entry.def.run({
        id: inst.id, kind: inst.kind, params: inst.params, coords: inst.coords,
        pipeline: p, inputs, files, out: tmp, pool: ownPool,
        progress: (d, t) => progress.update(inst.id, d, t),
        log,
        warn: (m) => {
          warnings.push(m);
          log.warn(m.startsWith(inst.id) ? m : `${inst.id}: ${m}`);
        },
        record: (k, v) => { records[k] = v; },
        signal: abort.signal,
        engine: options.engine,
        backend: options.backend,
        failedInputs: lenient(inst) ? failedInputs(inst) : undefined,
      });
      if (abort.signal.aborted) throw new Error('cancelled');
      return await cache.commit(tmp, result.summary, {
        id: inst.id, kind: inst.kind, key, version: parts.version,
        params: inst.params, inputs: parts.inputs, records, warnings,
        started: started.toISOString(),
        seconds: (Date.now() - started.getTime()) / 1000,
        publish: result.publish ?? [],
      });
    } catch (err) {
      await Promise.allSettled([...tasks]);
      cache.discard(tmp);
      throw err;
    }
  };

  try {
    for (;;) {
      // Once cancelled, start nothing; what waits is simply not run.
      for (const id of abort.signal.aborted ? [] : g.order) {
        if (state.get(id) !== 'waiting') continue;
        const inst = g.instances.get(id)!;
        if (blocked(inst)) {
          settle(id);
          outcome.skipped.push(id);
          record.add({ event: 'skipped', id, reason: 'an input failed' });
          progress.end(id, 'skipped', 0, 'an input failed');
          continue;
        }
        if (running.size >= limit || !ready(inst)) continue;
        state.set(id, 'running');
        const job = startOne(inst).finally(() => running.delete(job));
        running.add(job);
      }
      if (running.size === 0) break;
      await Promise.race(running);
    }
  } finally {
    await Promise.allSettled(running);
    await pool.close();
    options.signal?.removeEventListener('abort', onAbort);
    progress.finish();
  }

  const unstarted = [...state].filter(([, s]) => s === 'waiting')
    .map(([id]) => id);
  outcome.notStarted = unstarted.length;
  if (abort.signal.aborted && unstarted.length) {
    record.add({ event: 'not-started', ids: unstarted });
  }
  // An interrupt that stopped nothing and left nothing unstarted came too
  // late to matter: the run is complete, and says so.
  const cut = outcome.interrupted.length + outcome.notStarted > 0;
  outcome.cancelled = abort.signal.aborted && cut;
  outcome.lateInterrupt = abort.signal.aborted && !cut;
  outcome.seconds = (Date.now() - t0) / 1000;
  writeRoot(cache, latestRoot(p, g, previous, done));
  record.add({ event: 'finish', seconds: outcome.seconds,
    ran: outcome.ran.length, cached: outcome.cached.length,
    failed: outcome.failed.length, cancelled: outcome.cancelled });
  return outcome;
}

/**
 * What this run used, for gc and for naming why an instance reruns: the
 * key of every instance it settled. An instance of the pipeline that it
 * did not settle (not selected, failed, interrupted) keeps the key of the
 * run before, so that a partial run frees nothing the pipeline still
 * has; an instance no longer in the pipeline is dropped, so gc frees it.
 */
function latestRoot(p: ResolvedPipeline, g: Graph,
  previous: RootRecord | undefined, done: Map<string, Done>): RootRecord {
  const instances: RootRecord['instances'] = {};
  for (const id of g.order) {
    const d = done.get(id);
    const before = previous?.instances[id];
    if (d) instances[id] = { key: d.key, parts: d.parts };
    else if (before) instances[id] = before;
  }
  return { pipeline: p.name, file: p.file, updated: new Date().toISOString(),
    instances };
}

export { decideAll, publish, type Decision, type Graph };
