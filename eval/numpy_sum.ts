// NumPy's float64 summation order, so that means over precision/recall match `np.mean` bit for bit:
// pairwise summation (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum). A plain left-to-right
// sum differs in the last bits (spec/coco-eval.md item 20).
// DEVIATION (pycocotools with NumPy < 2.3): we follow NumPy >= 2.3 (what `pip install pycocotools`
// brings today; checked against 2.4.6), which sums a contiguous array in one pairwise pass. NumPy < 2.3
// (the shared fixtures' 1.24) added 8192-element buffers one after another; the two differ only on
// more than 8192 values (last bit), which no fixture mean has.

const PW_BLOCKSIZE = 128;

/** NumPy pairwise_sum of a[start .. start+n). */
export function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const o = start + i;
      r0 += a[o]; r1 += a[o + 1]; r2 += a[o + 2]; r3 += a[o + 3];
      r4 += a[o + 4]; r5 += a[o + 5]; r6 += a[o + 6]; r7 += a[o + 7];
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** `np.sum` of a contiguous float64 vector, in NumPy's (>= 2.3) order. */
export function npSum(a: ArrayLike<number>): number {
  return pairwiseSum(a, 0, a.length);
}

/** `np.mean` of a non-empty float64 vector. */
export function npMean(a: ArrayLike<number>): number {
  return npSum(a) / a.length;
}
