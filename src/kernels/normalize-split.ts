/**
 * The fit / holdout split of normalize@ (method.md §1, our rule): a
 * seeded, deterministic split of the images, never of the samples, so
 * that the positions of one image all fall on the same side.
 */
import seedrandom from 'seedrandom';

/** How many of `images` images the holdout takes for a fraction. */
export function holdoutCount(images: number, fraction: number): number {
  // Keep at least one image for fitting whatever the rounding.
  const k = Math.round(fraction * images);
  return Math.max(0, Math.min(k, images - 1));
}

/**
 * Which images are held out: a [images] mask, 1 = holdout, 0 = fit.
 * The holdout is the first holdoutCount(images, fraction) entries of a
 * Fisher–Yates shuffle of 0..images−1 driven by seedrandom(seed), so
 * the same (images, fraction, seed) gives the same images on every run,
 * every layer and every pair.
 */
export function splitImages(images: number, fraction: number,
  seed: number): Uint8Array {
  const mask = new Uint8Array(images);
  const k = holdoutCount(images, fraction);
  if (k === 0) return mask;

  const rng = seedrandom(`convergent-holdout-${seed}`);
  const order = new Uint32Array(images);
  for (let i = 0; i < images; i++) order[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (images - i));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
    mask[order[i]] = 1;
  }
  return mask;
}
