/* Every vb_ops op of the OpenCL backend against the double-precision reference
 * (src/ref_ops.c, itself checked by test_ref_gradients).
 *
 * Inputs are generated in double, rounded to float, and the reference runs on
 * those rounded values, so the only difference left is the device's float
 * arithmetic. Tolerances are bounds on that arithmetic, in units of
 * U = 2^-24 (float unit roundoff), from the OpenCL 1.2 full-profile accuracy
 * limits: +, -, * correctly rounded (U); x/y 2.5 ulp and sqrt 3 ulp (an ulp is at
 * most 2U relative); exp 3 ulp, log1p 2 ulp. A sum of K terms in any order is
 * within (K-1) U sum|terms| of exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vaecl/backend_opencl.h>
#include "util/philox.h"
#include "ref/ref_ops.h"
#include "testdevice.h"
#include "testutil.h"
#include <vaecl.h>

#define U (1.0 / 16777216.0)
/* atol for values that must match exactly or to rtol only; never 0, because
 * test_max_scaled_error divides by atol + rtol |ref|. */
#define TINY 1e-30

/* ---- host/device plumbing ------------------------------------------------ */

static double *new_doubles(size_t n) {
  double *x = calloc(n ? n : 1, sizeof *x);
  ck_assert_ptr_nonnull(x);
  return x;
}

/* Uniform in [lo, hi), rounded to float so host and device see the same inputs. */
static double *rand_floats(test_rng *r, size_t n, double lo, double hi) {
  double *x = new_doubles(n);
  for (size_t i = 0; i < n; i++)
    x[i] = (float)test_rng_uniform(r, lo, hi);
  return x;
}

static vb_buf *upload(const double *x, size_t n) {
  float *f = malloc((n ? n : 1) * sizeof *f);
  ck_assert_ptr_nonnull(f);
  for (size_t i = 0; i < n; i++)
    f[i] = (float)x[i];
  vb_buf *b = be->ops->alloc(be, n * sizeof *f);
  ck_assert_msg(b != NULL, "alloc: %s", vaecl_last_error());
  ck_assert_msg(be->ops->write(be, b, 0, f, n * sizeof *f) == 0, "write: %s", vaecl_last_error());
  free(f);
  return b;
}

static double *download(const vb_buf *b, size_t n) {
  float *f = malloc((n ? n : 1) * sizeof *f);
  ck_assert_ptr_nonnull(f);
  ck_assert_msg(be->ops->read(be, b, 0, f, n * sizeof *f) == 0, "read: %s", vaecl_last_error());
  double *x = new_doubles(n);
  for (size_t i = 0; i < n; i++)
    x[i] = f[i];
  free(f);
  return x;
}

/* Asserts an op returned 0, with the backend's message if not. */
#define CK_OP(call) ck_assert_msg((call) == 0, "%s failed: %s", #call, vaecl_last_error())

static void check_close(const char *what, const double *dev, const double *ref, size_t n,
                        double atol, double rtol) {
  size_t worst;
  const double e = test_max_scaled_error(dev, ref, n, atol, rtol, &worst);
  ck_assert_msg(e <= 1.0,
                "%s: [%zu] device %.9g vs reference %.9g (atol %.3g, rtol %.3g, %.3g x tolerance)",
                what, worst, dev[worst], ref[worst], atol, rtol, e);
}

static void check_exact(const char *what, const double *dev, const double *ref, size_t n) {
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(dev[i] == ref[i], "%s: [%zu] device %.9g vs expected %.9g", what, i, dev[i],
                  ref[i]);
}

static double max_abs(const double *x, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, fabs(x[i]));
  return m;
}

/* ---- GEMM ---------------------------------------------------------------- */

