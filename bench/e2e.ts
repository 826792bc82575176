/**
 * The main job end to end: the MNIST pipeline from a cold cache, then
 * again with nothing changed, each timed, with the peak memory of the
 * process (worker threads included) and the machine.
 *
 *   node dist/bench/e2e.js [pipeline] [--until stage]
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/core/log.js';
import { loadPipeline } from '../src/pipeline/resolve.js';
import { plainProgress } from '../src/runner/progress.js';
import { runPipeline } from '../src/runner/run.js';
import { builtinRegistry } from '../src/stages/index.js';
import { machineLine } from './machine.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const untilAt = args.indexOf('--until');
const until = untilAt >= 0 ? [args[untilAt + 1]] : undefined;
const file = resolve(args.find((a, i) => !a.startsWith('--') &&
  i !== untilAt + 1) ?? join(repo, 'pipelines', 'mnist.yaml'));

const registry = await builtinRegistry();
const cache = join(repo, 'outputs', '.bench-cache');
rmSync(cache, { recursive: true, force: true });
const { pipeline } = loadPipeline(file, registry, { cache });
const log = createLogger('warn');
console.log(machineLine());

for (const label of ['cold', 'warm']) {
  const t = process.hrtime.bigint();
  const r = await runPipeline(pipeline, registry, { until, log,
    progress: plainProgress(() => {}) });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(`${label} run of ${pipeline.name}${until ? ` until ${until}` : ''}: ` +
    `${s.toFixed(1)} s, ${r.ran.length} ran, ${r.cached.length} cached, ` +
    `${r.failed.length} failed`);
  for (const f of r.failed) console.log(`  failed ${f.id}: ${f.error}`);
}
const peak = process.resourceUsage().maxRSS / 1024;
console.log(`peak resident memory: ${peak.toFixed(0)} MB`);
rmSync(cache, { recursive: true, force: true });
