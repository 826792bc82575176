/**
 * An interrupt that comes when every instance has settled or is about to:
 * nothing stopped and nothing left unstarted means the run completed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainProgress } from '../src/runner/progress.js';
import { runExitCode, runSummary } from '../src/runner/summary.js';
import { project, runIn } from './runner-helpers.js';
import { removeDir } from './helpers.js';

/** A run of the test project interrupted as soon as `id` has ended. */
async function interruptAfter(id: string) {
  const { dir, file } = project();
  const controller = new AbortController();
  const progress = plainProgress(() => {});
  const end = progress.end;
  progress.end = (ended, outcome, seconds, note) => {
    if (ended === id) controller.abort();
    end(ended, outcome, seconds, note);
  };
  const r = await runIn(file, { signal: controller.signal, progress });
  return { dir, r };
}

test('Ctrl-C during the last instance, too late to stop it: the run ' +
  'completed and exits 0', async () => {
  // The last instance is in the cache; the interrupt comes now.
  const { dir, r } = await interruptAfter('total');
  assert.equal(r.ran.length, 13);
  assert.deepEqual(r.interrupted, []);
  assert.equal(r.notStarted, 0);
  assert.equal(r.cancelled, false);
  assert.equal(r.lateInterrupt, true);
  const line = runSummary(r, dir);
  assert.match(line, /^13 ran, 0 cached, 0 failed, 0 skipped in [\d.]+s; /);
  assert.match(line, /; completed \(the interrupt came too late to stop anything\);/);
  assert.doesNotMatch(line, /interrupted:/);
  assert.equal(runExitCode(r), 0);
  removeDir(dir);
});

test('Ctrl-C that leaves work undone still says so and exits 130',
  async () => {
    const { dir, r } = await interruptAfter('source@n1');
    assert.equal(r.cancelled, true);
    assert.equal(r.lateInterrupt, false);
    assert.ok(r.notStarted > 0);
    assert.match(runSummary(r, dir), new RegExp(`, interrupted: ` +
      `${r.interrupted.length} stopped and ${r.notStarted} not started ` +
      '\\(run again to resume\\) in'));
    assert.equal(runExitCode(r), 130);
    removeDir(dir);
  });
