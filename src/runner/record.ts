/**
 * The record each run writes: one JSON line per event with its time, in
 * outputs/<pipeline>/runs/, so that a run can be audited afterwards.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface RunEvent {
  event: 'start' | 'cached' | 'ran' | 'failed' | 'skipped' | 'cancelled' |
    'not-started' | 'finish';
  id?: string;
  key?: string;
  seconds?: number;
  reason?: string;
  error?: string;
  [more: string]: unknown;
}

export class RunRecord {
  readonly file: string;
  private readonly t0 = Date.now();

  constructor(outputs: string) {
    const dir = join(outputs, 'runs');
    mkdirSync(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    this.file = join(dir, `${stamp}-${process.pid}.jsonl`);
  }

  add(event: RunEvent): void {
    const line = { t: new Date().toISOString(),
      elapsed: (Date.now() - this.t0) / 1000, ...event };
    appendFileSync(this.file, JSON.stringify(line) + '\n');
  }
}
