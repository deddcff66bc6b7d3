/* The CPU backend: every vb_ops op in plain C on host memory, from the definitions
 * of the double-precision reference ops (src/ref/ref_ops.c).
 *
 * Buffers hold floats like a device's, but every op reads its float inputs into
 * double, computes in double (sums included) and rounds each output once: slow
 * but exact, the results are the reference's to within the rounding of the output.
 * Ops run synchronously, so marks and finish have nothing to wait for. Sampling
 * draws from the same Philox stream (src/util/philox.h) as the OpenCL kernel. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backends.h"
#include "ref/ref_ops.h"
#include "util/error.h"
#include "util/philox.h"

struct vb_buf {
  unsigned char *data;
  size_t bytes;
};

static const char device_name[] = "vaecl reference CPU backend (plain C)";

/* ---- range checks ------------------------------------------------------------- */

/* Fails unless buf holds `count` elements of `size` bytes from element `first`. */
static int check(const vb_buf *buf, size_t first, size_t count, size_t size, const char *op,
                 const char *operand) {
  if (!buf)
    return vaecl_fail("internal error: cpu backend %s: %s is NULL", op, operand);
  if (count > SIZE_MAX / size || first > SIZE_MAX / size || first * size > buf->bytes ||
      count * size > buf->bytes - first * size)
    return vaecl_fail("internal error: cpu backend %s: %s of %zu elements at element %zu overruns "
                      "a %zu-byte buffer",
                      op, operand, count, first, buf->bytes);
  return 0;
}

static int check_floats(const vb_buf *buf, size_t count, const char *op, const char *operand) {
  return check(buf, 0, count, sizeof(float), op, operand);
}

/* a * b (and a * b * c) without overflowing size_t; fails naming the op. */
static int product(const char *op, size_t *out, size_t a, size_t b) {
  if (b != 0 && a > SIZE_MAX / b)
    return vaecl_fail("internal error: cpu backend %s: size %zu x %zu overflows", op, a, b);
  *out = a * b;
  return 0;
}

static float *floats(vb_buf *b) {
  return (float *)(void *)b->data;
}

static const float *cfloats(const vb_buf *b) {
  return (const float *)(const void *)b->data;
}

/* ---- memory ------------------------------------------------------------------- */

static vb_buf *cpu_alloc(vb_backend *be, size_t bytes) {
  (void)be;
  vb_buf *b = malloc(sizeof *b);
  /* zeroed like nothing on a device, but reading it is then never undefined */
  unsigned char *data = calloc(bytes ? bytes : 1, 1);
  if (!b || !data) {
    free(b);
    free(data);
    vaecl_fail("out of host memory allocating %.1f MiB", (double)bytes / 1048576.0);
    return NULL;
  }
  b->data = data;
  b->bytes = bytes;
  return b;
}

static void cpu_release(vb_backend *be, vb_buf *b) {
  (void)be;
  if (!b)
    return;
  free(b->data);
  free(b);
}

static int cpu_write(vb_backend *be, vb_buf *dst, size_t offset, const void *src, size_t bytes) {
  (void)be;
  if (check(dst, offset, bytes, 1, "write", "destination") != 0)
    return -1;
  if (bytes)
    memcpy(dst->data + offset, src, bytes);
  return 0;
}

static int cpu_read(vb_backend *be, const vb_buf *src, size_t offset, void *dst, size_t bytes) {
  (void)be;
  if (check(src, offset, bytes, 1, "read", "source") != 0)
    return -1;
  if (bytes)
    memcpy(dst, src->data + offset, bytes);
  return 0;
}

static int cpu_fill(vb_backend *be, vb_buf *dst, float value, size_t count) {
  (void)be;
  if (check_floats(dst, count, "fill", "dst") != 0)
    return -1;
  float *x = floats(dst);
  for (size_t i = 0; i < count; i++)
    x[i] = value;
  return 0;
}

/* ---- GEMM ----------------------------------------------------------------------- */

