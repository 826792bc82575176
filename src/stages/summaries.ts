/**
 * The summary.json each analysis stage writes, as types. The report and
 * the tables read these; a stage that changes one bumps its version.
 * Unit indices are 0-based positions in the layer's channel axis.
 */

/** Units with zero variance, by network side. */
export interface DeadUnits {
  /** Always zero (a ReLU unit that never fires). */
  dead: { a: number[]; b: number[] };
  /** Constant but not zero. */
  constant: { a: number[]; b: number[] };
}

/** extract@<network> */
export interface ExtractSummary {
  network: string;
  images: number;
  /** Per layer: where the [samples, units] float32 chunks are. */
  layers: Record<string, {
    units: number;
    samples: number;
    /** Spatial size of the layer's map (1 x 1 for dense layers). */
    height: number;
    width: number;
    /** Positions taken per image. */
    positions: number;
    /**
     * A [samples, units] import with no declared map: rows taken whole,
     * 1 x 1 and one position per image here; it aligns with a partner of
     * the same sample count on that partner's map (src/data/align.ts).
     */
    flat?: boolean;
    /** Chunk files relative to the artifact, in sample order. */
    chunks: string[];
  }>;
  backend?: string;
}

/**
 * normalize@<a>-<b>/<layer>. Files (float64): `<split>.mean.npy` [n] and
 * `<split>.comoment.npy` [n, n] = sum over samples of (x - mean)(x - mean)^T,
 * for split in all | fit | holdout, with n = unitsA + unitsB and A's units
 * first; `std.npy` [n], the population std over all samples.
 */
export interface NormalizeSummary extends DeadUnits {
  unitsA: number;
  unitsB: number;
  count: { all: number; fit: number; holdout: number };
  images: { fit: number; holdout: number };
  engine?: string;
}

/**
 * A one-to-one matching on a similarity (correlation or MI) matrix
 * S [unitsA, unitsB]. Used by match@ and mutual-info@.
 */
export interface MatchingSummary {
  unitsA: number;
  unitsB: number;
  semi: {
    /** For each unit of A, its best unit of B, and the value. */
    partnerOfA: number[];
    valueOfA: number[];
    /** For each unit of B, its best unit of A, and the value. */
    partnerOfB: number[];
    valueOfB: number[];
    /** Mean of valueOfA (the study's "semi-matching" figure). */
    mean: number;
  };
  bipartite: {
    /** min(unitsA, unitsB) pairs [a, b], ordered by a. */
    pairs: [number, number][];
    values: number[];
    total: number;
    mean: number;
  };
  /** Units of A whose semi and bipartite partners are the same unit. */
  agree: number;
  /** Fraction of A's units whose best value is below each threshold. */
  below: { threshold: number; fraction: number }[];
  /** Matched values sorted from high to low, for the study's curves. */
  curves: { semi: number[]; bipartite: number[] };
}

/** match@<a>-<b>/<layer>: files corr_ab.npy, corr_aa.npy, corr_bb.npy. */
export interface MatchSummary extends MatchingSummary, DeadUnits {
  /** B's units reordered to align with A's (bipartite first, then rest). */
  orderOfB: number[];
}

/** mutual-info@<a>-<b>/<layer>: file mi.npy [unitsA, unitsB]. */
export interface MutualInfoSummary extends MatchingSummary {
  samples: number;
  bins: number;
  zero: number;
  unit: 'nats' | 'bits';
  /** Units with a single occupied bin (MI 0 with everything). */
  single: { a: number[]; b: number[] };
  /** A units whose MI bipartite partner equals their correlation one. */
  agreeWithCorrelation?: number;
}

/** sparse-map@<a>-<b>/<layer>/decay=<d>: weights.npy [unitsA, unitsB]. */
export interface SparseMapSummary {
  decay: number;
  /** The per-unit LASSO penalty alpha = decay * sqrt(nA * nB). */
  alpha: number;
  direction: 'a-to-b' | 'b-to-a';
  fitLoss: number;
  holdoutLoss: number;
  /** Mean count per target unit of weights with |w| > 1e-3. */
  weightsPerUnit: number;
  /** Largest duality gap over target units, and the tolerance. */
  gap: number;
  tolerance: number;
  converged: boolean;
  iterations: number;
  /**
   * Units of the predicted layer, and how many of them vary on the fit
   * split (the rest have zero variance and count as predicted, loss 0).
   */
  targets?: number;
  liveTargets?: number;
}

/** hac@<a>-<b>/<layer>: files linkage.npy [n-1, 4], order.npy [n]. */
export interface HacSummary {
  decay: number;
  leaves: number;
  unitsA: number;
  unitsB: number;
  /** Per merge: units of A and of B in the new cluster. */
  members: { a: number; b: number }[];
  /** Of the first merges that form two-unit clusters: how many join A and B. */
  pairsAB: number;
  pairsAA: number;
  pairsBB: number;
}