static void check_gemm(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha, double beta,
                       uint64_t seed) {
  test_rng r = test_rng_new(seed);
  double *a = rand_floats(&r, m * k, -1, 1), *b = rand_floats(&r, k * n, -1, 1);
  double *c = rand_floats(&r, m * n, -1, 1);
  vb_buf *da = upload(a, m * k), *db = upload(b, k * n), *dc = upload(c, m * n);
  CK_OP(be->ops->gemm(be, ta, tb, m, n, k, (float)alpha, da, db, (float)beta, dc));
  double *got = download(dc, m * n);

  /* Error bound: (K+2) U (|alpha| |A||B| + |beta| |C|), the K-term dot product plus
   * the alpha and beta products; the scale is taken at its largest element. */
  double *aa = new_doubles(m * k), *ab = new_doubles(k * n), *scale = new_doubles(m * n);
  for (size_t i = 0; i < m * k; i++)
    aa[i] = fabs(a[i]);
  for (size_t i = 0; i < k * n; i++)
    ab[i] = fabs(b[i]);
  for (size_t i = 0; i < m * n; i++)
    scale[i] = fabs(c[i]);
  ref_gemm(ta, tb, m, n, k, fabs(alpha), aa, ab, fabs(beta), scale);
  ref_gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
  char what[96];
  snprintf(what, sizeof what, "gemm ta=%d tb=%d %zux%zux%zu", ta, tb, m, n, k);
  check_close(what, got, c, m * n, (double)(k + 2) * U * max_abs(scale, m * n), 0);

  be->ops->release(be, da);
  be->ops->release(be, db);
  be->ops->release(be, dc);
  free(a);
  free(b);
  free(c);
  free(got);
  free(aa);
  free(ab);
  free(scale);
}

START_TEST(test_gemm) {
  /* Small shapes take CLBlast's direct kernel; the last four are above the size from
   * which the CPU parameters (src/cl_gemm_tuning.c) send GEMMs to the indirect
   * kernel, with edges that are not multiples of its 64x64 tiles, and the skinny
   * shapes of the convolutions. */
  const size_t shapes[][3] = {{13, 7, 67},    {1, 5, 3},     {33, 1, 129},
                              {64, 50, 17},   {7, 9, 1},     {200, 70, 131},
                              {513, 129, 65}, {1000, 9, 64}, {9, 64, 3000}};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
    for (int t = 0; t < 4; t++) {
      const bool ta = t & 1, tb = t & 2;
      check_gemm(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 0.75, 0.5, 10 * s + t);
      check_gemm(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 1.0, 0.0, 100 + 10 * s + t);
    }
}
END_TEST

/* ---- im2col / col2im ----------------------------------------------------- */

/* Conv geometries (image is the bigger side) and conv-transpose ones (the grid is
 * the small input, the image the output), odd and even, stride 1 and 2, k 1..5,
 * plus a stride larger than k, where some pixels receive nothing in col2im. */
static const vb_patch_geom geoms[] = {
    {7, 7, 3, 4, 4, 3, 2, 1},     {8, 8, 2, 4, 4, 3, 2, 0}, {14, 14, 1, 14, 14, 3, 1, 1},
    {8, 8, 3, 4, 4, 4, 2, 1},     {7, 7, 2, 7, 7, 5, 1, 2}, {6, 6, 2, 6, 6, 1, 1, 0},
    {28, 28, 1, 14, 14, 3, 2, 0}, {7, 7, 2, 3, 3, 2, 3, 0},
};
enum { PATCH_BATCH = 3 };

static size_t img_len(const vb_patch_geom *g) {
  return (size_t)PATCH_BATCH * g->img_h * g->img_w * g->c;
}

static size_t col_len(const vb_patch_geom *g) {
  return (size_t)PATCH_BATCH * g->grid_h * g->grid_w * g->k * g->k * g->c;
}

/* Pure copies: must be exact, including the zeros for padding taps (the output
 * starts as garbage, so every entry must be written). */
START_TEST(test_im2col) {
  test_rng r = test_rng_new(21);
  for (size_t i = 0; i < sizeof geoms / sizeof *geoms; i++) {
    const vb_patch_geom *g = &geoms[i];
    double *img = rand_floats(&r, img_len(g), -1, 1), *col = new_doubles(col_len(g));
    double *garbage = rand_floats(&r, col_len(g), 100, 200);
    vb_buf *dimg = upload(img, img_len(g)), *dcol = upload(garbage, col_len(g));
    CK_OP(be->ops->im2col(be, g, PATCH_BATCH, dimg, dcol));
    double *got = download(dcol, col_len(g));
    ref_im2col(g, PATCH_BATCH, img, col);
    check_exact("im2col", got, col, col_len(g));
    be->ops->release(be, dimg);
    be->ops->release(be, dcol);
    free(img);
    free(col);
    free(garbage);
    free(got);
  }
}
END_TEST

