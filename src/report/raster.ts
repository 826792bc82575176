/**
 * A small RGBA raster for the PNG figures: filled rectangles, lines and
 * a built-in 3 × 5 pixel font for numbers, encoded with pngjs. No system
 * font or canvas library is needed, so a figure looks the same on every
 * machine.
 */
import { PNG } from 'pngjs';

export type Rgb = [number, number, number];

/**
 * Glyphs of the 3 × 5 font: five rows of three bits each, top first.
 * Enough for color-bar labels and the network letters A and B.
 */
const glyphs: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1], '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 1, 1], '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7], '-': [0, 0, 7, 0, 0], '.': [0, 0, 0, 0, 2],
  'A': [2, 5, 7, 5, 5], 'B': [6, 5, 6, 5, 6],
  ' ': [0, 0, 0, 0, 0],
};

export class Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;

  /** A raster filled with `background` (white by default). */
  constructor(width: number, height: number,
    background: Rgb = [255, 255, 255]) {
    this.width = Math.max(1, Math.round(width));
    this.height = Math.max(1, Math.round(height));
    this.data = Buffer.alloc(this.width * this.height * 4);
    this.fill(0, 0, this.width, this.height, background);
  }

  /** Fill [x, x + w) × [y, y + h), clipped to the raster. */
  fill(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let row = y0; row < y1; row++) {
      let at = (row * this.width + x0) * 4;
      for (let col = x0; col < x1; col++, at += 4) {
        this.data[at] = color[0];
        this.data[at + 1] = color[1];
        this.data[at + 2] = color[2];
        this.data[at + 3] = 255;
      }
    }
  }

  /** A horizontal line from x0 to x1 (inclusive) at row y. */
  hline(x0: number, x1: number, y: number, color: Rgb, thick = 1): void {
    const lo = Math.min(x0, x1);
    this.fill(lo, y, Math.abs(x1 - x0) + thick, thick, color);
  }

  /** A vertical line from y0 to y1 (inclusive) at column x. */
  vline(x: number, y0: number, y1: number, color: Rgb, thick = 1): void {
    const lo = Math.min(y0, y1);
    this.fill(x, lo, thick, Math.abs(y1 - y0) + thick, color);
  }

  /** An unfilled rectangle. */
  frame(x: number, y: number, w: number, h: number, color: Rgb): void {
    this.hline(x, x + w - 1, y, color);
    this.hline(x, x + w - 1, y + h - 1, color);
    this.vline(x, y, y + h - 1, color);
    this.vline(x + w - 1, y, y + h - 1, color);
  }

  /**
   * `text` in the 3 × 5 font, each font pixel `scale` pixels wide, its
   * top-left corner at (x, y). Characters without a glyph are skipped.
   */
  text(text: string, x: number, y: number, color: Rgb, scale = 2): void {
    let left = x;
    for (const ch of text) {
      const rows = glyphs[ch];
      if (!rows) continue;
      rows.forEach((bits, r) => {
        for (let c = 0; c < 3; c++) {
          if (bits & (4 >> c)) {
            this.fill(left + c * scale, y + r * scale, scale, scale, color);
          }
        }
      });
      left += 4 * scale;
    }
  }

  /** The PNG file of the raster. */
  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    this.data.copy(png.data);
    return PNG.sync.write(png, { colorType: 2 });
  }
}

/** Width in pixels of `text` in the 3 × 5 font at `scale`. */
export function textWidth(text: string, scale = 2): number {
  return Math.max(0, text.length * 4 * scale - scale);
}
