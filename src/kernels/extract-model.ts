/**
 * Pool kernel of extract@: run a block of MNIST images through a
 * TensorFlow.js model and write the post-ReLU activations of the requested
 * layers as [samples, units] float32 chunks, one chunk per layer and batch.
 * Each worker loads a model once and keeps it for the following blocks.
 */
import { throwIfCancelled } from '../core/cancel.js';
import { statSync } from 'node:fs';
import { inputError } from '../core/errors.js';
import { loadMnist } from '../data/mnist.js';
import { firstNonFinite, samplesOfMaps, positionsPerImage }
  from '../data/positions.js';
import { initTfjs, tf, type BackendChoice } from '../engine/tfjs.js';
import { openTfjsModel, type LayerProbe } from '../models/probe.js';
import { writeChunk, type BlockResult, type ImageBlock, type LayerBlock }
  from './extract-block.js';

/** A block of images through a TF.js model (`model` is its model.json). */
export interface ModelBlock extends ImageBlock {
  backend: BackendChoice;
}

/** Per worker: the probe of each model file, keyed by path and mtime. */
const probes = new Map<string, Promise<LayerProbe>>();

function probeFor(path: string, layers: string[]): Promise<LayerProbe> {
  const stat = statSync(path);
  const key = `${path}|${stat.mtimeMs}|${stat.size}|${layers.join(',')}`;
  let probe = probes.get(key);
  if (!probe) {
    probe = openTfjsModel(path, layers);
    probes.set(key, probe);
    probe.catch(() => probes.delete(key));
  }
  return probe;
}

export async function extractModelBlock(block: ModelBlock): Promise<BlockResult> {
  const backend = await initTfjs(block.backend);
  const probe = await probeFor(block.model, block.layers);
  const layers: Record<string, LayerBlock> = {};
  let chunk = block.firstChunk;

  for (let s = block.start; s < block.end; s += block.batch, chunk++) {
    throwIfCancelled();
    const n = Math.min(block.batch, block.end - s);
    const images = loadMnist(block.split, { start: s, count: n });
    const x = tf.tensor4d(images.pixels, images.shape);
    const outputs = probe.run(x);
    x.dispose();

    for (let l = 0; l < block.layers.length; l++) {
      const layer = block.layers[l];
      const t = outputs[l];
      const shape = t.shape as number[];
      const maps = t.rank === 2 ? [shape[0], 1, 1, shape[1]] : shape;
      if (maps.length !== 4) {
        throw inputError(block.model, `layer ${layer} gives a rank-${t.rank} ` +
          `output [${t.shape}]`, 'Name a conv (rank 4) or dense (rank 2) layer.');
      }
      const data = await t.data() as Float32Array;
      const bad = firstNonFinite(data);
      if (bad >= 0) {
        const image = s + Math.floor(bad / (data.length / n));
        throw inputError(block.model, `layer ${layer} gives ${data[bad]} ` +
          `for image ${image} of the ${block.split} split`,
          'Check the model weights: no NaN or infinity may reach the analysis.');
      }
      const rows = samplesOfMaps(data, maps, s, block.positions, block.seed);
      const [, h, w, c] = maps;
      const p = positionsPerImage(h, w, block.positions);
      const tally = layers[layer] ??= { units: c, height: h, width: w,
        positions: p, samples: 0, chunks: [] };
      writeChunk(block.out, layer, chunk, rows, [n * p, c], tally);
    }
    tf.dispose(outputs);
  }
  return { backend, layers, substitutions: probe.substitutions,
    warnings: probe.warnings };
}