/* Each pixel sums at most k*k column entries (fewer for stride > 1), each below
 * max|col|: error <= k*k U k*k max|col|. */
START_TEST(test_col2im) {
  test_rng r = test_rng_new(22);
  for (size_t i = 0; i < sizeof geoms / sizeof *geoms; i++) {
    const vb_patch_geom *g = &geoms[i];
    double *col = rand_floats(&r, col_len(g), -1, 1), *img = new_doubles(img_len(g));
    double *garbage = rand_floats(&r, img_len(g), 100, 200);
    vb_buf *dcol = upload(col, col_len(g)), *dimg = upload(garbage, img_len(g));
    CK_OP(be->ops->col2im(be, g, PATCH_BATCH, dcol, dimg));
    double *got = download(dimg, img_len(g));
    ref_col2im(g, PATCH_BATCH, col, img);
    const double kk = (double)g->k * g->k;
    char what[64];
    snprintf(what, sizeof what, "col2im geometry %zu", i);
    check_close(what, got, img, img_len(g), kk * U * kk * max_abs(col, col_len(g)), 0);
    be->ops->release(be, dimg);
    be->ops->release(be, dcol);
    free(img);
    free(col);
    free(garbage);
    free(got);
  }
}
END_TEST

/* ---- bias, activations --------------------------------------------------- */

/* y + b is one correctly rounded float add (rtol U); ReLU's max is exact. */
START_TEST(test_bias_act) {
  const size_t rows = 37, cols = 19, n = rows * cols;
  test_rng r = test_rng_new(31);
  for (int act = VB_ACT_NONE; act <= VB_ACT_RELU; act++) {
    double *y = rand_floats(&r, n, -1, 1), *b = rand_floats(&r, cols, -0.5, 0.5);
    vb_buf *dy = upload(y, n), *db = upload(b, cols);
    CK_OP(be->ops->bias_act(be, dy, db, rows, cols, (vb_act)act));
    double *got = download(dy, n);
    for (size_t i = 0; i < n; i++)
      y[i] += b[i % cols];
    if (act == VB_ACT_RELU)
      ref_relu_forward(n, y);
    check_close(act == VB_ACT_RELU ? "bias_act relu" : "bias_act none", got, y, n, TINY, U);
    be->ops->release(be, dy);
    be->ops->release(be, db);
    free(y);
    free(b);
    free(got);
  }
}
END_TEST

/* A mask: exact. y holds ReLU outputs, so exact zeros as well as positives. */
START_TEST(test_act_backward) {
  const size_t n = 1001;
  test_rng r = test_rng_new(32);
  for (int act = VB_ACT_NONE; act <= VB_ACT_RELU; act++) {
    double *y = rand_floats(&r, n, -1, 1), *dy = rand_floats(&r, n, -1, 1);
    ref_relu_forward(n, y);
    vb_buf *dyb = upload(dy, n), *yb = upload(y, n);
    CK_OP(be->ops->act_backward(be, dyb, yb, n, (vb_act)act));
    double *got = download(dyb, n);
    if (act == VB_ACT_RELU)
      ref_relu_backward(n, y, dy);
    check_exact(act == VB_ACT_RELU ? "act_backward relu" : "act_backward none", got, dy, n);
    be->ops->release(be, dyb);
    be->ops->release(be, yb);
    free(y);
    free(dy);
    free(got);
  }
}
END_TEST

/* db[c] = sum over rows of dy[r, c], in double. */
static void col_sums(const double *dy, size_t rows, size_t cols, double *db) {
  for (size_t c = 0; c < cols; c++) {
    db[c] = 0;
    for (size_t i = 0; i < rows; i++)
      db[c] += dy[i * cols + c];
  }
}

