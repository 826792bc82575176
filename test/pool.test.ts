import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createPool } from '../src/runner/pool.js';
import { tempDir } from './helpers.js';

const kernels = new URL('./fixtures/kernels.js', import.meta.url).href;

async function until(path: string): Promise<void> {
  for (let i = 0; i < 200 && !existsSync(path); i++) await sleep(25);
  assert.ok(existsSync(path), `${path} never appeared`);
}

test('an interrupt stops a running task between its steps, ' +
  'without terminating its thread', async () => {
  const dir = tempDir();
  const abort = new AbortController();
  const pool = createPool({ threads: 1, signal: abort.signal });
  const args = { steps: 400, stepMs: 25, started: join(dir, 'a.started'),
    finished: join(dir, 'a.finished') };
  const queued = { ...args, started: join(dir, 'b.started'),
    finished: join(dir, 'b.finished') };

  const running = pool.run(kernels, 'stepUntilCancelled', args);
  const waiting = pool.run(kernels, 'stepUntilCancelled', queued);
  await until(args.started);
  const t0 = Date.now();
  abort.abort();

  await assert.rejects(running, /cancelled/);
  assert.ok(Date.now() - t0 < 2000, 'the task stopped within a few steps');
  // A terminated thread would never have run the task's finally block.
  assert.ok(existsSync(args.finished));
  await assert.rejects(waiting, /cancelled/);
  assert.equal(existsSync(queued.started), false,
    'a task queued at the interrupt never starts');
  await pool.close();
});

test('without an interrupt the same task runs to its end', async () => {
  const dir = tempDir();
  const pool = createPool({ threads: 1, signal: new AbortController().signal });
  const steps = await pool.run(kernels, 'stepUntilCancelled', { steps: 3,
    stepMs: 1, started: join(dir, 's'), finished: join(dir, 'f') });
  assert.equal(steps, 3);
  await pool.close();
});
