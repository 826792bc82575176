/**
 * The worker-thread pool that CPU-heavy kernels run on, so that the main
 * thread stays free for scheduling, progress and cancellation.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Pool } from '../stages/types.js';
import { cancelFlag, type PoolThreadData } from '../core/cancel.js';
import type { Task } from './worker.js';

export interface PoolOptions {
  /** Worker threads; defaults to the machine's cores. */
  threads?: number;
  signal?: AbortSignal;
}

export interface ClosablePool extends Pool {
  close(): Promise<void>;
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

export function createPool(options: PoolOptions = {}): ClosablePool {
  const threads = options.threads ?? defaultThreads();
  // Started on the first task: a run whose instances are all cached
  // should not pay for starting (and stopping) worker threads.
  let piscina: Piscina | undefined;
  const inFlight = new Set<Promise<unknown>>();

  // Cancelling never terminates a thread under its task (see cancel.ts):
  // the signal raises the shared flag and the kernels stop themselves.
  const flag = cancelFlag();
  if (options.signal?.aborted) flag.raise();
  options.signal?.addEventListener('abort', flag.raise, { once: true });
  const workerData: PoolThreadData = { cancel: flag.buffer };
  const start = () => new Piscina({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // A kernel holds its thread for seconds; queue the rest.
    concurrentTasksPerWorker: 1,
    idleTimeout: 60_000,
    // tfjs-wasm and onnxruntime keep their own heaps; let them grow.
    resourceLimits: { maxOldGenerationSizeMb: 4096 },
    workerData,
  });
  return {
    threads,
    run<T>(module: string, fn: string, args: unknown,
      transfer?: ArrayBufferLike[]): Promise<T> {
      piscina ??= start();
      const task: Task = { module, fn, args };
      const job = piscina.run(task, {
        transferList: transfer as ArrayBuffer[] | undefined,
      }) as Promise<T>;
      inFlight.add(job);
      const forget = () => inFlight.delete(job);
      job.then(forget, forget);
      return job;
    },
    async close() {
      // A stage that failed on one task may leave siblings running;
      // destroying the pool under them makes piscina throw from a worker
      // message that no one awaits. Let them settle first.
      await Promise.allSettled([...inFlight]);
      await piscina?.destroy();
    },
  };
}

/**
 * A pool that runs tasks on the calling thread: for tests and for
 * `--jobs 0`, where a debugger should see every frame.
 */
export function inlinePool(): ClosablePool {
  return {
    threads: 1,
    async run<T>(module: string, fn: string, args: unknown): Promise<T> {
      const mod = await import(module) as Record<string, unknown>;
      const f = mod[fn];
      if (typeof f !== 'function') {
        throw new TypeError(`${module} has no exported function '${fn}'`);
      }
      return await (f as (a: unknown) => T)(args);
    },
    async close() {},
  };
}