static int cpu_gemm(vb_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                    const vb_buf *a, const vb_buf *b, float beta, vb_buf *c) {
  (void)be;
  size_t mk = 0, kn = 0, mn = 0;
  if (product("gemm", &mk, m, k) != 0 || product("gemm", &kn, k, n) != 0 ||
      product("gemm", &mn, m, n) != 0 || check_floats(a, mk, "gemm", "A") != 0 ||
      check_floats(b, kn, "gemm", "B") != 0 || check_floats(c, mn, "gemm", "C") != 0)
    return -1;
  const float *A = cfloats(a), *B = cfloats(b);
  float *C = floats(c);
  double *row = malloc((n ? n : 1) * sizeof *row);
  if (!row)
    return vaecl_fail("out of host memory in the cpu backend's gemm");
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++)
      row[j] = 0;
    if (tb) { /* B is n x k: each C entry is a dot product of two contiguous rows */
      for (size_t j = 0; j < n; j++) {
        double acc = 0;
        for (size_t p = 0; p < k; p++)
          acc += (double)(ta ? A[p * m + i] : A[i * k + p]) * B[j * k + p];
        row[j] = acc;
      }
    } else {
      for (size_t p = 0; p < k; p++) {
        const double av = ta ? A[p * m + i] : A[i * k + p];
        const float *brow = B + p * n;
        for (size_t j = 0; j < n; j++)
          row[j] += av * brow[j];
      }
    }
    /* beta == 0 ignores C (it may hold garbage), as in BLAS */
    for (size_t j = 0; j < n; j++)
      C[i * n + j] =
          (float)((double)alpha * row[j] + (beta == 0.0f ? 0.0 : (double)beta * C[i * n + j]));
  }
  free(row);
  return 0;
}

/* ---- convolution patches --------------------------------------------------------- */

/* Validates the geometry and the two buffers; pixels and patch rows as counts. */
static int patch_sizes(const char *op, const vb_patch_geom *g, int batch, const vb_buf *img,
                       const vb_buf *col) {
  if (batch < 0 || g->img_h < 0 || g->img_w < 0 || g->c < 0 || g->grid_h < 0 || g->grid_w < 0 ||
      g->k < 1 || g->stride < 1 || g->pad < 0)
    return vaecl_fail("internal error: cpu backend %s: invalid geometry (image %dx%dx%d, grid "
                      "%dx%d, k %d, stride %d, pad %d, batch %d)",
                      op, g->img_h, g->img_w, g->c, g->grid_h, g->grid_w, g->k, g->stride, g->pad,
                      batch);
  const size_t img_n = (size_t)batch * g->img_h * g->img_w * g->c;
  const size_t col_n = (size_t)batch * g->grid_h * g->grid_w * g->k * g->k * g->c;
  return check_floats(img, img_n, op, "image") != 0 || check_floats(col, col_n, op, "columns") != 0
             ? -1
             : 0;
}

/* Image offset (in floats) of patch `row`'s tap (ky,kx), or -1 in the padding. */
static long patch_pixel(const vb_patch_geom *g, size_t row, int ky, int kx) {
  const size_t per_image = (size_t)g->grid_h * g->grid_w;
  const size_t img = row / per_image, cell = row % per_image;
  const int gy = (int)(cell / (size_t)g->grid_w), gx = (int)(cell % (size_t)g->grid_w);
  const int y = gy * g->stride + ky - g->pad, x = gx * g->stride + kx - g->pad;
  if (y < 0 || y >= g->img_h || x < 0 || x >= g->img_w)
    return -1;
  return (long)((((size_t)img * g->img_h + (size_t)y) * g->img_w + (size_t)x) * g->c);
}

static int cpu_im2col(vb_backend *be, const vb_patch_geom *g, int batch, const vb_buf *img,
                      vb_buf *col) {
  (void)be;
  if (patch_sizes("im2col", g, batch, img, col) != 0)
    return -1;
  const float *in = cfloats(img);
  float *out = floats(col);
  const size_t rows = (size_t)batch * g->grid_h * g->grid_w, width = (size_t)g->k * g->k * g->c;
  for (size_t r = 0; r < rows; r++)
    for (int ky = 0; ky < g->k; ky++)
      for (int kx = 0; kx < g->k; kx++) {
        const long px = patch_pixel(g, r, ky, kx);
        float *dst = out + r * width + ((size_t)ky * g->k + kx) * g->c;
        for (int ch = 0; ch < g->c; ch++)
          dst[ch] = px < 0 ? 0.0f : in[px + ch];
      }
  return 0;
}

