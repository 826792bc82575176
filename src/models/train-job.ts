/**
 * One training run as a pool task: load MNIST, train the built-in convnet,
 * measure test accuracy and write the model into a folder. The argument and
 * the result are plain objects, so the same function runs on a piscina
 * worker (trainStage), on the calling thread (tests) or from a script
 * (bench/train-models.ts).
 */
import { loadMnist } from '../data/mnist.js';
import { initTfjs, type BackendChoice } from '../engine/tfjs.js';
import { saveLayersModel } from './io.js';
import { accuracy, trainConvnet } from './train-convnet.js';
import { MNIST_CONVNET } from './convnet.js';

export interface TrainJob {
  seed: number;
  epochs: number;
  batch: number;
  learningRate: number;
  /** Training images from the start of the train split; all when absent. */
  images?: number;
  /** Test images to score; all 10,000 when absent, 0 to skip. */
  testImages?: number;
  maxSteps?: number;
  backend?: BackendChoice;
  /** Folder to write model.json and weights.bin into. */
  out: string;
  /** Print a line per this many steps to stderr (0: quiet). */
  logEvery?: number;
}

export interface TrainJobResult {
  seed: number;
  backend: string;
  backendVersion: string;
  threads: number;
  images: number;
  steps: number;
  epochs: number;
  epochSeconds: number[];
  finalLoss: number;
  testImages: number;
  /** NaN never leaves here: null when no test images were scored. */
  testAccuracy: number | null;
  files: string[];
  architecture: typeof MNIST_CONVNET;
}

export async function trainJob(job: TrainJob): Promise<TrainJobResult> {
  const info = await initTfjs(job.backend ?? 'auto');
  const train = loadMnist('train', { count: job.images });
  const every = job.logEvery ?? 0;
  const started = performance.now();
  const result = await trainConvnet(train, {
    seed: job.seed, epochs: job.epochs, batch: job.batch,
    learningRate: job.learningRate, maxSteps: job.maxSteps,
    onStep(done, total, loss) {
      if (every > 0 && (done % every === 0 || done === total)) {
        const s = ((performance.now() - started) / 1000).toFixed(0);
        process.stderr.write(`seed ${job.seed}: step ${done}/${total} ` +
          `loss ${loss?.toFixed(4)} ${s}s\n`);
      }
    },
  });

  const testImages = job.testImages ?? 10000;
  const acc = testImages > 0
    ? await accuracy(result.model, loadMnist('test', { count: testImages }))
    : null;
  const files = await saveLayersModel(result.model, job.out);
  result.model.dispose();
  return {
    seed: job.seed, backend: info.backend, backendVersion: info.version,
    threads: info.threads, images: train.shape[0], steps: result.steps,
    epochs: job.epochs, epochSeconds: result.epochSeconds,
    finalLoss: result.finalLoss, testImages, testAccuracy: acc, files,
    architecture: MNIST_CONVNET,
  };
}
