/**
 * Benchmark of the bipartite matching kernel: maximum-weight assignment
 * of seeded uniform [n, n] matrices, ours (Jonker–Volgenant: reductions,
 * then shortest augmenting paths) and, up to --sap-max, ours without the
 * reductions (the augmenting phase alone, SciPy's method), beside SciPy's
 * linear_sum_assignment when python3 with SciPy is importable.
 *
 *   node dist/bench/hungarian.js [--sizes 384,1024,4096] [--sap-max 1024]
 *     [--no-peer]
 *
 * The peer is ../shared/bench/python_peer.py's `hungarian(n)`, called at
 * our sizes; that file also imports scikit-learn, so with SciPy alone the
 * same timing runs inline. Prints, never asserts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { hungarian } from '../src/kernels/hungarian.js';
import { machineLine } from './machine.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}

function uniform(n: number, rng: () => number): Float64Array {
  const w = new Float64Array(n * n);
  for (let k = 0; k < w.length; k++) w[k] = rng();
  return w;
}

function seconds(run: () => void): number {
  const start = performance.now();
  run();
  return (performance.now() - start) / 1000;
}

const peerScript = fileURLToPath(
  new URL('../../../shared/bench/python_peer.py', import.meta.url));

/** Load python_peer.py as a module (its main block stays off). */
const viaPeer = `
import importlib.util, sys
spec = importlib.util.spec_from_file_location("peer", sys.argv[1])
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)
for n in map(int, sys.argv[2:]):
    peer.hungarian(n)
`;

/** The same timing as the peer's, for a Python without scikit-learn. */
const inline = `
import sys, time
import numpy as np
from scipy.optimize import linear_sum_assignment
rng = np.random.default_rng(0)
for n in map(int, sys.argv[1:]):
    c = rng.random((n, n))
    s = time.perf_counter(); linear_sum_assignment(c, maximize=True)
    print(f"hungarian {n}: {time.perf_counter() - s:.3f}s")
`;

/** Seconds per size from SciPy, and where they came from. */
function peer(sizes: number[]): { times: Map<number, number>; note: string } {
  const has = (modules: string) => spawnSync('python3',
    ['-c', `import ${modules}`], { encoding: 'utf8' }).status === 0;
  const args = sizes.map(String);
  let run;
  let note;
  if (has('numpy, scipy, sklearn')) {
    run = spawnSync('python3', ['-c', viaPeer, peerScript, ...args],
      { encoding: 'utf8' });
    note = 'python_peer.py hungarian';
  } else if (has('numpy, scipy')) {
    run = spawnSync('python3', ['-c', inline, ...args], { encoding: 'utf8' });
    note = 'SciPy inline (python_peer.py needs scikit-learn)';
  } else {
    return { times: new Map(), note: 'no python3 with numpy and scipy' };
  }
  if (run.status !== 0) {
    const why = run.stderr.trim().split('\n').pop();
    return { times: new Map(), note: `peer failed: ${why}` };
  }
  const times = new Map<number, number>();
  for (const m of run.stdout.matchAll(/hungarian (\d+): ([\d.]+)s/g)) {
    times.set(Number(m[1]), Number(m[2]));
  }
  return { times, note };
}

const sizes = option('sizes', '384,1024,4096').split(',').map(Number);
const sapMax = Number(option('sap-max', '1024'));
const rng = seedrandom('hungarian-bench');

console.log(machineLine());
// One small run each way first, so that the first size does not time
// the JIT compiling the loops.
const warm = uniform(128, rng);
hungarian(warm, 128, 128);
hungarian(warm, 128, 128, { reduce: false });

const ours = new Map<number, [number, number | undefined]>();
for (const n of sizes) {
  const w = uniform(n, rng);
  const jv = seconds(() => hungarian(w, n, n));
  const sap = n <= sapMax
    ? seconds(() => hungarian(w, n, n, { reduce: false })) : undefined;
  ours.set(n, [jv, sap]);
}

const scipy = process.argv.includes('--no-peer')
  ? { times: new Map<number, number>(), note: 'skipped (--no-peer)' }
  : peer(sizes);
console.log(`SciPy: ${scipy.note}`);
console.log('units   ours (JV)   ours (augmenting only)   SciPy');
const cell = (s: number | undefined) =>
  s === undefined ? '-' : `${s.toFixed(3)} s`;
for (const n of sizes) {
  const [jv, sap] = ours.get(n)!;
  console.log(`${String(n).padStart(5)}   ${cell(jv).padStart(9)}   ` +
    `${cell(sap).padStart(22)}   ${cell(scipy.times.get(n)).padStart(7)}`);
}
