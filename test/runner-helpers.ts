/**
 * A scratch project for runner tests: a pipeline of the test stages in a
 * temporary folder, and ways to run it in-process or through the CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../src/core/log.js';
import { loadPipeline } from '../src/pipeline/resolve.js';
import { plainProgress } from '../src/runner/progress.js';
import { runPipeline, type RunOptions } from '../src/runner/run.js';
import { registry, type Registry } from '../src/stages/registry.js';
import { stages } from './fixtures/stages.js';
import { repoRoot, tempDir } from './helpers.js';

export const testRegistry: Registry = registry(stages);

export const basePipeline = `version: 1
name: demo
networks:
  n1: { activations: acts.npy }
  n22: { activations: acts.npy }
  n333: { activations: acts.npy }
pairs: all
stages:
  source: { count: 4, scale: 1 }
  combine: { offset: 0 }
  scale: { factors: [1, 2] }
  total: {}
`;

export function project(yaml = basePipeline): { dir: string; file: string } {
  const dir = tempDir('convergent-runner-');
  mkdirSync(join(dir, 'pipelines'));
  writeFileSync(join(dir, 'acts.npy'), '');
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  return { dir, file };
}

export function write(file: string, yaml: string) {
  writeFileSync(file, yaml);
}

export async function runIn(file: string, options: RunOptions & {
  sets?: string[]; reg?: Registry } = {}) {
  const reg = options.reg ?? testRegistry;
  const { pipeline } = loadPipeline(file, reg, { sets: options.sets });
  return runPipeline(pipeline, reg, { jobs: 1, log: createLogger('silent'),
    progress: plainProgress(() => {}), ...options });
}

const cli = join(repoRoot, 'dist', 'src', 'cli.js');
const plugin = join(repoRoot, 'dist', 'test', 'fixtures', 'stages.js');

export function cliEnv(extra: Record<string, string> = {}) {
  return { ...process.env, CONVERGENT_STAGES: plugin,
    ...extra };
}

/** Run the CLI to completion. */
export function cliSync(args: string[], cwd: string,
  env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd,
    env: cliEnv(env), encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start the CLI in the background. */
export function cliSpawn(args: string[], cwd: string,
  env: Record<string, string> = {}) {
  return spawn(process.execPath, [cli, ...args], { cwd, env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'] });
}
