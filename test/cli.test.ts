/**
 * The runner as a user meets it: the `convergent` command in its own
 * process, killed with SIGKILL, run twice at once, and its exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync }
  from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { basePipeline, cliSpawn, cliSync, project }
  from './runner-helpers.js';
import { failureLine } from '../src/commands.js';
import { removeDir, repoRoot } from './helpers.js';

const slow = basePipeline.replace('combine: { offset: 0 }',
  'combine: { offset: 0, delayMs: 1500 }');

function rootKeys(dir: string) {
  const roots = join(dir, 'outputs', '.cache', 'roots');
  const [file] = readdirSync(roots).filter((f) => f.startsWith('demo-'));
  const root = JSON.parse(readFileSync(join(roots, file), 'utf8'));
  return Object.fromEntries(Object.entries(root.instances)
    .map(([id, v]) => [id, (v as { key: string }).key]));
}

test('4. a runner killed with SIGKILL mid-write resumes without cleanup',
  async () => {
    const { dir, file } = project(slow);
    const child = cliSpawn(['run', file, '--jobs', '2'], dir);
    const tmp = join(dir, 'outputs', '.cache', 'tmp');
    // Wait until a combine instance is writing into its private folder.
    for (let i = 0; i < 200; i++) {
      await sleep(50);
      if (existsSync(tmp) && readdirSync(tmp).some((d) =>
        existsSync(join(tmp, d, 'values.json')))) break;
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.ok(readdirSync(tmp).length > 0, 'the kill left a half-written folder');
    const locks = readdirSync(join(dir, 'outputs', '.cache', 'locks'));
    assert.ok(locks.length > 0, 'the kill left locks of a dead process');

    const again = cliSync(['run', file], dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /13 ran|\d+ ran, \d+ cached, 0 failed/);
    assert.deepEqual(readdirSync(tmp), []);
    const clean = project(slow);
    assert.equal(cliSync(['run', clean.file], clean.dir).code, 0);
    assert.deepEqual(rootKeys(dir), rootKeys(clean.dir));
    removeDir(dir);
    removeDir(clean.dir);
  });

test('5. two runs at once on one cache both finish with one result',
  async () => {
    const { dir, file } = project(slow);
    const a = cliSpawn(['run', file, '--jobs', '1'], dir);
    const b = cliSpawn(['run', file, '--jobs', '1'], dir);
    let errs = '';
    b.stderr.on('data', (d) => (errs += d));
    const [[codeA], [codeB]] = await Promise.all([once(a, 'exit'), once(b, 'exit')]);
    assert.equal(codeA, 0);
    assert.equal(codeB, 0, errs);
    const verify = cliSync(['verify', file], dir);
    assert.equal(verify.code, 0);
    assert.match(verify.stdout, /13 entries verified, 0 corrupt/);
    const again = cliSync(['run', file], dir);
    assert.match(again.stdout, /^0 ran, 13 cached/m);
    removeDir(dir);
  });

test('exit codes: 0 on success, 1 when a stage failed, 2 on bad input',
  async () => {
    const { dir, file } = project();
    const bad = cliSync(['run', file, '--set', 'stages.combine.offset=oops'], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /stages\.combine\.offset.*got "oops", expected number/);
    assert.equal(cliSync(['run', join(dir, 'none.yaml')], dir).code, 2);
    assert.equal(cliSync(['frobnicate'], dir).code, 2);
    const failed = cliSync(['run', file], dir,
      { CONVERGENT_TEST_FAIL: 'combine@n1-n22' });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /failed combine@n1-n22: combine@n1-n22 failed on purpose/);
    assert.equal(cliSync(['run', file], dir).code, 0);
    removeDir(dir);
  });

test('plan, status, dag, gc and clean speak plainly', async () => {
  const { dir, file } = project();
  const plan = cliSync(['plan', file], dir);
  assert.equal(plan.code, 0);
  assert.match(plan.stdout, /^run {5}source@n1 {2}not computed yet$/m);
  assert.match(plan.stdout, /^13 to run, 0 cached$/m);
  cliSync(['run', file], dir);
  const changed = cliSync(['plan', file, '--set', 'stages.scale.factors=[1, 3]'], dir);
  assert.match(changed.stdout, /^run {5}scale@n1-n22\/factor=3 {2}not computed yet$/m);
  assert.match(changed.stdout,
    /^run {5}total {2}input will be recomputed \(scale@n1-n22\/factor=3, /m);
  assert.match(changed.stdout, /^4 to run, 9 cached$/m);
  assert.match(cliSync(['status', file], dir).stdout, /up to date/);
  const dot = cliSync(['dag', file, '--format', 'dot'], dir).stdout;
  assert.match(dot, /"combine@n1-n22" -> "scale@n1-n22\/factor=2";/);
  const mermaid = cliSync(['dag', file], dir).stdout;
  assert.match(mermaid, /^flowchart LR$/m);
  const json = JSON.parse(cliSync(['dag', file, '-f', 'json'], dir).stdout);
  assert.equal(json.nodes.length, 13);
  cliSync(['run', file, '--set', 'stages.source.scale=2'], dir);
  const gc = cliSync(['gc', file], dir);
  assert.match(gc.stdout, /^removed 13 entries \(0.0 MB\); kept 13$/m);
  assert.equal(cliSync(['clean', file], dir).code, 0);
  assert.equal(existsSync(join(dir, 'outputs', 'demo')), false);
  removeDir(dir);
});

// Off a terminal, as a user's batch job sees it (not the test runner's
// quiet default).
const offTerminal = { NODE_TEST_CONTEXT: '' };

test('-v adds detail off a terminal, before or after the command', () => {
  const { dir, file } = project();
  const first = cliSync(['-v', 'run', file], dir, offTerminal);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /^debug: run: cache .*worker threads/m);
  assert.match(first.stderr,
    /^debug: ran source@n1 \(key [0-9a-f]{12}; not computed yet\)$/m);
  const cached = cliSync(['run', file, '-v'], dir, offTerminal);
  assert.match(cached.stderr, /^debug: cached combine@n1-n22 \(key [0-9a-f]{12}, /m);
  const forced = cliSync(['run', file, '--force', '--verbose'], dir, offTerminal);
  assert.match(forced.stderr, /^debug: ran total \(key [0-9a-f]{12}; forced\)$/m);
  const plain = cliSync(['run', file, '--force'], dir, offTerminal);
  assert.doesNotMatch(plain.stderr, /debug:/);
  const quiet = cliSync(['run', file, '--force', '-q'], dir, offTerminal);
  assert.equal(quiet.stderr, '');
  assert.match(quiet.stdout, /^13 ran, 0 cached/m);
  removeDir(dir);
});

test('plan takes the options of run and plans what run does', () => {
  const { dir, file } = project();
  const bare = cliSync(['plan', file], dir);
  const asRun = cliSync(['plan', file, '--engine', 'js', '--backend', 'cpu',
    '--jobs', '1', '--cache', join(dir, 'outputs', '.cache')], dir);
  assert.equal(asRun.code, 0, asRun.stderr);
  assert.equal(asRun.stdout, bare.stdout);
  cliSync(['run', file, '--engine', 'js', '--backend', 'cpu'], dir);
  assert.match(cliSync(['plan', file], dir).stdout, /^0 to run, 13 cached$/m);
  assert.equal(cliSync(['plan', file, '--engine', 'nosuch'], dir).code, 2);
  removeDir(dir);
});

test('clean says when there was nothing to remove', () => {
  const { dir, file } = project();
  cliSync(['run', file], dir);
  assert.match(cliSync(['clean', file], dir).stdout, /^removed outputs\/demo; /);
  const again = cliSync(['clean', file], dir);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /^nothing to remove: outputs\/demo does not exist/);
  removeDir(dir);
});

test('validate counts the instances, lists them with --list', () => {
  const { dir, file } = project();
  assert.match(cliSync(['validate', '--help'], dir).stdout,
    /count its instances/);
  const listed = cliSync(['validate', file, '--list'], dir);
  assert.equal(listed.stdout.trim().split('\n').length, 1 + 13);
  assert.match(listed.stdout, /^combine@n1-n22$/m);
  removeDir(dir);
});

test('validate and its errors name the file as it was typed', () => {
  const { dir } = project();
  const sub = join(dir, 'pipelines');
  const ok = cliSync(['validate', '../pipeline.yaml'], sub);
  assert.match(ok.stdout, /^\.\.\/pipeline\.yaml: valid; 13 instances/);
  writeFileSync(join(dir, 'bad.yaml'), basePipeline.replace('pairs:', 'pair:'));
  const bad = cliSync(['validate', '../bad.yaml'], sub);
  assert.match(bad.stderr, /^convergent: \.\.\/bad\.yaml:7:1 \(pair\): unknown key/);
  removeDir(dir);
});

test('a failure names its instance once', () => {
  assert.equal(failureLine('normalize@a-c/l1', 'normalize@a-c/l1: 3 rows'),
    'failed normalize@a-c/l1: 3 rows');
  assert.equal(failureLine('combine@n1-n22', 'combine@n1-n22 failed on purpose'),
    'failed combine@n1-n22: combine@n1-n22 failed on purpose');
});

test('table suggests a name only when one is near', () => {
  const nosuch = cliSync(['table', 'pipelines/mnist.yaml', 'nosuch'], repoRoot);
  assert.equal(nosuch.code, 2);
  assert.match(nosuch.stderr, /has no table 'nosuch'; its tables: networks, /);
  assert.doesNotMatch(nosuch.stderr, /did you mean/i);
  const near = cliSync(['table', 'pipelines/mnist.yaml', 'matc'], repoRoot);
  assert.match(near.stderr,
    /Did you mean 'matching-correlation' or 'matching-mi'\?$/m);
});
