/**
 * Publishing out of the cache (the report into outputs/<pipeline>/) when
 * two runs publish to one place at once: the folder ends as one complete
 * copy, and neither run trips over the other's files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync }
  from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../src/core/log.js';
import { listFiles } from '../src/runner/cache.js';
import { publish } from '../src/runner/run.js';
import type { Artifact, ResolvedPipeline } from '../src/stages/types.js';
import { repoRoot, tempDir, removeDir } from './helpers.js';

/** A cache entry like the report's: a page, tables, many figures. */
function reportEntry(root: string, name: string, figures: number) {
  const dir = join(root, name);
  mkdirSync(join(dir, 'tables'), { recursive: true });
  mkdirSync(join(dir, 'figures', 'n1-n2'), { recursive: true });
  writeFileSync(join(dir, 'report.html'), `<html>${name}</html>`);
  writeFileSync(join(dir, 'tables', 'matching.csv'), `a,b\n${name}\n`);
  for (let i = 0; i < figures; i++) {
    writeFileSync(join(dir, 'figures', 'n1-n2', `curves-${i}.svg`),
      `<svg>${name} ${i}</svg>`);
  }
  writeFileSync(join(dir, 'manifest.json'), '{}');
  return dir;
}

function setup() {
  const root = tempDir('convergent-publish-');
  const pipeline = { name: 'demo', root, cache: join(root, 'outputs', '.cache'),
    outputs: join(root, 'outputs', 'demo') } as ResolvedPipeline;
  const artifact = (dir: string): Artifact => ({ id: 'report', dir,
    summary: {}, file: (f) => join(dir, f), manifest: {
      publish: [{ from: '.', to: 'outputs/demo' }] } as Artifact['manifest'] });
  return { root, pipeline, artifact };
}

const script = `
  const [runJs, pipeline, dir, rounds] = process.argv.slice(1);
  const { publish } = await import(runJs);
  const warn = (m) => process.stderr.write('warning: ' + m + '\\n');
  const log = { level: 'warn', debug() {}, info() {}, warn, error: warn,
    warnOnce: (_k, m) => warn(m) };
  const artifact = { id: 'report', dir, summary: {}, manifest: {
    publish: [{ from: '.', to: 'outputs/demo' }] } };
  for (let i = 0; i < Number(rounds); i++) {
    await publish(JSON.parse(pipeline), artifact, log);
  }
`;

/** Publish the entry `rounds` times from a process of its own. */
function publisher(pipeline: ResolvedPipeline, dir: string, rounds: number) {
  const runJs = new URL('../src/runner/run.js', import.meta.url).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script,
    runJs, JSON.stringify(pipeline), dir, String(rounds)],
  { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return once(child, 'exit').then(([code]) => ({ code, stderr }));
}

test('two runs publishing the report at once leave one complete copy',
  async () => {
    const { root, pipeline } = setup();
    // Small and often: copies of two runs overlap file by file.
    const entry = reportEntry(root, 'entry', 10);
    mkdirSync(join(pipeline.outputs, 'runs'), { recursive: true });
    writeFileSync(join(pipeline.outputs, 'runs', 'a.jsonl'), '{}\n');
    const runs = await Promise.all([1, 2, 3].map(() =>
      publisher(pipeline, entry, 40)));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal(runs.map((r) => r.stderr).join(''), '');
    const published = listFiles(pipeline.outputs);
    assert.deepEqual(published.filter((f) => !f.startsWith('runs/')),
      listFiles(entry));
    for (const f of listFiles(entry)) {
      assert.equal(readFileSync(join(pipeline.outputs, f), 'utf8'),
        readFileSync(join(entry, f), 'utf8'));
    }
    // The run records beside the report are not the report's to replace.
    assert.ok(published.includes('runs/a.jsonl'));
    removeDir(root);
  });

test('a new report replaces the old one whole; leftovers of a killed ' +
  'publisher go', async () => {
    const { root, pipeline, artifact } = setup();
    const log = createLogger('silent');
    await publish(pipeline, artifact(reportEntry(root, 'old', 5)), log);
    const leftover = join(pipeline.outputs, '.figures.12345.0123abcd.new');
    mkdirSync(leftover);
    await publish(pipeline, artifact(reportEntry(root, 'new', 2)), log);
    assert.deepEqual(readdirSync(join(pipeline.outputs, 'figures', 'n1-n2')),
      ['curves-0.svg', 'curves-1.svg']);
    assert.match(readFileSync(join(pipeline.outputs, 'report.html'), 'utf8'),
      /new/);
    assert.equal(existsSync(leftover), false);
    assert.equal(existsSync(join(pipeline.outputs, 'manifest.json')), false);
    removeDir(root);
  });
