/**
 * Bad pipeline files, message by message: each error names the file, the
 * line and column, the path of the bad value, what came and what was
 * expected, and the nearest key for a misspelling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expand } from '../src/pipeline/expand.js';
import { loadPipeline } from '../src/pipeline/resolve.js';
import { suggest } from '../src/pipeline/suggest.js';
import { builtinRegistry } from '../src/stages/index.js';
import type { Registry } from '../src/stages/registry.js';
import { removeDir, repoRoot, tempDir } from './helpers.js';
import { testRegistry } from './runner-helpers.js';

const good = `version: 1
name: check
networks:
  net1: { activations: a.npy }
  net2: { activations: a.npy }
layers: [conv1, conv2]
pairs: all
stages:
  normalize: { holdout: 0.2 }
  match: { thresholds: [0.3, 0.5] }
  sparse-map: { decays: [0, 1e-3] }
  hac: { decay: 1e-3 }
`;

/** One pattern from pieces, so that a long message's regex can wrap. */
function pattern(...pieces: RegExp[]): RegExp {
  return new RegExp(pieces.map((p) => p.source).join(''));
}

async function failure(yaml: string, options: { sets?: string[];
  reg?: Registry; expand?: boolean } = {}): Promise<string> {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.npy'), '');
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, yaml);
  const reg = options.reg ?? await builtinRegistry();
  try {
    const { pipeline } = loadPipeline(file, reg, { sets: options.sets });
    if (options.expand) expand(pipeline, reg);
  } catch (err) {
    return (err as Error).message.replace(dir + '/', '');
  } finally {
    removeDir(dir);
  }
  throw new Error('the pipeline was accepted');
}

test('the good file is accepted', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.npy'), '');
  writeFileSync(join(dir, 'ok.yaml'), good);
  const { pipeline } = loadPipeline(join(dir, 'ok.yaml'), await builtinRegistry());
  assert.deepEqual(pipeline.pairs, [['net1', 'net2']]);
  assert.deepEqual(pipeline.stages['sparse-map'].params.decays, [0, 0.001]);
  removeDir(dir);
});

test('an unknown top-level key suggests the nearest', async () => {
  const msg = await failure(good.replace('stages:', 'stages:\n  report: {}\nstage:'));
  assert.equal(msg, "bad.yaml:10:1 (stage): unknown key 'stage'; expected one " +
    'of version, name, description, root, cache, outputs, networks, data, ' +
    "layers, pairs, stages. Did you mean 'stages'?");
});

test('an unknown stage parameter suggests the nearest', async () => {
  const msg = await failure(good.replace('decays: [0, 1e-3]', 'decay: [0, 1e-3]'));
  assert.match(msg, /^bad\.yaml:11:17 \(stages\.sparse-map\.decay\): unknown key 'decay'/);
  assert.match(msg, /Did you mean 'decays'\?$/);
});

test('a wrong type says what came and what was expected', async () => {
  const msg = await failure(good.replace('layers: [conv1, conv2]', 'layers: conv1'));
  assert.equal(msg, 'bad.yaml:6:9 (layers): got "conv1", expected array');
});

test('a pair naming an unknown network lists the known ones', async () => {
  const msg = await failure(good.replace('pairs: all', 'pairs: [[net1, net3]]'));
  assert.equal(msg, "bad.yaml:7:16 (pairs[0][1]): unknown network 'net3'; the " +
    "pipeline defines net1, net2. Did you mean 'net1'?");
});

test('a negative decay is refused', async () => {
  const msg = await failure(good.replace('decays: [0, 1e-3]', 'decays: [0, -1e-3]'));
  assert.equal(msg, 'bad.yaml:11:29 (stages.sparse-map.decays[1]): got -0.001, ' +
    'expected a number >= 0');
});

test('NaN is refused before it can reach a cache key', async () => {
  const msg = await failure(good.replace('hac: { decay: 1e-3 }', 'hac: { decay: .nan }'));
  assert.equal(msg, 'bad.yaml:12:17 (stages.hac.decay): got NaN, expected a ' +
    'finite number');
});