/* col2im, then (when bias is not NULL) act(sum + bias[c]), still in double: one
 * rounding per output. */
static int col2im_sum(const vb_patch_geom *g, int batch, const vb_buf *col, const vb_buf *bias,
                      vb_act act, float alpha, vb_buf *img) {
  if (patch_sizes("col2im", g, batch, img, col) != 0 ||
      (bias && check_floats(bias, (size_t)g->c, "col2im_bias_act", "bias") != 0))
    return -1;
  /* In double through the reference's own col2im: a copy of col, but one definition. */
  const size_t img_n = (size_t)batch * g->img_h * g->img_w * g->c;
  const size_t col_n = (size_t)batch * g->grid_h * g->grid_w * g->k * g->k * g->c;
  double *sum = malloc((img_n ? img_n : 1) * sizeof *sum);
  double *src = malloc((col_n ? col_n : 1) * sizeof *src);
  if (!sum || !src) {
    free(sum);
    free(src);
    return vaecl_fail("out of host memory in the cpu backend's col2im");
  }
  const float *in = cfloats(col);
  for (size_t i = 0; i < col_n; i++)
    src[i] = in[i];
  ref_col2im(g, batch, src, sum);
  free(src);
  if (bias) {
    const float *b = cfloats(bias);
    for (size_t i = 0; i < img_n; i++)
      sum[i] += b[i % (size_t)g->c];
    ref_act_forward(img_n, act, alpha, sum);
  }
  float *out = floats(img);
  for (size_t i = 0; i < img_n; i++)
    out[i] = (float)sum[i];
  free(sum);
  return 0;
}

static int cpu_col2im(vb_backend *be, const vb_patch_geom *g, int batch, const vb_buf *col,
                      vb_buf *img) {
  (void)be;
  return col2im_sum(g, batch, col, NULL, VB_ACT_NONE, 0.0f, img);
}

/* ---- elementwise and reductions ------------------------------------------------- */

static int check_act(const char *op, vb_act act) {
  if (act < VB_ACT_NONE || act > VB_ACT_TANH)
    return vaecl_fail("internal error: cpu backend %s: unknown activation %d", op, (int)act);
  return 0;
}

static int cpu_col2im_bias_act(vb_backend *be, const vb_patch_geom *g, int batch, const vb_buf *col,
                               const vb_buf *bias, vb_act act, float alpha, vb_buf *img) {
  (void)be;
  if (check_act("col2im_bias_act", act) != 0)
    return -1;
  return col2im_sum(g, batch, col, bias, act, alpha, img);
}

static int cpu_bias_act(vb_backend *be, vb_buf *y, const vb_buf *bias, size_t rows, size_t cols,
                        vb_act act, float alpha) {
  (void)be;
  size_t n = 0;
  if (check_act("bias_act", act) != 0 || product("bias_act", &n, rows, cols) != 0 ||
      check_floats(y, n, "bias_act", "y") != 0 || check_floats(bias, cols, "bias_act", "bias") != 0)
    return -1;
  float *Y = floats(y);
  const float *B = cfloats(bias);
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++) {
      double v = (double)Y[r * cols + c] + B[c];
      ref_act_forward(1, act, alpha, &v);
      Y[r * cols + c] = (float)v;
    }
  return 0;
}

static int cpu_act_backward(vb_backend *be, vb_buf *dy, const vb_buf *y, size_t count, vb_act act,
                            float alpha) {
  (void)be;
  if (check_act("act_backward", act) != 0 || check_floats(dy, count, "act_backward", "dy") != 0 ||
      check_floats(y, count, "act_backward", "y") != 0)
    return -1;
  float *D = floats(dy);
  const float *Y = cfloats(y);
  for (size_t i = 0; i < count; i++) {
    const double yi = Y[i];
    double d = D[i];
    ref_act_backward(1, act, alpha, &yi, &d);
    D[i] = (float)d;
  }
  return 0;
}

