/**
 * `npm run bench`: every kernel's benchmark, then the end-to-end run.
 * Each prints its own figures and the machine it ran on. Set
 * BENCH_ONLY=hac,lasso to run some of them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineLine } from './machine.js';

const scripts = ['normalize', 'hungarian', 'mutual-info', 'lasso', 'hac',
  'extract', 'e2e'];
const only = process.env.BENCH_ONLY?.split(',');

console.log(machineLine());
let failed = 0;
for (const name of scripts) {
  if (only && !only.includes(name)) continue;
  const path = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  if (!existsSync(path)) continue;
  console.log(`\n## ${name}`);
  const r = spawnSync(process.execPath, [path], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
