/* Checks the double-precision reference ops (src/ref_ops.c) against themselves:
 * every backward pass against central finite differences, the im2col/col2im pair
 * and the two convolutions against each other through exact adjoint identities,
 * and Adam / same-padding against hand-computed values. The device ops are later
 * judged against these references, so they must be right on their own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_ops.h"
#include "testutil.h"
#include "util/philox.h"

/* ---- finite differences -------------------------------------------------- */

/* Step h = FD_STEP * max(1, |p|). Central differences have truncation error
 * h^2/6 * |f'''| ~ 2e-11 * |f'''| and rounding error ~ 2^-53 * S / h, where S is
 * the sum of |terms| in L (at most ~1e4 here: a few hundred outputs of up to 27
 * products of values below 1) so ~1e-7 worst case, ~1e-9 typical. The ops that
 * are linear in the perturbed parameter (conv, dense) have no truncation error
 * at all. FD_TOL (atol and rtol) sits >10x above both; a wrong index or a missing
 * factor in a backward pass gives errors of order 0.1-1. */
#define FD_STEP 1e-5
#define FD_TOL 1e-6

typedef double (*scalar_fn)(void *ctx);

/* g[i] = dL/dp[i] by central differences; p is restored. */
static void fd_grad(scalar_fn f, void *ctx, double *p, size_t n, double *g) {
  for (size_t i = 0; i < n; i++) {
    const double save = p[i], h = FD_STEP * fmax(1.0, fabs(save));
    const double xp = save + h, xm = save - h; /* the steps actually taken */
    p[i] = xp;
    const double fp = f(ctx);
    p[i] = xm;
    const double fm = f(ctx);
    p[i] = save;
    g[i] = (fp - fm) / (xp - xm);
  }
}

static void check_fd(const char *what, scalar_fn f, void *ctx, double *p, size_t n,
                     const double *analytic) {
  double *g = malloc(n * sizeof *g);
  ck_assert_ptr_nonnull(g);
  fd_grad(f, ctx, p, n, g);
  size_t worst;
  const double e = test_max_scaled_error(analytic, g, n, FD_TOL, FD_TOL, &worst);
  ck_assert_msg(e <= 1.0, "%s: d[%zu] analytic %.12g vs finite difference %.12g", what, worst,
                analytic[worst], g[worst]);
  free(g);
}

