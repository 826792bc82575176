/**
 * Activations exported from any framework, imported as a network:
 * `activations: path/{layer}.npy` (one file per layer) or `path/acts.npz`
 * (one array per layer name). Accepted arrays, float16, float32 or float64:
 *
 * - [images, H, W, C] with layout nhwc (the default),
 * - [images, C, H, W] with layout nchw (declared in the pipeline),
 * - [samples, units]: taken whole, one sample per row (height = width = 1).
 *
 * Also here: the check that two networks' layers can be compared sample
 * by sample.
 */
import { existsSync, statSync } from 'node:fs';
import { inputError, shapeError } from '../core/errors.js';
import { readNpyHeader, readNpz, type DType, type NdArray } from '../core/npy.js';
import type { ExtractSummary } from '../stages/summaries.js';

export type Layout = 'nhwc' | 'nchw';

/** Where a layer's array is and what it holds. */
export interface ImportedLayer {
  layer: string;
  file: string;
  /** Array name inside an .npz; absent for .npy. */
  entry?: string;
  dtype: DType;
  /** The array's shape as stored. */
  shape: number[];
  layout: Layout;
  /** Rows of the first axis used (the first `images`). */
  images: number;
  height: number;
  width: number;
  units: number;
}

const FLOATS: DType[] = ['float16', 'float32', 'float64'];

/** The file holding a layer: `{layer}` replaced, or the one .npz. */
export function activationFile(pattern: string, layer: string,
  layers: string[]): { file: string; entry?: string } {
  if (pattern.includes('{layer}')) {
    const file = pattern.replaceAll('{layer}', layer);
    return file.endsWith('.npz') ? { file, entry: layer } : { file };
  }
  if (pattern.endsWith('.npz')) return { file: pattern, entry: layer };
  if (layers.length === 1) return { file: pattern };
  throw inputError(pattern, `one .npy for ${layers.length} layers`,
    "Put '{layer}' in the path (e.g. acts/{layer}.npy) or use one .npz " +
    'holding an array per layer name.');
}

/** Per worker: open .npz archives (read whole; see describeImported). */
const archives = new Map<string, Record<string, NdArray>>();

/** The arrays of an .npz, read once per file version and thread. */
export function npzArrays(file: string): Record<string, NdArray> {
  const stat = statSync(file);
  const key = `${file}|${stat.mtimeMs}|${stat.size}`;
  let arrays = archives.get(key);
  if (!arrays) {
    arrays = readNpz(file);
    archives.clear();
    archives.set(key, arrays);
  }
  return arrays;
}

/**
 * Check the array of one layer and say how to read it.
 *
 * @param images images the pipeline compares; the first `images` rows of
 *   a 4-d array are used, and fewer is an error. Undefined: all rows.
 *   2-d arrays are always taken whole.
 */
export function describeImported(pattern: string, layer: string,
  layers: string[], layout: Layout = 'nhwc', images?: number): ImportedLayer {
  const { file, entry } = activationFile(pattern, layer, layers);
  const where = entry ? `${file}[${entry}]` : file;
  if (!existsSync(file)) {
    throw inputError(file, `activations of layer ${layer} not found`,
      'Export one file per layer, or one .npz with an array per layer.');
  }
  let dtype: DType;
  let shape: number[];
  if (entry) {
    const arrays = npzArrays(file);
    const array = arrays[entry];
    if (!array) {
      throw inputError(file, `no array named '${entry}' for layer ${layer}`,
        `The archive holds: ${Object.keys(arrays).join(', ') || 'nothing'}.`);
    }
    ({ dtype, shape } = array);
  } else {
    const header = readNpyHeader(file);
    if (header.fortranOrder && header.shape.length > 1) {
      throw inputError(file, 'Fortran-order array',
        'Save it with numpy.save(path, numpy.ascontiguousarray(arr)).');
    }
    ({ dtype, shape } = header);
  }

  if (!FLOATS.includes(dtype)) {
    throw inputError(where, `activations of layer ${layer} are ${dtype}`,
      'Expected float16, float32 or float64: save arr.astype(numpy.float32).');
  }
  if (shape[0] === 0) {
    throw inputError(where, `activations of layer ${layer} hold no rows ` +
      `([${shape}])`, 'Export the activations of at least one image.');
  }
  if (shape.length === 2) {
    return { layer, file, entry, dtype, shape, layout, images: shape[0],
      height: 1, width: 1, units: shape[1] };
  }
  if (shape.length !== 4) {
    throw shapeError(`activations of layer ${layer} in ${where}`,
      `[${shape}]`, layout === 'nchw' ? '[images, C, H, W] (layout nchw) or ' +
        '[samples, units]' : '[images, H, W, C] (layout nhwc) or ' +
        '[samples, units]; declare layout: nchw for [images, C, H, W]');
  }
  const [n, a, b, c] = shape;
  const [height, width, units] = layout === 'nchw' ? [b, c, a] : [a, b, c];
  if (images !== undefined && n < images) {
    throw shapeError(`activations of layer ${layer} in ${where}`,
      `${n} images ([${shape}])`, `at least the ${images} images the ` +
      'pipeline compares (data.images)');
  }
  return { layer, file, entry, dtype, shape, layout,
    images: images ?? n, height, width, units };
}

type LayerEntry = ExtractSummary['layers'][string];

function describe(name: string, e: LayerEntry): string {
  const images = e.positions > 0 ? e.samples / e.positions : 0;
  return `${name} [${e.samples} samples = ${images} images × ` +
    `${e.positions} of ${e.height}×${e.width} positions, ${e.units} units]`;
}

/**
 * Throw E_SHAPE unless two networks' activations of a layer can be
 * compared sample by sample: the same sample count from maps of the same
 * H×W and the same positions per image (units may differ).
 */
export function checkAligned(layer: string, nameA: string, a: LayerEntry,
  nameB: string, b: LayerEntry): void {
  if (a.samples === b.samples && a.height === b.height &&
    a.width === b.width && a.positions === b.positions) return;
  throw shapeError(`layer ${layer}: ${nameA} and ${nameB} cannot be ` +
    'aligned sample by sample', describe(nameB, b),
    `the images and map size of ${describe(nameA, a)}; extract both from ` +
    'the same images, at layers of the same spatial size');
}

/** checkAligned on two extract@ summaries; also says if a layer is absent. */
export function checkLayersAlign(layer: string, a: ExtractSummary,
  b: ExtractSummary): void {
  for (const s of [a, b]) {
    if (!s.layers[layer]) {
      throw shapeError(`layer ${layer} of network ${s.network}`, 'no such ' +
        'layer in its extraction', `one of ${Object.keys(s.layers).join(', ')}`);
    }
  }
  checkAligned(layer, a.network, a.layers[layer], b.network, b.layers[layer]);
}
