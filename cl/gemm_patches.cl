/* GEMMs whose tile operand is the patch matrix im2col(img) (CPU devices), read from
 * the image where the GEMM needs it rather than copied out first: the implicit GEMM
 * of a conv-transpose's backward pass. The patch matrix of a batch of 28x28x64
 * images is 58 MB; the images are 13 MB.
 *
 * The work-items, chunks and sums are gemm_block's (cl/gemm_block.cl): each output
 * is the same sum over k in order from zero, and a tap outside the image reads
 * zeros from `zeros` just as im2col would have written them, so the bits are those
 * of im2col followed by gemm_block. Geometry: vb_patch_geom (include/vaecl/backend.h);
 * patch row q = (image, gy, gx), column (ky, kx, ch). */

/* Channel ch of image n's pixel (y, x), or zeros past the image's edge. */
inline __global const float *patch_tap(__global const float *img, __global const float *zeros,
                                       const int img_h, const int img_w, const int c, const int n,
                                       const int y, const int x, const int ch) {
  return y >= 0 && y < img_h && x >= 0 && x < img_w ? img + ((n * img_h + y) * img_w + x) * c + ch
                                                    : zeros;
}

/* C[rows, P] = alpha patches(img) L + beta C, with L[k*k*c, P] the lane operand. The
 * sum walks the taps in order and each tap's channels in chunks. */
__kernel void gemm_patches_nn(__global const float *L, const int P, __global const float *img,
                              const int img_h, const int img_w, const int c, const int grid_h,
                              const int grid_w, const int k, const int stride, const int pad,
                              const int Q, __global const float *zeros, __global float *C,
                              const float alpha, const float beta, const int chunk) {
  const int p0 = get_global_id(0) * 2 * BLOCK_LANES, q0 = get_global_id(1) * BLOCK_ROWS;
  const int np = clamp(P - p0, 0, 2 * BLOCK_LANES), nq = clamp(Q - q0, 0, BLOCK_ROWS);
  const int na = min(np, BLOCK_LANES), nb = max(np - BLOCK_LANES, 0);
  const int pl = min(p0, P - 1);
  int oy[BLOCK_ROWS], ox[BLOCK_ROWS], on[BLOCK_ROWS];
  for (int r = 0; r < BLOCK_ROWS; r++) {
    const int q = min(q0 + r, Q - 1);
    ox[r] = (q % grid_w) * stride - pad;
    oy[r] = (q / grid_w % grid_h) * stride - pad;
    on[r] = q / (grid_w * grid_h);
  }
  float16 acc[2 * BLOCK_ROWS];
  for (int r = 0; r < 2 * BLOCK_ROWS; r++)
    acc[r] = (float16)(0.0f);
  for (int tap = 0; tap < k * k; tap++) {
    const int ky = tap / k, kx = tap - ky * k;
    for (int c0 = 0; c0 < c; c0 += chunk) {
      const int c1 = min(c, c0 + chunk);
      __global const float *row[BLOCK_ROWS];
      for (int r = 0; r < BLOCK_ROWS; r++)
        row[r] = patch_tap(img, zeros, img_h, img_w, c, on[r], oy[r] + ky, ox[r] + kx, 0);
      __global const float *lanes = L + tap * c * P + pl;
      float16 sa[BLOCK_ROWS], sb[BLOCK_ROWS];
      for (int r = 0; r < BLOCK_ROWS; r++)
        sa[r] = acc[r], sb[r] = acc[BLOCK_ROWS + r];
      if (np == 2 * BLOCK_LANES) {
        for (int ch = c0; ch < c1; ch++) {
          const float16 va = vload16(0, lanes + ch * P), vb = vload16(1, lanes + ch * P);
#pragma unroll
          for (int r = 0; r < BLOCK_ROWS; r++) {
            const float t = row[r][ch];
            sa[r] += t * va;
            sb[r] += t * vb;
          }
        }
      } else {
        for (int ch = c0; ch < c1; ch++) {
          const float16 va = block_lanes(lanes, ch * P, na);
          const float16 vb = block_lanes(lanes, ch * P + BLOCK_LANES, nb);
#pragma unroll
          for (int r = 0; r < BLOCK_ROWS; r++) {
            const float t = row[r][ch];
            sa[r] += t * va;
            sb[r] += t * vb;
          }
        }
      }
      for (int r = 0; r < BLOCK_ROWS; r++)
        acc[r] = sa[r], acc[BLOCK_ROWS + r] = sb[r];
      barrier(CLK_LOCAL_MEM_FENCE);
    }
  }
  for (int r = 0; r < nq; r++) {
    __global float *out = C + (q0 + r) * P + p0;
    block_store(out, acc[r], na, alpha, beta);
    if (nb > 0)
      block_store(out + BLOCK_LANES, acc[BLOCK_ROWS + r], nb, alpha, beta);
  }
}

