/**
 * Which spatial positions of a layer's map become samples, and how a batch
 * of activation maps becomes rows of a [samples, units] chunk.
 *
 * Samples are aligned across networks when they come from the same image
 * and the same position, so the positions drawn for an image depend only
 * on the image's index in the data, the map's height and width, the count
 * asked for and the seed: never on the network, its channel count or the
 * batch the image arrived in.
 */

/** 'all' positions of every map, or k drawn per image. */
export type Positions = 'all' | number;

/** 32-bit mix of a few integers (Murmur3 finalizer on a running hash). */
function mix(values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** mulberry32: a small, fast 32-bit generator, uniform in [0, 1). */
function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Positions taken per image from an H×W map: all, or min(k, H·W). */
export function positionsPerImage(height: number, width: number,
  positions: Positions): number {
  const all = height * width;
  return positions === 'all' ? all : Math.min(positions, all);
}

/**
 * The positions (row-major indices h·W + w, ascending) taken from image
 * `image` of an H×W map: all of them, or k distinct ones drawn by a
 * partial Fisher–Yates shuffle from a generator seeded with
 * (seed, image, H, W, k). When k ≥ H·W every position is taken.
 */
export function positionsOf(image: number, height: number, width: number,
  positions: Positions, seed: number): Int32Array {
  const all = height * width;
  const k = positionsPerImage(height, width, positions);
  const pool = new Int32Array(all);
  for (let i = 0; i < all; i++) pool[i] = i;
  if (k === all) return pool;

  const rng = mulberry32(mix([seed, image, height, width, k]));
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (all - i));
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.subarray(0, k).sort();
}

/**
 * Rows of a [samples, units] chunk from a batch of NHWC maps.
 *
 * @param maps activations [images, H, W, C], C-order (NHWC)
 * @param firstImage index in the data of the batch's first image
 * @returns [images · P, C] float32, image-major then position ascending,
 *   with P = positionsPerImage(H, W, positions)
 */
export function samplesOfMaps(maps: Float32Array, shape: number[],
  firstImage: number, positions: Positions, seed: number): Float32Array {
  const [n, h, w, c] = shape;
  if (positions === 'all' || positions >= h * w) {
    return maps.length === n * h * w * c ? maps : maps.slice(0, n * h * w * c);
  }
  const p = positionsPerImage(h, w, positions);
  const out = new Float32Array(n * p * c);
  for (let i = 0; i < n; i++) {
    const taken = positionsOf(firstImage + i, h, w, positions, seed);
    for (let j = 0; j < p; j++) {
      const from = (i * h * w + taken[j]) * c;
      out.set(maps.subarray(from, from + c), (i * p + j) * c);
    }
  }
  return out;
}

/**
 * NCHW maps [n, C, H, W] reordered to NHWC [n, H, W, C], so that imported
 * activations in either layout give the same samples.
 */
export function nchwToNhwc(data: Float32Array, shape: number[]): Float32Array {
  const [n, c, h, w] = shape;
  const out = new Float32Array(n * c * h * w);
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    const base = i * c * hw;
    for (let ch = 0; ch < c; ch++) {
      const from = base + ch * hw;
      for (let q = 0; q < hw; q++) out[base + q * c + ch] = data[from + q];
    }
  }
  return out;
}

/** Index of the first non-finite value, or -1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return i;
  }
  return -1;
}

/** Chunk file of a layer, relative to the artifact: conv1/chunk-00003.npy. */
export function chunkName(layer: string, index: number): string {
  return `${layerDir(layer)}/chunk-${String(index).padStart(5, '0')}.npy`;
}

/** A layer name as a folder name (tensor names may hold '/' or ':'). */
export function layerDir(layer: string): string {
  return layer.replace(/[^A-Za-z0-9_.-]/g, '_');
}
