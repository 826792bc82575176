/**
 * Pool kernel of extract@ for ONNX networks: run a block of MNIST images
 * through onnxruntime-node and write each layer's post-ReLU activations as
 * [samples, units] float32 chunks, in the same order as for TF.js models.
 * Each worker opens a session once per model file and keeps it.
 */
import { throwIfCancelled } from '../core/cancel.js';
import { statSync } from 'node:fs';
import { inputError } from '../core/errors.js';
import { loadMnist } from '../data/mnist.js';
import { firstNonFinite, nchwToNhwc, positionsPerImage, samplesOfMaps }
  from '../data/positions.js';
import { openOnnx, runOnnx, type OnnxInput, type OnnxProbe }
  from '../engine/onnx-model.js';
import { writeChunk, type BlockResult, type ImageBlock, type LayerBlock }
  from './extract-block.js';

/** A block of images through an ONNX model, fed as `input` says. */
export interface OnnxBlock extends ImageBlock {
  input: OnnxInput;
}

const sessions = new Map<string, Promise<OnnxProbe>>();

function probeFor(block: OnnxBlock): Promise<OnnxProbe> {
  const stat = statSync(block.model);
  const key = `${block.model}|${stat.mtimeMs}|${stat.size}|` +
    `${block.layers.join(',')}|${block.input.layout ?? 'nchw'}`;
  let probe = sessions.get(key);
  if (!probe) {
    probe = openOnnx(block.model, block.layers, block.input);
    sessions.set(key, probe);
    probe.catch(() => sessions.delete(key));
  }
  return probe;
}

export async function extractOnnxBlock(block: OnnxBlock): Promise<BlockResult> {
  const probe = await probeFor(block);
  const layers: Record<string, LayerBlock> = {};
  let chunk = block.firstChunk;

  for (let s = block.start; s < block.end; s += block.batch, chunk++) {
    throwIfCancelled();
    const n = Math.min(block.batch, block.end - s);
    const images = loadMnist(block.split, { start: s, count: n });
    const outputs = await runOnnx(probe, images.pixels, n, block.input);

    block.layers.forEach((layer, l) => {
      const { dims } = outputs[l];
      let data = outputs[l].data;
      if (dims.length !== 4 && dims.length !== 2) {
        throw inputError(block.model, `layer ${layer} (tensor ` +
          `${probe.tensors[l]}) is [${dims}]`,
          'Name a conv (4-d) or dense (2-d) tensor.');
      }
      const bad = firstNonFinite(data);
      if (bad >= 0) {
        throw inputError(block.model, `layer ${layer} gives ${data[bad]} for ` +
          `image ${s + Math.floor(bad / (data.length / n))}`,
          'No NaN or infinity may reach the analysis.');
      }
      const [h, w, c] = dims.length === 4 ? [dims[2], dims[3], dims[1]]
        : [1, 1, dims[1]];
      if (dims.length === 4) data = nchwToNhwc(data, dims);
      const rows = samplesOfMaps(data, [n, h, w, c], s, block.positions,
        block.seed);
      const p = positionsPerImage(h, w, block.positions);
      const tally = layers[layer] ??= { units: c, height: h, width: w,
        positions: p, samples: 0, chunks: [] };
      writeChunk(block.out, layer, chunk, rows, [n * p, c], tally);
    });
  }
  return {
    backend: { backend: 'onnxruntime', version:
      `onnxruntime-node ${probe.version}`, threads: probe.threads },
    layers, substitutions: probe.substitutions, warnings: probe.warnings,
  };
}