test('an empty layer list is refused', async () => {
  const msg = await failure(good.replace('layers: [conv1, conv2]', 'layers: []'));
  assert.equal(msg, 'bad.yaml:6:9 (layers): got [], expected at least 1 item');
});

test('a missing model file names the path', async () => {
  const msg = await failure(good.replace('net2: { activations: a.npy }',
    'net2: { model: models/none/model.json }'));
  assert.match(msg, pattern(/^bad\.yaml:5:18 \(networks\.net2\.model\): /,
    /missing file .*models\/none\/model\.json/));
});

test('an unknown stage kind suggests the nearest', async () => {
  const msg = await failure(good.replace('hac: {', 'hca: {'));
  assert.match(msg, /^bad\.yaml:12:3 \(stages\.hca\): unknown stage kind 'hca'; /);
  assert.match(msg, /Did you mean 'hac'\?/);
});

test('invalid YAML names the line', async () => {
  const msg = await failure(good.replace('layers: [conv1, conv2]', 'layers: [conv1, conv2'));
  assert.match(msg, /^bad\.yaml:\d+:\d+: not valid YAML: /);
});

test('a network given two ways is refused', async () => {
  const msg = await failure(good.replace('net1: { activations: a.npy }',
    'net1: { activations: a.npy, train: { seed: 1 } }'));
  assert.equal(msg, 'bad.yaml:4:9 (networks.net1): got ' +
    '{"activations":"a.npy","train":{"seed":1}}, expected exactly one of model, ' +
    'onnx, activations or train');
});

test('a misspelled network key suggests the nearest', async () => {
  const msg = await failure(good.replace('net1: { activations: a.npy }',
    'net1: { activation: a.npy }'));
  assert.match(msg, /^bad\.yaml:4:11 \(networks\.net1\.activation\): unknown key/);
  assert.match(msg, /Did you mean 'activations'\?$/);
});

test('a wrong version says which is supported', async () => {
  const msg = await failure(good.replace('version: 1', 'version: 2'));
  assert.equal(msg, 'bad.yaml:1:10 (version): got 2, expected 1');
});

test('needs naming an unknown stage suggests the nearest', async () => {
  const msg = await failure(good + '  hac-fine: { kind: hac, decay: 1e-4, ' +
    'needs: [sparse-mapp] }\n');
  assert.match(msg, pattern(/^bad\.yaml:13:47 \(stages\.hac-fine\.needs\[0\]\): /,
    /unknown stage 'sparse-mapp'/));
  assert.match(msg, /Did you mean 'sparse-map'\?/);
});

test('needs naming a stage the kind does not read is refused', async () => {
  const msg = await failure(good + '  hac-fine: { kind: hac, needs: [match] }\n',
    { expand: true });
  assert.match(msg, pattern(/\(stages\.hac-fine\.needs\): 'match' is a /,
    /match stage, which hac-fine does not read; hac-fine reads sparse-map/));
});

test('a cycle of stages is found before anything runs', async () => {
  const yaml = `version: 1
name: loop
networks: { n1: { activations: a.npy } }
stages:
  relay-a: { kind: relay, needs: [relay-b] }
  relay-b: { kind: relay, needs: [relay-a] }
`;
  const msg = await failure(yaml, { reg: testRegistry, expand: true });
  assert.equal(msg, 'bad.yaml (stages.relay-a): the stages form a cycle: ' +
    "relay-a -> relay-b -> relay-a; remove one of the 'needs'");
});

test('--set values are validated and named as overrides', async () => {
  const msg = await failure(good, { sets: ['stages.sparse-map.decays=[-1]'] });
  assert.equal(msg, 'bad.yaml (stages.sparse-map.decays[0], from --set): ' +
    'got -1, expected a number >= 0');
  const indexed = await failure(good, { sets: ['layers[1]=conv/9'] });
  assert.match(indexed, /^bad\.yaml \(layers\[1\], from --set\): got "conv\/9"/);
});

