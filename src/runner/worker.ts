/**
 * The body of every pool thread: import the kernel module a task names
 * and call the named export. Modules stay loaded, so a worker that
 * initialized a tfjs backend or an onnxruntime session keeps it.
 */
import { Piscina } from 'piscina';
import { throwIfCancelled } from '../core/cancel.js';

export interface Task {
  module: string;
  fn: string;
  args: unknown;
}

const modules = new Map<string, Promise<Record<string, unknown>>>();

export default async function runTask(task: Task): Promise<unknown> {
  // A task still queued when the run was interrupted never starts.
  throwIfCancelled();

  let loading = modules.get(task.module);
  if (!loading) {
    loading = import(task.module) as Promise<Record<string, unknown>>;
    modules.set(task.module, loading);
  }
  const mod = await loading;
  const fn = mod[task.fn];
  if (typeof fn !== 'function') {
    throw new TypeError(`${task.module} has no exported function '${task.fn}'`);
  }
  const result = await (fn as (a: unknown) => unknown)(task.args);
  return moveBuffers(result);
}

/** Hand typed arrays back without copying them. */
function moveBuffers(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Piscina.move(value as Float64Array);
  }
  return value;
}
