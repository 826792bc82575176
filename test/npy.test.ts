import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { encodeNpy, parseNpy, readNpy, readNpyRows, writeNpy }
  from '../src/core/npy.js';
import { fixture, tempDir, removeDir } from './helpers.js';

test('a written float32 array reads back with its shape', () => {
  const dir = tempDir();
  const data = new Float32Array([1, 2.5, -3, 4, 5, 6]);
  writeNpy(join(dir, 'a.npy'), data, [2, 3]);
  const back = readNpy(join(dir, 'a.npy'));
  assert.equal(back.dtype, 'float32');
  assert.deepEqual(back.shape, [2, 3]);
  assert.deepEqual(Array.from(back.data), [1, 2.5, -3, 4, 5, 6]);
  removeDir(dir);
});

test('the header is padded so the data starts on a 64-byte boundary', () => {
  const bytes = encodeNpy(new Float64Array(3), [3]);
  const headerLen = bytes.readUInt16LE(8);
  assert.equal((10 + headerLen) % 64, 0);
  assert.equal(bytes[10 + headerLen - 1], 0x0a);
});

test('rows of a file stream without reading the rest', () => {
  const dir = tempDir();
  const data = Float32Array.from({ length: 20 }, (_, i) => i);
  writeNpy(join(dir, 'r.npy'), data, [5, 4]);
  const rows = readNpyRows(join(dir, 'r.npy'), 1, 3);
  assert.deepEqual(rows.shape, [2, 4]);
  assert.deepEqual(Array.from(rows.data), [4, 5, 6, 7, 8, 9, 10, 11]);
  removeDir(dir);
});

test('NumPy-written fixtures read with their shapes', () => {
  const a = readNpy(fixture('planted-small', 'net_a.npy'));
  assert.deepEqual(a.shape, [20000, 24]);
  assert.equal(a.dtype, 'float32');
  const c = readNpy(fixture('planted-small', 'expected_correlation.npy'));
  assert.equal(c.dtype, 'float64');
  assert.equal(c.shape.length, 2);
});

test('a Fortran-order array is reordered to C order', () => {
  const header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
  const padded = header + ' '.repeat(128 - 10 - header.length - 1) + '\n';
  const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  head.writeUInt16LE(padded.length, 8);
  // Column-major storage of [[1, 2, 3], [4, 5, 6]].
  const body = Buffer.from(new Float64Array([1, 4, 2, 5, 3, 6]).buffer);
  const arr = parseNpy(Buffer.concat([head, Buffer.from(padded), body]));
  assert.deepEqual(Array.from(arr.data), [1, 2, 3, 4, 5, 6]);
});

test('a truncated file is refused with its name', () => {
  const dir = tempDir();
  const bytes = encodeNpy(new Float32Array(100), [10, 10]);
  const path = join(dir, 'cut.npy');
  writeFileSync(path, bytes.subarray(0, bytes.length - 8));
  assert.throws(() => readNpy(path), (err: Error) =>
    err.message.includes('cut.npy') && err.message.includes('truncated'));
  removeDir(dir);
});

test('a file that is not .npy is refused', () => {
  assert.throws(() => parseNpy(Buffer.from('hello world, not numpy'), 'x.npy'),
    /x\.npy: not a \.npy file/);
});
