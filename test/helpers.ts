/**
 * Shared test helpers: where the repository and the reference fixtures
 * are, temporary folders that go away with the test process, and a way to
 * run one stage instance without the runner.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/core/log.js';
import { readNpy, type NdArray } from '../src/core/npy.js';
import { inlinePool } from '../src/runner/pool.js';
import type { Artifact, Coords, Pool, ResolvedPipeline, StageDef,
  StageResult } from '../src/stages/types.js';

/** The repository root (tests run from dist/test/). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The reference answers computed with NumPy, SciPy and scikit-learn
 * (test/reference/; see its README).
 */
export const fixturesDir = join(repoRoot, 'test', 'reference');

export function fixture(...parts: string[]): string {
  return join(fixturesDir, ...parts);
}

export function fixtureJson(...parts: string[]): any {
  return JSON.parse(readFileSync(fixture(...parts), 'utf8'));
}

export function fixtureNpy(...parts: string[]): NdArray {
  return readNpy(fixture(...parts));
}

/** Temporary folders not yet removed, removed when the process exits. */
const leftover = new Set<string>();
let removeOnExit = false;

/**
 * A fresh temporary folder. A test may remove it early with removeDir;
 * whatever is left is removed when the test process exits, so a test can
 * still read a stage's output folder after the stage returns.
 */
export function tempDir(prefix = 'convergent-test-'): string {
  if (!removeOnExit) {
    // 'exit' handlers must be synchronous: rmSync is.
    process.once('exit', removeLeftovers);
    removeOnExit = true;
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  leftover.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  leftover.delete(dir);
}

function removeLeftovers(): void {
  for (const dir of leftover) removeDir(dir);
}

/** An Artifact view of a directory holding a finished instance. */
export function artifact(dir: string, summary: Record<string, any>,
  id = 'test'): Artifact {
  return { id, dir, summary, file: (name) => join(dir, name) };
}

export function testPipeline(
  over: Partial<ResolvedPipeline> = {}): ResolvedPipeline {
  const root = over.root ?? tempDir();
  return {
    name: 'test', file: join(root, 'test.yaml'), root,
    outputs: join(root, 'outputs', 'test'),
    cache: join(root, 'outputs', '.cache'),
    networks: {}, data: { source: 'none', split: 'test', images: 0 },
    layers: [], pairs: [], stages: {},
    ...over,
  };
}

export interface StageRun {
  result: StageResult;
  out: string;
  warnings: string[];
  records: Record<string, unknown>;
}

/**
 * Run one instance of `def` on the calling thread, into a fresh folder
 * (`out`, removed when the test process exits, or earlier by removeDir).
 */
export async function runStage(def: StageDef, options: {
  params?: Record<string, any>;
  coords?: Coords;
  inputs?: Record<string, Artifact | Artifact[]>;
  files?: Record<string, string>;
  pipeline?: ResolvedPipeline;
  pool?: Pool;
}): Promise<StageRun> {
  const out = tempDir('convergent-stage-');
  const warnings: string[] = [];
  const records: Record<string, unknown> = {};
  const result = await def.run({
    id: `${def.kind}@test`,
    kind: def.kind,
    params: { ...def.defaults, ...(options.params ?? {}) },
    coords: options.coords ?? {},
    pipeline: options.pipeline ?? testPipeline(),
    inputs: options.inputs ?? {},
    files: options.files ?? {},
    out,
    pool: options.pool ?? inlinePool(),
    progress: () => {},
    log: createLogger('silent'),
    warn: (m) => warnings.push(m),
    record: (k, v) => { records[k] = v; },
    signal: new AbortController().signal,
  });
  return { result, out, warnings, records };
}
