/**
 * Average-linkage hierarchical clustering of a mapping's units
 * (method.md §5): for W [nA, nB], cluster the nA + nB units on the
 * distance 1 − B, B = [[I, W], [Wᵀ, I]], and report the merges in SciPy's
 * linkage-matrix convention.
 *
 * Why not ml-hclust (the library first chosen): its `agnes` agrees with
 * SciPy on the study's mappings (sorted merge distances within 4.4e-16),
 * but it rebuilds the whole distance matrix after every merge, so it runs
 * in O(n³) time with O(n²) garbage per merge: 0.10 s for 192 leaves,
 * 0.51 s for 512 and, by engine.md, 1.3 s for 768 and 3.3 s for 1,024
 * (about 30 s at 2,048, where SciPy takes 0.16 s). It also returns a tree
 * of objects without merge order or cluster ids, so SciPy's numbering
 * cannot be recovered from it when distances tie. It stays as a
 * cross-check in test/hac.test.ts and bench/hac.ts.
 *
 * Here: the nearest-neighbour chain, O(n²) time, one square Float64Array
 * of n² distances (32 MB at 2,048 leaves, 128 MB at 4,096), updated with
 * the Lance–Williams formula of average linkage; scans visit only live
 * clusters. It is SciPy's `nn_chain` step for step (the same scans,
 * comparisons and arithmetic, in the same order), so the output equals
 * `scipy.cluster.hierarchy.linkage(y, 'average')` bit for bit, ties
 * included (checked on every fixture). Measured here (bench/hac.ts, a
 * sparse random W): 0.10 s for 2,048 leaves and 0.41 s for 4,096 on a
 * quiet core, where engine.md has SciPy at 0.16 s and 0.68 s.
 *
 * The tie rule (our rule, "lowest cluster index", made exact): while the
 * chain runs, a cluster lives in the slot of its largest leaf. The chain
 * starts at the lowest live slot; a cluster's nearest neighbour is the
 * lowest slot among equally near ones, except that the chain's previous
 * element is kept when it is one of them (without that exception the
 * chain can cycle). Merges found at equal distance keep the order the
 * chain found them in (a stable sort). This is deterministic, but it is
 * not "merge the globally lowest-numbered closest pair": with d(0,2) = 3,
 * d(1,3) = d(2,3) = 1 and 5 elsewhere, the chain reaches 3 from 2 and
 * merges {2, 3} first, where a global rule would merge {1, 3}; the trees
 * then differ. SciPy does the former, and so do we.
 */

/** What the worker receives: a mapping W [unitsA, unitsB], row-major. */
export interface HacInput {
  weights: Float64Array | Float32Array;
  unitsA: number;
  unitsB: number;
}

/** The clustering of n = unitsA + unitsB units. */
export interface HacResult {
  /** [n − 1, 4] rows (left, right, distance, size), SciPy's convention. */
  linkage: Float64Array;
  /** [n] leaves in dendrogram order (SciPy's leaves_list). */
  order: Int32Array;
  /** [n − 1] units of A and of B in the cluster each merge makes. */
  membersA: Int32Array;
  membersB: Int32Array;
}

/**
 * The square distance matrix 1 − B, B = [[I, W], [Wᵀ, I]], for W
 * [unitsA, unitsB] row-major. Returns D [n, n], n = unitsA + unitsB, with
 * D[i][j] = 1 for two units of the same network, 1 − W[a][b] across, and
 * +Infinity on the diagonal (so a scan for the nearest cluster skips
 * itself without a test).
 */