static int cpu_bias_grad(vb_backend *be, vb_buf *db, const vb_buf *dy, size_t rows, size_t cols) {
  (void)be;
  size_t n = 0;
  if (product("bias_grad", &n, rows, cols) != 0 || check_floats(dy, n, "bias_grad", "dy") != 0 ||
      check_floats(db, cols, "bias_grad", "db") != 0)
    return -1;
  double *sum = calloc(cols ? cols : 1, sizeof *sum);
  if (!sum)
    return vaecl_fail("out of host memory in the cpu backend's bias_grad");
  const float *D = cfloats(dy);
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++)
      sum[c] += D[r * cols + c];
  float *out = floats(db);
  for (size_t c = 0; c < cols; c++)
    out[c] = (float)sum[c];
  free(sum);
  return 0;
}

static int cpu_accumulate(vb_backend *be, vb_buf *acc, int slot, const vb_buf *x, size_t count,
                          float scale) {
  (void)be;
  if (slot < 0)
    return vaecl_fail("internal error: cpu backend accumulate: slot %d", slot);
  if (check(acc, (size_t)slot, 1, sizeof(float), "accumulate", "acc") != 0 ||
      check_floats(x, count, "accumulate", "x") != 0)
    return -1;
  const float *X = cfloats(x);
  double sum = 0;
  for (size_t i = 0; i < count; i++)
    sum += X[i];
  float *A = floats(acc);
  A[slot] = (float)((double)A[slot] + (double)scale * sum);
  return 0;
}

/* ---- losses --------------------------------------------------------------------- */

static int cpu_bce_logits(vb_backend *be, const vb_buf *logits, const vb_buf *target,
                          vb_buf *dlogits, vb_buf *loss, size_t count, float grad_scale) {
  (void)be;
  if (check_floats(logits, count, "bce_logits", "logits") != 0 ||
      check_floats(target, count, "bce_logits", "target") != 0 ||
      check_floats(dlogits, count, "bce_logits", "dlogits") != 0 ||
      check_floats(loss, count, "bce_logits", "loss") != 0)
    return -1;
  const float *Z = cfloats(logits), *X = cfloats(target);
  float *D = floats(dlogits), *L = floats(loss);
  for (size_t i = 0; i < count; i++) {
    const double z = Z[i], x = X[i];
    double d;
    const double l = ref_bce_logits(1, &z, &x, &d, grad_scale);
    L[i] = (float)l;
    D[i] = (float)d;
  }
  return 0;
}

static int cpu_gaussian_nll(vb_backend *be, const vb_buf *mean, const vb_buf *target,
                            const vb_buf *log_var, vb_buf *dmean, vb_buf *loss, vb_buf *dlog_var,
                            size_t count, float grad_scale) {
  (void)be;
  const char *op = "gaussian_nll";
  if (check_floats(mean, count, op, "mean") != 0 ||
      check_floats(target, count, op, "target") != 0 ||
      check_floats(log_var, 1, op, "log_var") != 0 ||
      check_floats(dmean, count, op, "dmean") != 0 || check_floats(loss, count, op, "loss") != 0 ||
      (dlog_var && check_floats(dlog_var, count, op, "dlog_var") != 0))
    return -1;
  const float *M = cfloats(mean), *X = cfloats(target);
  const double lv = cfloats(log_var)[0];
  float *DM = floats(dmean), *L = floats(loss), *DLV = dlog_var ? floats(dlog_var) : NULL;
  for (size_t i = 0; i < count; i++) {
    const double mu = M[i], x = X[i];
    double dm, l, dlv;
    ref_gaussian_nll(1, &mu, &x, lv, &dm, &l, &dlv, grad_scale);
    DM[i] = (float)dm;
    L[i] = (float)l;
    if (DLV)
      DLV[i] = (float)dlv;
  }
  return 0;
}

/* ---- sampling ------------------------------------------------------------------- */

