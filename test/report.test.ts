import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync }
  from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import seedrandom from 'seedrandom';
import { readNpy, writeNpy } from '../src/core/npy.js';
import { collectArtifacts, instanceId, lookupInInputs, reportRefs }
  from '../src/report/collect.js';
import { hacFigure } from '../src/report/hac-figure.js';
import { fixed } from '../src/report/format.js';
import { reportStage } from '../src/stages/report.js';
import type { Artifact, Manifest, ResolvedPipeline }
  from '../src/stages/types.js';
import { artifact, fixture, fixtureNpy, removeDir, runStage, tempDir,
  testPipeline } from './helpers.js';

const rows = 3000;
const decays = [0, 1e-5, 1e-4, 1e-3, 0.0025118864315095794, 1e-2, 1e-1];

/** Pearson correlation C [nx, ny] of columns; zero-variance columns give 0. */
function correlation(x: Float64Array, nx: number, y: Float64Array,
  ny: number): Float64Array {
  const stats = (m: Float64Array, n: number) => {
    const mu = new Float64Array(n);
    const sd = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) mu[j] += m[r * n + j] / rows;
    }
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) sd[j] += (m[r * n + j] - mu[j]) ** 2;
    }
    return { mu, sd: sd.map((v) => Math.sqrt(v)) };
  };
  const [sx, sy] = [stats(x, nx), stats(y, ny)];
  const c = new Float64Array(nx * ny);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < nx; i++) {
      const dx = x[r * nx + i] - sx.mu[i];
      for (let j = 0; j < ny; j++) {
        c[i * ny + j] += dx * (y[r * ny + j] - sy.mu[j]);
      }
    }
  }
  for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) {
    const d = sx.sd[i] * sy.sd[j];
    c[i * ny + j] = d > 0 ? c[i * ny + j] / d : 0;
  }
  return c;
}

/** A match summary with semi, greedy one-to-one matching and curves. */
function matchSummary(c: Float64Array, nA: number, nB: number) {
  const partnerOfA = Array.from({ length: nA }, (_, a) => {
    let best = 0;
    for (let b = 1; b < nB; b++) if (c[a * nB + b] > c[a * nB + best]) best = b;
    return best;
  });
  const valueOfA = partnerOfA.map((b, a) => c[a * nB + b]);
  const cells = [...c.keys()].sort((p, q) => c[q] - c[p]);
  const [usedA, usedB] = [new Set<number>(), new Set<number>()];
  const pairs: [number, number][] = [];
  for (const k of cells) {
    const [a, b] = [Math.floor(k / nB), k % nB];
    if (usedA.has(a) || usedB.has(b)) continue;
    usedA.add(a); usedB.add(b); pairs.push([a, b]);
  }
  pairs.sort((p, q) => p[0] - q[0]);
  const values = pairs.map(([a, b]) => c[a * nB + b]);
  const sum = (v: number[]) => v.reduce((s, x) => s + x, 0);
  const orderOfB = [...pairs.map((p) => p[1]),
    ...[...Array(nB).keys()].filter((b) => !usedB.has(b))];
  return {
    unitsA: nA, unitsB: nB, orderOfB,
    semi: { partnerOfA, valueOfA, partnerOfB: [], valueOfB: [],
      mean: sum(valueOfA) / nA },
    bipartite: { pairs, values, total: sum(values),
      mean: sum(values) / pairs.length },
    agree: pairs.filter(([a, b]) => partnerOfA[a] === b).length,
    below: [0.3, 0.5, 0.7].map((t) => ({ threshold: t,
      fraction: valueOfA.filter((v) => v < t).length / nA })),
    curves: { semi: [...valueOfA].sort((p, q) => q - p),
      bipartite: [...values].sort((p, q) => q - p) },
    dead: { a: [22], b: [19] }, constant: { a: [23], b: [] },
  };
}