static double dot(const double *a, const double *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

static double *rand_array(test_rng *r, size_t n, double lo, double hi) {
  double *x = malloc((n ? n : 1) * sizeof *x);
  ck_assert_ptr_nonnull(x);
  test_fill_uniform(r, x, n, lo, hi);
  return x;
}

static double *zeros(size_t n) {
  double *x = calloc(n ? n : 1, sizeof *x);
  ck_assert_ptr_nonnull(x);
  return x;
}

/* ---- convolutions -------------------------------------------------------- */

typedef struct {
  ref_conv_shape s;
  bool transpose;
  double *x, *w, *b, *r, *y;
  size_t nx, nw, ny;
} conv_case;

static double conv_loss(void *vctx) {
  conv_case *c = vctx;
  if (c->transpose)
    ref_conv2d_transpose_forward(&c->s, c->x, c->w, c->b, c->y);
  else
    ref_conv2d_forward(&c->s, c->x, c->w, c->b, c->y);
  return dot(c->y, c->r, c->ny);
}

static conv_case conv_case_new(const ref_conv_shape *s, bool transpose, uint64_t seed) {
  conv_case c = {.s = *s, .transpose = transpose};
  test_rng r = test_rng_new(seed);
  c.nx = (size_t)s->batch * s->in_h * s->in_w * s->in_c;
  c.nw = (size_t)s->k * s->k * s->in_c * s->out_c;
  c.ny = (size_t)s->batch * s->out_h * s->out_w * s->out_c;
  c.x = rand_array(&r, c.nx, -1, 1);
  c.w = rand_array(&r, c.nw, -1, 1);
  c.b = rand_array(&r, (size_t)s->out_c, -1, 1);
  c.r = rand_array(&r, c.ny, -1, 1);
  c.y = zeros(c.ny);
  return c;
}

static void conv_case_free(conv_case *c) {
  free(c->x);
  free(c->w);
  free(c->b);
  free(c->r);
  free(c->y);
}

static void check_conv_gradients(const ref_conv_shape *s, bool transpose) {
  conv_case c = conv_case_new(s, transpose, 17 + (uint64_t)s->in_h * 7 + s->stride);
  double *dx = zeros(c.nx), *dw = zeros(c.nw), *db = zeros((size_t)s->out_c);
  if (transpose)
    ref_conv2d_transpose_backward(s, c.x, c.w, c.r, dx, dw, db);
  else
    ref_conv2d_backward(s, c.x, c.w, c.r, dx, dw, db);
  check_fd("dx", conv_loss, &c, c.x, c.nx, dx);
  check_fd("dw", conv_loss, &c, c.w, c.nw, dw);
  check_fd("db", conv_loss, &c, c.b, (size_t)s->out_c, db);

  /* dx == NULL must still give the same dw and db. */
  double *dw2 = zeros(c.nw), *db2 = zeros((size_t)s->out_c);
  if (transpose)
    ref_conv2d_transpose_backward(s, c.x, c.w, c.r, NULL, dw2, db2);
  else
    ref_conv2d_backward(s, c.x, c.w, c.r, NULL, dw2, db2);
  ck_assert_int_eq(memcmp(dw, dw2, c.nw * sizeof *dw), 0);
  ck_assert_int_eq(memcmp(db, db2, (size_t)s->out_c * sizeof *db), 0);
  free(dw2);
  free(db2);
  free(dx);
  free(dw);
  free(db);
  conv_case_free(&c);
}

/* A Keras Conv2D 'same' shape: out = ceil(in / stride). */
static ref_conv_shape conv_same(int batch, int in, int in_c, int out_c, int k, int stride) {
  const int out = (in + stride - 1) / stride;
  ref_conv_shape s = {batch, in, in, in_c, out, out, out_c, k, stride, 0};
  s.pad = ref_same_pad(in, out, k, stride);
  return s;
}

/* A Keras Conv2DTranspose 'same' shape: out = in * stride, and the padding is that
 * of the adjoint conv from the big image down to the small grid. */
static ref_conv_shape convt_same(int batch, int in, int in_c, int out_c, int k, int stride) {
  const int out = in * stride;
  ref_conv_shape s = {batch, in, in, in_c, out, out, out_c, k, stride, 0};
  s.pad = ref_same_pad(out, in, k, stride);
  return s;
}

START_TEST(test_same_pad) {
  ck_assert_int_eq(ref_same_pad(28, 14, 3, 2), 0); /* total 1: the odd pixel goes after */
  ck_assert_int_eq(ref_same_pad(14, 14, 3, 1), 1);
  ck_assert_int_eq(ref_same_pad(7, 4, 3, 2), 1);
  ck_assert_int_eq(ref_same_pad(8, 4, 4, 2), 1);
  ck_assert_int_eq(ref_same_pad(5, 5, 1, 1), 0);
  ck_assert_int_eq(ref_same_pad(4, 1, 2, 4), 0); /* negative total clamps to 0 */
}
END_TEST

START_TEST(test_conv2d_gradients) {
  /* stride 1 and 2, odd and even sizes, k 3 and 4; pads 1, 0 and 1 */
  const ref_conv_shape shapes[] = {conv_same(2, 7, 3, 4, 3, 1), conv_same(2, 8, 3, 4, 3, 2),
                                   conv_same(2, 7, 2, 3, 3, 2), conv_same(2, 8, 2, 3, 4, 2),
                                   conv_same(2, 5, 1, 2, 3, 1)};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    check_conv_gradients(&shapes[i], false);
}
END_TEST

START_TEST(test_conv2d_transpose_gradients) {
  const ref_conv_shape shapes[] = {convt_same(2, 7, 3, 4, 3, 1), convt_same(2, 4, 3, 2, 3, 2),
                                   convt_same(2, 3, 2, 3, 4, 2), convt_same(2, 4, 1, 2, 3, 1)};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    check_conv_gradients(&shapes[i], true);
}
END_TEST

/* A hand-checkable case: 1x1 channels, 3x3 input, 3x3 ones kernel, pad 1: each
 * output is the sum of its in-range 3x3 neighbourhood. */
START_TEST(test_conv2d_known_answer) {
  const ref_conv_shape s = {1, 3, 3, 1, 3, 3, 1, 3, 1, 1};
  const double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  double w[9], y[9], b = 0.5;
  for (int i = 0; i < 9; i++)
    w[i] = 1;
  ref_conv2d_forward(&s, x, w, &b, y);
  const double want[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
  for (int i = 0; i < 9; i++)
    ck_assert_double_eq(y[i], want[i] + 0.5);
}
END_TEST

/* ---- im2col / col2im / gemm identities ----------------------------------- */

static vb_patch_geom conv_geom(const ref_conv_shape *s) {
  vb_patch_geom g = {s->in_h, s->in_w, s->in_c, s->out_h, s->out_w, s->k, s->stride, s->pad};
  return g;
}

/* Summation order differs between the identities' two sides, so they agree to
 * rounding: ~ (terms) * 2^-53 relative, far below 1e-12 for these sizes. */
#define IDENTITY_TOL 1e-12

START_TEST(test_im2col_adjoint) {
  const vb_patch_geom geoms[] = {{7, 7, 3, 4, 4, 3, 2, 1}, {8, 8, 2, 4, 4, 3, 2, 0},
                                 {5, 5, 2, 5, 5, 3, 1, 1}, {8, 8, 1, 4, 4, 4, 2, 1},
                                 {6, 6, 2, 3, 3, 2, 2, 0}, {7, 7, 1, 7, 7, 5, 1, 2}};
  test_rng r = test_rng_new(3);
  for (size_t i = 0; i < sizeof geoms / sizeof *geoms; i++) {
    const vb_patch_geom *g = &geoms[i];
    const int batch = 2;
    const size_t nimg = (size_t)batch * g->img_h * g->img_w * g->c;
    const size_t ncol = (size_t)batch * g->grid_h * g->grid_w * g->k * g->k * g->c;
    double *x = rand_array(&r, nimg, -1, 1), *c = rand_array(&r, ncol, -1, 1);
    double *col = zeros(ncol), *img = rand_array(&r, nimg, 5, 6); /* col2im must overwrite */
    ref_im2col(g, batch, x, col);
    ref_col2im(g, batch, c, img);
    const double lhs = dot(col, c, ncol), rhs = dot(x, img, nimg);
    ck_assert_msg(fabs(lhs - rhs) <= IDENTITY_TOL * fmax(1.0, fabs(lhs)),
                  "geom %zu: <im2col x, c> = %.17g but <x, col2im c> = %.17g", i, lhs, rhs);
    free(x);
    free(c);
    free(col);
    free(img);
  }
}
END_TEST

/* conv2d(x) = im2col(x) [rows, k*k*in_c] * W [k*k*in_c, out_c] + b: W's Keras
 * layout [k,k,in,out] flattened row-major is exactly that matrix. */
START_TEST(test_conv2d_equals_im2col_gemm) {
  const ref_conv_shape shapes[] = {conv_same(2, 7, 3, 4, 3, 1), conv_same(2, 8, 3, 5, 3, 2),
                                   conv_same(2, 7, 2, 3, 3, 2), conv_same(1, 8, 2, 3, 4, 2)};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    conv_case c = conv_case_new(&shapes[i], false, 100 + i);
    const vb_patch_geom g = conv_geom(&c.s);
    const size_t rows = (size_t)c.s.batch * c.s.out_h * c.s.out_w;
    const size_t kk = (size_t)c.s.k * c.s.k * c.s.in_c;
    double *col = zeros(rows * kk), *y2 = zeros(c.ny);
    ref_conv2d_forward(&c.s, c.x, c.w, c.b, c.y);
    ref_im2col(&g, c.s.batch, c.x, col);
    for (size_t p = 0; p < rows; p++)
      memcpy(y2 + p * c.s.out_c, c.b, (size_t)c.s.out_c * sizeof *c.b);
    ref_gemm(false, false, rows, (size_t)c.s.out_c, kk, 1.0, col, c.w, 1.0, y2);
    size_t worst;
    const double e = test_max_scaled_error(y2, c.y, c.ny, IDENTITY_TOL, IDENTITY_TOL, &worst);
    ck_assert_msg(e <= 1, "shape %zu: y[%zu] %.17g vs %.17g", i, worst, y2[worst], c.y[worst]);
    free(col);
    free(y2);
    conv_case_free(&c);
  }
}
END_TEST

/* conv2d_transpose(x) = col2im(X W^T) + b, with X = x as [rows, in_c] (rows = the
 * small grid's pixels) and W = the Keras [k,k,out_c,in_c] weights as a
 * [k*k*out_c, in_c] matrix: X W^T is a column matrix whose entry (pixel, (ky,kx,co))
 * is what the scatter adds to output pixel (iy*s+ky-pad, ix*s+kx-pad), which is
 * exactly where col2im (with the big output as its "image") sends it. */
START_TEST(test_conv2d_transpose_equals_gemm_col2im) {
  const ref_conv_shape shapes[] = {convt_same(2, 7, 3, 4, 3, 1), convt_same(2, 4, 3, 2, 3, 2),
                                   convt_same(2, 3, 2, 3, 4, 2), convt_same(1, 7, 4, 1, 3, 2)};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    conv_case c = conv_case_new(&shapes[i], true, 200 + i);
    const vb_patch_geom g = {c.s.out_h, c.s.out_w, c.s.out_c,  c.s.in_h,
                             c.s.in_w,  c.s.k,     c.s.stride, c.s.pad};
    const size_t rows = (size_t)c.s.batch * c.s.in_h * c.s.in_w;
    const size_t kk = (size_t)c.s.k * c.s.k * c.s.out_c;
    double *col = zeros(rows * kk), *y2 = zeros(c.ny);
    ref_conv2d_transpose_forward(&c.s, c.x, c.w, c.b, c.y);
    ref_gemm(false, true, rows, kk, (size_t)c.s.in_c, 1.0, c.x, c.w, 0.0, col);
    ref_col2im(&g, c.s.batch, col, y2);
    for (size_t p = 0; p < c.ny; p++)
      y2[p] += c.b[p % (size_t)c.s.out_c];
    size_t worst;
    const double e = test_max_scaled_error(y2, c.y, c.ny, IDENTITY_TOL, IDENTITY_TOL, &worst);
    ck_assert_msg(e <= 1, "shape %zu: y[%zu] %.17g vs %.17g", i, worst, y2[worst], c.y[worst]);
    free(col);
    free(y2);
    conv_case_free(&c);
  }
}
END_TEST