static int check_latent(const char *op, int batch, int latent, size_t *n) {
  if (batch < 0 || latent < 0)
    return vaecl_fail("internal error: cpu backend %s: batch %d, latent %d", op, batch, latent);
  *n = (size_t)batch * (size_t)latent;
  /* the Philox counter is a 32-bit element index, as in the OpenCL kernel */
  if (*n > (size_t)INT_MAX)
    return vaecl_fail("tensor of %zu elements is too large for vaecl's sampling (at most %d)", *n,
                      INT_MAX);
  return 0;
}

static int cpu_sample(vb_backend *be, const vb_buf *stats, vb_buf *eps, vb_buf *z, int batch,
                      int latent, int first, uint64_t seed, uint64_t step) {
  (void)be;
  size_t n = 0, whole = 0;
  if (first < 0 || first > INT_MAX - (batch > 0 ? batch : 0))
    return vaecl_fail("internal error: cpu backend sample: first row %d", first);
  if (check_latent("sample", batch, latent, &n) != 0 ||
      check_latent("sample", first + batch, latent, &whole) != 0 ||
      check_floats(stats, 2 * n, "sample", "stats") != 0 ||
      check_floats(eps, n, "sample", "eps") != 0 || check_floats(z, n, "sample", "z") != 0)
    return -1;
  const float *S = cfloats(stats);
  float *E = floats(eps), *Z = floats(z);
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < latent; j++) {
      const size_t i = (size_t)b * latent + j, mi = (size_t)b * 2 * latent + j;
      /* z from the stored (rounded) eps, so that z - mean is what the backward pass sees */
      const float e =
          (float)vaecl_philox_normal(seed, step, (uint32_t)((size_t)first * latent + i));
      E[i] = e;
      Z[i] = (float)((double)S[mi] + exp(0.5 * (double)S[mi + latent]) * (double)e);
    }
  return 0;
}

static int cpu_sample_kl_backward(vb_backend *be, const vb_buf *stats, const vb_buf *eps,
                                  const vb_buf *dz, vb_buf *dstats, vb_buf *kl, int batch,
                                  int latent, float kl_scale) {
  (void)be;
  const char *op = "sample_kl_backward";
  size_t n = 0;
  if (check_latent(op, batch, latent, &n) != 0 || check_floats(stats, 2 * n, op, "stats") != 0 ||
      check_floats(eps, n, op, "eps") != 0 || check_floats(dz, n, op, "dz") != 0 ||
      check_floats(dstats, 2 * n, op, "dstats") != 0 || check_floats(kl, n, op, "kl") != 0)
    return -1;
  const float *S = cfloats(stats), *E = cfloats(eps), *DZ = cfloats(dz);
  float *DS = floats(dstats), *KL = floats(kl);
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < latent; j++) {
      const size_t i = (size_t)b * latent + j, mi = (size_t)b * 2 * latent + j;
      const double st[2] = {S[mi], S[mi + latent]}, e = E[i], g = DZ[i];
      double dst[2];
      KL[i] = (float)ref_sample_kl_backward(1, 1, st, &e, &g, dst, kl_scale);
      DS[mi] = (float)dst[0];
      DS[mi + latent] = (float)dst[1];
    }
  return 0;
}

/* ---- optimizer and data ----------------------------------------------------------- */

static int cpu_adam(vb_backend *be, vb_buf *param, const vb_buf *grad, vb_buf *m, vb_buf *v,
                    size_t count, const vb_adam_step *s) {
  (void)be;
  if (check_floats(param, count, "adam", "param") != 0 ||
      check_floats(grad, count, "adam", "grad") != 0 || check_floats(m, count, "adam", "m") != 0 ||
      check_floats(v, count, "adam", "v") != 0)
    return -1;
  float *P = floats(param), *M = floats(m), *V = floats(v);
  const float *G = cfloats(grad);
  for (size_t i = 0; i < count; i++) {
    double p = P[i], mi = M[i], vi = V[i];
    const double g = G[i];
    ref_adam(1, &p, &g, &mi, &vi, s);
    P[i] = (float)p;
    M[i] = (float)mi;
    V[i] = (float)vi;
  }
  return 0;
}