export function mappingDistances(weights: ArrayLike<number>,
  unitsA: number, unitsB: number): Float64Array {
  const n = unitsA + unitsB;
  if (weights.length !== unitsA * unitsB) {
    throw new RangeError(`mappingDistances: weights hold ${weights.length} ` +
      `values, expected unitsA × unitsB = ${unitsA} × ${unitsB}`);
  }
  const d = new Float64Array(n * n).fill(1);
  for (let a = 0; a < unitsA; a++) {
    for (let b = 0; b < unitsB; b++) {
      const w = weights[a * unitsB + b];
      if (!Number.isFinite(w)) {
        throw new RangeError(`mappingDistances: weight [${a}, ${b}] is ` +
          `${w}; a mapping must be finite`);
      }
      const v = 1 - w;
      d[a * n + unitsA + b] = v;
      d[(unitsA + b) * n + a] = v;
    }
  }
  for (let i = 0; i < n; i++) d[i * n + i] = Infinity;
  return d;
}

/**
 * The merges of average linkage in the order the nearest-neighbour chain
 * finds them, as rows (x, y, distance, 0) of slot indices, x < y; the
 * merged cluster takes slot y. Overwrites `d` (square, +Inf diagonal).
 *
 * Average linkage, Lance–Williams form: after merging x and y (sizes
 * nx, ny), d(i, x ∪ y) = (nx·d(i, x) + ny·d(i, y)) / (nx + ny).
 */
function chainMerges(d: Float64Array, n: number): Float64Array {
  const merges = new Float64Array(Math.max(0, n - 1) * 4);
  const size = new Int32Array(n).fill(1);
  const chain = new Int32Array(n);
  let length = 0;

  // Live slots in ascending order: scanning them in order with a strict
  // comparison is SciPy's scan over all slots that skips dead ones.
  const live = new Int32Array(n);
  for (let i = 0; i < n; i++) live[i] = i;
  let count = n;

  for (let k = 0; k < n - 1; k++) {
    if (length === 0) {
      chain[0] = live[0];
      length = 1;
    }

    // Grow the chain until its last two clusters are mutual neighbours.
    let x = 0;
    let y = 0;
    let best = Infinity;
    for (;;) {
      x = chain[length - 1];
      const row = x * n;
      if (length > 1) {
        y = chain[length - 2];
        best = d[row + y];
      } else {
        best = Infinity;
      }
      for (let j = 0; j < count; j++) {
        const i = live[j];
        const v = d[row + i];
        if (v < best) {
          best = v;
          y = i;
        }
      }
      if (length > 1 && y === chain[length - 2]) break;
      chain[length++] = y;
    }
    length -= 2;

    if (x > y) {
      const t = x;
      x = y;
      y = t;
    }
    const nx = size[x];
    const ny = size[y];
    merges[4 * k] = x;
    merges[4 * k + 1] = y;
    merges[4 * k + 2] = best;
    size[x] = 0;
    size[y] = nx + ny;

    // The merged cluster keeps slot y; slot x leaves the live list.
    const rowX = x * n;
    const rowY = y * n;
    let at = -1;
    for (let j = 0; j < count; j++) {
      const i = live[j];
      if (i === x) {
        at = j;
        continue;
      }
      if (i === y) continue;
      const v = (nx * d[rowX + i] + ny * d[rowY + i]) / (nx + ny);
      d[rowY + i] = v;
      d[i * n + y] = v;
    }
    live.copyWithin(at, at + 1, count);
    count--;
  }
  return merges;
}

/**
 * Sort chain merges stably by distance and renumber them as SciPy does:
 * leaves 0..n−1, the cluster of sorted merge k is n + k, and each row
 * names its two clusters lower id first, with the size in column 3.
 */
