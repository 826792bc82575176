/**
 * Train the built-in convnet on MNIST with a plain minibatch loop (Adam on
 * softmax cross-entropy). The loop is ours rather than `model.fit` so that
 * the shuffling comes from the seed: the same seed on the same backend
 * gives the same weights, bit for bit.
 */
import { throwIfCancelled } from '../core/cancel.js';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';
import type { MnistImages } from '../data/mnist.js';
import { buildConvnet } from './convnet.js';

export interface TrainOptions {
  seed: number;
  epochs: number;
  batch: number;
  learningRate: number;
  /** Stop after this many minibatch steps in all (tests take one). */
  maxSteps?: number;
  /** Called after every step with steps done and steps planned. */
  onStep?(done: number, total: number, loss: number | undefined): void;
}

export interface TrainResult {
  model: tfl.LayersModel;
  steps: number;
  /** Wall seconds of each epoch (the last may be partial). */
  epochSeconds: number[];
  /** Mean loss of the last epoch's steps. */
  finalLoss: number;
}

const PIXELS = 28 * 28;

/** A permutation of 0..n-1 from a seeded generator (Fisher–Yates). */
export function shuffled(n: number, rng: () => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Copy the images at `rows` of `order` into one [b, 28, 28, 1] batch. */
function gatherBatch(data: MnistImages, order: Int32Array, start: number,
  end: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const b = end - start;
  const pixels = new Float32Array(b * PIXELS);
  const labels = new Int32Array(b);
  for (let r = 0; r < b; r++) {
    const i = order[start + r];
    pixels.set(data.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS);
    labels[r] = data.labels[i];
  }
  return tf.tidy(() => ({
    x: tf.tensor4d(pixels, [b, 28, 28, 1]),
    y: tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10),
      'float32') as tf.Tensor2D,
  }));
}

/**
 * Train a fresh convnet built from `options.seed` on `data`. The caller
 * must have initialized a backend with initTfjs (which, on wasm, installs
 * the convolution gradients of conv-grads.ts).
 */
export async function trainConvnet(data: MnistImages,
  options: TrainOptions): Promise<TrainResult> {
  const model = buildConvnet(options.seed);
  const optimizer = tf.train.adam(options.learningRate);
  const rng = seedrandom(`convergent-shuffle-${options.seed}`);
  const n = data.shape[0];
  const perEpoch = Math.ceil(n / options.batch);
  const total = Math.min(options.maxSteps ?? Infinity, perEpoch * options.epochs);
  const epochSeconds: number[] = [];
  let steps = 0;
  let finalLoss = NaN;

  for (let epoch = 0; epoch < options.epochs && steps < total; epoch++) {
    const started = performance.now();
    const order = shuffled(n, rng);
    let lossSum = 0;
    let lossCount = 0;
    for (let s = 0; s < n && steps < total; s += options.batch) {
      throwIfCancelled();
      const { x, y } = gatherBatch(data, order, s, Math.min(n, s + options.batch));
      const loss = optimizer.minimize(() => {
        const logits = model.apply(x, { training: true }) as tf.Tensor2D;
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      }, true)!;
      const value = (await loss.data())[0];
      tf.dispose([x, y, loss]);
      lossSum += value;
      lossCount++;
      steps++;
      options.onStep?.(steps, total, value);
    }
    finalLoss = lossSum / Math.max(1, lossCount);
    epochSeconds.push((performance.now() - started) / 1000);
  }
  optimizer.dispose();
  return { model, steps, epochSeconds, finalLoss };
}

/** Share of images whose largest logit is their label. */
export async function accuracy(model: tfl.LayersModel, data: MnistImages,
  batch = 500): Promise<number> {
  const n = data.shape[0];
  let right = 0;
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    const x = tf.tensor4d(data.pixels.subarray(s * PIXELS, e * PIXELS),
      [e - s, 28, 28, 1]);
    const guess = tf.tidy(() =>
      tf.argMax(model.predict(x) as tf.Tensor2D, 1));
    const g = await guess.data();
    tf.dispose([x, guess]);
    for (let i = 0; i < e - s; i++) if (g[i] === data.labels[s + i]) right++;
  }
  return right / n;
}
