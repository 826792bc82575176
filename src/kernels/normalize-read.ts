/**
 * Reading a range of samples of one layer from its chunk files (the
 * `<layer>/chunk-NNNNN.npy` files extract@ writes), for normalize@.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { readNpyRows } from '../core/npy.js';
import { inputError } from '../core/errors.js';
import type { SideSource } from './normalize-moments.js';

/**
 * Rows [start, end) of a layer spread over chunk files, into `out`
 * [end − start, units]. Little-endian C-order float32 files (what
 * extract writes) are read straight into `out`; others go through the
 * .npy decoder.
 */
export function readRows(side: SideSource, start: number, end: number,
  out: Float32Array): void {
  const units = side.units;
  let base = 0;
  for (const file of side.files) {
    const lo = Math.max(start, base);
    const hi = Math.min(end, base + file.rows);
    if (lo < hi) {
      const at = (lo - start) * units;
      const { header } = file;
      if (header.littleEndian && !header.fortranOrder &&
        header.dtype === 'float32') {
        const bytes = new Uint8Array(out.buffer, out.byteOffset + at * 4,
          (hi - lo) * units * 4);
        readExactly(file.path, bytes, header.dataOffset +
          (lo - base) * units * 4);
      } else {
        const part = readNpyRows(file.path, lo - base, hi - base, header);
        out.set(part.data as Float32Array, at);
      }
    }
    base += file.rows;
    if (base >= end) break;
  }
}

function readExactly(path: string, into: Uint8Array, position: number) {
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < into.length) {
      const n = readSync(fd, into, got, into.length - got, position + got);
      if (n === 0) {
        throw inputError(path, `truncated: ${into.length - got} bytes ` +
          `missing at offset ${position + got}`, 'Rerun extract.');
      }
      got += n;
    }
  } finally {
    closeSync(fd);
  }
}