/** Average linkage on 1 − B, SciPy's numbering, and the leaf order. */
function averageLinkage(w: Float64Array, nA: number, nB: number) {
  const n = nA + nB;
  const sim = (i: number, j: number) => i === j ? 1 : (i < nA) === (j < nA)
    ? 0 : i < nA ? w[i * nB + j - nA] : w[j * nB + i - nA];
  let clusters = [...Array(n).keys()].map((i) => ({ id: i, leaves: [i] }));
  const linkage: number[] = [];
  const children = new Map<number, [number, number]>();
  for (let next = n; clusters.length > 1; next++) {
    let best = [0, 1, Infinity];
    const count = clusters.length;
    for (let p = 0; p < count; p++) for (let q = p + 1; q < count; q++) {
      let s = 0;
      for (const i of clusters[p].leaves) {
        for (const j of clusters[q].leaves) s += sim(i, j);
      }
      const d = 1 - s / (clusters[p].leaves.length * clusters[q].leaves.length);
      if (d < best[2]) best = [p, q, d];
    }
    const [p, q, d] = best;
    const [l, r] = [clusters[p], clusters[q]];
    linkage.push(Math.min(l.id, r.id), Math.max(l.id, r.id), d,
      l.leaves.length + r.leaves.length);
    children.set(next, [l.id, r.id]);
    clusters = clusters.filter((_, k) => k !== p && k !== q);
    clusters.push({ id: next, leaves: [...l.leaves, ...r.leaves] });
  }
  const order: number[] = [];
  const walk = (id: number) => {
    const c = children.get(id);
    if (!c) order.push(id); else { walk(c[0]); walk(c[1]); }
  };
  walk(2 * n - 2);
  return { linkage: Float64Array.from(linkage), order: Int32Array.from(order) };
}

function manifest(id: string, kind: string, seconds: number,
  warnings: string[] = []): Manifest {
  return { id, kind, key: id, version: 1, params: {}, inputs: {}, outputs: [],
    digest: '', publish: [], records: { backend: 'wasm', threads: 2 },
    warnings, started: '2026-12-03T10:00:00.000Z', seconds };
}

/** The second stages of `fakeRun(root, true)`, as a user adds them. */
const fineStages = {
  'match-strict': { kind: 'match', params: { thresholds: [0.9] } },
  'sparse-fine': { kind: 'sparse-map', params: { decays: [3e-4, 5e-4] } },
  'hac-fine': { kind: 'hac', needs: ['sparse-fine'],
    params: { decay: 5e-4 } },
};
const fineYaml = '  match-strict: { kind: match, thresholds: [0.9] }\n' +
  '  sparse-fine: { kind: sparse-map, decays: [3e-4, 5e-4] }\n' +
  '  hac-fine: { kind: hac, decay: 5e-4, needs: [sparse-fine] }\n';

/** The W a fake sparse-map stage finds: soft-thresholded correlations. */
function fakeWeights(cab: Float64Array, decay: number, scale: number) {
  const t = Math.min(1, 8 * Math.sqrt(decay));
  return cab.map((c) => scale * Math.sign(c) *
    Math.max(Math.abs(c) - t, 0));
}

/**
 * A realistic cache: net1 and net2 are the planted-small activations,
 * net3 is net2 with noise; layer conv2 adds more noise to B. Writes the
 * .npy files each stage documents and returns the report's inputs.
 * With `fine`, the pipeline also holds the stages of `fineStages`: a
 * second match, sparse-map and hac stage (sparse-fine's W is scaled by
 * 0.9, so that a figure drawn from the wrong stage shows).
 */
