/**
 * Train the shipped MNIST networks into models/mnist/<name> with the same
 * function trainStage runs (src/models/train-job.ts), for use before the
 * runner exists or to retrain by hand:
 *
 *   node dist/bench/train-models.js net1 net2 [--epochs 3] [--batch 64]
 *     [--lr 0.001] [--backend auto]
 *
 * Network netK takes seed K. Prints one JSON line per network.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { trainJob } from '../src/models/train-job.js';
import type { BackendChoice } from '../src/engine/tfjs.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.001' },
    backend: { type: 'string', default: 'auto' },
    images: { type: 'string' },
    out: { type: 'string', default: join(root, 'models', 'mnist') },
  },
});

for (const name of positionals.length ? positionals : ['net1']) {
  const seed = Number(/(\d+)$/.exec(name)?.[1]);
  if (!Number.isInteger(seed)) {
    throw new Error(`network name '${name}' must end in its seed, e.g. net1`);
  }
  const result = await trainJob({
    seed, epochs: Number(values.epochs), batch: Number(values.batch),
    learningRate: Number(values.lr), backend: values.backend as BackendChoice,
    images: values.images ? Number(values.images) : undefined,
    out: join(values.out, name), logEvery: 100,
  });
  const { architecture: _, ...brief } = result;
  console.log(JSON.stringify({ network: name, ...brief }));
}