/* Conv2D from [in,in,ci] to [out,out,co] with weights [k,k,ci,co] and the
 * Conv2DTranspose from [out,out,co] to [in,in,ci] with the same array read as its
 * [k,k,ci,co] = [k,k,out_c',in_c'] weights are adjoint linear maps (no bias):
 * <conv(x), y> == <x, convT(y)>. This is what makes Keras 'same' transpose padding
 * ref_same_pad(out, in, k, s). */
START_TEST(test_conv_transpose_is_adjoint) {
  const ref_conv_shape shapes[] = {conv_same(2, 8, 3, 5, 3, 2), conv_same(2, 7, 2, 3, 3, 1),
                                   conv_same(2, 8, 2, 3, 4, 2), conv_same(2, 14, 1, 2, 3, 2)};
  test_rng r = test_rng_new(9);
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    const ref_conv_shape *s = &shapes[i];
    const ref_conv_shape t = {s->batch, s->out_h, s->out_w, s->out_c,  s->in_h,
                              s->in_w,  s->in_c,  s->k,     s->stride, s->pad};
    ck_assert_int_eq(t.pad, ref_same_pad(t.out_h, t.in_h, t.k, t.stride));
    const size_t nx = (size_t)s->batch * s->in_h * s->in_w * s->in_c;
    const size_t ny = (size_t)s->batch * s->out_h * s->out_w * s->out_c;
    const size_t nw = (size_t)s->k * s->k * s->in_c * s->out_c;
    double *x = rand_array(&r, nx, -1, 1), *y = rand_array(&r, ny, -1, 1);
    double *w = rand_array(&r, nw, -1, 1), *cx = zeros(ny), *ty = zeros(nx);
    ref_conv2d_forward(s, x, w, NULL, cx);
    ref_conv2d_transpose_forward(&t, y, w, NULL, ty);
    const double lhs = dot(cx, y, ny), rhs = dot(x, ty, nx);
    ck_assert_msg(fabs(lhs - rhs) <= IDENTITY_TOL * fmax(1.0, fabs(lhs)),
                  "shape %zu: <conv x, y> = %.17g, <x, convT y> = %.17g", i, lhs, rhs);
    free(x);
    free(y);
    free(w);
    free(cx);
    free(ty);
  }
}
END_TEST

