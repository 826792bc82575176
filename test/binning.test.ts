import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import { binLayer, binUnit, edgeRanks, quantileEdge, selectRanks }
  from '../src/kernels/binning.js';

const codesOf = (values: number[], bins: number, zero = 1e-6) =>
  Array.from(binUnit(values, bins, zero).codes);

describe('quantileEdge', () => {
  test('interpolates between order statistics as numpy.quantile does', () => {
    // numpy.quantile([1, 2, 3, 4, 5], [.25, .5, .75]) = [2, 3, 4]
    assert.equal(quantileEdge([1, 2, 3, 4, 5], 1, 4), 2);
    assert.equal(quantileEdge([1, 2, 3, 4, 5], 2, 4), 3);
    assert.equal(quantileEdge([1, 2, 3, 4, 5], 3, 4), 4);
    // h = (m - 1) q: 1.5 -> halfway between 2 and 3
    assert.equal(quantileEdge([1, 2, 3, 4], 2, 4), 2.5);
    // [10, 20, 40]: h = 0.5, 1, 1.5 -> 15, 20, 30
    assert.equal(quantileEdge([10, 20, 40], 1, 4), 15);
    assert.equal(quantileEdge([10, 20, 40], 2, 4), 20);
    assert.equal(quantileEdge([10, 20, 40], 3, 4), 30);
  });

  test('an edge on an order statistic is exactly that value', () => {
    // m = 9961, k/bins = 19/20: h = 9960 * 19 / 20 = 9462 exactly. NumPy's
    // float index m q + (1 - q) - 1 gives 9461.999999999998 and an edge
    // 1.8e-12 below x[9462], which would move x[9462] into the upper bin.
    const sorted = Float64Array.from({ length: 9961 }, (_, i) => i + 1);
    assert.equal(quantileEdge(sorted, 19, 20), 9463);
    assert.deepEqual(Array.from(binUnit(sorted, 20).codes.subarray(9461, 9464)),
      [19, 19, 20]);
  });

  test('a single value is every quantile', () => {
    assert.equal(quantileEdge([7], 1, 20), 7);
    assert.equal(quantileEdge([7], 19, 20), 7);
  });
});

describe('selectRanks', () => {
  test('puts the wanted ranks where a full sort would', () => {
    const random = seedrandom.alea('select');
    for (const m of [1, 2, 15, 16, 17, 100, 5000]) {
      for (const levels of [3, 90, 0]) {
        // levels 0: continuous values; else that many distinct values
        const x = Float64Array.from({ length: m }, () => (levels
          ? Math.floor(random() * levels) : random() - 0.5));
        const sorted = x.slice().sort();
        const ranks = edgeRanks(m, 20);
        selectRanks(x, ranks);
        for (const r of ranks) {
          assert.equal(x[r], sorted[r], `m ${m}, rank ${r}`);
        }
        assert.deepEqual(x.slice().sort(), sorted);
      }
    }
  });

  test('edges from selected ranks equal edges from a full sort', () => {
    const random = seedrandom.alea('edges');
    const values = Float64Array.from({ length: 3001 }, () =>
      Math.max(0, Math.round(random() * 50) / 10 - 1));
    const sorted = values.filter((v) => v > 1e-6).sort();
    const { edges } = binUnit(values, 20);
    for (let k = 1; k < 20; k++) {
      assert.equal(edges[k - 1], quantileEdge(sorted, k, 20));
    }
  });
});

