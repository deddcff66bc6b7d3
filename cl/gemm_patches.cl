/* GEMMs of convolutions on CPU devices without their patch matrix im2col(img) (58 MB
 * for ConvT 2 of the reference model at batch 128, whose image is 13 MB):
 *  - gemm_patches_nn, C = P L: the patch operand read from the image where the sum
 *    needs it (a convolution's forward pass, a conv-transpose's input gradient);
 *  - gemm_patches_tn, C = P^T L: likewise, for the weight gradients;
 *  - gemm_col2im, img = col2im(X W^T): the taps added up as they are computed (a
 *    conv-transpose's forward pass with its bias and activation, a conv's input
 *    gradient).
 * The work-items, chunks and sums are gemm_block's (cl/gemm_block.cl): each output
 * is the same sum over k in order from zero, and a tap outside the image reads
 * zeros from `zeros` just as im2col would have written them, so the bits are those
 * of im2col, gemm_block and col2im. Geometry: vb_patch_geom (include/vaecl/backend.h);
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
    __global const float *rows[BLOCK_ROWS];
    for (int r = 0; r < BLOCK_ROWS; r++)
      rows[r] = patch_tap(img, zeros, img_h, img_w, c, on[r], oy[r] + ky, ox[r] + kx, 0);
    for (int c0 = 0; c0 < c; c0 += chunk) {
      block_chunk(acc, L + tap * c * P + min(p0, P - 1), P, np, rows, 1, c0, min(c, c0 + chunk));
      barrier(CLK_LOCAL_MEM_FENCE);
    }
  }
  block_store_all(C, P, p0, q0, nq, np, acc, alpha, beta);
}

/* C[k*k*c, P] = alpha patches(img)^T L + beta C, with L[rows, P] the lane operand (a
 * weight gradient). The sum runs over the patch rows. c is a multiple of BLOCK_ROWS
 * (the host checks), so a work-item's rows are BLOCK_ROWS neighbouring channels of one
 * tap: one image pixel (or the zeros) per patch row. */
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
  block_store_all(C, P, p0, q0, nq, np, acc, alpha, beta);
}

/* act_forward (cl/elementwise.cl) on 16 values, for the activations without exp or
 * tanh: the same operations elementwise. */
inline float16 act_forward16(const float16 v, const int act, const float alpha) {
  if (act == ACT_RELU)
    return fmax(v, (float16)(0.0f));
  if (act == ACT_LEAKY_RELU)
    return select(alpha * v, v, v > (float16)(0.0f));
  return v;
}

/* img = act(col2im(X W^T) + bias), X[batch*grid_h*grid_w, cin] and W[k*k*c, cin] (a
 * conv-transpose's forward pass, or without bias, act < 0, a conv's input gradient)
 * without the column matrix: a work-item sums BLOCK_ROWS output pixels x 32 channels
 * over the taps that reach them. Each tap's term is the GEMM's sum over cin (lanes
 * L = W^T, [cin, k*k*c], the host transposes W first); the taps are added as col2im
 * adds them: from 0, in tap order, skipping those that fall outside the grid. So the
 * bits are those of gemm_block then col2im.
 * One launch per class of output pixels (y, x) = (py, px) modulo the stride, which
 * the same taps reach: rows q = (image, yy, xx) of that class, y = yy*stride + py. */
