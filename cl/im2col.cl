/* Patch gathering for convolutions (NHWC). See vb_patch_geom in src/backend.h.
 * Conv2D = im2col + GEMM; Conv2DTranspose = GEMM + col2im; each is the other's
 * backward pass for the input gradient.
 *
 * Both kernels run on a 2-D range: dimension 1 walks the patch taps (or pixels),
 * dimension 0 the channels in runs of `span`. On GPUs span is 1, so neighbouring
 * work-items touch neighbouring floats (coalesced); on CPUs span is all channels,
 * so one work-item's index arithmetic is shared by a contiguous copy. */

/* Work-item (j, row*k*k + tap) fills col[row, tap*c + ch] for ch in its span. */
__kernel void im2col(__global const float *img, __global float *col, const int img_h,
                     const int img_w, const int c, const int grid_h, const int grid_w, const int k,
                     const int stride, const int pad, const int patches, const int span) {
  const int ch0 = get_global_id(0) * span, rt = get_global_id(1);
  if (ch0 >= c || rt >= patches)
    return;
  const int ch1 = min(ch0 + span, c);
  const int taps = k * k;
  const int row = rt / taps, tap = rt - row * taps;
  const int ky = tap / k, kx = tap - ky * k;
  const int gx = row % grid_w, gy = (row / grid_w) % grid_h, n = row / (grid_w * grid_h);
  const int y = gy * stride + ky - pad, x = gx * stride + kx - pad;
  __global float *out = col + (size_t)rt * c;
  if (y >= 0 && y < img_h && x >= 0 && x < img_w) {
    __global const float *in = img + ((size_t)(n * img_h + y) * img_w + x) * c;
    for (int ch = ch0; ch < ch1; ch++)
      out[ch] = in[ch];
  } else {
    for (int ch = ch0; ch < ch1; ch++)
      out[ch] = 0.0f;
  }
}

/* The rows layout with few channels (CPUs): a work-item per patch row copies all of
 * its k*k taps, so the row's index arithmetic (divisions, which PoCL cannot vectorise)
 * is done once rather than once per tap. The same copies as im2col. */
__kernel void im2col_rows(__global const float *img, __global float *col, const int img_h,
                          const int img_w, const int c, const int grid_h, const int grid_w,
                          const int k, const int stride, const int pad, const int rows) {
  const int row = get_global_id(0);
  if (row >= rows)
    return;
  const int gx = row % grid_w, gy = (row / grid_w) % grid_h, n = row / (grid_w * grid_h);
  __global float *out = col + (size_t)row * k * k * c;
  for (int ky = 0; ky < k; ky++) {
    const int y = gy * stride + ky - pad;
    for (int kx = 0; kx < k; kx++, out += c) {
      const int x = gx * stride + kx - pad;
      if (y >= 0 && y < img_h && x >= 0 && x < img_w) {
        __global const float *in = img + ((size_t)(n * img_h + y) * img_w + x) * c;
        for (int ch = 0; ch < c; ch++)
          out[ch] = in[ch];
      } else {
        for (int ch = 0; ch < c; ch++)
          out[ch] = 0.0f;
      }
    }
  }
}

/* Work-item (j, pixel) gathers, for each channel of its span, every column entry
 * that im2col would have filled from that pixel: no atomics, and a fixed sum order.
 * With act >= 0 it then applies bias_act to its pixel (cl/elementwise.cl), while
 * the row is still in cache: the same float operations as the two ops apart. */
__kernel void col2im(__global const float *col, __global float *img, const int img_h,
                     const int img_w, const int c, const int grid_h, const int grid_w, const int k,
                     const int stride, const int pad, const int pixels, const int span,
                     __global const float *bias, const int act, const float alpha) {
  const int ch0 = get_global_id(0) * span, p = get_global_id(1);
  if (ch0 >= c || p >= pixels)
    return;
  const int ch1 = min(ch0 + span, c);
  const int x = p % img_w, y = (p / img_w) % img_h, n = p / (img_w * img_h);
  const int row_len = k * k * c;
  __global float *out = img + (size_t)p * c;
  for (int ch = ch0; ch < ch1; ch++)
    out[ch] = 0.0f;
  /* the taps with (y + pad - ky) a multiple of the stride, in order: ky0, ky0 +
   * stride, ..., each reading the grid row above the last (no division per tap) */
  const int ky0 = (y + pad) % stride, kx0 = (x + pad) % stride;
  for (int ky = ky0, gy = (y + pad - ky0) / stride; ky < k && gy >= 0; ky += stride, gy--) {
    if (gy >= grid_h)
      continue;
    for (int kx = kx0, gx = (x + pad - kx0) / stride; kx < k && gx >= 0; kx += stride, gx--) {
      if (gx >= grid_w)
        continue;
      __global const float *in =
          col + (size_t)((n * grid_h + gy) * grid_w + gx) * row_len + (ky * k + kx) * c;
      for (int ch = ch0; ch < ch1; ch++)
        out[ch] += in[ch];
    }
  }
  if (act >= 0)
    for (int ch = ch0; ch < ch1; ch++)
      out[ch] = act_forward(out[ch] + bias[ch], act, alpha);
}