test('images beyond the MNIST split are refused before anything runs',
  async () => {
    const msg = await failure(good.replace('  net2: { activations: a.npy }\n',
      '  net2: { activations: a.npy }\ndata: { source: mnist, split: test, ' +
      'images: 20000 }\n'));
    assert.match(msg, /^bad\.yaml:6:45 \(data\.images\): got 20000, expected at most 10000/);
  });

test('a layer the TF.js model lacks lists the layers it has', async () => {
  const msg = await failure(`version: 1
name: m
root: ${repoRoot}
networks: { net1: { model: models/mnist/net1/model.json } }
data: { source: mnist, split: test, images: 10 }
layers: [conv1, conv9]
stages: { match: {} }
`);
  assert.match(msg, /\(layers\[1\]\): network net1 has no layer 'conv9'; its layers are conv1, pool1, conv2/);
});

test('no suggestion for a name unlike any known one', async () => {
  const msg = await failure(good.replace('hac: {', 'zzzzzz: {'));
  assert.doesNotMatch(msg, /Did you mean/);
});

test('a user-named stage of an existing kind reads what needs names', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.npy'), '');
  writeFileSync(join(dir, 'p.yaml'), good +
    '  sparse-fine: { kind: sparse-map, decays: [1e-4] }\n' +
    '  hac-fine: { kind: hac, decay: 1e-4, needs: [sparse-fine] }\n');
  const reg = await builtinRegistry();
  const { pipeline } = loadPipeline(join(dir, 'p.yaml'), reg);
  const g = expand(pipeline, reg);
  const hac = g.instances.get('hac-fine@net1-net2/conv1')!;
  assert.deepEqual(hac.inputs[0].from, ['sparse-fine@net1-net2/conv1/decay=0.0001']);
  removeDir(dir);
});

test('the shipped pipelines validate and expand', async () => {
  const reg = await builtinRegistry();
  const dir = tempDir();
  for (const net of ['net1', 'net2']) {
    mkdirSync(join(dir, 'data', 'alexnet', net), { recursive: true });
    for (const layer of ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']) {
      writeFileSync(join(dir, 'data', 'alexnet', net, `${layer}.npy`), '');
    }
  }
  // The study's setting, with stand-in files under another root.
  const paper = loadPipeline(join(repoRoot, 'pipelines', 'paper-alexnet.yaml'),
    reg, { sets: [`root=${dir}`] }).pipeline;
  const g = expand(paper, reg);
  assert.ok(g.instances.has('sparse-map@net1-net2/conv1/decay=0.0025118864315095794'));
  assert.ok(g.instances.has('hac@net1-net2/conv5'));
  assert.equal(paper.networks.net1.layout, 'nchw');
  removeDir(dir);

  const mnist = loadPipeline(join(repoRoot, 'pipelines', 'mnist.yaml'), reg).pipeline;
  const m = expand(mnist, reg);
  assert.equal(mnist.pairs.length, 6);
  assert.equal([...m.instances.values()].filter((i) => i.kind === 'sparse-map')
    .length, 6 * 5 * 7);
  const train = loadPipeline(join(repoRoot, 'pipelines', 'train-mnist.yaml'), reg);
  assert.deepEqual(expand(train.pipeline, reg).order,
    ['train@net1', 'train@net2', 'train@net3', 'train@net4']);
});

/** Load a pipeline that should be accepted; its graph. */
async function accepted(yaml: string) {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.npy'), '');
  writeFileSync(join(dir, 'ok.yaml'), yaml);
  const reg = await builtinRegistry();
  try {
    const { pipeline } = loadPipeline(join(dir, 'ok.yaml'), reg);
    return { pipeline, graph: expand(pipeline, reg) };
  } finally {
    removeDir(dir);
  }
}

