/**
 * Benchmark of the mutual-information kernel: all pairs of two layers of
 * `units` ReLU-like units on `samples` aligned samples, 20 bins, on the
 * worker pool with 1 and 2 threads, beside the NumPy peer.
 *
 *   node dist/bench/mutual-info.js [--units 384] [--samples 60000]
 *     [--zeros 0.5] [--threads 1,2] [--no-peer]
 *
 * Data (seeded): A_u = max(0, z_u + c), B_j = max(0, 0.7·z_π(j) +
 * 0.7·e_j + c), z and e standard normal, π a permutation, c chosen so
 * that a fraction `zeros` of each unit is 0 (ReLU layers are mostly
 * zeros, which the kernel skips on A's side).
 *
 * The peer is ../shared/bench/python_peer.py mi (joint histograms alone,
 * np.bincount per pair, 384 x 384 on 60,000 samples; it needs NumPy,
 * SciPy and scikit-learn). At other sizes, or with NumPy alone, the same
 * bincount loop runs inline at our size. It times histograms only, while
 * our figure includes the MI sums; binning is timed apart.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { binLayer, type LayerBins } from '../src/kernels/binning.js';
import { binLayerOnPool, mutualInfoOnPool }
  from '../src/kernels/mutual-info-parallel.js';
import { createPool } from '../src/runner/pool.js';
import { machineLine } from './machine.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}

/** Inverse of the standard normal CDF by bisection (setup only). */
function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let k = 0; k < 100; k++) {
    const mid = (lo + hi) / 2;
    const cdf = 0.5 * (1 + erf(mid / Math.SQRT2));
    if (cdf < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: enough for a shift. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 +
    t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/** Unit-major ReLU-like layers A and B [units, samples] (see above). */
function layers(units: number, samples: number, zeros: number) {
  const rng = seedrandom.alea('mutual-info-bench');
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) *
    Math.cos(2 * Math.PI * rng());
  const shift = -normalQuantile(zeros);
  const shared = () => new Float32Array(
    new SharedArrayBuffer(units * samples * 4));
  const a = shared();
  const b = shared();
  const z = Float32Array.from({ length: units * samples }, gauss);
  const perm = Array.from({ length: units }, (_, i) => i);
  for (let i = units - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  for (let u = 0; u < units; u++) {
    for (let s = 0; s < samples; s++) {
      a[u * samples + s] = Math.max(0, z[u * samples + s] + shift);
      const mixed = 0.7 * z[perm[u] * samples + s] + 0.7 * gauss();
      b[u * samples + s] = Math.max(0, mixed / Math.hypot(0.7, 0.7) + shift);
    }
  }
  return { a, b };
}

/** The NumPy figure: python_peer.py mi at its size, else inline at ours. */
function peer(units: number, samples: number): string {
  const has = (modules: string) => spawnSync('python3',
    ['-c', `import ${modules}`], { encoding: 'utf8' }).status === 0;
  let run;
  if (units === 384 && samples === 60000 && has('numpy, scipy, sklearn')) {
    const script = fileURLToPath(
      new URL('../../../shared/bench/python_peer.py', import.meta.url));
    run = spawnSync('python3', [script, 'mi'], { encoding: 'utf8' });
  } else if (has('numpy')) {
    run = spawnSync('python3', ['-c', inlinePeer, String(units),
      String(samples)], { encoding: 'utf8' });
  } else {
    return 'not available (python3 with numpy missing)';
  }
  if (run.status !== 0) return `failed: ${run.stderr.trim().split('\n').pop()}`;
  return run.stdout.trim();
}

// python_peer.py's mi(), verbatim in substance, at a given size.
const inlinePeer = `
import sys, time
import numpy as np
n, samples, bins = int(sys.argv[1]), int(sys.argv[2]), 21
rng = np.random.default_rng(0)
a = rng.integers(0, bins, (samples, n)); b = rng.integers(0, bins, (samples, n))
s = time.perf_counter()
for i in range(n):
    joint = np.zeros((n, bins * bins))
    idx = a[:, i:i + 1] * bins + b
    for j in range(n):
        joint[j] = np.bincount(idx[:, j], minlength=bins * bins)
print(f"mi all pairs {n}x{n}, {samples} samples (joint histograms only, "
      f"bincount per pair, numpy inline): {time.perf_counter() - s:.3f}s")
`;

/** Binning of both layers and MI of all pairs on a pool of `threads`. */
async function timeOnPool(threads: number, a: Float32Array, b: Float32Array,
  units: number, samples: number) {
  const pool = createPool({ threads });
  try {
    // Start the workers and compile the kernels before timing.
    const small = Float32Array.from({ length: 8 * 1000 },
      (_, k) => (k * 7919) % 13);
    const warm = await binLayerOnPool(pool, small, 8, 1000);
    await mutualInfoOnPool(pool, warm, binLayer(small, 8, 1000));

    let start = performance.now();
    const binsA = await binLayerOnPool(pool, a, units, samples);
    const binsB = await binLayerOnPool(pool, b, units, samples);
    const binning = (performance.now() - start) / 1000;
    start = performance.now();
    const mi = await mutualInfoOnPool(pool, binsA, binsB);
    return { binning, seconds: (performance.now() - start) / 1000, mi };
  } finally {
    await pool.close();
  }
}

const units = Number(option('units', '384'));
const samples = Number(option('samples', '60000'));
const zeros = Number(option('zeros', '0.5'));
const threadCounts = option('threads', '1,2').split(',').map(Number);

console.log(machineLine());
console.log(`MI all pairs ${units} x ${units} units, ${samples} samples, ` +
  `20 bins, ${zeros * 100}% zeros`);
const data = layers(units, samples, zeros);

let first: Float64Array | undefined;
const increments = units * units * samples;
for (const threads of threadCounts) {
  const { binning, seconds, mi } = await timeOnPool(threads, data.a, data.b,
    units, samples);
  first ??= mi;
  const same = mi.every((v, k) => v === first![k]);
  console.log(`${threads} thread${threads > 1 ? 's' : ' '}: binning both ` +
    `layers ${binning.toFixed(3)} s, MI ${seconds.toFixed(3)} s ` +
    `(${(increments / seconds / 1e9).toFixed(2)}e9 pair-samples/s)` +
    `${same ? '' : '  RESULT DIFFERS FROM THE FIRST RUN'}`);
}
if (!process.argv.includes('--no-peer')) {
  console.log(`NumPy peer: ${peer(units, samples)}`);
}
