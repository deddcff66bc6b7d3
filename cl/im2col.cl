/* Patch gathering for convolutions (NHWC). See vb_patch_geom in src/backend.h.
 * Conv2D = im2col + GEMM; Conv2DTranspose = GEMM + col2im; each is the other's
 * backward pass for the input gradient. */

/* One work-item per column entry: col[(n, gy, gx), (ky, kx, c)]. */
__kernel void im2col(__global const float *img, __global float *col, const int img_h,
                     const int img_w, const int c, const int grid_h, const int grid_w,
                     const int k, const int stride, const int pad, const int total) {
  const int i = get_global_id(0);
  if (i >= total)
    return;
  const int row_len = k * k * c;
  const int row = i / row_len, in_row = i - row * row_len;
  const int tap = in_row / c, ch = in_row - tap * c;
  const int ky = tap / k, kx = tap - ky * k;
  const int gx = row % grid_w, gy = (row / grid_w) % grid_h, n = row / (grid_w * grid_h);
  const int y = gy * stride + ky - pad, x = gx * stride + kx - pad;
  col[i] = (y >= 0 && y < img_h && x >= 0 && x < img_w)
               ? img[((n * img_h + y) * img_w + x) * c + ch]
               : 0.0f;
}

/* One work-item per image pixel: gathers every column entry that im2col would have
 * filled from it, so no atomics are needed and the sum order is fixed. */
__kernel void col2im(__global const float *col, __global float *img, const int img_h,
                     const int img_w, const int c, const int grid_h, const int grid_w,
                     const int k, const int stride, const int pad, const int total) {
  const int i = get_global_id(0);
  if (i >= total)
    return;
  const int ch = i % c, x = (i / c) % img_w, y = (i / (c * img_w)) % img_h;
  const int n = i / (c * img_w * img_h);
  const int row_len = k * k * c;
  float sum = 0.0f;
  for (int ky = 0; ky < k; ky++) {
    const int ty = y + pad - ky;
    if (ty < 0 || ty % stride)
      continue;
    const int gy = ty / stride;
    if (gy >= grid_h)
      continue;
    for (int kx = 0; kx < k; kx++) {
      const int tx = x + pad - kx;
      if (tx < 0 || tx % stride)
        continue;
      const int gx = tx / stride;
      if (gx >= grid_w)
        continue;
      sum += col[((n * grid_h + gy) * grid_w + gx) * row_len + (ky * k + kx) * c + ch];
    }
  }
  img[i] = sum;
}