function sortAndLabel(merges: Float64Array, n: number): Float64Array {
  const m = n - 1;
  const rank = Array.from({ length: m }, (_, k) => k);
  rank.sort((p, q) => (merges[4 * p + 2] - merges[4 * q + 2]) || p - q);

  const parent = new Int32Array(Math.max(1, 2 * n - 1));
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const size = new Int32Array(parent.length).fill(1);
  const find = (leaf: number): number => {
    let root = leaf;
    while (parent[root] !== root) root = parent[root];
    while (parent[leaf] !== root) {
      const next = parent[leaf];
      parent[leaf] = root;
      leaf = next;
    }
    return root;
  };

  const linkage = new Float64Array(m * 4);
  for (let k = 0; k < m; k++) {
    const r = rank[k];
    const rx = find(merges[4 * r]);
    const ry = find(merges[4 * r + 1]);
    const id = n + k;
    parent[rx] = id;
    parent[ry] = id;
    size[id] = size[rx] + size[ry];
    linkage[4 * k] = Math.min(rx, ry);
    linkage[4 * k + 1] = Math.max(rx, ry);
    linkage[4 * k + 2] = merges[4 * r + 2];
    linkage[4 * k + 3] = size[id];
  }
  return linkage;
}

/**
 * Average linkage of n points from their square distance matrix
 * `distances` [n, n] (symmetric, row-major; the diagonal is ignored, the
 * input is not modified). Returns the linkage [n − 1, 4] of
 * scipy.cluster.hierarchy.linkage(squareform(distances), 'average').
 */
export function averageLinkage(distances: ArrayLike<number>,
  n: number): Float64Array {
  if (distances.length !== n * n) {
    throw new RangeError(`averageLinkage: ${distances.length} distances ` +
      `given, expected n × n = ${n} × ${n}`);
  }
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`averageLinkage: n must be a whole number ≥ 1, ` +
      `got ${n}`);
  }
  const d = Float64Array.from(distances);
  const bad = d.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new RangeError(`averageLinkage: distance [${Math.floor(bad / n)}, ` +
      `${bad % n}] is ${d[bad]}; distances must be finite`);
  }
  for (let i = 0; i < n; i++) d[i * n + i] = Infinity;
  return sortAndLabel(chainMerges(d, n), n);
}

/**
 * Leaves in dendrogram order (SciPy's leaves_list): a depth-first walk
 * from the root, left child first. linkage [n − 1, 4] → order [n].
 */
export function leafOrder(linkage: Float64Array, n: number): Int32Array {
  const order = new Int32Array(n);
  if (n === 1) return order;
  const stack = [2 * n - 2];
  let next = 0;
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node < n) {
      order[next++] = node;
      continue;
    }
    const row = 4 * (node - n);
    stack.push(linkage[row + 1], linkage[row]);
  }
  return order;
}

/** Units of A (leaves < unitsA) and of B in each merge's cluster. */
export function mergeMembers(linkage: Float64Array, unitsA: number,
  n: number): { membersA: Int32Array; membersB: Int32Array } {
  const m = Math.max(0, n - 1);
  const countA = new Int32Array(n + m);
  for (let i = 0; i < Math.min(unitsA, n); i++) countA[i] = 1;
  const membersA = new Int32Array(m);
  const membersB = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    const a = countA[linkage[4 * k]] + countA[linkage[4 * k + 1]];
    countA[n + k] = a;
    membersA[k] = a;
    membersB[k] = linkage[4 * k + 3] - a;
  }
  return { membersA, membersB };
}

/**
 * Worker entry point: cluster the units of a mapping W [unitsA, unitsB]
 * by average linkage on 1 − B (see the top of this file).
 */
export function hacMapping(input: HacInput): HacResult {
  const { weights, unitsA, unitsB } = input;
  const n = unitsA + unitsB;
  if (!Number.isInteger(unitsA) || !Number.isInteger(unitsB) || n < 1 ||
    unitsA < 0 || unitsB < 0) {
    throw new RangeError(`hacMapping: unitsA ${unitsA} and unitsB ` +
      `${unitsB} must be whole numbers with at least one unit in all`);
  }
  const d = mappingDistances(weights, unitsA, unitsB);
  const linkage = sortAndLabel(chainMerges(d, n), n);
  return {
    linkage,
    order: leafOrder(linkage, n),
    ...mergeMembers(linkage, unitsA, n),
  };
}