describe('binUnit', () => {
  test('zeros go to bin 0, the rest into equal-mass bins', () => {
    // positives [1..5], bins 2: edge at the median 3
    assert.deepEqual(codesOf([0, 0, 1, 2, 3, 4, 5], 2), [0, 0, 1, 1, 1, 2, 2]);
    // positives [1, 2, 3, 4], bins 2: edge 2.5 between order statistics
    assert.deepEqual(codesOf([3, 0, 1, 4, 2], 2), [2, 0, 1, 2, 1]);
  });

  test('a value equal to an edge goes to the lower bin', () => {
    // edges [2, 3, 4]: 2 -> bin 1, 3 -> bin 2, 4 -> bin 3
    const bins = binUnit([1, 2, 3, 4, 5], 4);
    assert.deepEqual(Array.from(bins.edges), [2, 3, 4]);
    assert.deepEqual(Array.from(bins.codes), [1, 1, 2, 3, 4]);
    // [10, 20, 40] in 4 bins: edges [15, 20, 30]; 20 sits on an edge
    assert.deepEqual(codesOf([10, 20, 40], 4), [1, 2, 4]);
  });

  test('tied values all fall below an edge they equal', () => {
    // numpy: edges [0.2, 0.2333]; the three 0.2s go to bin 1, bin 2 empty
    const bins = binUnit([0.1, 0.2, 0.2, 0.2, 0.3, 0.4], 3);
    assert.deepEqual(Array.from(bins.codes), [1, 1, 1, 1, 3, 3]);
    assert.deepEqual(Array.from(bins.counts), [0, 4, 0, 2]);
  });

  test('values at or below `zero` are zeros, negatives included', () => {
    assert.deepEqual(codesOf([-1, 0, 0.5, 0.6, 2], 1, 0.5), [0, 0, 0, 1, 1]);
    assert.deepEqual(codesOf([1e-6, 2e-6], 1), [0, 1]);
  });

  test('bins have equal mass when values are distinct', () => {
    // 1..1000 in a scrambled order (7919 is prime to 1000)
    const values = Array.from({ length: 1000 },
      (_, i) => ((i * 7919) % 1000) + 1);
    const { counts } = binUnit([0, 0, ...values], 20);
    assert.equal(counts[0], 2);
    for (let c = 1; c <= 20; c++) assert.equal(counts[c], 50);
  });

  test('a unit with one occupied bin is flagged', () => {
    assert.equal(binUnit([0, 0, 0], 20).single, true);
    assert.equal(binUnit([3, 3, 3], 20).single, true);
    assert.deepEqual(codesOf([3, 3, 3], 20), [1, 1, 1]);
    assert.equal(binUnit([0, 3, 3], 20).single, false);
    assert.equal(binUnit([], 20).single, true);
  });

  test('the input is not modified', () => {
    const values = new Float32Array([3, 0, 1, 4, 2]);
    binUnit(values, 2);
    assert.deepEqual(Array.from(values), [3, 0, 1, 4, 2]);
  });

  test('non-finite values and bad parameters are refused', () => {
    assert.throws(() => binUnit([1, NaN, 2], 2), /sample 1 is NaN/);
    assert.throws(() => binUnit([1, Infinity], 2), /sample 1 is Infinity/);
    assert.throws(() => binUnit([1, 2], 0), /bins must be an integer/);
    assert.throws(() => binUnit([1, 2], 256), /from 1 to 255/);
    assert.throws(() => binUnit([1, 2], 2, NaN), /zero must be a finite/);
  });
});

describe('binLayer', () => {
  test('bins each unit on its own, unit-major, and names single units', () => {
    // units: [0, 1, 2, 3], [5, 5, 5, 5], [0, 0, 0, 0]
    const values = new Float32Array([0, 1, 2, 3, 5, 5, 5, 5, 0, 0, 0, 0]);
    const layer = binLayer(values, 3, 4, 3, 1e-6, true);
    assert.ok(layer.codes.buffer instanceof SharedArrayBuffer);
    assert.deepEqual(Array.from(layer.codes),
      [0, 1, 2, 3, 1, 1, 1, 1, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(layer.counts),
      [1, 1, 1, 1, 0, 4, 0, 0, 4, 0, 0, 0]);
    assert.deepEqual(layer.single, [1, 2]);
  });

  test('a NaN is reported with its unit and sample', () => {
    const values = new Float32Array([0, 1, 2, NaN]);
    assert.throws(() => binLayer(values, 2, 2), /unit 1: sample 1 is NaN/);
  });

  test('a size mismatch is refused', () => {
    assert.throws(() => binLayer(new Float32Array(5), 2, 3),
      /expected 2 units x 3 samples = 6/);
  });
});