static double *run_bias_grad(const double *dy, size_t rows, size_t cols) {
  vb_buf *ddy = upload(dy, rows * cols), *ddb = be->ops->alloc(be, cols * sizeof(float));
  ck_assert_ptr_nonnull(ddb);
  CK_OP(be->ops->bias_grad(be, ddb, ddy, rows, cols));
  double *got = download(ddb, cols);
  be->ops->release(be, ddy);
  be->ops->release(be, ddb);
  return got;
}

/* Sums of multiples of 2^-10 below 1 in magnitude: with at most 2^13 terms every
 * partial sum fits in 24 bits, so any summation order is exact. A dropped or
 * doubled row shows up no matter how small. */
static double *dyadic(test_rng *r, size_t n) {
  double *x = new_doubles(n);
  for (size_t i = 0; i < n; i++)
    x[i] = floor(test_rng_uniform(r, -1024, 1025)) / 1024.0;
  return x;
}

START_TEST(test_bias_grad) {
  const size_t shapes[][2] = {{300, 13}, {1, 7}, {1000, 1}, {64, 64}, {4097, 3}};
  test_rng r = test_rng_new(33);
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    const size_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
    double *dy = dyadic(&r, n), *db = new_doubles(cols);
    col_sums(dy, rows, cols, db);
    double *got = run_bias_grad(dy, rows, cols);
    check_exact("bias_grad (exact sums)", got, db, cols);
    free(dy);
    free(got);

    /* General floats: rows terms per column, error <= rows U sum|dy| <= rows^2 U. */
    dy = rand_floats(&r, n, -1, 1);
    col_sums(dy, rows, cols, db);
    got = run_bias_grad(dy, rows, cols);
    double col_abs = 0;
    for (size_t c = 0; c < cols; c++) {
      double sum = 0;
      for (size_t i = 0; i < rows; i++)
        sum += fabs(dy[i * cols + c]);
      col_abs = fmax(col_abs, sum);
    }
    check_close("bias_grad", got, db, cols, (double)rows * U * col_abs, 0);
    free(dy);
    free(db);
    free(got);
  }
}
END_TEST

/* ---- loss ---------------------------------------------------------------- */

static void check_bce(const double *z, const double *x, size_t n, double scale) {
  scale = (float)scale; /* the value the device gets */
  vb_buf *dz = upload(z, n), *dx = upload(x, n);
  vb_buf *dd = be->ops->alloc(be, n * sizeof(float)), *dl = be->ops->alloc(be, n * sizeof(float));
  ck_assert(dd && dl);
  CK_OP(be->ops->bce_logits(be, dz, dx, dd, dl, n, (float)scale));
  double *grad = download(dd, n), *loss = download(dl, n);
  double *rgrad = new_doubles(n), *rloss = new_doubles(n);
  for (size_t i = 0; i < n; i++)
    rloss[i] = ref_bce_logits(1, z + i, x + i, rgrad + i, scale);
  /* loss: max(z,0) - x z + log1p(exp(-|z|)): the products and sums round at
   * magnitudes up to |z| (U each), exp and log1p add 6U + 4U at magnitudes below 1;
   * the two z-sized terms can cancel, so the bound is absolute: 4U (max|z| + 3). */
  check_close("bce loss", loss, rloss, n, 4 * U * (max_abs(z, n) + 3), 0);
  /* grad: sigmoid = 1/(1+exp(-z)) within 6U (exp) + U + 5U (divide) relative, at
   * most 1; minus x and times scale add 2U: 16U |scale| absolute. */
  check_close("bce dlogits", grad, rgrad, n, 16 * U * fabs(scale), 0);
  be->ops->release(be, dz);
  be->ops->release(be, dx);
  be->ops->release(be, dd);
  be->ops->release(be, dl);
  free(grad);
  free(loss);
  free(rgrad);
  free(rloss);
}