/* ref_gemm's four transpose cases against explicit transposed copies, and a
 * hand-computed 2x3 * 3x2 product. */
static void transpose_copy(size_t rows, size_t cols, const double *a, double *at) {
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++)
      at[j * rows + i] = a[i * cols + j];
}

START_TEST(test_gemm) {
  const double a[6] = {1, 2, 3, 4, 5, 6};    /* 2x3 */
  const double b[6] = {7, 8, 9, 10, 11, 12}; /* 3x2 */
  double c[4] = {1, 1, 1, 1};
  ref_gemm(false, false, 2, 2, 3, 2.0, a, b, 0.5, c);
  const double want[4] = {2 * 58 + 0.5, 2 * 64 + 0.5, 2 * 139 + 0.5, 2 * 154 + 0.5};
  for (int i = 0; i < 4; i++)
    ck_assert_double_eq(c[i], want[i]);

  const size_t m = 5, n = 4, k = 7;
  test_rng r = test_rng_new(11);
  double *A = rand_array(&r, m * k, -1, 1), *B = rand_array(&r, k * n, -1, 1);
  double *At = zeros(m * k), *Bt = zeros(k * n), *c0 = zeros(m * n), *c1 = zeros(m * n);
  transpose_copy(m, k, A, At);
  transpose_copy(k, n, B, Bt);
  ref_gemm(false, false, m, n, k, 1.0, A, B, 0.0, c0);
  for (int t = 1; t < 4; t++) {
    const bool ta = t & 1, tb = t & 2;
    for (size_t i = 0; i < m * n; i++)
      c1[i] = NAN; /* beta == 0 must not read C */
    ref_gemm(ta, tb, m, n, k, 1.0, ta ? At : A, tb ? Bt : B, 0.0, c1);
    ck_assert_int_eq(memcmp(c0, c1, m * n * sizeof *c0), 0);
  }
  free(A);
  free(B);
  free(At);
  free(Bt);
  free(c0);
  free(c1);
}
END_TEST

