/**
 * Symmetric eigendecomposition, for the minimum-norm least squares of
 * decay 0 (lasso-ols.ts): Householder tridiagonalization followed by the
 * implicit QL algorithm (the EISPACK tred2/tql2 pair, in the form of the
 * public-domain JAMA library), about 9 p³ flops.
 */

export interface SymmetricEigen {
  /** Eigenvalues, ascending, [p]. */
  values: Float64Array;
  /** Eigenvectors as columns, row-major [p, p]: V[i * p + k] = v_k[i]. */
  vectors: Float64Array;
}

/**
 * Eigendecomposition of a symmetric matrix: A = V diag(values) Vᵀ.
 *
 * @param a row-major [p, p], symmetric; not modified.
 */
export function symmetricEigen(a: Float64Array, p: number): SymmetricEigen {
  const v = Float64Array.from(a);
  const d = new Float64Array(p);
  const e = new Float64Array(p);
  if (p === 0) return { values: d, vectors: v };

  tridiagonalize(v, d, e, p);
  // QL rotates pairs of eigenvectors: keep them as rows, contiguous.
  const vt = transpose(v, p);
  diagonalize(vt, d, e, p);

  // Ascending order, as LAPACK returns them.
  const order = Array.from(d.keys()).sort((x, y) => d[x] - d[y]);
  const values = new Float64Array(p);
  const vectors = new Float64Array(p * p);
  order.forEach((from, to) => {
    values[to] = d[from];
    for (let i = 0; i < p; i++) vectors[i * p + to] = vt[from * p + i];
  });
  return { values, vectors };
}

function transpose(a: Float64Array, p: number): Float64Array {
  const t = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) t[j * p + i] = a[i * p + j];
  }
  return t;
}

/** Householder reduction to tridiagonal form (tred2); v becomes the Q. */
function tridiagonalize(v: Float64Array, d: Float64Array, e: Float64Array,
  p: number): void {
  for (let j = 0; j < p; j++) d[j] = v[(p - 1) * p + j];

  for (let i = p - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = v[(i - 1) * p + j];
        v[i * p + j] = 0;
        v[j * p + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;

      for (let j = 0; j < i; j++) {
        f = d[j];
        v[j * p + i] = f;
        g = e[j] + v[j * p + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[k * p + j] * d[k];
          e[k] += v[k * p + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) {
          v[k * p + j] -= f * e[k] + g * d[k];
        }
        d[j] = v[(i - 1) * p + j];
        v[i * p + j] = 0;
      }
    }
    d[i] = h;
  }

  // Accumulate the transformations.
  for (let i = 0; i < p - 1; i++) {
    v[(p - 1) * p + i] = v[i * p + i];
    v[i * p + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[k * p + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[k * p + i + 1] * v[k * p + j];
        for (let k = 0; k <= i; k++) v[k * p + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) v[k * p + i + 1] = 0;
  }
  for (let j = 0; j < p; j++) {
    d[j] = v[(p - 1) * p + j];
    v[(p - 1) * p + j] = 0;
  }
  v[(p - 1) * p + p - 1] = 1;
  e[0] = 0;
}

/**
 * Implicit QL iterations on the tridiagonal form (tql2), with the
 * eigenvectors accumulated as the ROWS of vt.
 */
function diagonalize(vt: Float64Array, d: Float64Array, e: Float64Array,
  p: number): void {
  for (let i = 1; i < p; i++) e[i - 1] = e[i];
  e[p - 1] = 0;

  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < p; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < p - 1 && Math.abs(e[m]) > eps * tst1) m++;

    if (m > l) {
      do {
        let g = d[l];
        let q = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(q, 1);
        if (q < 0) r = -r;
        d[l] = e[l] / (q + r);
        d[l + 1] = e[l] * (q + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < p; i++) d[i] -= h;
        f += h;

        // Implicit QL transformation, rotations applied to vt's rows.
        q = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * q;
          r = Math.hypot(q, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = q / r;
          q = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const lo = i * p;
          const hi = lo + p;
          for (let k = 0; k < p; k++) {
            h = vt[hi + k];
            vt[hi + k] = s * vt[lo + k] + c * h;
            vt[lo + k] = c * vt[lo + k] - s * h;
          }
        }
        q = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * q;
        d[l] = c * q;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
