/**
 * Pool kernel of extract@ for imported activations: convert images
 * [start, end) of one layer's array into [samples, units] float32 chunks,
 * the same format and sample order as activations taken from a model.
 * .npy files are read row range by row range, so memory stays bounded.
 * A [samples, units] array with a declared map [H, W] holds H·W rows per
 * image and is read as the NHWC maps it flattens.
 */
import { inputError } from '../core/errors.js';
import { readNpyRows, type NdArray, type TypedArray } from '../core/npy.js';
import { npzArrays, type ImportedLayer } from '../data/activations.js';
import { firstNonFinite, nchwToNhwc, positionsPerImage, samplesOfMaps }
  from '../data/positions.js';
import { writeChunk, type ChunkBlock, type LayerBlock }
  from './extract-block.js';

/** A block of images [start, end) of one imported layer's array. */
export interface ImportBlock extends ChunkBlock {
  source: ImportedLayer;
}

/**
 * A block's chunks, and the negative values among the images it read
 * (post-ReLU activations have none; extract@ warns once per file).
 */
export interface ImportResult extends LayerBlock {
  negatives: number;
  /** The most negative value read; 0 when there is none. */
  mostNegative: number;
}

function toFloat32(data: TypedArray): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** Rows [start, end) of the first axis of a layer's array. */
function rowsOf(source: ImportedLayer, start: number, end: number): NdArray {
  if (!source.entry) return readNpyRows(source.file, start, end);
  const array = npzArrays(source.file)[source.entry];
  const row = source.shape.slice(1).reduce((a, b) => a * b, 1);
  return { dtype: array.dtype, shape: [end - start, ...source.shape.slice(1)],
    data: array.data.subarray(start * row, end * row) };
}

/** Count the negative values of `data` into `result`. */
function tallyNegatives(data: Float32Array, result: ImportResult): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < 0) {
      result.negatives++;
      if (v < result.mostNegative) result.mostNegative = v;
    }
  }
}

export async function extractImportBlock(
  block: ImportBlock): Promise<ImportResult> {
  const src = block.source;
  const where = src.entry ? `${src.file}[${src.entry}]` : src.file;
  const p = positionsPerImage(src.height, src.width, block.positions);
  const result: ImportResult = { units: src.units, height: src.height,
    width: src.width, positions: p, samples: 0, chunks: [], negatives: 0,
    mostNegative: 0 };
  // Array rows per image: H·W for [samples, units] with a declared map,
  // 1 for 4-d arrays and flat ones (1×1).
  const per = src.shape.length === 2 ? src.height * src.width : 1;
  let chunk = block.firstChunk;

  for (let s = block.start; s < block.end; s += block.batch, chunk++) {
    const n = Math.min(block.batch, block.end - s);
    let data = toFloat32(rowsOf(src, s * per, (s + n) * per).data);
    const bad = firstNonFinite(data);
    if (bad >= 0) {
      const row = s * per + Math.floor(bad / (data.length / (n * per)));
      throw inputError(where, `layer ${src.layer} holds ${data[bad]} in row ` +
        row, 'No NaN or infinity may reach the analysis: fix the export.');
    }
    tallyNegatives(data, result);
    if (src.shape.length === 4 && src.layout === 'nchw') {
      data = nchwToNhwc(data, [n, src.units, src.height, src.width]);
    }
    const rows = samplesOfMaps(data, [n, src.height, src.width, src.units], s,
      block.positions, block.seed);

    writeChunk(block.out, src.layer, chunk, rows, [n * p, src.units],
      result);
  }
  return result;
}