static int cpu_gather_images(vb_backend *be, const vb_buf *pixels, const vb_buf *index,
                             size_t first, size_t count, size_t pixels_per_image, vb_buf *out) {
  (void)be;
  const char *op = "gather_images";
  size_t n = 0;
  if (check(index, first, count, sizeof(uint32_t), op, "index") != 0 ||
      product(op, &n, count, pixels_per_image) != 0 || check_floats(out, n, op, "out") != 0)
    return -1;
  const uint32_t *idx = (const uint32_t *)(const void *)index->data;
  float *O = floats(out);
  for (size_t i = 0; i < count; i++) {
    const uint32_t img = idx[first + i];
    if (check(pixels, (size_t)img * pixels_per_image, pixels_per_image, 1, op, "pixels") != 0)
      return -1;
    const unsigned char *src = pixels->data + (size_t)img * pixels_per_image;
    for (size_t p = 0; p < pixels_per_image; p++)
      O[i * pixels_per_image + p] = (float)(src[p] / 255.0); /* exact: rounded once */
  }
  return 0;
}

/* ---- synchronisation: every op has finished when it returns ------------------------ */

static char the_mark;

static int cpu_finish(vb_backend *be) {
  (void)be;
  return 0;
}

static int cpu_mark(vb_backend *be, vb_mark **out) {
  (void)be;
  *out = (vb_mark *)(void *)&the_mark;
  return 0;
}

static int cpu_wait_mark(vb_backend *be, vb_mark *mark) {
  (void)be;
  (void)mark;
  return 0;
}

static void cpu_destroy(vb_backend *be) {
  free(be);
}

static const vb_ops cpu_ops = {
    .name = "cpu",
    .version = VB_OPS_VERSION,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .write = cpu_write,
    .read = cpu_read,
    .fill = cpu_fill,
    .gemm = cpu_gemm,
    .im2col = cpu_im2col,
    .col2im = cpu_col2im,
    .col2im_bias_act = cpu_col2im_bias_act,
    .bias_act = cpu_bias_act,
    .act_backward = cpu_act_backward,
    .bias_grad = cpu_bias_grad,
    .accumulate = cpu_accumulate,
    .bce_logits = cpu_bce_logits,
    .gaussian_nll = cpu_gaussian_nll,
    .sample = cpu_sample,
    .sample_kl_backward = cpu_sample_kl_backward,
    .adam = cpu_adam,
    .gather_images = cpu_gather_images,
    .finish = cpu_finish,
    .mark = cpu_mark,
    .wait_mark = cpu_wait_mark,
    .destroy = cpu_destroy,
};

vb_backend *vb_cpu_create(const vaecl_backend_options *opts) {
  if (opts && opts->device != -1 && opts->device != 0) {
    vaecl_fail("the cpu backend has one device, 0; there is no device %d", opts->device);
    return NULL;
  }
  if (opts && opts->device_match) {
    vaecl_fail("the cpu backend has one device, 0: it takes no device name ('%s')",
               opts->device_match);
    return NULL;
  }
  vb_backend *be = calloc(1, sizeof *be);
  if (!be) {
    vaecl_fail("out of host memory");
    return NULL;
  }
  be->ops = &cpu_ops;
  snprintf(be->device_name, sizeof be->device_name, "%s", device_name);
  snprintf(be->gemm_note, sizeof be->gemm_note, "plain C");
  return be;
}

int vb_cpu_list_devices(vaecl_device_info **out, size_t *count) {
  vaecl_device_info *d = calloc(1, sizeof *d);
  if (!d)
    return vaecl_fail("out of host memory");
  snprintf(d->backend, sizeof d->backend, "cpu");
  d->index = 0;
  snprintf(d->platform, sizeof d->platform, "vaecl");
  snprintf(d->name, sizeof d->name, "%s", device_name);
  snprintf(d->vendor, sizeof d->vendor, "vaecl");
  snprintf(d->version, sizeof d->version, "vb_ops %d", VB_OPS_VERSION);
  snprintf(d->driver, sizeof d->driver, "%s", VAECL_VERSION);
  d->compute_units = 1;
  snprintf(d->type, sizeof d->type, "host");
  d->is_default = 1;
  d->usable = 1;
  d->same_as = -1;
  *out = d;
  *count = 1;
  return 0;
}