START_TEST(test_bce_logits) {
  const size_t n = 1001;
  test_rng r = test_rng_new(41);
  double *z = rand_floats(&r, n, -8, 8), *x = rand_floats(&r, n, 0, 1);
  for (size_t i = 0; i < n; i += 7)
    x[i] = i % 2; /* binarised pixels too */
  check_bce(z, x, n, 1.0);
  check_bce(z, x, n, 1.0 / 784);
  /* saturated logits, where a naive exp(z) overflows float */
  const double zs[8] = {100, -100, 90, -90, 30, -30, 0, 1e-3};
  const double xs[8] = {0, 0, 1, 1, 0.5, 0.25, 0.5, 1};
  check_bce(zs, xs, 8, 2.0);
  free(z);
  free(x);
}
END_TEST

/* ---- accumulate ---------------------------------------------------------- */

static double *run_accumulate(const double *acc0, int slots, int slot, const double *x, size_t n,
                              double scale, int times) {
  vb_buf *dacc = upload(acc0, (size_t)slots), *dx = upload(x, n);
  for (int t = 0; t < times; t++)
    CK_OP(be->ops->accumulate(be, dacc, slot, dx, n, (float)scale));
  double *got = download(dacc, (size_t)slots);
  be->ops->release(be, dacc);
  be->ops->release(be, dx);
  return got;
}

static double plain_sum(const double *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  return s;
}

START_TEST(test_accumulate_exact) {
  /* Exact whatever the reduction order (see dyadic()); scale 0.5 and the initial
   * values are dyadic too, so acc must match to the bit, other slots untouched. */
  const size_t counts[] = {1, 2, 255, 256, 257, 4097, 8000};
  const double acc0[4] = {1.5, -2, 3.25, 7};
  test_rng r = test_rng_new(51);
  for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
    const size_t n = counts[c];
    double *x = dyadic(&r, n);
    double *got = run_accumulate(acc0, 4, 2, x, n, 0.5, 2);
    double want[4] = {1.5, -2, 3.25 + 2 * 0.5 * plain_sum(x, n), 7};
    ck_assert_msg(got[2] == want[2], "accumulate n=%zu: device %.9g, expected %.9g", n, got[2],
                  want[2]);
    check_exact("accumulate other slots", got, want, 4);
    free(x);
    free(got);
  }
}
END_TEST

START_TEST(test_accumulate_float) {
  /* n terms in any order: error <= (n-1) U sum|x|; then scale and the add: 2U. */
  const size_t n = 1000;
  test_rng r = test_rng_new(52);
  double *x = rand_floats(&r, n, 0, 1);
  const double acc0[1] = {0.25}, scale = (float)0.37;
  double *got = run_accumulate(acc0, 1, 0, x, n, scale, 1);
  double abs_sum = 0;
  for (size_t i = 0; i < n; i++)
    abs_sum += fabs(x[i]);
  const double want = 0.25 + scale * plain_sum(x, n);
  check_close("accumulate", got, &want, 1, ((double)n + 2) * U * (scale * abs_sum + 0.25), 0);
  /* deterministic: the same reduction gives the same bits */
  double *again = run_accumulate(acc0, 1, 0, x, n, scale, 1);
  ck_assert_int_eq(memcmp(got, again, sizeof *got), 0);
  free(x);
  free(got);
  free(again);
}
END_TEST

/* ---- sampling and KL ----------------------------------------------------- */

/* Device eps vs host eps; see test_rng.c for this bound: 1e-5 from float
 * Box-Muller, widened near u1 = 1 where sqrt(-2 log u1) amplifies rounding. */
static double eps_tolerance(uint64_t seed, uint64_t step, uint32_t index) {
  uint32_t w[4];
  vaecl_philox_draw(seed, step, index, w);
  const double L = -2.0 * log(((double)w[0] + 1.0) * (1.0 / 4294967296.0));
  return 1e-5 + (L > 0 ? fmin(2.4e-7 / sqrt(L), 7e-4) : 7e-4);
}

