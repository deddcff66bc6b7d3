/* GEMMs with a thin side, for CPU devices: C = alpha op(A) op(B) + beta C when m or n
 * is at most 16 or the sum k is that short (the first and last convolutions, the
 * dense layers, their gradients), except those src/backend/opencl/cl_gemm.c gives the
 * block kernel (16 columns or more and a long sum). CLBlast pads such products to its 64x64 tiles and
 * copies operands to do so; these kernels read them in place.
 *
 * Each output is the plain sum over k in the order 0, 1, ..., k-1, one multiply-add
 * at a time from zero, then alpha (and beta) applied: the order of CLBlast's kernels,
 * so a product gives the same bits whichever of the two computes it.
 *
 * The host maps the product onto "lanes" and "tiles": a work-item owns THIN_TILE x 8
 * outputs, 8 neighbouring lanes (a float8 read from one operand at each k) times
 * THIN_TILE scalars of the other operand. Lanes run along C's columns, or along its
 * rows when C has few columns. Explicit vectors, because PoCL does not vectorise
 * across work-items whose body is a loop with a running sum. */

#define THIN_TILE 8
#define THIN_LANES 8

/* The 8 lane values at sum index kk: x[at + p * lp] for p < np, 0 past the edge.
 * unit: lp == 1, known when the kernel is compiled, so it becomes one vector load. */
inline float8 thin_lanes(__global const float *x, const int at, const int lp, const int np,
                         const int unit) {
  if (np == THIN_LANES && unit)
    return vload8(0, x + at);
  float v[THIN_LANES];
  for (int p = 0; p < THIN_LANES; p++)
    v[p] = p < np ? x[at + p * lp] : 0.0f;
  return vload8(0, v);
}

/* lane operand L: element (kk, p) at L[kk * lk + p * lp], p < P;
 * tile operand T: element (q, kk) at T[q * tq + kk * tk], q < Q;
 * C: element (q, p) at C[q * cq + p * cp]. beta == 0 leaves C unread. */
inline void gemm_thin(__global const float *L, const int lk, const int lp, const int P,
                      __global const float *T, const int tq, const int tk, const int Q,
                      __global float *C, const int cq, const int cp, const int K,
                      const float alpha, const float beta, const int lane_unit,
                      const int c_unit) {
  const int p0 = get_global_id(0) * THIN_LANES, q0 = get_global_id(1) * THIN_TILE;
  if (p0 >= P || q0 >= Q)
    return;
  const int np = min(THIN_LANES, P - p0), nq = min(THIN_TILE, Q - q0);
  int row[THIN_TILE]; /* rows past Q repeat the last one: read, never stored */
  for (int r = 0; r < THIN_TILE; r++)
    row[r] = min(q0 + r, Q - 1) * tq;
  float8 acc[THIN_TILE];
  for (int r = 0; r < THIN_TILE; r++)
    acc[r] = (float8)(0.0f);
  if (np == THIN_LANES) { /* the common case, its own loop so the loads are plain */
    for (int kk = 0; kk < K; kk++) {
      const float8 v = thin_lanes(L, kk * lk + p0 * lp, lp, THIN_LANES, lane_unit);
      for (int r = 0; r < THIN_TILE; r++)
        acc[r] += T[row[r] + kk * tk] * v;
    }
  } else {
    for (int kk = 0; kk < K; kk++) {
      const float8 v = thin_lanes(L, kk * lk + p0 * lp, lp, np, lane_unit);
      for (int r = 0; r < THIN_TILE; r++)
        acc[r] += T[row[r] + kk * tk] * v;
    }
  }
  for (int r = 0; r < nq; r++) {
    __global float *c = C + (q0 + r) * cq + p0 * cp;
    if (c_unit && np == THIN_LANES) {
      const float8 out = beta != 0.0f ? alpha * acc[r] + beta * vload8(0, c) : alpha * acc[r];
      vstore8(out, 0, c);
    } else {
      float v[THIN_LANES];
      vstore8(acc[r], 0, v);
      for (int p = 0; p < np; p++)
        c[p * cp] = beta != 0.0f ? alpha * v[p] + beta * c[p * cp] : alpha * v[p];
    }
  }
}

#define GEMM_THIN_KERNEL(name, lane_unit, c_unit)                                             \
  __kernel void name(__global const float *L, const int lk, const int lp, const int P,       \
                     __global const float *T, const int tq, const int tk, const int Q,       \
                     __global float *C, const int cq, const int cp, const int K,             \
                     const float alpha, const float beta) {                                  \
    gemm_thin(L, lk, lp, P, T, tq, tk, Q, C, cq, cp, K, alpha, beta, lane_unit, c_unit);     \
  }

/* lanes contiguous or strided in memory, C's lanes contiguous (lanes along columns)
 * or strided (along rows) */
GEMM_THIN_KERNEL(gemm_thin_unit_lanes, 1, 1)
GEMM_THIN_KERNEL(gemm_thin_strided_lanes, 0, 1)
GEMM_THIN_KERNEL(gemm_thin_unit_lanes_rows, 1, 0)
GEMM_THIN_KERNEL(gemm_thin_strided_lanes_rows, 0, 0)
