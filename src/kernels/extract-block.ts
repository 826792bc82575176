/**
 * What the three extract@ kernels share: the fields of a block of work
 * (which images, how positions are sampled, where the chunks go), what a
 * block returns per layer, and how one chunk is written and counted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeNpy } from '../core/npy.js';
import type { MnistSplit } from '../data/mnist.js';
import { chunkName, type Positions } from '../data/positions.js';

/** A run of whole batches of images, and where their chunks go. */
export interface ChunkBlock {
  /** Images [start, end), run in batches of `batch`. */
  start: number;
  end: number;
  batch: number;
  /** Index of the block's first batch in the whole run (chunk numbering). */
  firstChunk: number;
  positions: Positions;
  seed: number;
  /** The artifact folder to write `<layer>/chunk-NNNNN.npy` into. */
  out: string;
}

/** A block of MNIST images run through a model file. */
export interface ImageBlock extends ChunkBlock {
  /** The model file, absolute: model.json (TF.js) or an .onnx file. */
  model: string;
  layers: string[];
  split: MnistSplit;
}

/** One layer's chunks from one block. */
export interface LayerBlock {
  units: number;
  height: number;
  width: number;
  positions: number;
  samples: number;
  chunks: string[];
}

/** What a block of images through a model gives. */
export interface BlockResult {
  /** What ran: a tfjs backend, or onnxruntime for ONNX models. */
  backend: { backend: string; version: string; threads: number };
  layers: Record<string, LayerBlock>;
  /** Model layers read in place of the named ones (a following ReLU). */
  substitutions: Record<string, string>;
  warnings: string[];
}

/**
 * Write `rows`, float32 of shape [samples, units], as chunk `chunk` of
 * `layer` under `out`, and add it to the layer's `tally`.
 */
export function writeChunk(out: string, layer: string, chunk: number,
  rows: Float32Array, shape: [samples: number, units: number],
  tally: LayerBlock): void {
  const name = chunkName(layer, chunk);
  mkdirSync(dirname(join(out, name)), { recursive: true });
  writeFileSync(join(out, name), encodeNpy(rows, shape));
  tally.samples += shape[0];
  tally.chunks.push(name);
}
