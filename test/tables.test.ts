import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectArtifacts, type ReportArtifacts } from '../src/report/collect.js';
import { decayLabel, decayLabelTex, escapeTex, fixed, percent }
  from '../src/report/format.js';
import { renderFormat, toCsv, toJson, toLatex, toMarkdown }
  from '../src/report/table.js';
import { buildTables, hacTable, matchingTable, renderTable, sparseTable }
  from '../src/report/tables.js';
import { engineText } from '../src/core/records.js';
import { deadUnitsTable, networksTable, stageSummaryTable }
  from '../src/report/tables-run.js';
import type { HacSummary, MatchingSummary, SparseMapSummary }
  from '../src/stages/summaries.js';
import { gaussianThresholds } from '../src/stages/mutual-info.js';
import type { Artifact } from '../src/stages/types.js';
import { artifact, fixtureJson, fixtureNpy, tempDir, testPipeline }
  from './helpers.js';

const expected = fixtureJson('planted-small', 'expected.json');
const nA: number = expected.units_a;
const nB: number = expected.units_b;
const thresholds = [0.3, 0.5, 0.7];

/**
 * The MatchingSummary the match (or mutual-info) stage should write for
 * the planted-small fixture, built from the reference answers: semi
 * partners are the arg max of the reference matrix, bipartite pairs and
 * total as given.
 */