function fakeRun(root: string, fine = false): { pipeline: ResolvedPipeline;
  inputs: Record<string, Artifact[]> } {
  const rng = seedrandom('report');
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) *
    Math.cos(2 * Math.PI * rng());
  const a = Float64Array.from(fixtureNpy('planted-small', 'net_a.npy').data
    .subarray(0, rows * 24));
  const b = Float64Array.from(fixtureNpy('planted-small', 'net_b.npy').data
    .subarray(0, rows * 20));
  const noisy = (m: Float64Array, s: number) => m.map((v, i) =>
    i % 20 === 19 ? v : v + s * gauss());
  const layers = ['conv1', 'conv2'];
  const pairs: [string, string][] = [['net1', 'net2'], ['net1', 'net3']];
  const yaml = 'version: 1\nname: test\nnetworks:\n' +
    '  net1: { train: { seed: 1 } }\n  net2: { train: { seed: 2 } }\n' +
    '  net3: { activations: exported/{layer}.npy }\n' +
    `layers: [conv1, conv2]\npairs: [[net1, net2], [net1, net3]]\n` +
    `stages:\n  match: {}\n  mutual-info: {}\n  sparse-map: { decays: ` +
    `[${decays.join(', ')}] }\n  hac: { decay: 1e-3 }\n` +
    (fine ? fineYaml : '') + '  report: {}\n';
  const pipeline = testPipeline({ root,
    networks: { net1: { name: 'net1', train: { seed: 1 } },
      net2: { name: 'net2', train: { seed: 2 } },
      net3: { name: 'net3', activations: join(root, 'exported/{layer}.npy') } },
    layers, pairs,
    stages: {
      match: { kind: 'match', params: { thresholds: [0.3, 0.5, 0.7] } },
      'mutual-info': { kind: 'mutual-info', params: { bins: 20 } },
      'sparse-map': { kind: 'sparse-map', params: { decays } },
      hac: { kind: 'hac', params: { decay: 1e-3 } },
      ...(fine ? fineStages : {}),
      report: { kind: 'report', params: {} },
    } });
  writeFileSync(pipeline.file, yaml);

  const made = new Map<string, Artifact>();
  const put = (id: string, summary: any, files: Record<string, [any, number[]]>,
    seconds: number, warnings: string[] = []) => {
    const dir = join(root, 'cache', id.replace(/[@/=]/g, '_'));
    mkdirSync(dir, { recursive: true });
    for (const [name, [data, shape]] of Object.entries(files)) {
      writeNpy(join(dir, name), data, shape);
    }
    made.set(id, { ...artifact(dir, summary, id),
      manifest: manifest(id, id.split('@')[0], seconds, warnings) });
  };

  for (const pair of pairs) for (const layer of layers) {
    const noise = (pair[1] === 'net3' ? 0.5 : 0) + (layer === 'conv2' ? 0.8 : 0);
    const bb = noise ? noisy(b, noise) : b;
    const at = `${pair[0]}-${pair[1]}/${layer}`;
    put(`normalize@${at}`, { unitsA: 24, unitsB: 20,
      count: { all: rows, fit: 2400, holdout: 600 },
      images: { fit: 2400, holdout: 600 },
      dead: { a: [22], b: [19] }, constant: { a: [23], b: [] } }, {}, 2.5,
    ['units with zero variance: net1 22 (dead), 23 (constant)']);
    const cab = correlation(a, 24, bb, 20);
    const m = matchSummary(cab, 24, 20);
    put(`match@${at}`, m, { 'corr_ab.npy': [cab, [24, 20]],
      'corr_aa.npy': [correlation(a, 24, a, 24), [24, 24]],
      'corr_bb.npy': [correlation(bb, 20, bb, 20), [20, 20]] }, 1.2);
    if (fine) {
      // Thresholds are all that differ: the same correlations.
      const strict = matchSummary(cab, 24, 20);
      strict.below = [{ threshold: 0.9, fraction: strict.semi.valueOfA
        .filter((v) => v < 0.9).length / 24 }];
      put(`match-strict@${at}`, strict, { 'corr_ab.npy': [cab, [24, 20]],
        'corr_aa.npy': [correlation(a, 24, a, 24), [24, 24]],
        'corr_bb.npy': [correlation(bb, 20, bb, 20), [20, 20]] }, 1.1);
    }
    const mi = cab.map((r) => -0.5 * Math.log(1 - Math.min(r * r, 0.99)));
    put(`mutual-info@${at}`, { ...matchSummary(mi, 24, 20), samples: rows,
      bins: 20, zero: 1e-6, unit: 'nats', single: { a: [22, 23], b: [19] } },
    { 'mi.npy': [mi, [24, 20]] }, 8.5,
    [`only ${rows} aligned samples, fewer than 60000: used all`]);
    const sweeps: [string, number[], number][] = [['sparse-map', decays, 1],
      ...(fine ? [['sparse-fine', [3e-4, 5e-4], 0.9] as [string, number[],
        number]] : [])];
    for (const [stage, sweep, scale] of sweeps) for (const d of sweep) {
      const w = fakeWeights(cab, d, scale);
      const kept = w.filter((v) => Math.abs(v) > 1e-3).length / 20;
      let fit = 0;
      for (let j = 0; j < 20; j++) {
        let best = 0;
        for (let i = 0; i < 24; i++) best = Math.max(best, w[i * 20 + j] ** 2);
        fit += (0.5 - 0.5 * Math.min(best * 1.6, 0.9)) / 20;
      }
      put(`${stage}@${at}/decay=${d}`, { decay: d, alpha: d * Math.sqrt(480),
        direction: 'a-to-b', fitLoss: fit, holdoutLoss: fit + 0.04 *
        Math.exp(-d * 3000), weightsPerUnit: kept, gap: 1e-9,
        tolerance: 1e-6, converged: true, iterations: 40 },
      { 'weights.npy': [w, [24, 20]] }, 0.4);
      const hac = stage === 'sparse-map' ? d === 1e-3 && 'hac'
        : d === 5e-4 && 'hac-fine';
      if (!hac) continue;
      const { linkage, order } = averageLinkage(w, 24, 20);
      put(`${hac}@${at}`, { decay: d, leaves: 44, unitsA: 24, unitsB: 20,
        members: [], pairsAB: hac === 'hac' ? 12 : 9, pairsAA: 0,
        pairsBB: hac === 'hac' ? 0 : 1 },
      { 'linkage.npy': [linkage, [43, 4]], 'order.npy': [order, [44]] }, 0.1);
    }
  }
  for (const [i, net] of ['net1', 'net2', 'net3'].entries()) {
    put(`extract@${net}`, { network: net, images: 10000, layers: {},
      backend: 'wasm' }, {}, 30 + i);
    if (net !== 'net3') {
      put(`train@${net}`, { testAccuracy: 0.9871 - 0.002 * i }, {}, 300);
    }
  }

  // The runner's order: per role, the refs' order.
  const inputs: Record<string, Artifact[]> = {};
  for (const ref of reportRefs(pipeline)) {
    const id = ref.role === 'sparse-map'
      ? `${ref.stage}@${ref.coords.pair!.join('-')}/${ref.coords.layer}` +
        `/decay=${ref.coords.point!.decay}`
      : ref.coords.network ? `${ref.stage}@${ref.coords.network}`
        : `${ref.stage}@${ref.coords.pair!.join('-')}/${ref.coords.layer}`;
    const found = made.get(id);
    assert.ok(found, `fake artifact ${id}`);
    (inputs[ref.role] ??= []).push(found);
  }
  return { pipeline, inputs };
}