START_TEST(test_sample) {
  const int batch = 7, latent = 9, n = batch * latent;
  const uint64_t seed = 99, step = 0x100000005ull;
  test_rng r = test_rng_new(61);
  double *stats = rand_floats(&r, 2 * (size_t)n, -2, 2);
  double *eps = new_doubles((size_t)n), *z = new_doubles((size_t)n);
  vb_buf *ds = upload(stats, 2 * (size_t)n);
  vb_buf *de = be->ops->alloc(be, (size_t)n * sizeof(float));
  vb_buf *dz = be->ops->alloc(be, (size_t)n * sizeof(float));
  ck_assert(de && dz);
  CK_OP(be->ops->sample(be, ds, de, dz, batch, latent, seed, step));
  double *geps = download(de, (size_t)n), *gz = download(dz, (size_t)n);
  ref_sample(batch, latent, stats, seed, step, eps, z);
  for (int i = 0; i < n; i++)
    ck_assert_msg(fabs(geps[i] - eps[i]) <= eps_tolerance(seed, step, (uint32_t)i),
                  "sample eps[%d]: device %.9g, host %.9g", i, geps[i], eps[i]);
  /* z from the device's own eps: mean + exp(lv/2) eps with exp within 6U and two
   * roundings; |mean| <= 2 and exp(lv/2) <= e, so 8U (2 + e max|eps|) absolute. */
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < latent; j++) {
      const int i = b * latent + j;
      z[i] = stats[b * 2 * latent + j] + exp(0.5 * stats[b * 2 * latent + latent + j]) * geps[i];
    }
  check_close("sample z", gz, z, (size_t)n, 8 * U * (2 + exp(1.0) * max_abs(geps, (size_t)n)), 0);
  be->ops->release(be, ds);
  be->ops->release(be, de);
  be->ops->release(be, dz);
  free(stats);
  free(eps);
  free(z);
  free(geps);
  free(gz);
}
END_TEST

START_TEST(test_sample_kl_backward) {
  const int batch = 7, latent = 9, n = batch * latent;
  const double kl_scale = 0.75; /* exact in float */
  test_rng r = test_rng_new(62);
  double *stats = rand_floats(&r, 2 * (size_t)n, -2, 2);
  double *eps = rand_floats(&r, (size_t)n, -3, 3), *dz = rand_floats(&r, (size_t)n, -1, 1);
  vb_buf *ds = upload(stats, 2 * (size_t)n), *de = upload(eps, (size_t)n),
         *ddz = upload(dz, (size_t)n);
  vb_buf *dd = be->ops->alloc(be, 2 * (size_t)n * sizeof(float));
  vb_buf *dkl = be->ops->alloc(be, (size_t)n * sizeof(float));
  ck_assert(dd && dkl);
  CK_OP(be->ops->sample_kl_backward(be, ds, de, ddz, dd, dkl, batch, latent, (float)kl_scale));
  double *gd = download(dd, 2 * (size_t)n), *gkl = download(dkl, (size_t)n);

  double *rd = new_doubles(2 * (size_t)n), *rkl = new_doubles((size_t)n);
  ref_sample_kl_backward(batch, latent, stats, eps, dz, rd, kl_scale);
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < latent; j++) {
      const double one[2] = {stats[b * 2 * latent + j], stats[b * 2 * latent + latent + j]};
      rkl[b * latent + j] = ref_kl(1, 1, one);
    }
  /* Terms are at most: |dz| + kl_scale |mean| <= 2.6 (dmean); |dz| e |eps| / 2 +
   * kl_scale (e^2 + 1) / 2 <= 4.1 + 3.4 (dlog_var); 1 + 2 + 4 + e^2 <= 15 (kl).
   * Each passes through exp (6U) and up to 5 roundings: 16U of those sizes. */
  check_close("sample_kl_backward dstats", gd, rd, 2 * (size_t)n, 16 * U * 7.5, 0);
  check_close("sample_kl_backward kl", gkl, rkl, (size_t)n, 16 * U * 15, 0);
  be->ops->release(be, ds);
  be->ops->release(be, de);
  be->ops->release(be, ddz);
  be->ops->release(be, dd);
  be->ops->release(be, dkl);
  free(stats);
  free(eps);
  free(dz);
  free(gd);
  free(gkl);
  free(rd);
  free(rkl);
}
END_TEST

/* ---- Adam ---------------------------------------------------------------- */