/* ---- dense, relu --------------------------------------------------------- */

typedef struct {
  int batch, in, out;
  double *x, *w, *b, *r, *y;
} dense_case;

static double dense_loss(void *vctx) {
  dense_case *c = vctx;
  ref_dense_forward(c->batch, c->in, c->out, c->x, c->w, c->b, c->y);
  return dot(c->y, c->r, (size_t)c->batch * c->out);
}

START_TEST(test_dense_gradients) {
  dense_case c = {3, 5, 4, NULL, NULL, NULL, NULL, NULL};
  test_rng r = test_rng_new(5);
  const size_t nx = 15, nw = 20, ny = 12;
  c.x = rand_array(&r, nx, -1, 1);
  c.w = rand_array(&r, nw, -1, 1);
  c.b = rand_array(&r, 4, -1, 1);
  c.r = rand_array(&r, ny, -1, 1);
  c.y = zeros(ny);
  double *dx = zeros(nx), *dw = zeros(nw), *db = zeros(4);
  ref_dense_backward(c.batch, c.in, c.out, c.x, c.w, c.r, dx, dw, db);
  check_fd("dense dx", dense_loss, &c, c.x, nx, dx);
  check_fd("dense dw", dense_loss, &c, c.w, nw, dw);
  check_fd("dense db", dense_loss, &c, c.b, 4, db);
  free(dx);
  free(dw);
  free(db);
  free(c.x);
  free(c.w);
  free(c.b);
  free(c.r);
  free(c.y);
}
END_TEST

typedef struct {
  size_t n;
  double *x, *r, *y;
} relu_case;

static double relu_loss(void *vctx) {
  relu_case *c = vctx;
  memcpy(c->y, c->x, c->n * sizeof *c->y);
  ref_relu_forward(c->n, c->y);
  return dot(c->y, c->r, c->n);
}