__kernel void gemm_col2im(__global const float *L, const int P, __global const float *X,
                          const int cin, const int img_h, const int img_w, const int grid_h,
                          const int grid_w, const int k, const int stride, const int pad,
                          const int py, const int px, const int class_h, const int class_w,
                          const int Q, __global const float *zeros, __global const float *bias,
                          const int act, const float alpha, __global float *img, const int chunk) {
  const int p0 = get_global_id(0) * 2 * BLOCK_LANES, q0 = get_global_id(1) * BLOCK_ROWS;
  const int np = clamp(P - p0, 0, 2 * BLOCK_LANES), nq = clamp(Q - q0, 0, BLOCK_ROWS);
  const int pl = min(p0, P - 1), width = k * k * P;
  /* row r is pixel (oy, ox) of image on; its first tap (ky0, kx0) reads grid cell
   * (gy0, gx0), and each further tap along y (x) the cell above (left) */
  const int ky0 = (py + pad) % stride, kx0 = (px + pad) % stride;
  int oy[BLOCK_ROWS], ox[BLOCK_ROWS], on[BLOCK_ROWS], gy0[BLOCK_ROWS], gx0[BLOCK_ROWS];
  for (int r = 0; r < BLOCK_ROWS; r++) {
    const int q = min(q0 + r, Q - 1);
    ox[r] = (q % class_w) * stride + px;
    oy[r] = (q / class_w % class_h) * stride + py;
    on[r] = q / (class_w * class_h);
    gy0[r] = (oy[r] + pad - ky0) / stride;
    gx0[r] = (ox[r] + pad - kx0) / stride;
  }
  float16 acc[2 * BLOCK_ROWS];
  for (int r = 0; r < 2 * BLOCK_ROWS; r++)
    acc[r] = (float16)(0.0f);
  /* the taps with (y + pad - ky) a multiple of the stride, in col2im's order */
  for (int ky = ky0, jy = 0; ky < k; ky += stride, jy++)
    for (int kx = kx0, jx = 0; kx < k; kx += stride, jx++) {
      bool in_grid[BLOCK_ROWS];
      __global const float *rows[BLOCK_ROWS];
      for (int r = 0; r < BLOCK_ROWS; r++) {
        const int gy = gy0[r] - jy, gx = gx0[r] - jx;
        in_grid[r] = gy >= 0 && gx >= 0 && gy < grid_h && gx < grid_w;
        rows[r] = in_grid[r] ? X + ((on[r] * grid_h + gy) * grid_w + gx) * cin : zeros;
      }
      float16 term[2 * BLOCK_ROWS];
      for (int r = 0; r < 2 * BLOCK_ROWS; r++)
        term[r] = (float16)(0.0f);
      for (int c0 = 0; c0 < cin; c0 += chunk) {
        block_chunk(term, L + (ky * k + kx) * P + pl, width, np, rows, 1, c0, min(cin, c0 + chunk));
        barrier(CLK_LOCAL_MEM_FENCE);
      }
      for (int r = 0; r < BLOCK_ROWS; r++)
        if (in_grid[r])
          acc[r] += term[r], acc[BLOCK_ROWS + r] += term[BLOCK_ROWS + r];
    }
  /* bias and activation as bias_act computes them: in vectors where that is the
   * same arithmetic (PoCL's vector exp and tanh need not round as its scalar ones) */
  const bool vector_act = np == 2 * BLOCK_LANES && act != ACT_SIGMOID && act != ACT_TANH;
  const float16 ba = act >= 0 && vector_act ? vload16(0, bias + p0) : (float16)(0.0f);
  const float16 bb = act >= 0 && vector_act ? vload16(1, bias + p0) : (float16)(0.0f);
  for (int r = 0; r < nq; r++) {
    __global float *out = img + ((on[r] * img_h + oy[r]) * img_w + ox[r]) * P + p0;
    if (vector_act) {
      vstore16(act >= 0 ? act_forward16(acc[r] + ba, act, alpha) : acc[r], 0, out);
      vstore16(act >= 0 ? act_forward16(acc[BLOCK_ROWS + r] + bb, act, alpha) : acc[BLOCK_ROWS + r],
               1, out);
      continue;
    }
    float v[2 * BLOCK_LANES];
    vstore16(acc[r], 0, v);
    vstore16(acc[BLOCK_ROWS + r], 1, v);
    for (int p = 0; p < np; p++)
      out[p] = act >= 0 ? act_forward(v[p] + bias[p0 + p], act, alpha) : v[p];
  }
}
