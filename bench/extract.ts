/**
 * Extraction speed per tfjs backend: MNIST test images through one of the
 * shipped networks, conv1..conv5 written as chunks, on one thread (the
 * stage runs one such thread per pool worker). Prints, never asserts.
 *
 *   node dist/bench/extract.js [--network net1] [--images 10000]
 *     [--cpu-images 1000] [--batch 256] [--model path/model.json]
 */
import { tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { availableBackends, type BackendName } from '../src/engine/tfjs.js';
import { extractModelBlock } from '../src/kernels/extract-model.js';
import { CONV_LAYERS } from '../src/models/convnet.js';
import { machineLine } from './machine.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({ options: {
  network: { type: 'string', default: 'net1' },
  model: { type: 'string' },
  images: { type: 'string', default: '10000' },
  'cpu-images': { type: 'string', default: '1000' },
  batch: { type: 'string', default: '256' },
} });

const model = values.model ?? join(root, 'models', 'mnist', values.network,
  'model.json');
const backends = await availableBackends();
console.log(machineLine());
console.log(`model: ${model}; layers ${CONV_LAYERS.join(', ')}, all positions`);
console.log(`backends available: ${backends.join(', ')}`);

for (const backend of backends as BackendName[]) {
  const images = Number(backend === 'cpu' ? values['cpu-images'] : values.images);
  const out = mkdtempSync(join(tmpdir(), 'convergent-bench-'));
  const run = (count: number) => extractModelBlock({ model, layers: CONV_LAYERS,
    split: 'test', start: 0, end: count, batch: Number(values.batch),
    firstChunk: 0, positions: 'all', seed: 0, backend, out });
  try {
    // Warm up: load the model and compile the kernels once.
    await run(Math.min(images, Number(values.batch)));
    const started = performance.now();
    const r = await run(images);
    const seconds = (performance.now() - started) / 1000;
    console.log(`${backend.padEnd(10)} ${(images / seconds).toFixed(0).padStart(6)} ` +
      `images/s (${images} images in ${seconds.toFixed(2)} s; ` +
      `${r.backend.version}, ${r.backend.threads} thread)`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