START_TEST(test_relu_gradients) {
  relu_case c = {64, NULL, NULL, NULL};
  test_rng r = test_rng_new(6);
  c.x = rand_array(&r, c.n, 0.1, 1);
  for (size_t i = 0; i < c.n; i += 2)
    c.x[i] = -c.x[i]; /* |x| >= 0.1 >> h: no step crosses the kink */
  c.r = rand_array(&r, c.n, -1, 1);
  c.y = zeros(c.n);
  double *dy = zeros(c.n);
  relu_loss(&c);
  memcpy(dy, c.r, c.n * sizeof *dy);
  ref_relu_backward(c.n, c.y, dy);
  check_fd("relu", relu_loss, &c, c.x, c.n, dy);
  relu_loss(&c); /* the last FD evaluation left y at a perturbed x */
  for (size_t i = 0; i < c.n; i++)
    ck_assert_double_eq(c.y[i], (c.x[i] > 0 ? c.x[i] : 0.0));
  free(c.x);
  free(c.r);
  free(c.y);
  free(dy);
}
END_TEST

/* ---- loss, sampling ------------------------------------------------------ */

typedef struct {
  size_t n;
  double *z, *x;
} bce_case;

static double bce_loss(void *vctx) {
  bce_case *c = vctx;
  return ref_bce_logits(c->n, c->z, c->x, NULL, 1.0);
}

START_TEST(test_bce_gradients) {
  bce_case c = {40, NULL, NULL};
  test_rng r = test_rng_new(7);
  c.z = rand_array(&r, c.n, -6, 6);
  c.x = rand_array(&r, c.n, 0, 1);
  const double scale = 0.37;
  double *dz = zeros(c.n);
  ref_bce_logits(c.n, c.z, c.x, dz, scale);
  for (size_t i = 0; i < c.n; i++)
    dz[i] /= scale; /* grad_scale multiplies the gradient only */
  check_fd("bce", bce_loss, &c, c.z, c.n, dz);
  free(c.z);
  free(c.x);
  free(dz);
}
END_TEST

/* softplus(z) - x z at |z| = 800, where exp(z) overflows a double: the stable
 * form must give the exact limits. */
START_TEST(test_bce_extremes) {
  const double z[4] = {800, -800, 800, 0};
  const double x[4] = {0, 0, 1, 0.5};
  double d[4];
  ck_assert_double_eq_tol(ref_bce_logits(1, z, x, d, 1.0), 800.0, 1e-12);
  ck_assert_double_eq_tol(d[0], 1.0, 1e-15);
  ck_assert_double_eq_tol(ref_bce_logits(1, z + 1, x + 1, d, 1.0), 0.0, 1e-300);
  ck_assert_double_eq_tol(d[0], 0.0, 1e-300);
  ck_assert_double_eq_tol(ref_bce_logits(1, z + 2, x + 2, d, 1.0), 0.0, 1e-300);
  ck_assert_double_eq_tol(ref_bce_logits(1, z + 3, x + 3, d, 2.0), log(2.0), 1e-15);
  ck_assert_double_eq_tol(d[0], 0.0, 1e-15);
}
END_TEST

typedef struct {
  int batch, latent;
  double kl_scale;
  double *stats, *r, *eps, *z;
} sample_case;

enum { SAMPLE_SEED = 1234, SAMPLE_STEP = 56 };

/* L = sum(z .* r) + kl_scale * KL; eps is a pure function of (seed, step, index),
 * so re-sampling inside the loss keeps it fixed while stats move. */
static double sample_loss(void *vctx) {
  sample_case *c = vctx;
  ref_sample(c->batch, c->latent, 0, c->stats, SAMPLE_SEED, SAMPLE_STEP, c->eps, c->z);
  return dot(c->z, c->r, (size_t)c->batch * c->latent) +
         c->kl_scale * ref_kl(c->batch, c->latent, c->stats);
}

START_TEST(test_sample_kl_gradients) {
  sample_case c = {3, 5, 0.7, NULL, NULL, NULL, NULL};
  const size_t nz = 15, ns = 30;
  test_rng r = test_rng_new(8);
  c.stats = rand_array(&r, ns, -1.5, 1.5);
  c.r = rand_array(&r, nz, -1, 1);
  c.eps = zeros(nz);
  c.z = zeros(nz);
  double *dstats = zeros(ns);
  sample_loss(&c);
  const double kl =
      ref_sample_kl_backward(c.batch, c.latent, c.stats, c.eps, c.r, dstats, c.kl_scale);
  ck_assert_double_eq_tol(kl, ref_kl(c.batch, c.latent, c.stats), 1e-12 * fmax(1, fabs(kl)));
  check_fd("dstats", sample_loss, &c, c.stats, ns, dstats);
  /* z really is mean + exp(lv/2) eps with eps from src/philox.h */
  ck_assert_double_eq(c.eps[7], vaecl_philox_normal(SAMPLE_SEED, SAMPLE_STEP, 7));
  ck_assert_double_eq_tol(c.z[7], c.stats[10 + 2] + exp(0.5 * c.stats[10 + 5 + 2]) * c.eps[7],
                          1e-15);
  free(c.stats);
  free(c.r);
  free(c.eps);
  free(c.z);
  free(dstats);
}
END_TEST