test('the report stage writes tables, figures and report.html', async () => {
  const root = tempDir();
  const { pipeline, inputs } = fakeRun(root);
  const refs = reportStage.inputs({}, {}, pipeline);
  assert.equal(refs.filter((r) => 'stage' in r && r.stage === 'sparse-map')
    .length, 2 * 2 * decays.length);
  assert.ok(refs.every((r) => !('stage' in r) || r.many === true));

  const run = await runStage(reportStage, { pipeline, inputs });
  assert.deepEqual(run.result.publish, [{ from: '.', to: 'outputs/test' }]);
  assert.deepEqual(run.warnings, []);
  const tables = readdirSync(join(run.out, 'tables'));
  const timings = readdirSync(join(run.out, 'timings'));
  for (const name of ['networks', 'matching-correlation', 'matching-mi',
    'sparse-holdout', 'sparse-weights', 'sparse-fit', 'hac', 'dead-units']) {
    for (const f of ['md', 'csv', 'tex', 'json']) {
      assert.ok(tables.includes(`${name}.${f}`), `${name}.${f}`);
    }
  }
  // Seconds differ from run to run: they stay out of tables/.
  for (const name of ['stage-summary', 'stages']) {
    for (const f of ['md', 'csv', 'tex', 'json']) {
      assert.ok(timings.includes(`${name}.${f}`), `${name}.${f}`);
      assert.ok(!tables.includes(`${name}.${f}`), `${name}.${f}`);
    }
  }
  const figures = (run.result.summary.figures as string[]);
  assert.equal(figures.filter((f) => f.endsWith('.png')).length, 16);
  assert.equal(figures.filter((f) => f.endsWith('.svg')).length, 8);
  const png = PNG.sync.read(readFileSync(join(run.out,
    'figures/net1-net2/corr-ab-conv1.png')));
  assert.ok(png.width > 24 * 10 && png.height >= 20 * 10);
  const svg = readFileSync(join(run.out, 'figures/net1-net2/holdout-loss.svg'),
    'utf8');
  assert.ok(svg.startsWith('<svg') && svg.includes('10^-2.6'));
  assert.ok(!/(href|src)="https?:/.test(svg), 'no external resource');

  const json = JSON.parse(readFileSync(join(run.out,
    'tables/matching-correlation.json'), 'utf8'));
  const match = inputs.match[0].summary;
  assert.equal(json.rows[0].semi, match.semi.mean);
  assert.equal(json.rows.length, 4);
  for (const file of [...tables.map((t) => `tables/${t}`), 'report.html']) {
    assert.ok(!readFileSync(join(run.out, file), 'utf8').includes('NaN'),
      `no NaN in ${file}`);
  }
  const networks = JSON.parse(readFileSync(join(run.out,
    'tables/networks.json'), 'utf8'));
  assert.deepEqual(networks.rows.map((r: any) => r.accuracy),
    [0.9871, 0.9851, null]);
  assert.equal(networks.rows[2].source, 'activations exported/{layer}.npy');
  removeDir(root);
  removeDir(run.out);
});

test('second stages of match, sparse-map and hac reach tables, figures ' +
  'and page', async () => {
  const root = tempDir();
  const { pipeline, inputs } = fakeRun(root, true);

  // The runner's expansion (of the stages with their defaults, as the
  // pipeline reader gives them) resolves every ref to the same instance.
  const { expand } = await import('../src/pipeline/expand.js');
  const { builtinRegistry } = await import('../src/stages/index.js');
  const reg = await builtinRegistry();
  const resolved = { ...pipeline, stages: Object.fromEntries(Object.entries(
    pipeline.stages).map(([name, s]) => [name, { ...s, params: {
    ...structuredClone(reg.get(s.kind)!.def.defaults), ...s.params } }])) };
  const graph = expand(resolved, reg);
  const read = graph.instances.get('report')!.inputs
    .flatMap((i) => i.from);
  const refs = reportRefs(resolved);
  assert.deepEqual([...read].sort(), refs.map((r) =>
    instanceId(r.stage, r.coords)).sort());
  assert.equal(refs.filter((r) => r.stage === 'sparse-fine').length, 2 * 2 * 2);
  assert.ok(graph.instances.get('hac-fine@net1-net2/conv1')!.inputs[0].from
    .includes('sparse-fine@net1-net2/conv1/decay=0.0005'));

  const run = await runStage(reportStage, { pipeline, inputs });
  assert.deepEqual(run.warnings, []);
  const json = (name: string) => JSON.parse(readFileSync(join(run.out,
    'tables', `${name}.json`), 'utf8'));

  // Sparse: one row per pair × layer, the two sweeps merged in order.
  const holdout = json('sparse-holdout');
  assert.deepEqual(holdout.columns.map((c: any) => c.label), ['A', 'B',
    'layer', '0', '1e-5', '1e-4', '3e-4', '5e-4', '1e-3', '10^-2.6', '1e-2',
    '1e-1']);
  assert.equal(holdout.rows.length, 4);
  const fine = inputs['sparse-map'].find((f) =>
    f.id === 'sparse-fine@net1-net3/conv2/decay=0.0003')!.summary;
  assert.equal(holdout.rows[3]['0.0003'], fine.holdoutLoss);
  assert.equal(holdout.rows[3]['0.001'], inputs['sparse-map'].find((f) =>
    f.id === 'sparse-map@net1-net3/conv2/decay=0.001')!.summary.holdoutLoss);
  assert.ok(holdout.notes.includes('Decays 3e-4, 5e-4: stage sparse-fine.'));

  // HAC: a row per stage, named, with its decay and its own counts.
  const hac = json('hac');
  assert.deepEqual(hac.columns.map((c: any) => c.key).slice(0, 5),
    ['a', 'b', 'layer', 'stage', 'decay']);
  assert.deepEqual(hac.rows.slice(0, 2).map((r: any) =>
    [r.layer, r.stage, r.decay, r.pairsAB, r.pairsBB]),
  [['conv1', 'hac', 1e-3, 12, 0], ['conv1', 'hac-fine', 5e-4, 9, 1]]);
  assert.equal(hac.rows.length, 8);

  // Matching: two match stages, so a stage column and their thresholds.
  const match = json('matching-correlation');
  assert.equal(match.rows.length, 8);
  assert.deepEqual(match.rows.slice(0, 2).map((r: any) => r.stage),
    ['match', 'match-strict']);
  assert.equal(match.rows[1]['below 0.9'],
    inputs.match[1].summary.below[0].fraction);
  assert.equal(match.rows[1]['below 0.5'], null);
  assert.ok(!json('matching-mi').columns.some((c: any) => c.key === 'stage'));

  // Figures: hac-fine clusters sparse-fine's W at 5e-4; the two match
  // stages read one normalize stage, so their heatmaps are drawn once.
  const figures = run.result.summary.figures as string[];
  assert.equal(figures.filter((f) => f.endsWith('.png')).length, 12 + 8);
  assert.equal(figures.filter((f) => f.endsWith('.svg')).length, 8);
  const file = 'figures/net1-net3/hac-fine/hac-conv2.png';
  assert.ok(figures.includes(file));
  const at = (id: string) => inputs[id.startsWith('hac') ? 'hac'
    : 'sparse-map'].find((f) => f.id === id)!;
  const drawn = (weightsOf: string) => hacFigure({
    weights: readNpy(at(weightsOf).file('weights.npy')).data,
    unitsA: 24, unitsB: 20,
    linkage: readNpy(at('hac-fine@net1-net3/conv2').file('linkage.npy')).data,
    order: readNpy(at('hac-fine@net1-net3/conv2').file('order.npy')).data,
  }).png;
  const png = readFileSync(join(run.out, file));
  assert.ok(png.equals(drawn('sparse-fine@net1-net3/conv2/decay=0.0005')));
  assert.ok(!png.equals(drawn('sparse-map@net1-net3/conv2/decay=0.001')));
  const svg = readFileSync(join(run.out,
    'figures/net1-net2/holdout-loss.svg'), 'utf8');
  assert.ok(svg.includes('3e-4') && svg.includes('10^-2.6'));

  const html = readFileSync(join(run.out, 'report.html'), 'utf8');
  assert.ok(html.includes(`src="${file}"`));
  assert.match(html, /hac-fine: conv2: B = /);
  assert.match(html, /<td>sparse-fine \(sparse-map\)<\/td>/);
  removeDir(root);
  removeDir(run.out);
});

test('missing instances show as em dashes and keep the report whole',
  async () => {
    const root = tempDir();
    const { pipeline, inputs } = fakeRun(root);
    // A partial cache: the MI of one pair × layer and a decay are gone.
    const partial = { ...inputs,
      'mutual-info': inputs['mutual-info'].slice(1),
      'sparse-map': inputs['sparse-map'].slice(0, -1) };
    const arts = collectArtifacts(pipeline,
      lookupInInputs(reportRefs(pipeline), partial));
    assert.equal(arts.mi[0].artifact, undefined);
    assert.equal(arts.mi[1].artifact?.id, 'mutual-info@net1-net2/conv2');
    const run = await runStage(reportStage, { pipeline, inputs: partial });
    const md = readFileSync(join(run.out, 'tables/matching-mi.md'), 'utf8');
    assert.match(md, /\| net1 \| net2 \| conv1 \| — \| — \|/);
    assert.match(md, /mutual-info@net1-net2\/conv1: no result in the cache/);
    removeDir(root);
    removeDir(run.out);
  });

const chromiumPath = '/usr/bin/chromium';

test('report.html loads in headless Chromium with every figure',
  { skip: existsSync(chromiumPath) ? false
    : `${chromiumPath} is absent (apt-get install chromium)` }, async () => {
    const { chromium } = await import('playwright-core');
    const root = tempDir();
    const { pipeline, inputs } = fakeRun(root);
    const run = await runStage(reportStage, { pipeline, inputs });
    const browser = await chromium.launch({ executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu',
        '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280,
        height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(join(run.out, 'report.html')).href,
        { waitUntil: 'load' });
      assert.deepEqual(errors, []);
      assert.ok(requests.every((u) => u.startsWith('file:')), 'local only');

      const images = await page.$$eval('img', (list) => list.map((i) =>
        ({ src: i.getAttribute('src'), width: i.naturalWidth })));
      assert.equal(images.length, 24);
      for (const i of images) assert.ok(i.width > 0, `${i.src} loaded`);

      const cells = await page.$$eval('#table-matching-correlation tbody tr',
        (trs) => trs.map((tr) => [...tr.querySelectorAll('td')]
          .map((td) => td.textContent)));
      assert.equal(cells.length, 4);
      assert.deepEqual(cells[0].slice(0, 5), ['net1', 'net2', 'conv1', '24',
        '20']);
      assert.equal(cells[0][5], fixed(inputs.match[0].summary.semi.mean));
      const heads = await page.$$eval('#table-sparse-holdout thead th',
        (th) => th.map((h) => h.textContent));
      assert.deepEqual(heads.slice(3), ['0', '1e-5', '1e-4', '1e-3',
        '10^-2.6', '1e-2', '1e-1']);
      const warning = await page.textContent('#warnings');
      assert.match(warning ?? '', /fewer than 60000/);

      // For looking at the page by eye: a screenshot, and the folder kept.
      const shot = process.env.CONVERGENT_SCREENSHOT;
      if (shot) {
        await page.screenshot({ path: shot, fullPage: true });
        process.stderr.write(`report kept in ${run.out}\n`);
      }
    } finally {
      await browser.close();
      removeDir(root);
      if (!process.env.CONVERGENT_SCREENSHOT) removeDir(run.out);
    }
  });

test('the runner publishes the report; the CLI rebuilds it from the cache',
  async () => {
    const { runPipeline } = await import('../src/runner/run.js');
    const { registry } = await import('../src/stages/registry.js');
    const { createLogger } = await import('../src/core/log.js');
    const { plainProgress } = await import('../src/runner/progress.js');
    const { printTable, rebuildReport } = await import('../src/report/cli.js');
    const here = new URL(import.meta.url).href;
    const corr = Float64Array.from([0.9, 0.1, 0.2, 0.6]);
    // Stub upstream stages: what the report reads, nothing computed.
    const stub = (kind: string, axes: any[], summary: () => any,
      files: Record<string, Float64Array> = {}) => ({ url: here, def: {
      kind, version: 1, description: kind, axes, defaults: {},
      inputs: () => [],
      async run(ctx: any) {
        for (const [name, data] of Object.entries(files)) {
          writeNpy(join(ctx.out, name), data, [2, 2]);
        }
        ctx.warn(`${kind} stub warning`);
        return { summary: summary() };
      } } });
    const reg = registry([
      stub('extract', ['network'], () => ({ images: 10, layers: {} })),
      stub('normalize', ['pair', 'layer'], () => ({})),
      stub('match', ['pair', 'layer'], () => ({ ...matchSummary(corr, 2, 2),
        dead: { a: [], b: [] }, constant: { a: [], b: [] } }),
      { 'corr_ab.npy': corr, 'corr_aa.npy': Float64Array.from([1, 0, 0, 1]),
        'corr_bb.npy': Float64Array.from([1, 0, 0, 1]) }),
      { url: new URL('../src/stages/report.js', import.meta.url).href,
        def: reportStage },
    ]);
    const root = tempDir();
    const pipeline = testPipeline({ root, pairs: [['n1', 'n2']],
      layers: ['l1'], networks: { n1: { name: 'n1' }, n2: { name: 'n2' } },
      stages: { match: { kind: 'match', params: {} },
        report: { kind: 'report', params: { formats: ['md', 'csv'] } } } });
    const outcome = await runPipeline(pipeline, reg, { jobs: 0,
      log: createLogger('silent'), progress: plainProgress(() => {}) });
    assert.deepEqual(outcome.failed, []);
    const html = join(pipeline.outputs, 'report.html');
    assert.ok(existsSync(html));
    assert.ok(existsSync(join(pipeline.outputs, 'figures/n1-n2/corr-ab-l1.png')));
    assert.deepEqual(readdirSync(join(pipeline.outputs, 'tables')).sort()
      .slice(0, 2), ['dead-units.csv', 'dead-units.md']);
    assert.match(readFileSync(html, 'utf8'),
      /match@n1-n2\/l1<\/code>: match stub warning/);

    const csv = await printTable(pipeline, reg, 'matching-correlation', 'csv');
    assert.equal(csv.split('\n')[1].split(',').slice(0, 6).join(','),
      'n1,n2,l1,2,2,0.75');
    const rebuilt = await rebuildReport(pipeline, reg);
    assert.equal(rebuilt, html);
    assert.match(readFileSync(html, 'utf8'), /<td class="num">0\.750<\/td>/);
    await assert.rejects(printTable(pipeline, reg, 'nope', 'md'),
      (e: any) => e.code === 'E_USAGE');
    removeDir(root);
  });

test('one failed pair keeps the report of the others, listed as failed; ' +
  'its key changes once the pair succeeds', async () => {
  const { runPipeline } = await import('../src/runner/run.js');
  const { registry } = await import('../src/stages/registry.js');
  const { createLogger } = await import('../src/core/log.js');
  const { plainProgress } = await import('../src/runner/progress.js');
  const here = new URL(import.meta.url).href;
  const corr = Float64Array.from([0.9, 0.1, 0.2, 0.6]);
  let failing = true;
  const stub = (kind: string, axes: any[], run: (ctx: any) => any) => ({
    url: here, def: { kind, version: 1, description: kind, axes,
      defaults: {}, inputs: () => [], run } });
  const reg = registry([
    stub('extract', ['network'], async () => ({ summary: { images: 10,
      layers: {} } })),
    stub('normalize', ['pair', 'layer'], async () => ({ summary: {} })),
    stub('match', ['pair', 'layer'], async (ctx) => {
      if (failing && ctx.coords.pair[1] === 'n3') {
        throw new Error('match stub failed on purpose');
      }
      for (const name of ['corr_ab.npy', 'corr_aa.npy', 'corr_bb.npy']) {
        writeNpy(join(ctx.out, name), corr, [2, 2]);
      }
      return { summary: { ...matchSummary(corr, 2, 2),
        dead: { a: [], b: [] }, constant: { a: [], b: [] } } };
    }),
    { url: new URL('../src/stages/report.js', import.meta.url).href,
      def: reportStage },
  ]);
  const root = tempDir();
  const pipeline = testPipeline({ root, pairs: [['n1', 'n2'], ['n1', 'n3']],
    layers: ['l1'], networks: { n1: { name: 'n1' }, n2: { name: 'n2' },
      n3: { name: 'n3' } },
    stages: { match: { kind: 'match', params: {} },
      report: { kind: 'report', params: { formats: ['md'] } } } });
  const run = () => runPipeline(pipeline, reg, { jobs: 0,
    log: createLogger('silent'), progress: plainProgress(() => {}) });
  const html = () => readFileSync(join(pipeline.outputs, 'report.html'),
    'utf8');
  const md = () => readFileSync(join(pipeline.outputs,
    'tables/matching-correlation.md'), 'utf8');

  const first = await run();
  assert.deepEqual(first.failed.map((f) => f.id), ['match@n1-n3/l1']);
  assert.ok(first.ran.includes('report'), 'the report ran');
  assert.deepEqual(first.skipped, []);
  assert.match(html(), /match@n1-n3\/l1<\/code>: failed: match stub failed/);
  assert.match(html(), /Made from a partial run: 1 instance\(s\) failed/);
  assert.match(md(), /\| n1 \| n2 \| l1 \| 2 \| 2 \| 0\.750 \|/);
  assert.match(md(), /\| n1 \| n3 \| l1 \| — \| — \|/);

  // The same failure again: the partial report is the same one.
  const again = await run();
  assert.equal(again.failed.length, 1);
  assert.ok(again.cached.includes('report'), 'cached while inputs are');

  // Once the pair succeeds, the report's inputs differ, and so its key.
  failing = false;
  const fixed = await run();
  assert.deepEqual(fixed.failed, []);
  assert.ok(fixed.ran.includes('report'), 'rebuilt with every input');
  assert.doesNotMatch(html(), /partial run|failed:/);
  assert.match(md(), /\| n1 \| n3 \| l1 \| 2 \| 2 \| 0\.750 \|/);
  const warm = await run();
  assert.deepEqual(warm.ran, []);
  removeDir(root);
});

/** SciPy's leaves_list: leaves left to right under the last merge. */
function leavesOf(linkage: ArrayLike<number>, n: number): Int32Array {
  const order: number[] = [];
  const walk = (id: number) => {
    if (id < n) { order.push(id); return; }
    const k = id - n;
    walk(linkage[4 * k]);
    walk(linkage[4 * k + 1]);
  };
  walk(2 * n - 2);
  return Int32Array.from(order);
}

test("the clustering figure draws the study's own conv1 mapping", async () => {
  const { writeFigures } = await import('../src/report/figures.js');
  const linkage = fixtureNpy('paper-alexnet-mappings',
    'net0_net1_L1_-2.6_conv1.hac_linkage.npy');
  const out = tempDir();
  writeNpy(join(out, 'linkage.npy'), linkage.data, [191, 4]);
  writeNpy(join(out, 'order.npy'), leavesOf(linkage.data, 192), [192]);
  const weights = fixture('paper-alexnet-mappings',
    'net0_net1_L1_-2.6_conv1.weights.npy');
  const pipeline = testPipeline({ pairs: [['net1', 'net2']],
    layers: ['conv1'], stages: { hac: { kind: 'hac', params:
      { decay: 0.0025118864315095794, weights } } } });
  assert.equal(reportRefs(pipeline).filter((r) =>
    r.role === 'sparse-map').length, 0, 'a weights file needs no sparse-map');
  const arts = collectArtifacts(pipeline, (ref) => ref.role === 'hac'
    ? artifact(out, { decay: 0.0025118864315095794, leaves: 192,
      unitsA: 96, unitsB: 96, members: [], pairsAB: 0, pairsAA: 0,
      pairsBB: 0 }, 'hac@net1-net2/conv1') : undefined);
  const figures = await writeFigures(arts, out);
  assert.deepEqual(figures.notes, []);
  const file = join(out, 'figures/net1-net2/hac-conv1.png');
  const png = PNG.sync.read(readFileSync(file));
  // 192 leaves of 3 pixels, a 130-pixel dendrogram, margins, a color bar.
  assert.equal(png.height, 12 + 130 + 576 + 12);
  // The first diagonal cell is colored by its network, not by its 1.
  const at = (x: number, y: number) => [...png.data.subarray(
    (y * png.width + x) * 4, (y * png.width + x) * 4 + 3)];
  const leaf = leavesOf(linkage.data, 192)[0];
  assert.deepEqual(at(12, 142), leaf < 96 ? [230, 159, 0] : [0, 158, 115]);
  if (process.env.CONVERGENT_SCREENSHOT) {
    process.stderr.write(`clustering figure kept in ${file}\n`);
  } else {
    removeDir(out);
  }
});
