/* Large GEMMs on CPU devices: C = alpha op(A) op(B) + beta C, with the lane operand's
 * rows contiguous (the host transposes a k-contiguous operand first).
 *
 * As in gemm_thin.cl, each output is the plain sum over k in order 0..k-1, so the
 * bits are CLBlast's. A work-item owns BLOCK_ROWS x 32 outputs: 32 lanes of the lane
 * operand (two float16, read in place) times BLOCK_ROWS scalars of the tile operand,
 * 16 vector sums in registers (two loads and 8 scalars per 16 vector multiply-adds;
 * 16 lanes ran 10% slower on PoCL 3.1, 12 rows no faster). The host's work sizes
 * (src/backend/opencl/cl_gemm.c) follow these constants.
 * The work-group walks k in chunks of `chunk` terms with a barrier after each: PoCL
 * runs every work-item of the group through one chunk before the next, so the chunk's
 * rows of both operands are read from memory once per group and then from cache. The
 * chunk length and the group's size change the speed, never a bit (`vaecl tune`). */

#define BLOCK_ROWS 8
#define BLOCK_LANES 16

/* The helpers of the GEMM kernels are plain `inline`, as C99 inline definitions:
 * PoCL 3.1 and Oclgrind (also with -cl-opt-disable) inline them. `static inline`
 * would give them a body of their own, but PoCL then compiled the block, patch and
 * col2im kernels slower (7% on the training step, measured side by side). */

/* The 16 lane values at offset at, 0 past the edge (np < 16). */
inline float16 block_lanes(__global const float *x, const int at, const int np) {
  if (np == BLOCK_LANES)
    return vload16(0, x + at);
  float v[BLOCK_LANES];
  for (int p = 0; p < BLOCK_LANES; p++)
    v[p] = p < np ? x[at + p] : 0.0f;
  return vload16(0, v);
}

/* C's 16 lanes at c = alpha acc (+ beta c), np of them. beta == 0 leaves C unread. */
inline void block_store(__global float *c, const float16 acc, const int np, const float alpha,
                        const float beta) {
  if (np == BLOCK_LANES) {
    vstore16(beta != 0.0f ? alpha * acc + beta * vload16(0, c) : alpha * acc, 0, c);
  } else {
    float v[BLOCK_LANES];
    vstore16(acc, 0, v);
    for (int p = 0; p < np; p++)
      c[p] = beta != 0.0f ? alpha * v[p] + beta * c[p] : alpha * v[p];
  }
}

/* A work-item's outputs, rows q0.. (nq of them) x lanes p0.. (np), to the row-major C
 * with P columns. */
inline void block_store_all(__global float *C, const int P, const int p0, const int q0,
                            const int nq, const int np, const float16 *acc, const float alpha,
                            const float beta) {
  const int na = min(np, BLOCK_LANES), nb = max(np - BLOCK_LANES, 0);
  for (int r = 0; r < nq; r++) {
    __global float *c = C + (q0 + r) * P + p0;
    block_store(c, acc[r], na, alpha, beta);
    if (nb > 0)
      block_store(c + BLOCK_LANES, acc[BLOCK_ROWS + r], nb, alpha, beta);
  }
}

/* One chunk of a work-item's sums (acc: BLOCK_ROWS x 2 float16, lanes then rows): the
 * terms kk = k0..k1-1, lane p of term kk at lanes[kk * lane_step + p] (np lanes), row
 * r's scalar at rows[r][kk * row_step]. The sums are copied into registers and back:
 * what lives across the caller's barrier PoCL keeps in memory. */
inline void block_chunk(float16 *acc, __global const float *lanes, const int lane_step,
                        const int np, __global const float *const *rows, const int row_step,
                        const int k0, const int k1) {
  float16 sa[BLOCK_ROWS], sb[BLOCK_ROWS];
  for (int r = 0; r < BLOCK_ROWS; r++)
    sa[r] = acc[r], sb[r] = acc[BLOCK_ROWS + r];
  if (np == 2 * BLOCK_LANES) {
    for (int kk = k0; kk < k1; kk++) {
      __global const float *l = lanes + kk * lane_step;
      const float16 va = vload16(0, l), vb = vload16(1, l);
#pragma unroll
      for (int r = 0; r < BLOCK_ROWS; r++) {
        const float t = rows[r][kk * row_step];
        sa[r] += t * va;
        sb[r] += t * vb;
      }
    }
  } else {
    const int na = min(np, BLOCK_LANES), nb = max(np - BLOCK_LANES, 0);
    for (int kk = k0; kk < k1; kk++) {
      __global const float *l = lanes + kk * lane_step;
      const float16 va = block_lanes(l, 0, na), vb = block_lanes(l, BLOCK_LANES, nb);
#pragma unroll
      for (int r = 0; r < BLOCK_ROWS; r++) {
        const float t = rows[r][kk * row_step];
        sa[r] += t * va;
        sb[r] += t * vb;
      }
    }
  }
  for (int r = 0; r < BLOCK_ROWS; r++)
    acc[r] = sa[r], acc[BLOCK_ROWS + r] = sb[r];
}

/* lane operand L: element (kk, p) at L[kk * lk + p], p < P;
 * tile operand T: element (q, kk) at T[q * tq + kk * tk], q < Q;
 * C: element (q, p) at C[q * P + p]. */
__kernel void gemm_block(__global const float *L, const int lk, const int P,
                         __global const float *T, const int tq, const int tk, const int Q,
                         __global float *C, const int K, const float alpha, const float beta,
                         const int chunk) {
  const int p0 = get_global_id(0) * 2 * BLOCK_LANES, q0 = get_global_id(1) * BLOCK_ROWS;
  /* work-items past the edges still walk the chunks (barriers), on clamped indices */
  const int np = clamp(P - p0, 0, 2 * BLOCK_LANES), nq = clamp(Q - q0, 0, BLOCK_ROWS);
  __global const float *rows[BLOCK_ROWS];
  for (int r = 0; r < BLOCK_ROWS; r++)
    rows[r] = T + min(q0 + r, Q - 1) * tq;
  float16 acc[2 * BLOCK_ROWS];
  for (int r = 0; r < 2 * BLOCK_ROWS; r++)
    acc[r] = (float16)(0.0f);
  for (int k0 = 0; k0 < K; k0 += chunk) {
    block_chunk(acc, L + min(p0, P - 1), lk, np, rows, tk, k0, min(K, k0 + chunk));
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  block_store_all(C, P, p0, q0, nq, np, acc, alpha, beta);
}

/* dst (cols x rows) = src (rows x cols)^T, for the operand the block kernel would
 * otherwise read across its rows. */
__kernel void transpose(__global const float *src, __global float *dst, const int rows,
                        const int cols) {
  const int c = get_global_id(0), r = get_global_id(1);
  if (r < rows && c < cols)
    dst[c * rows + r] = src[r * cols + c];
}
