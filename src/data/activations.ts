/**
 * Activations exported from any framework, imported as a network:
 * `activations: path/{layer}.npy` (one file per layer) or `path/acts.npz`
 * (one array per layer name). Accepted arrays, float16, float32 or float64:
 *
 * - [images, H, W, C] with layout nhwc (the default),
 * - [images, C, H, W] with layout nchw (declared in the pipeline),
 * - [samples, units], rows image-major then position (row-major h·W + w):
 *   with `map: [H, W]` declared (for every layer, or `map: { conv2: [H,
 *   W] }` per layer) read as [samples / (H·W), H, W, units], exactly like
 *   an nhwc file; undeclared, taken whole as a "flat" layer whose map is
 *   not known until it is paired (see align.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { inputError, shapeError } from '../core/errors.js';
import { readNpyHeader, readNpz, type DType, type NdArray } from '../core/npy.js';
import type { MapSize, NetworkSpec } from '../stages/types.js';

export { checkAligned, checkLayersAlign } from './align.js';

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
  /** A [samples, units] array with no declared map (one row per sample). */
  flat: boolean;
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

/**
 * The map the pipeline declares for a layer of a network: `map: [H, W]`
 * for every layer, or `map: { layer: [H, W] }`. Undefined when none.
 */
export function declaredMap(map: NetworkSpec['map'],
  layer: string): MapSize | undefined {
  if (map === undefined) return undefined;
  return Array.isArray(map) ? map : map[layer];
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
 * @param images images the pipeline compares; the first `images` images
 *   of a 4-d array (or of a 2-d one with a declared map) are used, and
 *   fewer is an error. Undefined: all of them. Flat 2-d arrays are always
 *   taken whole.
 * @param map the declared [H, W] of the layer (see declaredMap): a 2-d
 *   array holds images·H·W rows; a 4-d array must have that map.
 */
export function describeImported(pattern: string, layer: string,
  layers: string[], layout: Layout = 'nhwc', images?: number,
  map?: MapSize): ImportedLayer {
  const { file, entry } = activationFile(pattern, layer, layers);
  const where = entry ? `${file}[${entry}]` : file;
  const { dtype, shape } = arrayHeader(file, entry, layer);

  if (!FLOATS.includes(dtype)) {
    throw inputError(where, `activations of layer ${layer} are ${dtype}`,
      'Expected float16, float32 or float64: save arr.astype(numpy.float32).');
  }
  if (shape[0] === 0) {
    throw inputError(where, `activations of layer ${layer} hold no rows ` +
      `([${shape}])`, 'Export the activations of at least one image.');
  }
  if (shape.length === 2 && !map) {
    return { layer, file, entry, dtype, shape, layout, images: shape[0],
      height: 1, width: 1, units: shape[1], flat: true };
  }
  const what = `activations of layer ${layer} in ${where}`;
  const dims = shape.length === 2 ? rowsAsMaps(what, shape, map!)
    : mapsOf(what, shape, layout, map);
  if (images !== undefined && dims.n < images) {
    throw shapeError(what, `${dims.n} images ([${shape}])`, `at least the ` +
      `${images} images the pipeline compares (data.images)`);
  }
  return { layer, file, entry, dtype, shape, layout, images: images ?? dims.n,
    height: dims.height, width: dims.width, units: dims.units, flat: false };
}

/** dtype and shape of a layer's array, from the .npy header or the .npz. */
function arrayHeader(file: string, entry: string | undefined,
  layer: string): { dtype: DType; shape: number[] } {
  if (!existsSync(file)) {
    throw inputError(file, `activations of layer ${layer} not found`,
      'Export one file per layer, or one .npz with an array per layer.');
  }
  if (entry) {
    const arrays = npzArrays(file);
    const array = arrays[entry];
    if (!array) {
      throw inputError(file, `no array named '${entry}' for layer ${layer}`,
        `The archive holds: ${Object.keys(arrays).join(', ') || 'nothing'}.`);
    }
    return { dtype: array.dtype, shape: array.shape };
  }
  const header = readNpyHeader(file);
  if (header.fortranOrder && header.shape.length > 1) {
    throw inputError(file, 'Fortran-order array',
      'Save it with numpy.save(path, numpy.ascontiguousarray(arr)).');
  }
  return { dtype: header.dtype, shape: header.shape };
}

interface Dims { n: number; height: number; width: number; units: number }

/** [images·H·W, units] rows with a declared map [H, W]. */
function rowsAsMaps(what: string, shape: number[], map: MapSize): Dims {
  const [height, width] = map;
  const per = height * width;
  if (shape[0] % per !== 0) {
    throw shapeError(what, `[${shape}], ${shape[0]} rows`, `a multiple of ` +
      `${height}·${width} = ${per} rows (images × positions, image-major) ` +
      `for the declared map [${height}, ${width}]; check the map or the export`);
  }
  return { n: shape[0] / per, height, width, units: shape[1] };
}

/** [images, H, W, C] or [images, C, H, W], checked against a declared map. */
function mapsOf(what: string, shape: number[], layout: Layout,
  map: MapSize | undefined): Dims {
  if (shape.length !== 4) {
    throw shapeError(what, `[${shape}]`, layout === 'nchw'
      ? '[images, C, H, W] (layout nchw) or [samples, units]'
      : '[images, H, W, C] (layout nhwc) or [samples, units]; declare ' +
        'layout: nchw for [images, C, H, W]');
  }
  const [n, a, b, c] = shape;
  const [height, width, units] = layout === 'nchw' ? [b, c, a] : [a, b, c];
  if (map && (map[0] !== height || map[1] !== width)) {
    throw shapeError(what, `a ${height}×${width} map ([${shape}], layout ` +
      `${layout})`, `the declared map [${map}]; the map is only needed ` +
      'for [samples, units] arrays, so drop it or fix it');
  }
  return { n, height, width, units };
}
