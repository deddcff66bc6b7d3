/* Large GEMMs on CPU devices: C = alpha op(A) op(B) + beta C, with the lane operand's
 * rows contiguous (the host transposes a k-contiguous operand first).
 *
 * As in gemm_thin.cl, each output is the plain sum over k in order 0..k-1, so the
 * bits are CLBlast's. A work-item owns BLOCK_ROWS x 16 outputs: 16 lanes of the lane
 * operand (a float16, read in place) times BLOCK_ROWS scalars of the tile operand.
 * The work-group walks k in chunks of `chunk` terms with a barrier after each: PoCL
 * runs every work-item of the group through one chunk before the next, so the chunk's
 * rows of both operands are read from memory once per group and then from cache. The
 * chunk length and the group's size change the speed, never a bit (`vaecl tune`). */

#define BLOCK_ROWS 8
#define BLOCK_LANES 16

/* The 16 lane values at offset at, 0 past the edge (np < 16). */
inline float16 block_lanes(__global const float *x, const int at, const int np) {
  if (np == BLOCK_LANES)
    return vload16(0, x + at);
  float v[BLOCK_LANES];
  for (int p = 0; p < BLOCK_LANES; p++)
    v[p] = p < np ? x[at + p] : 0.0f;
  return vload16(0, v);
}

/* lane operand L: element (kk, p) at L[kk * lk + p], p < P;
 * tile operand T: element (q, kk) at T[q * tq + kk * tk], q < Q;
 * C: element (q, p) at C[q * P + p]. beta == 0 leaves C unread. */
__kernel void gemm_block(__global const float *L, const int lk, const int P,
                         __global const float *T, const int tq, const int tk, const int Q,
                         __global float *C, const int K, const float alpha, const float beta,
                         const int chunk) {
  const int p0 = get_global_id(0) * BLOCK_LANES, q0 = get_global_id(1) * BLOCK_ROWS;
  /* work-items past the edges still walk the chunks (barriers), on clamped indices */
  const int np = clamp(P - p0, 0, BLOCK_LANES), nq = clamp(Q - q0, 0, BLOCK_ROWS);
  const int pl = min(p0, P - 1);
  int row[BLOCK_ROWS];
  for (int r = 0; r < BLOCK_ROWS; r++)
    row[r] = min(q0 + r, Q - 1) * tq;
  float16 acc[BLOCK_ROWS];
  for (int r = 0; r < BLOCK_ROWS; r++)
    acc[r] = (float16)(0.0f);
  for (int k0 = 0; k0 < K; k0 += chunk) {
    const int k1 = min(K, k0 + chunk);
    /* sums copied in and out of each chunk: what lives across the barrier PoCL keeps
     * in memory, and these stay in registers */
    float16 sum[BLOCK_ROWS];
    for (int r = 0; r < BLOCK_ROWS; r++)
      sum[r] = acc[r];
    if (np == BLOCK_LANES) {
      for (int kk = k0; kk < k1; kk++) {
        const float16 v = vload16(0, L + kk * lk + pl);
#pragma unroll
        for (int r = 0; r < BLOCK_ROWS; r++)
          sum[r] += T[row[r] + kk * tk] * v;
      }
    } else {
      for (int kk = k0; kk < k1; kk++) {
        const float16 v = block_lanes(L, kk * lk + pl, np);
#pragma unroll
        for (int r = 0; r < BLOCK_ROWS; r++)
          sum[r] += T[row[r] + kk * tk] * v;
      }
    }
    for (int r = 0; r < BLOCK_ROWS; r++)
      acc[r] = sum[r];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (int r = 0; r < nq; r++) {
    __global float *c = C + (q0 + r) * P + p0;
    if (np == BLOCK_LANES) {
      vstore16(beta != 0.0f ? alpha * acc[r] + beta * vload16(0, c) : alpha * acc[r], 0, c);
    } else {
      float v[BLOCK_LANES];
      vstore16(acc[r], 0, v);
      for (int p = 0; p < np; p++)
        c[p] = beta != 0.0f ? alpha * v[p] + beta * c[p] : alpha * v[p];
    }
  }
}

/* dst (cols x rows) = src (rows x cols)^T, for the operand the block kernel would
 * otherwise read across its rows. */
__kernel void transpose(__global const float *src, __global float *dst, const int rows,
                        const int cols) {
  const int c = get_global_id(0), r = get_global_id(1);
  if (r < rows && c < cols)
    dst[c * rows + r] = src[r * cols + c];
}