/* C[k*k*c, P] = alpha patches(img)^T L + beta C, with L[rows, P] the lane operand (a
 * weight gradient). The sum runs over the patch rows. c is a multiple of BLOCK_ROWS
 * (the host checks), so a work-item's rows are BLOCK_ROWS channels of one tap, one
 * vector load from the image per patch row. */
__kernel void gemm_patches_tn(__global const float *L, const int P, __global const float *img,
                              const int img_h, const int img_w, const int c, const int grid_h,
                              const int grid_w, const int k, const int stride, const int pad,
                              const int K, __global const float *zeros, __global float *C,
                              const float alpha, const float beta, const int chunk) {
  const int Q = k * k * c;
  const int p0 = get_global_id(0) * 2 * BLOCK_LANES, q0 = get_global_id(1) * BLOCK_ROWS;
  const int np = clamp(P - p0, 0, 2 * BLOCK_LANES), nq = clamp(Q - q0, 0, BLOCK_ROWS);
  const int na = min(np, BLOCK_LANES), nb = max(np - BLOCK_LANES, 0);
  const int pl = min(p0, P - 1);
  const int qc = min(q0, Q - BLOCK_ROWS), tap = qc / c, ch = qc - tap * c;
  const int ky = tap / k, kx = tap - ky * k;
  float16 acc[2 * BLOCK_ROWS];
  for (int r = 0; r < 2 * BLOCK_ROWS; r++)
    acc[r] = (float16)(0.0f);
  for (int k0 = 0; k0 < K; k0 += chunk) {
    const int k1 = min(K, k0 + chunk);
    /* patch row k0 = (n, gy, gx) reads pixel (y, x); the pixel's offset steps along
     * with the patch, the divisions only once per chunk */
    int gx = k0 % grid_w, gy = k0 / grid_w % grid_h, n = k0 / (grid_w * grid_h);
    int y = gy * stride + ky - pad, x = gx * stride + kx - pad;
    int at = ((n * img_h + y) * img_w + x) * c + ch;
    float16 sa[BLOCK_ROWS], sb[BLOCK_ROWS];
    for (int r = 0; r < BLOCK_ROWS; r++)
      sa[r] = acc[r], sb[r] = acc[BLOCK_ROWS + r];
      /* one patch row's term: BLOCK_ROWS channels of its tap, then the next patch */
#define PATCH_TERM(LOAD_A, LOAD_B)                                                                 \
  {                                                                                                \
    __global const float *t = (uint)y < (uint)img_h && (uint)x < (uint)img_w ? img + at : zeros;   \
    const float16 va = LOAD_A, vb = LOAD_B;                                                        \
    _Pragma("unroll") for (int r = 0; r < BLOCK_ROWS; r++) {                                       \
      sa[r] += t[r] * va;                                                                          \
      sb[r] += t[r] * vb;                                                                          \
    }                                                                                              \
    x += stride, at += stride * c;                                                                 \
    if (++gx == grid_w) {                                                                          \
      gx = 0, y += stride, x = kx - pad;                                                           \
      if (++gy == grid_h)                                                                          \
        gy = 0, n++, y = ky - pad;                                                                 \
      at = ((n * img_h + y) * img_w + x) * c + ch;                                                 \
    }                                                                                              \
  }
    if (np == 2 * BLOCK_LANES)
      for (int kk = k0; kk < k1; kk++)
        PATCH_TERM(vload16(0, L + kk * P + pl), vload16(1, L + kk * P + pl))
    else
      for (int kk = k0; kk < k1; kk++)
        PATCH_TERM(block_lanes(L, kk * P + pl, na), block_lanes(L, kk * P + pl + BLOCK_LANES, nb))
#undef PATCH_TERM
    for (int r = 0; r < BLOCK_ROWS; r++)
      acc[r] = sa[r], acc[BLOCK_ROWS + r] = sb[r];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (int r = 0; r < nq; r++) {
    __global float *out = C + (q0 + r) * P + p0;
    block_store(out, acc[r], na, alpha, beta);
    if (nb > 0)
      block_store(out + BLOCK_LANES, acc[BLOCK_ROWS + r], nb, alpha, beta);
  }
}
