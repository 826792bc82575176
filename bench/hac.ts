/**
 * Benchmark of the clustering kernel: average linkage of the units of a
 * mapping, ours (nearest-neighbour chain) against ml-hclust's agnes and,
 * when Python with SciPy is installed, scipy.cluster.hierarchy.linkage
 * (see `peer`).
 *
 *   node dist/bench/hac.js [--leaves 192,512,768,2048,4096]
 *     [--ml-max 768] [--no-peer]
 *
 * The mappings follow the SciPy peer (../shared/bench/python_peer.py hac):
 * W [n/2, n/2] with N(0, 1) entries kept with probability 0.02 and zero
 * elsewhere, so that most distances tie at 1 as in a sparse mapping.
 * ml-hclust grows as n³ and runs only up to --ml-max leaves.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { agnes } from 'ml-hclust';
import seedrandom from 'seedrandom';
import { hacMapping, mappingDistances } from '../src/kernels/hac.js';
import { machineLine } from './machine.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}

/** W [half, half]: N(0, 1) with probability 0.02, else exactly 0. */
function sparseMapping(half: number, rng: () => number): Float64Array {
  return Float64Array.from({ length: half * half }, () => {
    const u = 1 - rng();
    const g = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
    return rng() < 0.02 ? g : 0;
  });
}

function seconds(run: () => void, repeats: number): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    run();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return best;
}

/** ml-hclust on the same 1 − B, as a square number[][] (its input). */
function mlHclust(w: Float64Array, half: number): number {
  const n = 2 * half;
  const d = mappingDistances(w, half, half);
  const rows = Array.from({ length: n }, (_, i) =>
    Array.from(d.subarray(i * n, (i + 1) * n), (v) => (v === Infinity ? 0 : v)));
  return seconds(() => agnes(rows, { method: 'average',
    isDistanceMatrix: true }), 1);
}

/**
 * The SciPy figure: python_peer.py hac (768, 2,048, 4,096 leaves) when
 * its imports (SciPy and scikit-learn) load; with SciPy alone, the same
 * timing of linkage(squareform(1 − B), 'average') inline at our sizes.
 */
function peer(sizes: number[]): string {
  const has = (modules: string) => spawnSync('python3',
    ['-c', `import ${modules}`], { encoding: 'utf8' }).status === 0;
  let run;
  if (has('numpy, scipy, sklearn')) {
    const script = fileURLToPath(
      new URL('../../../shared/bench/python_peer.py', import.meta.url));
    run = spawnSync('python3', [script, 'hac'], { encoding: 'utf8' });
  } else if (has('numpy, scipy')) {
    run = spawnSync('python3', ['-c', inlinePeer, ...sizes.map(String)],
      { encoding: 'utf8' });
  } else {
    return 'not available (python3 with numpy and scipy missing)';
  }
  if (run.status !== 0) return `failed: ${run.stderr.trim().split('\n').pop()}`;
  return '\n' + run.stdout.trim().split('\n').map((l) => `  ${l}`).join('\n');
}

const inlinePeer = `
import sys, time
import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
rng = np.random.default_rng(0)
for n in map(int, sys.argv[1:]):
    h = n // 2
    w = rng.standard_normal((h, h)) * (rng.random((h, h)) < 0.02)
    b = np.block([[np.eye(h), w], [w.T, np.eye(h)]])
    d = squareform(1 - b, checks=False)
    s = time.perf_counter(); linkage(d, 'average')
    print(f"hac average {n} leaves: {time.perf_counter() - s:.3f}s "
          "(scipy only, inline)")
`;

const leaves = option('leaves', '192,512,768,2048,4096').split(',')
  .map(Number);
const mlMax = Number(option('ml-max', '768'));
const rng = seedrandom('hac-bench');

console.log(machineLine());
// One small run first, so that the first size does not time the JIT.
hacMapping({ weights: sparseMapping(64, rng), unitsA: 64, unitsB: 64 });
console.log('leaves   ours (nn-chain, best of 3)   ml-hclust agnes (1 run)');
for (const n of leaves) {
  const half = Math.floor(n / 2);
  const w = sparseMapping(half, rng);
  const ours = seconds(() => hacMapping({ weights: w, unitsA: half,
    unitsB: half }), 3);
  const ml = n <= mlMax ? `${mlHclust(w, half).toFixed(3)} s` : 'skipped';
  console.log(`${String(2 * half).padStart(6)}   ` +
    `${ours.toFixed(3).padStart(8)} s${' '.repeat(20)}${ml}`);
}
if (!process.argv.includes('--no-peer')) {
  console.log(`SciPy peer (1 run each): ${peer(leaves)}`);
}
