import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initTfjs, tf } from '../src/engine/tfjs.js';
import { trainJob } from '../src/models/train-job.js';
import { buildConvnet, CONV_LAYERS } from '../src/models/convnet.js';
import { loadModel } from '../src/models/io.js';
import { shuffled } from '../src/models/train-convnet.js';
import { trainStage } from '../src/stages/train.js';
import { removeDir, runStage, tempDir, testPipeline } from './helpers.js';

const dir = tempDir();
after(() => removeDir(dir));

/** One Adam step on 32 images; returns the saved weight bytes. */
async function oneStep(seed: number, name: string): Promise<Buffer> {
  const r = await trainJob({ seed, epochs: 1, batch: 32, learningRate: 0.001,
    images: 64, maxSteps: 1, testImages: 0, backend: 'wasm',
    out: join(dir, name) });
  assert.equal(r.steps, 1);
  assert.equal(r.backend, 'wasm');
  assert.equal(r.testAccuracy, null);
  return readFileSync(join(dir, name, 'weights.bin'));
}

describe('training the MNIST convnet', () => {
  it('gives the same weights for the same seed, other weights for another',
    async () => {
      const a = await oneStep(5, 'a');
      const b = await oneStep(5, 'b');
      const c = await oneStep(6, 'c');
      assert.ok(a.equals(b), 'same seed, same backend: identical bytes');
      assert.ok(!a.equals(c), 'another seed gives other weights');
      assert.equal(a.length, c.length);
    });

  it('moves the weights away from their initial values', async () => {
    await initTfjs('wasm');
    const init = buildConvnet(5);
    const trained = await loadModel(join(dir, 'a', 'model.json'));
    assert.equal(trained.kind, 'layers');
    const w0 = await init.getLayer('conv4').getWeights()[0].data();
    const w1 = await (trained.model as any).getLayer('conv4').getWeights()[0].data();
    let moved = 0;
    for (let i = 0; i < w0.length; i++) moved = Math.max(moved, Math.abs(w0[i] - w1[i]));
    // Adam's first step moves each weight by about the learning rate.
    assert.ok(moved > 1e-4 && moved < 2e-3, `largest change ${moved}`);
  });

  it('builds conv1..conv5 with post-ReLU outputs and the planned shapes', () => {
    const model = buildConvnet(1);
    const shapes = CONV_LAYERS.map((l) => model.getLayer(l).outputShape);
    assert.deepEqual(shapes, [[null, 28, 28, 16], [null, 14, 14, 32],
      [null, 7, 7, 64], [null, 7, 7, 64], [null, 7, 7, 32]]);
    for (const l of [...CONV_LAYERS, 'fc6', 'fc7']) {
      assert.equal((model.getLayer(l).getConfig() as any).activation, 'relu');
    }
    assert.deepEqual(model.outputs[0].shape, [null, 10]);
  });

  it('shuffles with a seeded permutation', () => {
    let state = 1;
    const rng = () => (state = (state * 48271) % 2147483647) / 2147483647;
    const p = shuffled(100, rng);
    assert.deepEqual([...p].sort((x, y) => x - y), [...Array(100).keys()]);
  });
});

describe('backend selection', () => {
  it('auto picks wasm here and reports its version and threads', async () => {
    const info = await initTfjs('wasm');
    assert.deepEqual(info, { backend: 'wasm',
      version: `tfjs-backend-wasm ${tf.version_core}`, threads: 1 });
    assert.equal(tf.getBackend(), 'wasm');
  });

  it('a forced backend that cannot load is a clear error', async (t) => {
    const installed = await import('@tensorflow/tfjs-node' as string)
      .then(() => true, () => false);
    if (installed) return t.skip('tfjs-node is installed on this machine');
    await assert.rejects(initTfjs('tensorflow'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_USAGE');
      assert.match(err.message, /backend 'tensorflow' is not available here/);
      assert.match(err.message, /Install @tensorflow\/tfjs-node, or use --backend wasm/);
      return true;
    });
    // The failure leaves the thread on a working backend.
    assert.equal((await initTfjs('auto')).backend, 'wasm');
    await assert.rejects(initTfjs('gpu' as never),
      /unknown backend 'gpu': expected auto, tensorflow, wasm, cpu/);
  });
});

describe('wasm convolution gradients', () => {
  /** Gradients of sum(conv(x, w)^2) wrt x and w on one backend. */
  async function grads(backend: 'cpu' | 'wasm', kernel: number[],
    pad: 'same' | 'valid') {
    await initTfjs(backend);
    return tf.tidy(() => {
      const x = tf.randomNormal([3, 9, 8, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([kernel[0], kernel[1], 2, 4], 0, 1, 'float32',
        2) as tf.Tensor4D;
      const g = tf.grads((a, b) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad))));
      return g([x, w]).map((t) => t.dataSync());
    });
  }

  for (const [kernel, pad] of [[[5, 5], 'same'], [[3, 2], 'valid'],
    [[3, 3], 'same']] as const) {
    it(`agree with the cpu backend for a ${kernel.join('×')} ${pad} filter`,
      async () => {
        const want = await grads('cpu', [...kernel], pad);
        const got = await grads('wasm', [...kernel], pad);
        for (let t = 0; t < 2; t++) {
          let scale = 0;
          let err = 0;
          for (let i = 0; i < want[t].length; i++) {
            scale = Math.max(scale, Math.abs(want[t][i]));
            err = Math.max(err, Math.abs(want[t][i] - got[t][i]));
          }
          assert.ok(err <= 1e-5 * scale, `${t ? 'dw' : 'dx'}: ${err} of ${scale}`);
        }
      });
  }
});

describe('trainStage', () => {
  it('trains a train: network, records the backend and publishes the model',
    async () => {
      const { result, out, records } = await runStage(trainStage, {
        coords: { network: 'net7' },
        params: { images: 32, batch: 32, epochs: 1, maxSteps: 1,
          testImages: 100, backend: 'wasm', save: 'models/mnist/{network}' },
        pipeline: testPipeline({ root: dir,
          networks: { net7: { name: 'net7', train: { seed: 7 } } } }),
      });
      const s = result.summary as any;
      assert.equal(s.seed, 7);
      assert.equal(s.backend, 'wasm');
      assert.equal(records.backend, 'wasm');
      assert.equal(s.steps, 1);
      assert.equal(s.testImages, 100);
      assert.ok(s.testAccuracy >= 0 && s.testAccuracy <= 1);
      assert.ok(existsSync(join(out, 'model.json')));
      assert.deepEqual(result.publish, [
        { from: 'model.json', to: 'models/mnist/net7/model.json' },
        { from: 'weights.bin', to: 'models/mnist/net7/weights.bin' },
        { from: 'summary.json', to: 'models/mnist/net7/training.json' }]);
      const p = testPipeline({ networks: {
        a: { name: 'a', train: { seed: 1 } }, b: { name: 'b', model: 'x' } } });
      assert.deepEqual(trainStage.networks!(p), ['a']);
    });

  it('refuses a network without train: and bad parameters', async () => {
    const pipeline = testPipeline({ networks: {
      m: { name: 'm', model: 'm.json' }, t: { name: 't', train: { seed: 1 } } } });
    await assert.rejects(runStage(trainStage, { coords: { network: 'm' },
      pipeline }), /no 'train: \{seed\}' entry/);
    await assert.rejects(runStage(trainStage, { coords: { network: 't' },
      pipeline, params: { epochs: 0 } }),
    /parameter epochs must be a positive integer, got 0/);
  });
});