test('a pair listed twice is refused, naming both places', async () => {
  const msg = await failure(good.replace('pairs: all', 'pairs:\n' +
    '  - [net1, net2]\n  - [net2, net1]\n  - [net1, net1]\n  - [net1, net2]'));
  assert.equal(msg, 'bad.yaml:11:5 (pairs[3]): the pair [net1, net2] repeats ' +
    'pairs[0] (line 8, column 5); list each pair once');
});

test('a reversed pair and a self-pair are comparisons of their own',
  async () => {
    const { pipeline } = await accepted(good.replace('pairs: all',
      'pairs: [[net1, net2], [net2, net1], [net1, net1]]'));
    assert.deepEqual(pipeline.pairs,
      [['net1', 'net2'], ['net2', 'net1'], ['net1', 'net1']]);
  });

test('layout on a model, onnx or train network is refused', async () => {
  const model = await failure(good.replace('net2: { activations: a.npy }',
    'net2: { model: m.json, layout: nchw }'));
  assert.match(model, pattern(/^bad\.yaml:5:26 \(networks\.net2\.layout\): /,
    /layout applies to activations only .*not to a model network/));
  const onnx = await failure(good.replace('net2: { activations: a.npy }',
    'net2: { onnx: a.npy, layout: nchw }'));
  assert.match(onnx, pattern(/^bad\.yaml:5:24 \(networks\.net2\.layout\): /,
    /layout applies .*not to an onnx network.*input: \{ layout: nchw \}/));
  const train = await failure(good.replace('net2: { activations: a.npy }',
    'net2: { train: { seed: 1 }, layout: nhwc }'));
  assert.match(train, /\(networks\.net2\.layout\): layout applies to activations/);
});

test('map on a network other than activations is refused', async () => {
  const msg = await failure(good.replace('net2: { activations: a.npy }',
    'net2: { model: m.json, map: [6, 6] }'));
  assert.match(msg, pattern(/^bad\.yaml:5:26 \(networks\.net2\.map\): /,
    /map applies to activations only .*not to a model network/));
  const { pipeline } = await accepted(good.replace(
    'net2: { activations: a.npy }', 'net2: { activations: a.npy, map: [6, 6] }'));
  assert.deepEqual(pipeline.networks.net2.map, [6, 6]);
});

test('a map naming a layer the pipeline does not compare is refused',
  async () => {
    const msg = await failure(good.replace('net2: { activations: a.npy }',
      'net2: { activations: a.npy, map: { conv9: [4, 4] } }'));
    assert.match(msg, pattern(/^bad\.yaml:5:38 \(networks\.net2\.map\.conv9\): /,
      /map names layer 'conv9', which is not in the pipeline's layers; /,
      /expected one of conv1, conv2\./));
    await accepted(good.replace('net2: { activations: a.npy }',
      'net2: { activations: a.npy, map: { conv2: [4, 4] } }'));
  });

test('holdout 0 with a sparse mapping to score is refused', async () => {
  const msg = await failure(good.replace('holdout: 0.2', 'holdout: 0'));
  assert.match(msg, pattern(/^bad\.yaml:9:25 \(stages\.normalize\.holdout\): /,
    /got 0, expected a fraction above 0: sparse-map scores its mappings /,
    /on the holdout images/));
  // Without a sparse mapping nothing needs the holdout images.
  await accepted(good.replace('holdout: 0.2', 'holdout: 0')
    .replace(/  sparse-map: .*\n  hac: .*\n/, ''));
});

test('a value with alternatives names every one of them', async () => {
  const word = await failure(good.replace('  normalize:',
    '  extract: { positions: some }\n  normalize:'));
  assert.match(word, /\(stages\.extract\.positions\): got "some", expected "all" or integer$/);
  const zero = await failure(good.replace('  normalize:',
    '  extract: { positions: 0 }\n  normalize:'));
  assert.match(zero, /\(stages\.extract\.positions\): got 0, expected "all" or a number >= 1$/);
});