function plantedMatching(key: string, matrixFile: string): MatchingSummary {
  const ref = expected[key];
  const m = fixtureNpy('planted-small', matrixFile).data;
  const partnerOfA = Array.from({ length: nA }, (_, a) => {
    let best = 0;
    for (let b = 1; b < nB; b++) if (m[a * nB + b] > m[a * nB + best]) best = b;
    return best;
  });
  const pairs: [number, number][] = ref.bipartite_pairs;
  const values = pairs.map(([a, b]) => m[a * nB + b]);
  const valueOfA: number[] = ref.semi_a_to_b_max;
  const agree = pairs.filter(([a, b]) => partnerOfA[a] === b).length;
  const sorted = (v: number[]) => [...v].sort((x, y) => y - x);
  return {
    unitsA: nA, unitsB: nB,
    semi: { partnerOfA, valueOfA, partnerOfB: [], valueOfB:
      ref.semi_b_to_a_max, mean: mean(valueOfA) },
    bipartite: { pairs, values, total: ref.bipartite_total,
      mean: ref.bipartite_total / pairs.length },
    agree,
    below: thresholds.map((t) => ({ threshold: t,
      fraction: valueOfA.filter((v) => v < t).length / nA })),
    curves: { semi: sorted(valueOfA), bipartite: sorted(values) },
  };
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;

const decays: number[] = expected.sparse_mapping.map((s: any) => s.decay);

/** Pairs A-B, A-A, B-B among merges of two leaves, from a linkage. */
function leafPairs(linkage: ArrayLike<number>, n: number) {
  const out = { ab: 0, aa: 0, bb: 0 };
  for (let k = 0; k < n - 1; k++) {
    const [l, r] = [linkage[4 * k], linkage[4 * k + 1]];
    if (l >= n || r >= n) continue;
    const inA = (l < nA ? 1 : 0) + (r < nA ? 1 : 0);
    if (inA === 1) out.ab++; else if (inA === 2) out.aa++; else out.bb++;
  }
  return out;
}

/** Artifacts of one pair (net_a, net_b) at layer `planted`, plus `missing`. */
function plantedArtifacts(): ReportArtifacts {
  const pipeline = testPipeline({
    networks: { net_a: { name: 'net_a' }, net_b: { name: 'net_b' } },
    pairs: [['net_a', 'net_b']], layers: ['planted', 'missing'],
    stages: {
      match: { kind: 'match', params: { thresholds } },
      'mutual-info': { kind: 'mutual-info', params: {} },
      'sparse-map': { kind: 'sparse-map', params: { decays } },
      hac: { kind: 'hac', params: { decay: 0.001 } },
    },
  });
  const match = plantedMatching('correlation_matching',
    'expected_correlation.npy');
  const mi = { ...plantedMatching('mutual_info_matching',
    'expected_mutual_info.npy'), unit: 'nats' };
  const linkage = fixtureNpy('planted-small', 'expected_hac_decay_0.001.npy');
  const pairs = leafPairs(linkage.data, nA + nB);
  const hac: HacSummary = { decay: 0.001, leaves: nA + nB, unitsA: nA,
    unitsB: nB, members: [], pairsAB: pairs.ab, pairsAA: pairs.aa,
    pairsBB: pairs.bb };
  return collectArtifacts(pipeline, (ref): Artifact | undefined => {
    if (ref.coords.layer !== 'planted') return undefined;
    if (ref.role === 'match') return artifact('/none', match);
    if (ref.role === 'mutual-info') return artifact('/none', mi);
    if (ref.role === 'hac') return artifact('/none', hac);
    if (ref.role !== 'sparse-map') return undefined;
    const s = expected.sparse_mapping.find((x: any) =>
      x.decay === ref.coords.point!.decay);
    // The fixture fits on all rows, so its fit loss is also its holdout.
    const summary: Partial<SparseMapSummary> = { decay: s.decay,
      fitLoss: s.fit_loss, holdoutLoss: s.fit_loss, converged: true,
      weightsPerUnit: s['nonzero_per_target_1e-3'] };
    return artifact('/none', summary);
  });
}

/** Parse CSV text (quoted fields allowed) into rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.trimEnd().split('\n')) {
    const fields: string[] = [];
    const re = /("(?:[^"]|"")*"|[^,]*)(,|$)/g;
    for (let m = re.exec(line); m; m = re.exec(line)) {
      const f = m[1];
      fields.push(f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f);
      if (m[2] === '') break;
    }
    rows.push(fields);
  }
  return rows;
}

test('decays read as the study wrote them', () => {
  assert.equal(decayLabel(0), '0');
  assert.equal(decayLabel(1e-5), '1e-5');
  assert.equal(decayLabel(1e-1), '1e-1');
  assert.equal(decayLabel(1), '1');
  assert.equal(decayLabel(0.0025118864315095794), '10^-2.6');
  assert.equal(decayLabelTex(0.0025118864315095794), '$10^{-2.6}$');
  assert.equal(decayLabel(0.005), '5e-3');
  assert.equal(decayLabel(0.0025), '2.5e-3');
});

test('numbers have three decimals, never a negative zero', () => {
  assert.equal(fixed(0.70349), '0.703');
  assert.equal(fixed(-0.0004), '0.000');
  assert.equal(percent(1 / 6), '16.7%');
  assert.equal(escapeTex('net_1 & 50% #2'), 'net\\_1 \\& 50\\% \\#2');
});

test('the correlation matching table holds the planted answers', () => {
  const arts = plantedArtifacts();
  const table = matchingTable(arts.match, 'correlation', thresholds);
  const semi = mean(expected.correlation_matching.semi_a_to_b_max);
  const bip = expected.correlation_matching.bipartite_total / 20;
  const below5 = expected.correlation_matching.semi_a_to_b_max
    .filter((v: number) => v < 0.5).length / nA;
  const s = arts.match[0].summary!;

  // Markdown: the header, the alignment row and the planted row.
  const md = toMarkdown(table).split('\n');
  assert.equal(md[2], '| A | B | layer | units A | units B | mean semi | ' +
    'mean bipartite | semi = bipartite | no match > 0.3 | ' +
    'no match > 0.5 | no match > 0.7 |');
  assert.match(md[3], /^\| --- \| --- \| --- \| ---: \|/);
  const row = md[4].split(' | ');
  assert.equal(row[0], '| net\\_a');
  assert.equal(row[5], fixed(semi));
  assert.equal(row[6], fixed(bip));
  assert.equal(row[7], `${s.agree} / 24`);
  assert.equal(row[9], percent(below5));
  // The layer with no artifact: em dashes, and a note naming it.
  assert.match(md[5], /^\| net\\_a \| net\\_b \| missing \| — \| — \|/);
  assert.ok(table.notes.some((n) => n.includes('match@net_a-net_b/missing')));

  // CSV: full precision, read back exactly.
  const csv = parseCsv(toCsv(table));
  assert.equal(csv[0][5], 'mean semi');
  assert.equal(Number(csv[1][5]), semi);
  assert.equal(Number(csv[1][6]), bip);
  // A ratio is its count k for programs; n is the units A column.
  assert.equal(csv[1][7], String(s.agree));
  assert.equal(Number(csv[1][3]), 24);
  assert.equal(Number(csv[1][9]), below5);
  assert.deepEqual(csv[2].slice(3), Array(8).fill(''));

  // JSON round-trips the raw values.
  const json = JSON.parse(toJson(table));
  assert.equal(json.rows[0].semi, semi);
  assert.equal(json.rows[0].agree, s.agree);
  assert.equal(json.columns[7].kind, 'count');
  assert.equal(json.rows[1].semi, null);
  assert.deepEqual(json.columns.map((c: any) => c.key).slice(0, 3),
    ['a', 'b', 'layer']);

  // LaTeX: booktabs rules, escaped names and symbols.
  const tex = toLatex(table);
  for (const rule of ['\\toprule', '\\midrule', '\\bottomrule']) {
    assert.ok(tex.includes(rule), rule);
  }
  assert.ok(tex.includes('net\\_a & net\\_b & planted & 24 & 20 & ' +
    `${fixed(semi)} & ${fixed(bip)} & ${s.agree} / 24`));
  assert.ok(tex.includes('no match \\textgreater{} 0.5'));
  assert.ok(tex.includes(`${percent(below5).replace('%', '\\%')}`));
  assert.ok(tex.includes('missing & --- & ---'));
  assert.ok(!/[^\\]_/.test(tex.replace(/\\label\{[^}]*\}/, '')),
    'every underscore is escaped');
});

test('the MI matching table uses the MI answers', () => {
  const arts = plantedArtifacts();
  const table = matchingTable(arts.mi, 'mi', [], 'nats');
  const json = JSON.parse(toJson(table));
  assert.equal(json.rows[0].bipartite,
    expected.mutual_info_matching.bipartite_total / 20);
  assert.equal(json.rows[0].semi,
    mean(expected.mutual_info_matching.semi_a_to_b_max));
  assert.match(table.title, /nats/);
});

test('the MI table explains its default thresholds, and only those', () => {
  const noteOf = (arts: ReportArtifacts) => buildTables(arts)
    .find((t) => t.name === 'matching-mi')!.notes
    .find((n) => n.startsWith('Default thresholds'));

  // The planted summaries carry 0.3, 0.5 and 0.7: not the defaults.
  const arts = plantedArtifacts();
  assert.equal(noteOf(arts), undefined);

  const summary = arts.mi[0].summary!;
  summary.below = gaussianThresholds('nats').map((t) =>
    ({ threshold: t, fraction: 0 }));
  const note = noteOf(arts);
  assert.ok(note?.includes('correlation 0.3, 0.5 and 0.7'), note);
  assert.deepEqual(gaussianThresholds('nats'), [0.04716, 0.1438, 0.3367]);
  assert.deepEqual(gaussianThresholds('bits'), [0.06803, 0.2075, 0.4857]);
});

test('the sparse tables put decays in columns, 10^-2.6 included', () => {
  const arts = plantedArtifacts();
  const table = sparseTable(arts, 'weightsPerUnit');
  const md = toMarkdown(table).split('\n');
  assert.equal(md[2], '| A | B | layer | 0 | 1e-4 | 1e-3 | 10^-2.6 | ' +
    '1e-2 | 1e-1 |');
  assert.equal(md[4], '| net\\_a | net\\_b | planted | 16.750 | 10.950 | ' +
    '1.300 | 1.300 | 1.300 | 0.000 |');
  const csv = parseCsv(toCsv(table));
  assert.equal(csv[0][6], '0.0025118864315095794');
  assert.equal(Number(csv[1][3]), 16.75);
  assert.ok(toLatex(table).includes('$10^{-2.6}$'));

  const holdout = sparseTable(arts, 'holdoutLoss');
  const json = JSON.parse(toJson(holdout));
  assert.equal(json.rows[0]['0.1'], expected.sparse_mapping[5].fit_loss);
  assert.equal(json.rows[1]['0.001'], null);
});

test('the HAC table counts the two-leaf merges of the reference', () => {
  const arts = plantedArtifacts();
  const json = JSON.parse(toJson(hacTable(arts)));
  const s = arts.hac[0].summary!;
  assert.equal(json.rows[0].leaves, 44);
  assert.equal(json.rows[0].pairsAB + json.rows[0].pairsAA +
    json.rows[0].pairsBB, s.pairsAB + s.pairsAA + s.pairsBB);
  // The planted one-to-one relations pair A with B first.
  assert.ok(s.pairsAB >= 10, `pairsAB ${s.pairsAB}`);
  assert.equal(json.rows[0].pairsAB, s.pairsAB);
});

test('a non-finite value becomes an em dash with a note, never NaN', () => {
  const arts = plantedArtifacts();
  const broken = structuredClone(arts.match[0].summary!);
  broken.semi.mean = NaN;
  arts.match[0] = { ...arts.match[0], summary: broken as any };
  const table = matchingTable(arts.match, 'correlation', thresholds);
  assert.equal(table.rows[0].semi, null);
  assert.ok(table.notes.some((n) => /semi\.mean is not a finite number/.test(n)));
  for (const t of buildTables(arts)) {
    for (const f of ['md', 'csv', 'tex', 'json'] as const) {
      assert.ok(!renderFormat(t, f).includes('NaN'), `${t.name}.${f}`);
    }
  }
});

test('renderTable names the tables there are for an unknown name', () => {
  const arts = plantedArtifacts();
  assert.throws(() => renderTable('matching-corelation', 'md', arts),
    (e: any) => e.code === 'E_USAGE' &&
      /did you mean 'matching-correlation'/.test(e.message));
  assert.throws(() => renderTable(undefined, 'xls' as any, arts),
    (e: any) => e.code === 'E_USAGE');
  const all = renderTable(undefined, 'md', arts);
  for (const name of ['Networks', 'One-to-one matching on correlation',
    'Sparse prediction: holdout loss', 'Hierarchical clustering']) {
    assert.ok(all.includes(name), name);
  }
});

test('sparse stages that repeat a decay or map the other way get own rows',
  () => {
    const pipeline = testPipeline({
      networks: { n1: { name: 'n1' }, n2: { name: 'n2' } },
      pairs: [['n1', 'n2']], layers: ['l1'],
      stages: {
        'sparse-map': { kind: 'sparse-map', params: { decays: [0, 1e-3] } },
        'sparse-tight': { kind: 'sparse-map',
          params: { decays: [1e-3], tolerance: 1e-10 } },
        'sparse-back': { kind: 'sparse-map',
          params: { decays: [1e-3], direction: 'b-to-a' } },
      } });
    // Each result's holdout loss tells its stage and decay apart.
    const loss = (stage: string, decay: number) =>
      ['sparse-map', 'sparse-tight', 'sparse-back'].indexOf(stage) / 10 +
      decay;
    const arts = collectArtifacts(pipeline, (ref) =>
      ref.role === 'sparse-map' ? artifact('/none', { decay:
        ref.coords.point!.decay, holdoutLoss: loss(ref.stage,
        ref.coords.point!.decay), converged: true }) : undefined);
    const json = JSON.parse(toJson(sparseTable(arts, 'holdoutLoss')));
    assert.deepEqual(json.columns.map((c: any) => c.label), ['A', 'B',
      'layer', 'stages', 'predicts', '0', '1e-3']);
    assert.deepEqual(json.rows.map((r: any) => [r.stage, r.direction,
      r['0'], r['0.001']]), [
      ['sparse-map', 'B from A', 0, 0.001],
      ['sparse-tight', 'B from A', null, loss('sparse-tight', 1e-3)],
      ['sparse-back', 'A from B', null, loss('sparse-back', 1e-3)]]);
    assert.ok(json.notes.some((n: string) => /^stages: /.test(n)));
  });

test('sparse rows onto no live target show em dashes, not a loss of 0',
  () => {
    const pipeline = testPipeline({
      networks: { n1: { name: 'n1' }, n2: { name: 'n2' } },
      pairs: [['n1', 'n2']], layers: ['dead', 'few', 'live'],
      stages: { 'sparse-map': { kind: 'sparse-map',
        params: { decays: [0, 1e-3] } } } });
    const live: Record<string, number> = { dead: 0, few: 1, live: 8 };
    const arts = collectArtifacts(pipeline, (ref) => {
      if (ref.role !== 'sparse-map') return undefined;
      const n = live[ref.coords.layer!];
      // Dead targets score 0: the loss is at most 0.5·live/units.
      const summary: Partial<SparseMapSummary> = { decay:
        ref.coords.point!.decay, direction: 'a-to-b', converged: true,
        holdoutLoss: 0.05 * n / 8, fitLoss: 0.04 * n / 8,
        weightsPerUnit: n / 8, targets: 8, liveTargets: n };
      return artifact('/none', summary);
    });
    for (const field of ['holdoutLoss', 'fitLoss', 'weightsPerUnit'] as const) {
      const table = sparseTable(arts, field);
      const md = toMarkdown(table).split('\n');
      assert.equal(md[4], '| n1 | n2 | dead | — | — |', field);
      assert.notEqual(md[5], '| n1 | n2 | few | — | — |', field);
      const dead = /^n1-n2\/dead: no live target units \(all 8 units of B/;
      assert.ok(table.notes.some((n) => dead.test(n) &&
        n.includes('have zero variance')), field);
      assert.equal(table.notes.some((n) => /n1-n2\/live:/.test(n)), false);
      assert.equal(JSON.parse(toJson(table)).rows[0]['0.001'], null);
    }
    const holdout = sparseTable(arts, 'holdoutLoss');
    assert.ok(holdout.notes.some((n) => n === 'n1-n2/few: 7 of the 8 ' +
      'target units of B have zero variance and count as predicted (loss ' +
      '0); the losses cover the 1 live unit(s), and predicting zero would ' +
      'score 0.063 here, not 0.5.'));
  });

test('a matching row with a side of no live units shows no agreement',
  () => {
    const arts = plantedArtifacts();
    const s = structuredClone(arts.match[0].summary!) as any;
    // Every unit of B dead: all correlations 0, partners are ties.
    s.dead = { a: [], b: [...Array(nB).keys()] };
    s.constant = { a: [], b: [] };
    s.semi.mean = 0;
    s.bipartite.mean = 0;
    s.agree = 1;
    const table = matchingTable([{ ...arts.match[0], summary: s }],
      'correlation', thresholds);
    assert.equal(table.rows[0].agree, null);
    assert.equal(table.rows[0].semi, 0);
    assert.ok(table.notes.some((n) => n.includes('no live units in B (all ' +
      '20 have zero variance): every correlation with them is 0')));
    assert.match(toMarkdown(table), /\| 0\.000 \| 0\.000 \| — \|/);

    const mi = structuredClone(arts.mi[0].summary!) as any;
    mi.single = { a: [...Array(nA).keys()], b: [] };
    mi.agreeWithCorrelation = 3;
    const miTable = matchingTable([{ ...arts.mi[0], summary: mi }], 'mi');
    assert.equal(miTable.rows[0].agree, null);
    assert.equal(miTable.rows[0].agreeWithCorrelation, null);
    assert.ok(miTable.notes.some((n) => n.includes('no live units in A ' +
      '(all 24 have a single occupied bin)')));
    // Untouched rows keep their counts.
    const plain = matchingTable(arts.match, 'correlation', thresholds);
    assert.notEqual(plain.rows[0].agree, null);
  });

test('dead units are listed once per network and layer', () => {
  const pipeline = testPipeline({
    networks: { n1: { name: 'n1' }, n2: { name: 'n2' }, n3: { name: 'n3' },
      unused: { name: 'unused' } },
    pairs: [['n1', 'n2'], ['n1', 'n3'], ['n2', 'n3']], layers: ['l1', 'l2'],
    stages: { match: { kind: 'match', params: {} } } });
  const dead: Record<string, number[]> = { n1: [3], n2: [], n3: [0, 5] };
  const arts = collectArtifacts(pipeline, (ref) => {
    if (ref.role !== 'match') return undefined;
    const [a, b] = ref.coords.pair!;
    // l2 of n1-n3 names other units for n3: the first result wins.
    const bDead = ref.coords.layer === 'l2' && a === 'n1' && b === 'n3'
      ? [7] : dead[b];
    return artifact('/none', { dead: { a: dead[a], b: bDead },
      constant: { a: [], b: b === 'n3' ? [1] : [] } });
  });
  const table = deadUnitsTable(arts);
  assert.deepEqual(table.rows.map((r) => [r.network, r.layer, r.dead,
    r.constant]), [
    ['n1', 'l1', '3', 'none'], ['n1', 'l2', '3', 'none'],
    ['n2', 'l1', 'none', 'none'], ['n2', 'l2', 'none', 'none'],
    ['n3', 'l1', '0, 5', '1'], ['n3', 'l2', '7', '1']]);
  assert.ok(table.notes.some((n) => n.startsWith('n3 l2: ' +
    'match@n2-n3/l2 names other zero-variance units than match@n1-n3/l2')));
});

test('engines read as name, version and threads', () => {
  assert.equal(engineText({ name: 'onnx', version: 'onnxruntime-node 1.30.0',
    threads: 1 }), 'onnx 1.30.0 \u00d71');
  assert.equal(engineText({ name: 'tfjs', version: '4.22.0', threads: 2,
    backend: 'wasm' }), 'tfjs 4.22.0 \u00d72 (wasm)');

  const pipeline = testPipeline({ networks: { n1: { name: 'n1' },
    n2: { name: 'n2' } }, pairs: [['n1', 'n2']], layers: ['l1'],
  stages: { match: { kind: 'match', params: {} } } });
  const engine = { name: 'onnx', version: 'onnxruntime-node 1.30.0',
    threads: 1 };
  const arts = collectArtifacts(pipeline, (ref) => ref.role !== 'normalize'
    ? undefined : { ...artifact('/none', {}), manifest: { id: 'x',
      kind: 'normalize', key: 'x', version: 1, params: {}, inputs: {},
      outputs: [], digest: '', publish: [], records: { engine },
      warnings: [], started: '', seconds: 2 } });
  const row = stageSummaryTable(arts).rows[0];
  assert.equal(row.stage, 'normalize');
  assert.equal(row.engine, 'onnx 1.30.0 \u00d71');
});

test('test accuracy comes from the record beside a trained model', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'net1'));
  writeFileSync(join(dir, 'net1', 'training.json'),
    JSON.stringify({ testAccuracy: 0.986 }));
  const pipeline = testPipeline({ root: dir, networks: {
    net1: { name: 'net1', model: join(dir, 'net1', 'model.json') },
    net2: { name: 'net2', model: join(dir, 'net2', 'model.json') } } });
  const table = networksTable(collectArtifacts(pipeline, () => undefined));
  assert.deepEqual(table.rows.map((r) => r.accuracy), [0.986, null]);
  assert.equal(table.rows[0].source, 'TF.js model net1/model.json');
  assert.ok(table.notes[0].includes('recorded when the network was ' +
    'trained (training.json beside the model); \u2014 where none'));
});
