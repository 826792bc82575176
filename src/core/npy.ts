/**
 * NumPy .npy and .npz files: the interchange format for every array
 * convergent stores or imports, so that `numpy.load` opens the cache.
 *
 * No maintained npm package writes .npy (npyjs only parses, and reads
 * whole files), so the format (a magic string, a Python-literal header,
 * then raw C-order data) is handled here; zip containers (.npz) go
 * through fflate, and float16 through @petamoriken/float16.
 */
import { closeSync, openSync, readSync, writeFileSync, readFileSync,
  fstatSync } from 'node:fs';
import { getFloat16 } from '@petamoriken/float16';
import { unzipSync } from 'fflate';
import { inputError } from './errors.js';

export type DType = 'float16' | 'float32' | 'float64' | 'int8' | 'uint8'
  | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int8Array | Uint8Array
  | Int16Array | Uint16Array | Int32Array | Uint32Array;

export interface NpyHeader {
  dtype: DType;
  shape: number[];
  fortranOrder: boolean;
  littleEndian: boolean;
  /** Byte offset of the first element in the file. */
  dataOffset: number;
}

export interface NdArray<T extends TypedArray = TypedArray> {
  /** Element type as stored (float16 arrives widened to Float32Array). */
  dtype: DType;
  shape: number[];
  data: T;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const codes: Record<string, { dtype: DType; size: number }> = {
  f2: { dtype: 'float16', size: 2 }, f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 }, i1: { dtype: 'int8', size: 1 },
  u1: { dtype: 'uint8', size: 1 }, i2: { dtype: 'int16', size: 2 },
  u2: { dtype: 'uint16', size: 2 }, i4: { dtype: 'int32', size: 4 },
  u4: { dtype: 'uint32', size: 4 }, i8: { dtype: 'int64', size: 8 },
  b1: { dtype: 'bool', size: 1 },
};

const descrOf: Partial<Record<DType, string>> = {
  float32: '<f4', float64: '<f8', int32: '<i4', uint8: '|u1',
  int8: '|i1', int16: '<i2', uint16: '<u2', uint32: '<u4',
};

export function itemSize(dtype: DType): number {
  const entry = Object.values(codes).find((c) => c.dtype === dtype);
  return entry ? entry.size : 0;
}

/** Parse the header at the start of `bytes` (at least the first 10 + len). */
export function parseHeader(bytes: Uint8Array, file = '<buffer>'): NpyHeader {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw inputError(file, 'not a .npy file (bad magic string)',
        'Save arrays with numpy.save.');
    }
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (bytes.length < start + headerLen) {
    throw inputError(file, 'truncated .npy header');
  }
  const text = new TextDecoder('latin1').decode(
    bytes.subarray(start, start + headerLen));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw inputError(file, `unreadable .npy header ${JSON.stringify(text.trim())}`);
  }
  const code = codes[descr.slice(1)];
  if (!code) {
    throw inputError(file, `unsupported dtype '${descr}'`,
      'Convert it to float32 with arr.astype(numpy.float32).');
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s)
    .map(Number);
  return {
    dtype: code.dtype,
    shape,
    fortranOrder: fortran === 'True',
    littleEndian: descr[0] !== '>',
    dataOffset: start + headerLen,
  };
}

/** Read the header of a .npy file without reading its data. */
export function readNpyHeader(path: string): NpyHeader {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    return parseHeader(head.subarray(0, n), path);
  } finally {
    closeSync(fd);
  }
}

function count(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Decode raw element bytes into a typed array. float16 is widened to
 * float32 and int64 to float64 (exact below 2^53); big-endian data is
 * swapped; bool becomes uint8.
 */
export function decode(raw: Uint8Array, dtype: DType, littleEndian: boolean,
  n: number): TypedArray {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dtype) {
    case 'float16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = getFloat16(view, 2 * i, littleEndian);
      return out;
    }
    case 'int64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = Number(view.getBigInt64(8 * i, littleEndian));
      }
      return out;
    }
    case 'bool': case 'uint8':
      return new Uint8Array(raw.slice(0, n).buffer);
    case 'int8':
      return new Int8Array(raw.slice(0, n).buffer);
  }
  const ctor = {
    float32: Float32Array, float64: Float64Array, int16: Int16Array,
    uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
  }[dtype];
  const out = new ctor(n);
  const size = out.BYTES_PER_ELEMENT;
  if (littleEndian) {
    new Uint8Array(out.buffer).set(raw.subarray(0, n * size));
    return out;
  }
  const bytes = new Uint8Array(out.buffer);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < size; b++) bytes[i * size + b] = raw[i * size + size - 1 - b];
  }
  return out;
}