test('input on a network other than onnx is refused', async () => {
  const msg = await failure(good.replace('net2: { activations: a.npy }',
    'net2: { activations: a.npy, input: { layout: nchw } }'));
  assert.match(msg, pattern(/^bad\.yaml:5:31 \(networks\.net2\.input\): /,
    /input applies to onnx networks only/));
  const { pipeline } = await accepted(good.replace(
    'net2: { activations: a.npy }',
    'net2: { onnx: a.npy, input: { layout: nchw } }\ndata: { source: mnist }'));
  assert.deepEqual(pipeline.networks.net2.input, { layout: 'nchw' });
});

test('needs may name a kind the pipeline runs implicitly', async () => {
  const { graph } = await accepted(good.replace(
    '  normalize: { holdout: 0.2 }\n', '').replace(
    'match: { thresholds: [0.3, 0.5] }',
    'match: { thresholds: [0.3, 0.5], needs: [normalize] }'));
  const match = graph.instances.get('match@net1-net2/conv1')!;
  assert.deepEqual(match.inputs[0].from, ['normalize@net1-net2/conv1']);
  assert.equal(graph.instances.get('normalize@net1-net2/conv1')!.implicit, true);
});

test('needs naming a kind the file lists under another name says the name',
  async () => {
    const msg = await failure(good.replace('  normalize: { holdout: 0.2 }',
      '  norm-a: { kind: normalize }').replace('match: { thresholds: [0.3, 0.5] }',
      'match: { needs: [normalize] }'));
    assert.match(msg, pattern(/^bad\.yaml:10:20 \(stages\.match\.needs\[0\]\): /,
      /unknown stage 'normalize'; .* The normalize stage is named norm-a; /,
      /use that name\.$/));
  });

test('needs naming a left-out kind the stage does not read is refused',
  async () => {
    const msg = await failure(good.replace('hac: { decay: 1e-3 }',
      'hac: { decay: 1e-3, needs: [mutual-info] }'), { expand: true });
    assert.match(msg, pattern(/\(stages\.hac\.needs\): 'mutual-info' is a /,
      /mutual-info stage, which hac does not read; hac reads sparse-map/));
  });

test('a --set key the file lacks is named as an override, without a line',
  async () => {
    const msg = await failure(good, { sets: ['nosuch.path=1'] });
    assert.match(msg, /^bad\.yaml \(nosuch, from --set\): unknown key 'nosuch'/);
    const deep = await failure(good, { sets: ['stages.hac.nosuch.x=1'] });
    assert.match(deep,
      /^bad\.yaml \(stages\.hac\.nosuch, from --set\): unknown key 'nosuch'/);
  });

test('suggestions only for names near enough to be meant', () => {
  assert.equal(suggest('matc', ['hac', 'networks']), '');
  assert.equal(suggest('xy', ['ab', 'cd']), '');
  assert.equal(suggest('nosuch', ['hac', 'match']), '');
  assert.equal(suggest('matc', ['hac', 'matching-mi', 'matching-correlation']),
    " Did you mean 'matching-mi' or 'matching-correlation'?");
  assert.equal(suggest('hca', ['hac', 'match']), " Did you mean 'hac'?");
  assert.equal(suggest('decay', ['decays', 'direction']),
    " Did you mean 'decays'?");
});

test('messages name the pipeline file as it was typed', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.npy'), '');
  const typed = relative(process.cwd(), join(dir, 'p.yaml'));
  writeFileSync(join(dir, 'p.yaml'), good.replace('version: 2', '')
    .replace('stages:', 'stage:'));
  assert.throws(() => loadPipeline(typed, testRegistry),
    (e: Error) => e.message.startsWith(`${typed}:8:1 (stage): `));
  writeFileSync(join(dir, 'p.yaml'), `version: 1
name: loop
networks: { n1: { activations: a.npy } }
stages:
  relay-a: { kind: relay, needs: [relay-b] }
  relay-b: { kind: relay, needs: [relay-a] }
`);
  const { pipeline } = loadPipeline(typed, testRegistry);
  assert.throws(() => expand(pipeline, testRegistry),
    (e: Error) => e.message.startsWith(`${typed} (stages.relay-a): `));
  removeDir(dir);
});