/* KL of N(0,1) against N(0,1) is 0; of N(1, e^1): -0.5(1 + 1 - 1 - e) = (e-1)/2. */
START_TEST(test_kl_known_answer) {
  const double stats[4] = {0, 1, 0, 1}; /* batch 1, latent 2: means {0,1}, log_vars {0,1} */
  ck_assert_double_eq_tol(ref_kl(1, 2, stats), 0.5 * (exp(1.0) - 1.0), 1e-15);
}
END_TEST

/* ---- Adam ---------------------------------------------------------------- */

START_TEST(test_adam_hand_computed) {
  /* alpha 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-7.
   * [0]: p 1, g 0.5, m 0, v 0 -> m 0.05, v 0.00025, sqrt v 0.0158113883008419,
   *      p = 1 - 1e-3 * 0.05 / 0.0158114883008419 = 0.99683774233970...
   * [1]: p -2, g -0.25, m 0.2, v 0.04 -> m 0.155, v 0.0400225,
   *      sqrt v 0.2000562421, p = -2 - 1e-3 * 0.155 / 0.2000563421 = -2.00077478173588... */
  const vb_adam_step s = {1e-3f, 0.9f, 0.999f, 1e-7f};
  /* vb_adam_step holds floats: use the exact float values the step carries. */
  double p[2] = {1, -2}, g[2] = {0.5, -0.25}, m[2] = {0, 0.2}, v[2] = {0, 0.04};
  ref_adam(2, p, g, m, v, &s);
  const double b1 = s.beta1, b2 = s.beta2, a = s.alpha, e = s.epsilon;
  const double m0 = (1 - b1) * 0.5, v0 = (1 - b2) * 0.25;
  const double m1 = b1 * 0.2 + (1 - b1) * -0.25, v1 = b2 * 0.04 + (1 - b2) * 0.0625;
  ck_assert_double_eq_tol(m[0], m0, 1e-15);
  ck_assert_double_eq_tol(v[1], v1, 1e-15);
  ck_assert_double_eq_tol(p[0], 1 - a * m0 / (sqrt(v0) + e), 1e-15);
  ck_assert_double_eq_tol(p[1], -2 - a * m1 / (sqrt(v1) + e), 1e-15);
  /* and the decimal values above, up to the float rounding of the constants:
   * 1 - 0.999f is 1.3e-5 relative off 0.001, which moves v by ~3e-9 and p by ~2e-8;
   * 0.9f moves m[1] by ~1e-8. */
  ck_assert_double_eq_tol(p[0], 0.9968377423397051, 1e-7);
  ck_assert_double_eq_tol(p[1], -2.0007747817358803, 1e-7);
  ck_assert_double_eq_tol(m[1], 0.155, 1e-7);
  ck_assert_double_eq_tol(v[0], 0.00025, 1e-8);
}
END_TEST

static Suite *ref_suite(void) {
  Suite *s = suite_create("ref_gradients");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_same_pad);
  tcase_add_test(tc, test_conv2d_known_answer);
  tcase_add_test(tc, test_conv2d_gradients);
  tcase_add_test(tc, test_conv2d_transpose_gradients);
  tcase_add_test(tc, test_im2col_adjoint);
  tcase_add_test(tc, test_conv2d_equals_im2col_gemm);
  tcase_add_test(tc, test_conv2d_transpose_equals_gemm_col2im);
  tcase_add_test(tc, test_conv_transpose_is_adjoint);
  tcase_add_test(tc, test_gemm);
  tcase_add_test(tc, test_dense_gradients);
  tcase_add_test(tc, test_relu_gradients);
  tcase_add_test(tc, test_bce_gradients);
  tcase_add_test(tc, test_bce_extremes);
  tcase_add_test(tc, test_sample_kl_gradients);
  tcase_add_test(tc, test_kl_known_answer);
  tcase_add_test(tc, test_adam_hand_computed);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return vaecl_test_run(ref_suite());
}
