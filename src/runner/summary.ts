/**
 * The line a run ends with, and its exit status: 0 when complete, 1 when
 * a stage failed, 130 when interrupted with work stopped or not started.
 */
import { relative } from 'node:path';
import type { RunOutcome } from './run.js';

export function runSummary(r: RunOutcome, cwd = process.cwd()): string {
  const stopped = r.cancelled ? `, interrupted: ${r.interrupted.length} ` +
    `stopped and ${r.notStarted} not started (run again to resume)` : '';
  // Nothing was left to stop: say so rather than leave the user to wonder
  // whether to run again.
  const late = r.lateInterrupt
    ? '; completed (the interrupt came too late to stop anything)' : '';
  return `${r.ran.length} ran, ${r.cached.length} cached, ` +
    `${r.failed.length} failed, ${r.skipped.length} skipped${stopped} ` +
    `in ${r.seconds.toFixed(1)}s${late}; record: ${relative(cwd, r.record)}`;
}

export function runExitCode(r: RunOutcome): number {
  if (r.cancelled) return 130;
  return r.failed.length ? 1 : 0;
}

/** A stage's error without the `<id>: ` most of them begin with. */
export function withoutId(id: string, error: string): string {
  return error.startsWith(`${id}: `) ? error.slice(id.length + 2) : error;
}