START_TEST(test_adam) {
  const size_t n = 1001;
  test_rng r = test_rng_new(71);
  double *p = rand_floats(&r, n, -1, 1), *g = rand_floats(&r, n, -1, 1);
  double *m = rand_floats(&r, n, -0.1, 0.1), *v = rand_floats(&r, n, 1e-4, 1e-2);
  /* step 3 of lr 1e-3: alpha = lr sqrt(1 - b2^3) / (1 - b1^3) */
  const vb_adam_step s = {(float)(1e-3 * sqrt(1 - pow(0.999, 3)) / (1 - pow(0.9, 3))), 0.9f, 0.999f,
                          1e-7f};
  vb_buf *dp = upload(p, n), *dg = upload(g, n), *dm = upload(m, n), *dv = upload(v, n);
  CK_OP(be->ops->adam(be, dp, dg, dm, dv, n, &s));
  double *gp = download(dp, n), *gm = download(dm, n), *gv = download(dv, n);

  /* Bounds per element, maximised: m and v each take 3 roundings at the size of
   * their terms (4U (|m| + (1-b1)|g|), 4U (|v| + (1-b2) g^2)). The update
   * alpha m / (sqrt v + eps) takes sqrt 6U + add U + divide 5U + multiply U,
   * plus m's error over sqrt v; the final subtraction rounds at |p|. */
  double tm = 0, tv = 0, tp = 0;
  for (size_t i = 0; i < n; i++) {
    const double em = 4 * U * (fabs(m[i]) + (1 - s.beta1) * fabs(g[i]));
    const double ev = 4 * U * (v[i] + (1 - s.beta2) * g[i] * g[i]);
    const double upd = s.alpha * fabs(m[i] * s.beta1 + (1 - s.beta1) * g[i]) / sqrt(v[i]);
    tm = fmax(tm, em);
    tv = fmax(tv, ev);
    tp =
        fmax(tp, U * (fabs(p[i]) + 1) + 16 * U * upd + s.alpha * em / sqrt(v[i]) + upd * ev / v[i]);
  }
  ref_adam(n, p, g, m, v, &s);
  check_close("adam m", gm, m, n, tm, 0);
  check_close("adam v", gv, v, n, tv, 0);
  check_close("adam param", gp, p, n, tp, 0);
  be->ops->release(be, dp);
  be->ops->release(be, dg);
  be->ops->release(be, dm);
  be->ops->release(be, dv);
  free(p);
  free(g);
  free(m);
  free(v);
  free(gp);
  free(gm);
  free(gv);
}
END_TEST

/* ---- data movement ------------------------------------------------------- */

START_TEST(test_gather_images) {
  enum { IMAGES = 10, PPI = 13, FIRST = 3, COUNT = 5 };
  unsigned char pixels[IMAGES * PPI];
  const uint32_t index[IMAGES] = {7, 2, 9, 0, 5, 1, 8, 3, 6, 4};
  for (int i = 0; i < IMAGES * PPI; i++)
    pixels[i] = (unsigned char)(i * 37 + 11);
  pixels[0] = 0;
  pixels[5 * PPI + 1] = 255;
  vb_buf *dpix = be->ops->alloc(be, sizeof pixels), *didx = be->ops->alloc(be, sizeof index);
  ck_assert(dpix && didx);
  CK_OP(be->ops->write(be, dpix, 0, pixels, sizeof pixels));
  CK_OP(be->ops->write(be, didx, 0, index, sizeof index));
  /* One image more than asked for, pre-set to a sentinel that must survive. */
  const size_t out_n = (COUNT + 1) * PPI;
  double *sentinel = new_doubles(out_n), *want = new_doubles(out_n);
  for (size_t i = 0; i < out_n; i++)
    sentinel[i] = want[i] = -42;
  vb_buf *dout = upload(sentinel, out_n);
  CK_OP(be->ops->gather_images(be, dpix, didx, FIRST, COUNT, PPI, dout));
  double *got = download(dout, out_n);
  for (int i = 0; i < COUNT; i++)
    for (int p = 0; p < PPI; p++)
      want[i * PPI + p] = pixels[index[FIRST + i] * PPI + p] / 255.0;
  /* x/255 divides (2.5 ulp = 5U) or multiplies by a rounded 1/255 (2U): rtol 5U;
   * 0 and 1 come out exactly 0 and within 5U of 1, and the sentinel exactly. */
  check_close("gather_images", got, want, out_n, TINY, 5 * U);
  check_exact("gather_images sentinel", got + COUNT * PPI, want + COUNT * PPI, PPI);
  be->ops->release(be, dpix);
  be->ops->release(be, didx);
  be->ops->release(be, dout);
  free(sentinel);
  free(want);
  free(got);
}
END_TEST

