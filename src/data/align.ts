/**
 * Whether two networks' activations of a layer can be compared sample by
 * sample (method: "aligned" samples, the same image at the same
 * position), and what to do when they cannot.
 *
 * A flat layer is a [samples, units] import whose map the pipeline does
 * not declare: its rows are image-major, then position, but how many
 * positions make an image is unknown. Paired with a layer of exactly as
 * many samples, it takes that layer's map and positions per image (so
 * positions per image = its samples / the partner's images). Anything
 * else about it needs the map declared: `networks.<name>.map`.
 */
import { shapeError } from '../core/errors.js';
import type { ExtractSummary } from '../stages/summaries.js';

type LayerEntry = ExtractSummary['layers'][string];

/**
 * The two layers as they are compared: a flat one beside a layer of the
 * same sample count that is not flat takes its height, width and
 * positions per image. Everything else comes back unchanged.
 */
export function alignFlat<T extends LayerEntry>(a: T, b: T): [T, T] {
  if (a.samples !== b.samples || !a.flat === !b.flat) return [a, b];
  const adopt = (flat: T, other: T): T => {
    const { flat: _, ...rest } = flat;
    return { ...rest, height: other.height, width: other.width,
      positions: other.positions } as T;
  };
  return a.flat ? [adopt(a, b), b] : [a, adopt(b, a)];
}

/**
 * What to do when a flat layer does not align: declare its map, with the
 * partner's map as the example. Empty unless exactly one side is flat.
 */
export function declareMapHint(layer: string, nameA: string, a: LayerEntry,
  nameB: string, b: LayerEntry): string {
  if (!a.flat === !b.flat) return '';
  const [name, other] = a.flat ? [nameA, b] : [nameB, a];
  return ` Layer ${layer} of ${name} is a [samples, units] array with no ` +
    'declared map, read as one sample per row: declare its map, e.g. ' +
    `networks.${name}.map: { ${layer}: [${other.height}, ${other.width}] } ` +
    '(rows image-major, then position), so that it is read as images × ' +
    'H × W like the other network and positions: k and data.images apply ' +
    'to it the same way.';
}

function describe(name: string, e: LayerEntry): string {
  const images = e.positions > 0 ? e.samples / e.positions : 0;
  return `${name} [${e.samples} samples = ${images} images × ` +
    `${e.positions} of ${e.height}×${e.width} positions, ${e.units} units]`;
}

/**
 * Throw E_SHAPE unless two networks' activations of a layer can be
 * compared sample by sample: the same sample count from maps of the same
 * H×W and the same positions per image (units may differ), once a flat
 * side has taken its partner's map (alignFlat).
 */
export function checkAligned(layer: string, nameA: string, a: LayerEntry,
  nameB: string, b: LayerEntry): void {
  const [x, y] = alignFlat(a, b);
  if (x.samples === y.samples && x.height === y.height &&
    x.width === y.width && x.positions === y.positions) return;
  // shapeError ends the message with its own full stop.
  const hint = declareMapHint(layer, nameA, a, nameB, b);
  throw shapeError(`layer ${layer}: ${nameA} and ${nameB} cannot be ` +
    'aligned sample by sample', describe(nameB, b),
    `the images and map size of ${describe(nameA, a)}; extract both from ` +
    'the same images, at layers of the same spatial size' +
    (hint ? `.${hint.slice(0, -1)}` : ''));
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
