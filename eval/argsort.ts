// np.argsort(-x, kind='mergesort'): indices by descending value, ties in index order (stable).
// One native sort finds the distinct values; a counting sort by rank, walking the indices in order,
// is then stable by construction -- several times faster than a comparator sort on long lists.

/** Stable descending argsort of x. */
export function argsortDesc(x: Float64Array): Int32Array {
  const n = x.length;
  const distinct = Float64Array.from(x).sort();
  let u = 0;
  for (let j = 0; j < n; j++) if (u === 0 || distinct[j] !== distinct[u - 1]) distinct[u++] = distinct[j];
  // rank 0 = the largest value
  const rank = new Int32Array(n);
  const count = new Int32Array(u + 1);
  for (let j = 0; j < n; j++) {
    const v = x[j];
    let lo = 0, hi = u - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (distinct[mid] < v) lo = mid + 1; else hi = mid;
    }
    rank[j] = u - 1 - lo;
    count[rank[j] + 1]++;
  }
  for (let r = 0; r < u; r++) count[r + 1] += count[r];
  const out = new Int32Array(n);
  for (let j = 0; j < n; j++) out[count[rank[j]]++] = j;
  return out;
}
