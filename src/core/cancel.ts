/**
 * Cooperative cancellation of pool tasks. A worker thread is never
 * terminated under a running task: onnxruntime (like any native addon)
 * aborts the whole process when its thread is torn down in the middle of
 * a call. Instead the pool raises a flag shared with every worker, and
 * the long loops of the kernels (a batch, a chunk, a training step) check
 * it and throw, so a task stops within one step of Ctrl-C.
 */
import { workerData as threadData } from 'node:worker_threads';

/** The shape of the data each pool thread is started with. */
export interface PoolThreadData {
  cancel: SharedArrayBuffer;
}

/** A new flag, lowered; `raise` sets it for every thread that holds it. */
export function cancelFlag(): { buffer: SharedArrayBuffer; raise(): void } {
  const buffer = new SharedArrayBuffer(4);
  const view = new Int32Array(buffer);
  return { buffer, raise: () => Atomics.store(view, 0, 1) };
}

// A pool thread gets the flag as its workerData; the main thread (and
// the inline pool's kernels) has none and is never cancelled here.
const data = threadData as Partial<PoolThreadData> | null | undefined;
const flag = data?.cancel instanceof SharedArrayBuffer
  ? new Int32Array(data.cancel) : undefined;

/** True once the run that owns this pool thread was interrupted. */
export function cancelled(): boolean {
  return flag !== undefined && Atomics.load(flag, 0) === 1;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** Call between the steps of a long kernel. */
export function throwIfCancelled(): void {
  if (cancelled()) throw new CancelledError();
}