/** Reorder a Fortran-order array into C order. */
function toCOrder(data: TypedArray, shape: number[]): TypedArray {
  const n = data.length;
  const out = new (data.constructor as new (n: number) => TypedArray)(n);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  for (let f = 0; f < n; f++) {
    // f walks Fortran order: the first axis fastest.
    let c = 0;
    for (let d = 0; d < nd; d++) c = c * shape[d] + idx[d];
    out[c] = data[f];
    for (let d = 0; d < nd; d++) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Parse a whole .npy held in memory. */
export function parseNpy(bytes: Uint8Array, file = '<buffer>'): NdArray {
  const header = parseHeader(bytes, file);
  const n = count(header.shape);
  const need = header.dataOffset + n * itemSize(header.dtype);
  if (bytes.length < need) {
    throw inputError(file, `truncated: shape [${header.shape}] of ` +
      `${header.dtype} needs ${need} bytes, the file has ${bytes.length}`);
  }
  let data = decode(bytes.subarray(header.dataOffset), header.dtype,
    header.littleEndian, n);
  if (header.fortranOrder && header.shape.length > 1) {
    data = toCOrder(data, header.shape);
  }
  return { dtype: header.dtype, shape: header.shape, data };
}

export function readNpy(path: string): NdArray {
  return parseNpy(readFileSync(path), path);
}

/**
 * Read rows [start, end) of the first axis of a C-order .npy file, without
 * reading the rest. Used to stream large activation files in chunks.
 */
export function readNpyRows(path: string, start: number, end: number,
  header: NpyHeader = readNpyHeader(path)): NdArray {
  if (header.fortranOrder && header.shape.length > 1) {
    throw inputError(path, 'Fortran-order arrays cannot be streamed',
      'Save it with numpy.save(path, numpy.ascontiguousarray(arr)).');
  }
  const rowLen = count(header.shape.slice(1));
  const size = itemSize(header.dtype);
  const rows = Math.max(0, Math.min(end, header.shape[0]) - start);
  const buf = Buffer.alloc(rows * rowLen * size);
  const fd = openSync(path, 'r');
  try {
    const total = fstatSync(fd).size;
    if (total < header.dataOffset + count(header.shape) * size) {
      throw inputError(path, `truncated: expected ${count(header.shape)} ` +
        `${header.dtype} values after the header`);
    }
    let got = 0;
    const at = header.dataOffset + start * rowLen * size;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, at + got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  const data = decode(buf, header.dtype, header.littleEndian, rows * rowLen);
  return { dtype: header.dtype, shape: [rows, ...header.shape.slice(1)], data };
}

function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  return 'uint32';
}

/** Encode an array as .npy bytes (format 1.0, header padded to 64). */
export function encodeNpy(data: TypedArray, shape: number[]): Buffer {
  if (count(shape) !== data.length) {
    throw new RangeError(`shape [${shape}] holds ${count(shape)} values, ` +
      `the data has ${data.length}`);
  }
  const descr = descrOf[dtypeOf(data)]!;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, ` +
    `'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  MAGIC.forEach((b, i) => (head[i] = b));
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export function writeNpy(path: string, data: TypedArray, shape: number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}

/** Read every array of an .npz archive, keyed by name without `.npy`. */
export function readNpz(path: string): Record<string, NdArray> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(readFileSync(path));
  } catch (err) {
    throw inputError(path, `not a readable .npz archive (${(err as Error).message})`,
      'Save it with numpy.savez.');
  }
  const out: Record<string, NdArray> = {};
  for (const [name, bytes] of Object.entries(entries)) {
    if (!name.endsWith('.npy')) continue;
    out[name.slice(0, -4)] = parseNpy(bytes, `${path}[${name}]`);
  }
  return out;
}