START_TEST(test_fill) {
  const size_t n = 1000, count = 777;
  test_rng r = test_rng_new(81);
  double *x = rand_floats(&r, n, -1, 1);
  vb_buf *b = upload(x, n);
  CK_OP(be->ops->fill(be, b, -3.5f, count));
  double *got = download(b, n);
  for (size_t i = 0; i < count; i++)
    x[i] = -3.5;
  check_exact("fill", got, x, n); /* the tail past count is untouched */
  free(got);
  CK_OP(be->ops->fill(be, b, 0.0f, n));
  got = download(b, n);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(got[i] == 0 && !signbit(got[i]), "fill 0: [%zu] = %g", i, got[i]);
  CK_OP(be->ops->fill(be, b, 1.0f, 0)); /* count 0 is a no-op */
  double *again = download(b, n);
  check_exact("fill count 0", again, got, n);
  be->ops->release(be, b);
  free(x);
  free(got);
  free(again);
}
END_TEST

START_TEST(test_write_read_round_trip) {
  enum { BYTES = 1003 };
  unsigned char a[BYTES], b[200], back[BYTES];
  for (int i = 0; i < BYTES; i++)
    a[i] = (unsigned char)(i * 131 + 7);
  for (int i = 0; i < 200; i++)
    b[i] = (unsigned char)(255 - i);
  vb_buf *buf = be->ops->alloc(be, BYTES);
  ck_assert_ptr_nonnull(buf);
  CK_OP(be->ops->write(be, buf, 0, a, BYTES));
  CK_OP(be->ops->write(be, buf, 101, b, sizeof b)); /* odd offset */
  memcpy(a + 101, b, sizeof b);
  CK_OP(be->ops->read(be, buf, 0, back, BYTES));
  ck_assert_int_eq(memcmp(back, a, BYTES), 0);
  memset(back, 0, sizeof back);
  CK_OP(be->ops->read(be, buf, 53, back, 500));
  ck_assert_int_eq(memcmp(back, a + 53, 500), 0);
  /* out-of-range transfers fail cleanly instead of touching memory */
  ck_assert_int_ne(be->ops->write(be, buf, BYTES - 10, b, 11), 0);
  ck_assert_int_ne(be->ops->read(be, buf, BYTES + 1, back, 0), 0);
  CK_OP(be->ops->finish(be));
  be->ops->release(be, buf);
}
END_TEST

static Suite *ops_suite(void) {
  Suite *s = suite_create("ops");
  TCase *tc = tcase_create("opencl");
  tcase_add_checked_fixture(tc, test_device_setup, test_device_teardown);
  tcase_add_test(tc, test_write_read_round_trip);
  tcase_add_test(tc, test_fill);
  tcase_add_test(tc, test_gemm);
  tcase_add_test(tc, test_im2col);
  tcase_add_test(tc, test_col2im);
  tcase_add_test(tc, test_bias_act);
  tcase_add_test(tc, test_act_backward);
  tcase_add_test(tc, test_bias_grad);
  tcase_add_test(tc, test_bce_logits);
  tcase_add_test(tc, test_accumulate_exact);
  tcase_add_test(tc, test_accumulate_float);
  tcase_add_test(tc, test_sample);
  tcase_add_test(tc, test_sample_kl_backward);
  tcase_add_test(tc, test_adam);
  tcase_add_test(tc, test_gather_images);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return vaecl_test_run(ops_suite());
}
