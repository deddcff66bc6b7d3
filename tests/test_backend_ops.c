/* Every vb_ops op of every registered backend against the double-precision
 * reference ops (src/ref/ref_ops.c, themselves checked by test_ref_gradients), in
 * the style of ggml's test-backend-ops: one table of op cases (build_cases), each
 * run on each backend. Adding an op means one kernel, one entry per backend and
 * one case here.
 *
 * Inputs are generated in double, rounded to float, and the reference runs on
 * those rounded values, so the only difference left is the backend's arithmetic.
 * Tolerances are bounds on float32 arithmetic, in units of U = 2^-24 (float unit
 * roundoff), from the OpenCL 1.2 full-profile accuracy limits: +, -, * correctly
 * rounded (U); x/y 2.5 ulp and sqrt 3 ulp (an ulp is at most 2U relative); exp 3
 * ulp, log1p 2 ulp, tanh 5 ulp. A sum of K terms in any order is within
 * (K-1) U sum|terms| of exact.
 *
 * The cpu backend computes in double and rounds each output once, so for it the
 * same bounds hold with the double unit roundoff 2^-53 in place of U, plus U
 * relative for the final rounding (see check_close): a much tighter test.
 *
 * Environment (tests may read it; the library does not): VAECL_TEST_BACKENDS, a
 * comma-separated subset of the backends to run (default: all);
 * VAECL_TEST_EXPECT_NO_OPENCL=1 when the OpenCL ICDs are hidden (test_registry);
 * VAECL_TEST_NO_GEMM=1 leaves out the GEMMs (CLBlast's kernels need work-groups
 * larger than the 16 work-items of the Oclgrind run that checks vaecl's own
 * kernels at that limit); the variables of tests/testdevice.c
 * (VAECL_WORK_LAYOUT=rows|channels, VAECL_TEST_SMALL=1, VAECL_TEST_GEMM_INDIRECT=N,
 * VAECL_CACHE_DIR, ...). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_ops.h"
#include "testdevice.h"
#include "testutil.h"
#include "util/philox.h"
#include <vaecl.h>
#include <vaecl/backend_registry.h>

#define U (1.0 / 16777216.0)
/* The double unit roundoff over the float one: scales a float bound to double. */
#define DOUBLE_OVER_FLOAT (1.0 / 536870912.0)
/* atol for values that must match exactly or to rtol only; never 0, because
 * test_max_scaled_error divides by atol + rtol |ref|. */
#define TINY 1e-30

/* ---- the case table ------------------------------------------------------------ */

typedef struct op_case op_case;
typedef void (*case_fn)(vb_backend *, const op_case *);

/* One op run: which function, and its parameters (each case uses the fields it
 * needs; the others stay zero). */
struct op_case {
  char name[112];
  case_fn run;
  size_t m, n, k;     /* gemm sizes; rows/cols/count of the others */
  bool ta, tb;        /* gemm transposes */
  double alpha, beta; /* gemm; alpha is also leaky_relu's slope, beta a scale */
  vb_patch_geom geom; /* im2col / col2im */
  int batch;          /* im2col / col2im */
  vb_act act;         /* bias_act / act_backward */
  int flag;           /* case-specific variant */
  bool fused;         /* gemm_patches / gemm_col2im: vaecl's CPU kernels must not decline */
  double lo, hi;      /* input range */
  uint64_t seed;
};

enum { MAX_CASES = 512 };
static op_case cases[MAX_CASES];
static int n_cases;

static op_case *add_case(case_fn run, uint64_t seed, const char *fmt, ...) {
  if (n_cases >= MAX_CASES) {
    fprintf(stderr, "test_backend_ops: more than %d cases\n", MAX_CASES);
    abort();
  }
  op_case *c = &cases[n_cases++];
  memset(c, 0, sizeof *c);
  c->run = run;
  c->seed = seed;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->name, sizeof c->name, fmt, ap);
  va_end(ap);
  return c;
}

/* ---- checking ------------------------------------------------------------------ */

/* The backend and case being run: failures are counted, not fatal, so that one
 * run reports every failing case. */
static struct {
  const char *backend;
  const char *name;
  bool exact; /* computes in double (the cpu backend): see check_close */
  int failures;
} cur;

static void case_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL [%s] %s: ", cur.backend, cur.name);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  cur.failures++;
}

/* |got - ref| <= atol + rtol |ref| elementwise, with atol and rtol float32 bounds.
 * For an exact backend they shrink to the same bounds in double arithmetic plus
 * one rounding of the output: atol 2^-29 atol, rtol U + 2^-29 rtol. atol_each (may
 * be NULL) adds a per-element atol. */
static void check_close_each(const char *what, const double *got, const double *ref, size_t n,
                             double atol, const double *atol_each, double rtol) {
  if (cur.exact) {
    atol *= DOUBLE_OVER_FLOAT;
    rtol = U + rtol * DOUBLE_OVER_FLOAT;
  }
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    double a = atol + (atol_each ? atol_each[i] * (cur.exact ? DOUBLE_OVER_FLOAT : 1) : 0);
    if (a <= 0)
      a = TINY;
    const double e = fabs(got[i] - ref[i]) / (a + rtol * fabs(ref[i]));
    if (!(e <= worst) || isnan(got[i])) { /* NaN counts as the worst */
      worst = isnan(e) ? INFINITY : e;
      at = i;
    }
  }
  if (n && !(worst <= 1.0))
    case_fail("%s: [%zu] backend %.9g vs reference %.9g (atol %.3g, rtol %.3g: %.3g x tolerance)",
              what, at, got[at], ref[at], atol, rtol, worst);
}

static void check_close(const char *what, const double *got, const double *ref, size_t n,
                        double atol, double rtol) {
  check_close_each(what, got, ref, n, atol, NULL, rtol);
}

static void check_exact(const char *what, const double *got, const double *ref, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!(got[i] == ref[i]) || signbit(got[i]) != signbit(ref[i])) {
      case_fail("%s: [%zu] backend %.9g vs expected %.9g", what, i, got[i], ref[i]);
      return;
    }
}

/* Asserts an op returned 0, with the backend's message if not. */
#define CK_OP(call) ck_assert_msg((call) == 0, "%s failed: %s", #call, vaecl_last_error())

/* ---- host/backend plumbing ------------------------------------------------------ */

static double *new_doubles(size_t n) {
  double *x = calloc(n ? n : 1, sizeof *x);
  ck_assert_ptr_nonnull(x);
  return x;
}

/* Uniform in [lo, hi), rounded to float so host and backend see the same inputs. */
static double *rand_floats(test_rng *r, size_t n, double lo, double hi) {
  double *x = new_doubles(n);
  for (size_t i = 0; i < n; i++)
    x[i] = (float)test_rng_uniform(r, lo, hi);
  return x;
}

/* Sums of multiples of 2^-10 below 1 in magnitude: with at most 2^13 terms every
 * partial sum fits in 24 bits, so any summation order is exact. A dropped or
 * doubled term shows up no matter how small. */
static double *dyadic(test_rng *r, size_t n) {
  double *x = new_doubles(n);
  for (size_t i = 0; i < n; i++)
    x[i] = floor(test_rng_uniform(r, -1024, 1025)) / 1024.0;
  return x;
}

static vb_buf *alloc_floats(vb_backend *bk, size_t n) {
  vb_buf *b = bk->ops->alloc(bk, n * sizeof(float));
  ck_assert_msg(b != NULL, "alloc: %s", vaecl_last_error());
  return b;
}

static vb_buf *upload(vb_backend *bk, const double *x, size_t n) {
  float *f = malloc((n ? n : 1) * sizeof *f);
  ck_assert_ptr_nonnull(f);
  for (size_t i = 0; i < n; i++)
    f[i] = (float)x[i];
  vb_buf *b = alloc_floats(bk, n);
  ck_assert_msg(bk->ops->write(bk, b, 0, f, n * sizeof *f) == 0, "write: %s", vaecl_last_error());
  free(f);
  return b;
}

static double *download(vb_backend *bk, const vb_buf *b, size_t n) {
  float *f = malloc((n ? n : 1) * sizeof *f);
  ck_assert_ptr_nonnull(f);
  ck_assert_msg(bk->ops->read(bk, b, 0, f, n * sizeof *f) == 0, "read: %s", vaecl_last_error());
  double *x = new_doubles(n);
  for (size_t i = 0; i < n; i++)
    x[i] = f[i];
  free(f);
  return x;
}

static double max_abs(const double *x, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, fabs(x[i]));
  return m;
}

/* ---- memory --------------------------------------------------------------------- */

static void case_write_read(vb_backend *bk, const op_case *c) {
  (void)c;
  enum { BYTES = 1003 };
  unsigned char a[BYTES], b[200], back[BYTES];
  for (int i = 0; i < BYTES; i++)
    a[i] = (unsigned char)(i * 131 + 7);
  for (int i = 0; i < 200; i++)
    b[i] = (unsigned char)(255 - i);
  vb_buf *buf = bk->ops->alloc(bk, BYTES);
  ck_assert_ptr_nonnull(buf);
  CK_OP(bk->ops->write(bk, buf, 0, a, BYTES));
  CK_OP(bk->ops->write(bk, buf, 101, b, sizeof b)); /* odd offset */
  memcpy(a + 101, b, sizeof b);
  CK_OP(bk->ops->read(bk, buf, 0, back, BYTES));
  if (memcmp(back, a, BYTES) != 0)
    case_fail("read back differs from what was written");
  memset(back, 0, sizeof back);
  CK_OP(bk->ops->read(bk, buf, 53, back, 500));
  if (memcmp(back, a + 53, 500) != 0)
    case_fail("read at an offset differs");
  /* out-of-range transfers fail cleanly instead of touching memory */
  if (bk->ops->write(bk, buf, BYTES - 10, b, 11) == 0)
    case_fail("a write past the end succeeded");
  if (bk->ops->read(bk, buf, BYTES + 1, back, 0) == 0)
    case_fail("a read starting past the end succeeded");
  CK_OP(bk->ops->finish(bk));
  vb_mark *mark;
  CK_OP(bk->ops->mark(bk, &mark));
  CK_OP(bk->ops->wait_mark(bk, mark));
  bk->ops->release(bk, buf);
}

/* Ops given buffers too small for their sizes must fail, not overrun. */
static void case_range_checks(vb_backend *bk, const op_case *c) {
  (void)c;
  vb_buf *small = alloc_floats(bk, 4), *big = alloc_floats(bk, 64);
  if (bk->ops->fill(bk, small, 1.0f, 5) == 0)
    case_fail("fill of 5 floats into 4 succeeded");
  if (bk->ops->bias_act(bk, big, small, 8, 8, VB_ACT_RELU, 0.0f) == 0)
    case_fail("bias_act with 4 biases for 8 columns succeeded");
  if (bk->ops->accumulate(bk, small, 4, big, 64, 1.0f) == 0)
    case_fail("accumulate into slot 4 of 4 succeeded");
  if (bk->ops->bce_logits(bk, big, big, small, big, 64, 1.0f) == 0)
    case_fail("bce_logits with a 4-float gradient for 64 succeeded");
  if (bk->ops->gaussian_nll(bk, big, big, small, big, big, small, 64, 1.0f) == 0)
    case_fail("gaussian_nll with a 4-float dlog_var for 64 succeeded");
  if (bk->ops->adam(bk, big, big, big, small, 64, &(vb_adam_step){1e-3f, 0.9f, 0.999f, 1e-7f}) == 0)
    case_fail("adam with a 4-float v for 64 succeeded");
  const vb_patch_geom g = {4, 4, 2, 4, 4, 3, 1, 1};
  if (bk->ops->im2col(bk, &g, 1, big, small) == 0)
    case_fail("im2col into 4 floats succeeded");
  const vb_patch_geom g8 = {2, 2, 8, 1, 1, 1, 1, 0}; /* col and img fit in 64 floats */
  if (bk->ops->col2im_bias_act(bk, &g8, 1, big, small, VB_ACT_RELU, 0.0f, big) == 0)
    case_fail("col2im_bias_act with 4 biases for 8 channels succeeded");
  CK_OP(bk->ops->finish(bk));
  bk->ops->release(bk, small);
  bk->ops->release(bk, big);
}

static void case_fill(vb_backend *bk, const op_case *c) {
  const size_t n = 1000, count = 777;
  test_rng r = test_rng_new(c->seed);
  double *x = rand_floats(&r, n, -1, 1);
  vb_buf *b = upload(bk, x, n);
  CK_OP(bk->ops->fill(bk, b, -3.5f, count));
  double *got = download(bk, b, n);
  for (size_t i = 0; i < count; i++)
    x[i] = -3.5;
  check_exact("fill", got, x, n); /* the tail past count is untouched */
  free(got);
  CK_OP(bk->ops->fill(bk, b, 0.0f, n));
  got = download(bk, b, n);
  for (size_t i = 0; i < n; i++)
    x[i] = 0.0;
  check_exact("fill 0 (+0, not -0)", got, x, n);
  CK_OP(bk->ops->fill(bk, b, 1.0f, 0)); /* count 0 is a no-op */
  double *again = download(bk, b, n);
  check_exact("fill count 0", again, got, n);
  bk->ops->release(bk, b);
  free(x);
  free(got);
  free(again);
}

/* ---- GEMM ----------------------------------------------------------------------- */

/* |x| elementwise, in a new array. */
static double *abs_of(const double *x, size_t n) {
  double *a = new_doubles(n);
  for (size_t i = 0; i < n; i++)
    a[i] = fabs(x[i]);
  return a;
}

/* got against alpha op(A) op(B) + beta C, with cm holding C (overwritten by the
 * reference). Error bound: (K+2) U (|alpha| |A||B| + |beta| |C|), the K-term dot
 * product plus the alpha and beta products; the scale is taken at its largest
 * element. */
static void check_gemm(const char *what, const double *got, bool ta, bool tb, size_t m, size_t n,
                       size_t k, double alpha, const double *a, const double *b, double beta,
                       double *cm) {
  double *aa = abs_of(a, m * k), *ab = abs_of(b, k * n), *scale = abs_of(cm, m * n);
  ref_gemm(ta, tb, m, n, k, fabs(alpha), aa, ab, fabs(beta), scale);
  ref_gemm(ta, tb, m, n, k, alpha, a, b, beta, cm);
  check_close(what, got, cm, m * n, (double)(k + 2) * U * max_abs(scale, m * n), 0);
  free(aa);
  free(ab);
  free(scale);
}

static void case_gemm(vb_backend *bk, const op_case *c) {
  const size_t m = c->m, n = c->n, k = c->k;
  test_rng r = test_rng_new(c->seed);
  double *a = rand_floats(&r, m * k, -1, 1), *b = rand_floats(&r, k * n, -1, 1);
  double *cm = rand_floats(&r, m * n, -1, 1);
  vb_buf *da = upload(bk, a, m * k), *db = upload(bk, b, k * n), *dc = upload(bk, cm, m * n);
  CK_OP(bk->ops->gemm(bk, c->ta, c->tb, m, n, k, (float)c->alpha, da, db, (float)c->beta, dc));
  double *got = download(bk, dc, m * n);

  check_gemm("C", got, c->ta, c->tb, m, n, k, c->alpha, a, b, c->beta, cm);

  bk->ops->release(bk, da);
  bk->ops->release(bk, db);
  bk->ops->release(bk, dc);
  free(a);
  free(b);
  free(cm);
  free(got);
}

/* ---- im2col / col2im ------------------------------------------------------------- */

static size_t img_len(const op_case *c) {
  const vb_patch_geom *g = &c->geom;
  return (size_t)c->batch * g->img_h * g->img_w * g->c;
}

static size_t col_len(const op_case *c) {
  const vb_patch_geom *g = &c->geom;
  return (size_t)c->batch * g->grid_h * g->grid_w * g->k * g->k * g->c;
}

/* A pure copy: exact, including the zeros for padding taps (the output starts as
 * garbage, so every entry must be written). */
static void case_im2col(vb_backend *bk, const op_case *c) {
  test_rng r = test_rng_new(c->seed);
  double *img = rand_floats(&r, img_len(c), -1, 1), *col = new_doubles(col_len(c));
  double *garbage = rand_floats(&r, col_len(c), 100, 200);
  vb_buf *dimg = upload(bk, img, img_len(c)), *dcol = upload(bk, garbage, col_len(c));
  CK_OP(bk->ops->im2col(bk, &c->geom, c->batch, dimg, dcol));
  double *got = download(bk, dcol, col_len(c));
  ref_im2col(&c->geom, c->batch, img, col);
  check_exact("col", got, col, col_len(c));
  bk->ops->release(bk, dimg);
  bk->ops->release(bk, dcol);
  free(img);
  free(col);
  free(garbage);
  free(got);
}

/* Whether the backend computes GEMMs in vaecl's CPU kernels (vaecl_backend_gemm_params). */
static bool runs_own_gemm(vb_backend *bk) {
  vaecl_gemm_params used;
  int tunable = 0;
  return vaecl_backend_gemm_params(bk, &used, &tunable) == 0 && tunable;
}

/* gemm_patches: C = alpha op(im2col(img)) B + beta C, B random, against the reference
 * im2col and gemm with case_gemm's bound (the same sums), and bit for bit against the
 * backend's own im2col followed by its gemm, which is what it promises. A backend may
 * decline (1) and must then leave C alone. */
static void case_gemm_patches(vb_backend *bk, const op_case *c) {
  if (!bk->ops->gemm_patches)
    return;
  const vb_patch_geom *g = &c->geom;
  const size_t rows = (size_t)c->batch * g->grid_h * g->grid_w;
  const size_t width = (size_t)g->k * g->k * g->c, n = c->n;
  const size_t m = c->ta ? width : rows, k = c->ta ? rows : width;
  test_rng r = test_rng_new(c->seed);
  double *img = rand_floats(&r, img_len(c), -1, 1), *b = rand_floats(&r, k * n, -1, 1);
  double *cm = rand_floats(&r, m * n, -1, 1), *col = new_doubles(col_len(c));
  vb_buf *dimg = upload(bk, img, img_len(c)), *db = upload(bk, b, k * n);
  vb_buf *dc = upload(bk, cm, m * n), *dc2 = upload(bk, cm, m * n);
  const int rc = bk->ops->gemm_patches(bk, c->ta, g, c->batch, dimg, n, (float)c->alpha, db,
                                       (float)c->beta, dc);
  ck_assert_msg(rc == 0 || rc == 1, "gemm_patches failed: %s", vaecl_last_error());
  if (rc == 1 && c->fused && runs_own_gemm(bk))
    case_fail("declined by a backend that runs vaecl's GEMM kernels");
  double *got = download(bk, dc, m * n);
  if (rc == 1) { /* declined */
    double *same = download(bk, dc2, m * n);
    check_exact("C left alone", got, same, m * n);
    free(same);
  } else {
    ref_im2col(g, c->batch, img, col);
    check_gemm("C", got, c->ta, false, m, n, k, c->alpha, col, b, c->beta, cm);
    /* the explicit path on the same backend: the same bits */
    vb_buf *dcol = alloc_floats(bk, col_len(c));
    CK_OP(bk->ops->im2col(bk, g, c->batch, dimg, dcol));
    CK_OP(bk->ops->gemm(bk, c->ta, false, m, n, k, (float)c->alpha, dcol, db, (float)c->beta, dc2));
    double *twice = download(bk, dc2, m * n);
    check_exact("C against im2col + gemm", got, twice, m * n);
    bk->ops->release(bk, dcol);
    free(twice);
  }
  bk->ops->release(bk, dimg);
  bk->ops->release(bk, db);
  bk->ops->release(bk, dc);
  bk->ops->release(bk, dc2);
  free(img);
  free(b);
  free(cm);
  free(col);
  free(got);
}

/* Each pixel sums at most k*k column entries (fewer for stride > 1), each below
 * max|col|: error <= k*k U k*k max|col|. */
static void case_col2im(vb_backend *bk, const op_case *c) {
  test_rng r = test_rng_new(c->seed);
  double *col = rand_floats(&r, col_len(c), -1, 1), *img = new_doubles(img_len(c));
  double *garbage = rand_floats(&r, img_len(c), 100, 200);
  vb_buf *dcol = upload(bk, col, col_len(c)), *dimg = upload(bk, garbage, img_len(c));
  CK_OP(bk->ops->col2im(bk, &c->geom, c->batch, dcol, dimg));
  double *got = download(bk, dimg, img_len(c));
  ref_col2im(&c->geom, c->batch, col, img);
  const double kk = (double)c->geom.k * c->geom.k;
  check_close("img", got, img, img_len(c), kk * U * kk * max_abs(col, col_len(c)), 0);
  bk->ops->release(bk, dimg);
  bk->ops->release(bk, dcol);
  free(img);
  free(col);
  free(garbage);
  free(got);
}

/* ---- bias, activations ----------------------------------------------------------- */

/* Relative bounds on act(y + b), where y + b is one correctly rounded add (U):
 * none U; relu's max is exact: U; leaky_relu alpha*v adds U: 2U; sigmoid
 * 1/(1+exp(-v)): exp 6U (its share of 1+e at most all of it), the add U, the divide
 * 5U, and the rounding of v propagates as (1-sigma)|v| U <= max|v| U: (12 + max|v|)
 * U; tanh 10U, and v's rounding propagates as |v|(1-t^2)/|t| U <= U: 11U. */
static double act_rtol(vb_act act, double max_v) {
  switch (act) {
  case VB_ACT_LEAKY_RELU:
    return 2 * U;
  case VB_ACT_SIGMOID:
    return (12 + max_v) * U;
  case VB_ACT_TANH:
    return 11 * U;
  default:
    return U;
  }
}

/* img = act(col2im(col) + b): the sum's error as in case_col2im, e = k*k U k*k
 * max|col|, passes through act with a slope of at most 1 (alpha <= 1 here) as an
 * absolute error; the add of b and act itself are bias_act's relative bounds. */
static void case_col2im_bias_act(vb_backend *bk, const op_case *c) {
  test_rng r = test_rng_new(c->seed);
  const size_t nc = col_len(c), ni = img_len(c), ch = (size_t)c->geom.c;
  double *col = rand_floats(&r, nc, c->lo, c->hi), *img = new_doubles(ni);
  double *b = rand_floats(&r, ch, -0.5, 0.5), *garbage = rand_floats(&r, ni, 100, 200);
  vb_buf *dcol = upload(bk, col, nc), *db = upload(bk, b, ch), *dimg = upload(bk, garbage, ni);
  const float alpha = (float)c->alpha;
  CK_OP(bk->ops->col2im_bias_act(bk, &c->geom, c->batch, dcol, db, c->act, alpha, dimg));
  double *got = download(bk, dimg, ni);
  ref_col2im(&c->geom, c->batch, col, img);
  for (size_t i = 0; i < ni; i++)
    img[i] += b[i % ch];
  const double max_v = max_abs(img, ni), kk = (double)c->geom.k * c->geom.k;
  ref_act_forward(ni, c->act, alpha, img);
  check_close("img", got, img, ni, kk * U * kk * max_abs(col, nc), act_rtol(c->act, max_v));
  bk->ops->release(bk, dimg);
  bk->ops->release(bk, db);
  bk->ops->release(bk, dcol);
  free(img);
  free(col);
  free(b);
  free(garbage);
  free(got);
}

/* gemm_col2im: img = act(col2im(x w^T) + bias), or col2im(x w^T) with flag 0 (no
 * bias), against the reference gemm and col2im: each column entry is a cin-term sum,
 * and a pixel adds at most k*k of them and the bias, so |error| <= (cin + k*k + 1) U
 * times the same sums of absolute values, and the activation's own rtol. Bit for bit
 * against the backend's gemm followed by its col2im_bias_act (col2im). */
static void case_gemm_col2im(vb_backend *bk, const op_case *c) {
  if (!bk->ops->gemm_col2im)
    return;
  const vb_patch_geom *g = &c->geom;
  const size_t rows = (size_t)c->batch * g->grid_h * g->grid_w, cin = c->n;
  const size_t width = (size_t)g->k * g->k * g->c, ni = img_len(c), nc = col_len(c);
  const bool with_bias = c->flag != 0;
  const float alpha = (float)c->alpha;
  test_rng r = test_rng_new(c->seed);
  double *x = rand_floats(&r, rows * cin, -1, 1), *w = rand_floats(&r, width * cin, -1, 1);
  double *b = rand_floats(&r, (size_t)g->c, -0.5, 0.5), *garbage = rand_floats(&r, ni, 100, 200);
  vb_buf *dx = upload(bk, x, rows * cin), *dw = upload(bk, w, width * cin);
  vb_buf *db = upload(bk, b, (size_t)g->c), *dimg = upload(bk, garbage, ni);
  vb_buf *dimg2 = upload(bk, garbage, ni);
  const int rc = bk->ops->gemm_col2im(bk, g, c->batch, dx, cin, dw, with_bias ? db : NULL, c->act,
                                      alpha, dimg);
  ck_assert_msg(rc == 0 || rc == 1, "gemm_col2im failed: %s", vaecl_last_error());
  if (rc == 1 && c->fused && runs_own_gemm(bk))
    case_fail("declined by a backend that runs vaecl's GEMM kernels");
  double *got = download(bk, dimg, ni);
  if (rc == 1) { /* declined */
    check_exact("image left alone", got, garbage, ni);
  } else {
    double *col = new_doubles(nc), *img = new_doubles(ni), *scale = new_doubles(ni);
    double *ax = abs_of(x, rows * cin), *aw = abs_of(w, width * cin);
    ref_gemm(false, true, rows, width, cin, 1.0, ax, aw, 0.0, col);
    ref_col2im(g, c->batch, col, scale);
    ref_gemm(false, true, rows, width, cin, 1.0, x, w, 0.0, col);
    ref_col2im(g, c->batch, col, img);
    double act_tol = 0;
    if (with_bias) {
      for (size_t i = 0; i < ni; i++) {
        img[i] += b[i % (size_t)g->c];
        scale[i] += fabs(b[i % (size_t)g->c]);
      }
      act_tol = act_rtol(c->act, max_abs(img, ni));
      ref_act_forward(ni, c->act, alpha, img);
    }
    const double kk = (double)g->k * g->k;
    check_close("img", got, img, ni, ((double)cin + kk + 1) * U * max_abs(scale, ni), act_tol);
    /* the two ops on the same backend: the same bits */
    vb_buf *dcol = alloc_floats(bk, nc);
    CK_OP(bk->ops->gemm(bk, false, true, rows, width, cin, 1.0f, dx, dw, 0.0f, dcol));
    CK_OP(with_bias ? bk->ops->col2im_bias_act(bk, g, c->batch, dcol, db, c->act, alpha, dimg2)
                    : bk->ops->col2im(bk, g, c->batch, dcol, dimg2));
    double *twice = download(bk, dimg2, ni);
    check_exact("img against gemm + col2im", got, twice, ni);
    bk->ops->release(bk, dcol);
    free(twice);
    free(col);
    free(img);
    free(scale);
    free(ax);
    free(aw);
  }
  bk->ops->release(bk, dx);
  bk->ops->release(bk, dw);
  bk->ops->release(bk, db);
  bk->ops->release(bk, dimg);
  bk->ops->release(bk, dimg2);
  free(x);
  free(w);
  free(b);
  free(garbage);
  free(got);
}

static void case_bias_act(vb_backend *bk, const op_case *c) {
  const size_t rows = c->m, cols = c->n, n = rows * cols;
  test_rng r = test_rng_new(c->seed);
  double *y = rand_floats(&r, n, c->lo, c->hi), *b = rand_floats(&r, cols, -0.5, 0.5);
  vb_buf *dy = upload(bk, y, n), *db = upload(bk, b, cols);
  const float alpha = (float)c->alpha;
  CK_OP(bk->ops->bias_act(bk, dy, db, rows, cols, c->act, alpha));
  double *got = download(bk, dy, n);
  for (size_t i = 0; i < n; i++)
    y[i] += b[i % cols];
  const double max_v = max_abs(y, n);
  ref_act_forward(n, c->act, alpha, y);
  check_close("y", got, y, n, TINY, act_rtol(c->act, max_v));
  bk->ops->release(bk, dy);
  bk->ops->release(bk, db);
  free(y);
  free(b);
  free(got);
}

/* dy *= act'(y), y the (float) output of the activation. Relative bounds: none and
 * relu exact (a mask); leaky_relu dy*alpha, one rounding: U; sigmoid y(1-y): 1-y,
 * the product and dy's product: 3U; tanh (1-y)(1+y): two sums, two products: 4U. */
static void case_act_backward(vb_backend *bk, const op_case *c) {
  const size_t n = c->m;
  test_rng r = test_rng_new(c->seed);
  double *y = rand_floats(&r, n, c->lo, c->hi), *dy = rand_floats(&r, n, -1, 1);
  const float alpha = (float)c->alpha;
  ref_act_forward(n, c->act, alpha, y);
  for (size_t i = 0; i < n; i++)
    y[i] = (float)y[i]; /* outputs as the forward pass stored them */
  vb_buf *dyb = upload(bk, dy, n), *yb = upload(bk, y, n);
  CK_OP(bk->ops->act_backward(bk, dyb, yb, n, c->act, alpha));
  double *got = download(bk, dyb, n);
  ref_act_backward(n, c->act, alpha, y, dy);
  switch (c->act) {
  case VB_ACT_NONE:
  case VB_ACT_RELU:
    check_exact("dy", got, dy, n);
    break;
  default:
    check_close("dy", got, dy, n, TINY,
                c->act == VB_ACT_LEAKY_RELU ? U
                : c->act == VB_ACT_SIGMOID  ? 3 * U
                                            : 4 * U);
  }
  bk->ops->release(bk, dyb);
  bk->ops->release(bk, yb);
  free(y);
  free(dy);
  free(got);
}

/* db[c] = sum over rows of dy[r, c], in double. */
static void col_sums(const double *dy, size_t rows, size_t cols, double *db) {
  for (size_t c = 0; c < cols; c++) {
    db[c] = 0;
    for (size_t i = 0; i < rows; i++)
      db[c] += dy[i * cols + c];
  }
}

static double *run_bias_grad(vb_backend *bk, const double *dy, size_t rows, size_t cols) {
  vb_buf *ddy = upload(bk, dy, rows * cols), *ddb = alloc_floats(bk, cols);
  CK_OP(bk->ops->bias_grad(bk, ddb, ddy, rows, cols));
  double *got = download(bk, ddb, cols);
  bk->ops->release(bk, ddy);
  bk->ops->release(bk, ddb);
  return got;
}

static void case_bias_grad(vb_backend *bk, const op_case *c) {
  const size_t rows = c->m, cols = c->n, n = rows * cols;
  test_rng r = test_rng_new(c->seed);
  double *dy = dyadic(&r, n), *db = new_doubles(cols);
  col_sums(dy, rows, cols, db);
  double *got = run_bias_grad(bk, dy, rows, cols);
  check_exact("db (exact sums)", got, db, cols);
  free(dy);
  free(got);

  /* General floats: rows terms per column, error <= rows U sum|dy|. */
  dy = rand_floats(&r, n, -1, 1);
  col_sums(dy, rows, cols, db);
  got = run_bias_grad(bk, dy, rows, cols);
  double col_abs = 0;
  for (size_t j = 0; j < cols; j++) {
    double sum = 0;
    for (size_t i = 0; i < rows; i++)
      sum += fabs(dy[i * cols + j]);
    col_abs = fmax(col_abs, sum);
  }
  check_close("db", got, db, cols, (double)rows * U * col_abs, 0);
  free(dy);
  free(db);
  free(got);
}

/* ---- accumulate ----------------------------------------------------------------- */

static double *run_accumulate(vb_backend *bk, const double *acc0, int slots, int slot,
                              const double *x, size_t n, double scale, int times) {
  vb_buf *dacc = upload(bk, acc0, (size_t)slots), *dx = upload(bk, x, n);
  for (int t = 0; t < times; t++)
    CK_OP(bk->ops->accumulate(bk, dacc, slot, dx, n, (float)scale));
  double *got = download(bk, dacc, (size_t)slots);
  bk->ops->release(bk, dacc);
  bk->ops->release(bk, dx);
  return got;
}

static double plain_sum(const double *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  return s;
}

/* Exact whatever the reduction order (see dyadic()); scale 0.5 and the initial
 * values are dyadic too, so acc must match to the bit, other slots untouched. */
static void case_accumulate_exact(vb_backend *bk, const op_case *c) {
  const size_t n = c->m;
  const double acc0[4] = {1.5, -2, 3.25, 7};
  test_rng r = test_rng_new(c->seed);
  double *x = dyadic(&r, n);
  double *got = run_accumulate(bk, acc0, 4, 2, x, n, 0.5, 2);
  const double want[4] = {1.5, -2, 3.25 + 2 * 0.5 * plain_sum(x, n), 7};
  check_exact("acc", got, want, 4);
  free(x);
  free(got);
}

/* n terms in any order: error <= (n-1) U sum|x|; then scale and the add: 2U. */
static void case_accumulate_float(vb_backend *bk, const op_case *c) {
  const size_t n = c->m;
  test_rng r = test_rng_new(c->seed);
  double *x = rand_floats(&r, n, 0, 1);
  const double acc0[1] = {0.25}, scale = (float)0.37;
  double *got = run_accumulate(bk, acc0, 1, 0, x, n, scale, 1);
  double abs_sum = 0;
  for (size_t i = 0; i < n; i++)
    abs_sum += fabs(x[i]);
  const double want = 0.25 + scale * plain_sum(x, n);
  check_close("acc", got, &want, 1, ((double)n + 2) * U * (scale * abs_sum + 0.25), 0);
  /* deterministic: the same reduction gives the same bits */
  double *again = run_accumulate(bk, acc0, 1, 0, x, n, scale, 1);
  check_exact("acc again", again, got, 1);
  free(x);
  free(got);
  free(again);
}

/* ---- losses --------------------------------------------------------------------- */

static void check_bce(vb_backend *bk, const double *z, const double *x, size_t n, double scale) {
  scale = (float)scale; /* the value the backend gets */
  vb_buf *dz = upload(bk, z, n), *dx = upload(bk, x, n);
  vb_buf *dd = alloc_floats(bk, n), *dl = alloc_floats(bk, n);
  CK_OP(bk->ops->bce_logits(bk, dz, dx, dd, dl, n, (float)scale));
  double *grad = download(bk, dd, n), *loss = download(bk, dl, n);
  double *rgrad = new_doubles(n), *rloss = new_doubles(n);
  for (size_t i = 0; i < n; i++)
    rloss[i] = ref_bce_logits(1, z + i, x + i, rgrad + i, scale);
  /* loss: max(z,0) - x z + log1p(exp(-|z|)): the products and sums round at
   * magnitudes up to |z| (U each), exp and log1p add 6U + 4U at magnitudes below 1;
   * the two z-sized terms can cancel, so the bound is absolute: 4U (max|z| + 3). */
  check_close("loss", loss, rloss, n, 4 * U * (max_abs(z, n) + 3), 0);
  /* grad: sigmoid = 1/(1+exp(-z)) within 6U (exp) + U + 5U (divide) relative, at
   * most 1; minus x and times scale add 2U: 16U |scale| absolute. */
  check_close("dlogits", grad, rgrad, n, 16 * U * fabs(scale), 0);
  bk->ops->release(bk, dz);
  bk->ops->release(bk, dx);
  bk->ops->release(bk, dd);
  bk->ops->release(bk, dl);
  free(grad);
  free(loss);
  free(rgrad);
  free(rloss);
}

static void case_bce_logits(vb_backend *bk, const op_case *c) {
  if (c->flag) { /* saturated logits, where a naive exp(z) overflows float */
    const double zs[8] = {100, -100, 90, -90, 30, -30, 0, 1e-3};
    const double xs[8] = {0, 0, 1, 1, 0.5, 0.25, 0.5, 1};
    check_bce(bk, zs, xs, 8, c->beta);
    return;
  }
  const size_t n = c->m;
  test_rng r = test_rng_new(c->seed);
  double *z = rand_floats(&r, n, -8, 8), *x = rand_floats(&r, n, 0, 1);
  for (size_t i = 0; i < n; i += 7)
    x[i] = (double)(i % 2); /* binarised pixels too */
  check_bce(bk, z, x, n, c->beta);
  free(z);
  free(x);
}

/* Gaussian NLL with lv = c->alpha, grad_scale c->beta, dlog_var when c->flag. With
 * r = (x - mu)^2 exp(-lv): mu - x is one rounding (U), the square and the product
 * with exp(-lv) (6U) three more: r within 10U r. loss = 0.5 (r + lv + log 2pi)
 * adds two roundings at r + |lv| + 2 and log 2pi's own (U): 6U (max r + |lv| + 2)
 * absolute. dmean = (mu - x) exp(-lv) scale: 9U relative, so 10U. dlog_var =
 * 0.5 (1 - r): 0.5 (10U r + U (1 + r)) <= 6U (max r + 1) absolute. */
static void case_gaussian_nll(vb_backend *bk, const op_case *c) {
  const size_t n = c->m;
  const double lv = (float)c->alpha, scale = (float)c->beta;
  test_rng r = test_rng_new(c->seed);
  double *mu = rand_floats(&r, n, -2, 2), *x = rand_floats(&r, n, -2, 2);
  for (size_t i = 0; i < n; i += 11)
    x[i] = mu[i]; /* exact fits: zero gradient */
  vb_buf *dmu = upload(bk, mu, n), *dx = upload(bk, x, n), *dlv = upload(bk, &lv, 1);
  vb_buf *ddm = alloc_floats(bk, n), *dl = alloc_floats(bk, n);
  vb_buf *ddlv = c->flag ? alloc_floats(bk, n) : NULL;
  CK_OP(bk->ops->gaussian_nll(bk, dmu, dx, dlv, ddm, dl, ddlv, n, (float)scale));
  double *gdm = download(bk, ddm, n), *gl = download(bk, dl, n);
  double *rdm = new_doubles(n), *rl = new_doubles(n), *rdlv = new_doubles(n);
  ref_gaussian_nll(n, mu, x, lv, rdm, rl, rdlv, scale);
  double r_max = 0;
  for (size_t i = 0; i < n; i++)
    r_max = fmax(r_max, (mu[i] - x[i]) * (mu[i] - x[i]) * exp(-lv));
  check_close("loss", gl, rl, n, 6 * U * (r_max + fabs(lv) + 2), 0);
  check_close("dmean", gdm, rdm, n, TINY, 10 * U);
  if (ddlv) {
    double *gdlv = download(bk, ddlv, n);
    check_close("dlog_var", gdlv, rdlv, n, 6 * U * (r_max + 1), 0);
    free(gdlv);
    bk->ops->release(bk, ddlv);
  }
  bk->ops->release(bk, dmu);
  bk->ops->release(bk, dx);
  bk->ops->release(bk, dlv);
  bk->ops->release(bk, ddm);
  bk->ops->release(bk, dl);
  free(mu);
  free(x);
  free(gdm);
  free(gl);
  free(rdm);
  free(rl);
  free(rdlv);
}

/* ---- sampling and KL ------------------------------------------------------------- */

/* Backend eps vs the double Box-Muller on the same Philox words (see test_rng.c for
 * this bound): 1e-5 from float Box-Muller, widened near u1 = 1 where
 * sqrt(-2 log u1) amplifies rounding. An exact backend must give the double value
 * rounded to float. */
static double eps_tolerance(uint64_t seed, uint64_t step, uint32_t index) {
  uint32_t w[4];
  vaecl_philox_draw(seed, step, index, w);
  const double L = -2.0 * log(((double)w[0] + 1.0) * (1.0 / 4294967296.0));
  return 1e-5 + (L > 0 ? fmin(2.4e-7 / sqrt(L), 7e-4) : 7e-4);
}

/* c->k is the rows' first position in the whole batch (a shard's offset). */
static void case_sample(vb_backend *bk, const op_case *c) {
  const int batch = (int)c->m, latent = (int)c->n, n = batch * latent, first = (int)c->k;
  const uint64_t seed = c->seed, step = 0x100000005ull + c->seed;
  test_rng r = test_rng_new(c->seed);
  double *stats = rand_floats(&r, 2 * (size_t)n, -2, 2);
  double *eps = new_doubles((size_t)n), *z = new_doubles((size_t)n);
  double *tol = new_doubles((size_t)n);
  vb_buf *ds = upload(bk, stats, 2 * (size_t)n);
  vb_buf *de = alloc_floats(bk, (size_t)n), *dz = alloc_floats(bk, (size_t)n);
  CK_OP(bk->ops->sample(bk, ds, de, dz, batch, latent, first, seed, step));
  double *geps = download(bk, de, (size_t)n), *gz = download(bk, dz, (size_t)n);
  ref_sample(batch, latent, first, stats, seed, step, eps, z);
  for (int i = 0; i < n; i++)
    tol[i] = eps_tolerance(seed, step, (uint32_t)(first * latent + i));
  check_close_each("eps", geps, eps, (size_t)n, 0, tol, 0);
  /* z from the backend's own eps: mean + exp(lv/2) eps with exp within 6U and two
   * roundings; |mean| <= 2 and exp(lv/2) <= e, so 8U (2 + e max|eps|) absolute. */
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < latent; j++) {
      const int i = b * latent + j;
      z[i] = stats[b * 2 * latent + j] + exp(0.5 * stats[b * 2 * latent + latent + j]) * geps[i];
    }
  check_close("z", gz, z, (size_t)n, 8 * U * (2 + exp(1.0) * max_abs(geps, (size_t)n)), 0);
  /* the same (seed, step) draws the same eps again, bit for bit */
  CK_OP(bk->ops->sample(bk, ds, de, dz, batch, latent, first, seed, step));
  double *again = download(bk, de, (size_t)n);
  check_exact("eps redrawn", again, geps, (size_t)n);
  if (first > 0) { /* a shard draws the same noise as its rows of the whole batch */
    const size_t whole = (size_t)(first + batch) * latent;
    vb_buf *ws = alloc_floats(bk, 2 * whole), *we = alloc_floats(bk, whole);
    vb_buf *wz = alloc_floats(bk, whole);
    CK_OP(bk->ops->fill(bk, ws, 0.0f, 2 * whole));
    CK_OP(bk->ops->sample(bk, ws, we, wz, first + batch, latent, 0, seed, step));
    double *weps = download(bk, we, whole);
    check_exact("shard eps vs the whole batch's rows", geps, weps + (size_t)first * latent,
                (size_t)n);
    bk->ops->release(bk, ws);
    bk->ops->release(bk, we);
    bk->ops->release(bk, wz);
    free(weps);
  }
  bk->ops->release(bk, ds);
  bk->ops->release(bk, de);
  bk->ops->release(bk, dz);
  free(stats);
  free(eps);
  free(z);
  free(tol);
  free(geps);
  free(gz);
  free(again);
}

static void case_sample_kl_backward(vb_backend *bk, const op_case *c) {
  const int batch = (int)c->m, latent = (int)c->n, n = batch * latent;
  const double kl_scale = (float)c->beta;
  test_rng r = test_rng_new(c->seed);
  double *stats = rand_floats(&r, 2 * (size_t)n, -2, 2);
  /* the same noise on every backend: eps is an input here */
  double *eps = rand_floats(&r, (size_t)n, -3, 3), *dz = rand_floats(&r, (size_t)n, -1, 1);
  vb_buf *ds = upload(bk, stats, 2 * (size_t)n), *de = upload(bk, eps, (size_t)n),
         *ddz = upload(bk, dz, (size_t)n);
  vb_buf *dd = alloc_floats(bk, 2 * (size_t)n), *dkl = alloc_floats(bk, (size_t)n);
  CK_OP(bk->ops->sample_kl_backward(bk, ds, de, ddz, dd, dkl, batch, latent, (float)kl_scale));
  double *gd = download(bk, dd, 2 * (size_t)n), *gkl = download(bk, dkl, (size_t)n);

  double *rd = new_doubles(2 * (size_t)n), *rkl = new_doubles((size_t)n);
  ref_sample_kl_backward(batch, latent, stats, eps, dz, rd, kl_scale);
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < latent; j++) {
      const double one[2] = {stats[b * 2 * latent + j], stats[b * 2 * latent + latent + j]};
      rkl[b * latent + j] = ref_kl(1, 1, one);
    }
  /* Terms are at most: |dz| + kl_scale |mean| <= 1 + 2 kl_scale (dmean); |dz| e
   * |eps| / 2 + kl_scale (e^2 + 1) / 2 <= 4.1 + 4.2 kl_scale (dlog_var); 1 + 2 + 4 +
   * e^2 <= 15 (kl). Each passes through exp (6U) and up to 5 roundings: 16U of those
   * sizes. */
  check_close("dstats", gd, rd, 2 * (size_t)n, 16 * U * (4.1 + 4.2 * kl_scale), 0);
  check_close("kl", gkl, rkl, (size_t)n, 16 * U * 15, 0);
  bk->ops->release(bk, ds);
  bk->ops->release(bk, de);
  bk->ops->release(bk, ddz);
  bk->ops->release(bk, dd);
  bk->ops->release(bk, dkl);
  free(stats);
  free(eps);
  free(dz);
  free(gd);
  free(gkl);
  free(rd);
  free(rkl);
}

/* ---- Adam ------------------------------------------------------------------------ */

/* Two steps with the state kept in the backend's buffers; each step is checked
 * against the reference run from the state the backend holds before it. Bounds per
 * element, maximised: m and v each take 3 roundings at the size of their terms
 * (4U (|m| + (1-b1)|g|), 4U (|v| + (1-b2) g^2)). The update alpha m / (sqrt v +
 * eps) takes sqrt 6U + add U + divide 5U + multiply U, plus m's error over sqrt v;
 * the final subtraction rounds at |p|. */
static void case_adam(vb_backend *bk, const op_case *c) {
  const size_t n = c->m;
  test_rng r = test_rng_new(c->seed);
  double *p = rand_floats(&r, n, -1, 1), *m = rand_floats(&r, n, -0.1, 0.1);
  double *v = rand_floats(&r, n, 1e-4, 1e-2);
  vb_buf *dp = upload(bk, p, n), *dm = upload(bk, m, n), *dv = upload(bk, v, n);
  for (int t = 3; t <= 4; t++) { /* steps 3 and 4 of lr 1e-3 */
    double *g = rand_floats(&r, n, -1, 1);
    vb_buf *dg = upload(bk, g, n);
    const vb_adam_step s = {(float)(1e-3 * sqrt(1 - pow(0.999, t)) / (1 - pow(0.9, t))), 0.9f,
                            0.999f, 1e-7f};
    CK_OP(bk->ops->adam(bk, dp, dg, dm, dv, n, &s));
    double *gp = download(bk, dp, n), *gm = download(bk, dm, n), *gv = download(bk, dv, n);
    double tm = 0, tv = 0, tp = 0;
    for (size_t i = 0; i < n; i++) {
      const double em = 4 * U * (fabs(m[i]) + (1 - s.beta1) * fabs(g[i]));
      const double ev = 4 * U * (v[i] + (1 - s.beta2) * g[i] * g[i]);
      const double upd = s.alpha * fabs(m[i] * s.beta1 + (1 - s.beta1) * g[i]) / sqrt(v[i]);
      tm = fmax(tm, em);
      tv = fmax(tv, ev);
      tp = fmax(tp,
                U * (fabs(p[i]) + 1) + 16 * U * upd + s.alpha * em / sqrt(v[i]) + upd * ev / v[i]);
    }
    ref_adam(n, p, g, m, v, &s);
    check_close(t == 3 ? "m (step 1)" : "m (step 2)", gm, m, n, tm, 0);
    check_close(t == 3 ? "v (step 1)" : "v (step 2)", gv, v, n, tv, 0);
    check_close(t == 3 ? "param (step 1)" : "param (step 2)", gp, p, n, tp, 0);
    /* the next step starts from what the backend holds */
    memcpy(p, gp, n * sizeof *p);
    memcpy(m, gm, n * sizeof *m);
    memcpy(v, gv, n * sizeof *v);
    bk->ops->release(bk, dg);
    free(g);
    free(gp);
    free(gm);
    free(gv);
  }
  bk->ops->release(bk, dp);
  bk->ops->release(bk, dm);
  bk->ops->release(bk, dv);
  free(p);
  free(m);
  free(v);
}

/* ---- data movement ---------------------------------------------------------------- */

static void case_gather_images(vb_backend *bk, const op_case *c) {
  (void)c;
  enum { IMAGES = 10, PPI = 13, FIRST = 3, COUNT = 5 };
  unsigned char pixels[IMAGES * PPI];
  const uint32_t index[IMAGES] = {7, 2, 9, 0, 5, 1, 8, 3, 6, 4};
  for (int i = 0; i < IMAGES * PPI; i++)
    pixels[i] = (unsigned char)(i * 37 + 11);
  pixels[0] = 0;
  pixels[5 * PPI + 1] = 255;
  vb_buf *dpix = bk->ops->alloc(bk, sizeof pixels), *didx = bk->ops->alloc(bk, sizeof index);
  ck_assert(dpix && didx);
  CK_OP(bk->ops->write(bk, dpix, 0, pixels, sizeof pixels));
  CK_OP(bk->ops->write(bk, didx, 0, index, sizeof index));
  /* One image more than asked for, pre-set to a sentinel that must survive. */
  const size_t out_n = (COUNT + 1) * PPI;
  double *sentinel = new_doubles(out_n), *want = new_doubles(out_n);
  for (size_t i = 0; i < out_n; i++)
    sentinel[i] = want[i] = -42;
  vb_buf *dout = upload(bk, sentinel, out_n);
  CK_OP(bk->ops->gather_images(bk, dpix, didx, FIRST, COUNT, PPI, dout));
  double *got = download(bk, dout, out_n);
  for (int i = 0; i < COUNT; i++)
    for (int p = 0; p < PPI; p++)
      want[i * PPI + p] = pixels[index[FIRST + i] * PPI + p] / 255.0;
  /* x/255 divides (2.5 ulp = 5U) or multiplies by a rounded 1/255 (2U): rtol 5U;
   * 0 and 1 come out exactly 0 and within 5U of 1, and the sentinel exactly. */
  check_close("out", got, want, out_n, TINY, 5 * U);
  check_exact("sentinel", got + COUNT * PPI, want + COUNT * PPI, PPI);
  /* an index past the pixels fails cleanly (checked by the cpu backend; the OpenCL
   * kernel cannot check values it reads on the device) */
  if (cur.exact) {
    const uint32_t bad = IMAGES;
    CK_OP(bk->ops->write(bk, didx, 0, &bad, sizeof bad));
    if (bk->ops->gather_images(bk, dpix, didx, 0, 1, PPI, dout) == 0)
      case_fail("gather_images of image %u of %d succeeded", bad, IMAGES);
  }
  bk->ops->release(bk, dpix);
  bk->ops->release(bk, didx);
  bk->ops->release(bk, dout);
  free(sentinel);
  free(want);
  free(got);
}

/* The GEMM shapes of the harness (m, n, k); see build_cases for what each covers. */
static const size_t gemm_shapes[][3] = {
    {13, 7, 67},    {1, 5, 3},      {33, 1, 129},  {64, 50, 17},  {7, 9, 1},
    {200, 70, 131}, {513, 129, 65}, {1000, 9, 64}, {9, 64, 3000}, {9, 64, 9000},
    {70, 33, 4500}, {300, 3, 700},  {21, 70, 10}};

/* ---- the table ------------------------------------------------------------------- */

static const char *act_name(vb_act a) {
  static const char *const names[] = {"none", "relu", "leaky_relu", "sigmoid", "tanh"};
  return names[a];
}

static int no_gemm(void) {
  const char *v = getenv("VAECL_TEST_NO_GEMM");
  return v && *v && strcmp(v, "0") != 0;
}

/* Under VAECL_TEST_SMALL (Oclgrind) the cases keep every code path with fewer
 * elements: the first five GEMM shapes (with VAECL_TEST_GEMM_INDIRECT=16, three
 * take CLBlast's indirect kernel and two its direct one; with vaecl's kernels, four
 * the thin kernel in both lane directions and one the block kernel), no 28x28 image, no
 * reduction over more than 4096 elements. */
static void build_cases(void) {
  const int small = test_small_shapes(), gemm = !no_gemm();
  uint64_t seed = 1000;
  add_case(case_write_read, seed++, "write/read");
  add_case(case_range_checks, seed++, "range checks");
  add_case(case_fill, seed++, "fill");

  /* On CPU devices every shape runs in vaecl's kernels: those with a side or sum of
   * at most 16 in cl/gemm_thin.cl, with lanes along columns ({1000,9,64}, {21,70,10}:
   * a partial block of 8; {9,64,3000}, whose sum is too short for the block kernel) or along rows
   * ({13,7,67}, {33,1,129}, {300,3,700}) and partial tiles; the others ({64,50,17}, {200,70,131},
   * {513,129,65}, {70,33,4500}, and {9,64,9000}: a thin output with a long sum) in
   * cl/gemm_block.cl, with partial lane blocks and row tiles, and B transposed first when tb. The
   * test_backend_ops_gpu_gemm run gives every shape to CLBlast: small ones to its direct kernel,
   * {200,70,131} on to its indirect one, with edges that are not multiples of its tiles; in
   * test_backend_ops_gemm_split the long sums
   * ({9,64,3000}: 5 parts; {9,64,9000}: 17 and a rest; {70,33,4500}: 8 and a rest)
   * are split. The bound (K+2)U holds for every path: a product passes through at
   * most K+2 roundings either way. */

  const size_t n_shapes = !gemm ? 0 : small ? 5 : sizeof gemm_shapes / sizeof *gemm_shapes;
  for (size_t s = 0; s < n_shapes; s++)
    for (int t = 0; t < 4; t++)
      for (int ab = 0; ab < 2; ab++) {
        const double alpha = ab ? 1.0 : 0.75, beta = ab ? 0.0 : 0.5;
        op_case *c = add_case(case_gemm, seed++, "gemm ta=%d tb=%d %zux%zux%zu alpha=%g beta=%g",
                              t & 1, (t >> 1) & 1, gemm_shapes[s][0], gemm_shapes[s][1],
                              gemm_shapes[s][2], alpha, beta);
        c->m = gemm_shapes[s][0];
        c->n = gemm_shapes[s][1];
        c->k = gemm_shapes[s][2];
        c->ta = t & 1;
        c->tb = (t >> 1) & 1;
        c->alpha = alpha;
        c->beta = beta;
      }

  /* Patch geometries: the convolutions of the reference model and conv-transpose
   * ones (the grid is the small input, the image the output), plus a sweep of
   * conv geometries over strides 1-3, k 1/3/5, pads 0-2, odd sizes, 1/3/5
   * channels and batches 1 and 3, and two with 16 and 20 channels; a stride larger than k leaves
   * pixels that receive nothing in col2im. */
  vb_patch_geom geoms[64];
  int batches[64], ng = 0;
  const vb_patch_geom fixed[] = {
      {7, 7, 3, 4, 4, 3, 2, 1},
      {8, 8, 2, 4, 4, 3, 2, 0},
      {14, 14, 1, 14, 14, 3, 1, 1},
      {8, 8, 3, 4, 4, 4, 2, 1},
      {7, 7, 2, 7, 7, 5, 1, 2},
      {6, 6, 2, 6, 6, 1, 1, 0},
      {28, 28, 1, 14, 14, 3, 2, 0},
      {7, 7, 2, 3, 3, 2, 3, 0},
      /* 16 channels and more: on CPUs a work-item per (row, tap) copies all channels,
       * below that one per row copies every tap (im2col_rows) */
      {7, 7, 16, 4, 4, 3, 2, 1},
      {6, 6, 20, 3, 3, 3, 2, 1},
  };
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
    if (small && fixed[i].img_h * fixed[i].img_w > 14 * 14)
      continue;
    geoms[ng] = fixed[i];
    batches[ng++] = 3;
  }
  const int channels[] = {1, 3, 5};
  int sweep = 0;
  for (int stride = 1; stride <= 3; stride++)
    for (int k = 1; k <= 5; k += 2)
      for (int pad = 0; pad <= 2 && pad < k; pad++, sweep++) {
        const int h = 7 + 2 * (sweep % 3), w = 9 - 2 * (sweep % 2); /* odd: 7..11 x 7/9 */
        vb_patch_geom g = {h, w, channels[sweep % 3], 0, 0, k, stride, pad};
        g.grid_h = (h + 2 * pad - k) / stride + 1;
        g.grid_w = (w + 2 * pad - k) / stride + 1;
        geoms[ng] = g;
        batches[ng++] = sweep % 2 ? 3 : 1;
      }
  for (int i = 0; i < ng; i++)
    for (int op = 0; op < 2; op++) {
      const vb_patch_geom *g = &geoms[i];
      op_case *c = add_case(op ? case_col2im : case_im2col, seed++,
                            "%s img %dx%dx%d grid %dx%d k=%d stride=%d pad=%d batch=%d",
                            op ? "col2im" : "im2col", g->img_h, g->img_w, g->c, g->grid_h,
                            g->grid_w, g->k, g->stride, g->pad, batches[i]);
      c->geom = *g;
      c->batch = batches[i];
    }

  /* gemm_patches: the geometries of conv-transposes' backward passes (image = the
   * output). With 16 and more channels and columns, on CPU devices they run in
   * cl/gemm_patches.cl: 8 and 24 channels for P^T (a multiple of its 8 rows), 20
   * (declined for P^T, run for P), pads 0-2, strides 1-3, taps past the edges, a
   * partial block of lanes (n = 40) and of rows (odd grids), a long sum (batch 9);
   * the reference model's ConvT 2 at batch 2. Elsewhere the backend declines. */
  const struct {
    vb_patch_geom g;
    int batch;
    size_t n;
  } patch_gemms[] = {
      {{8, 8, 16, 4, 4, 3, 2, 1}, 3, 16},   {{7, 7, 24, 5, 5, 3, 1, 0}, 2, 40},
      {{9, 9, 8, 3, 3, 3, 3, 0}, 3, 33},    {{6, 6, 20, 3, 3, 3, 2, 1}, 3, 17},
      {{10, 10, 16, 5, 5, 5, 2, 2}, 9, 64}, {{28, 28, 64, 14, 14, 3, 2, 1}, 2, 32},
  };
  const size_t n_patch_gemms = !gemm ? 0 : small ? 4 : sizeof patch_gemms / sizeof *patch_gemms;
  for (size_t i = 0; i < n_patch_gemms; i++)
    for (int t = 0; t < 2; t++) {
      const vb_patch_geom *g = &patch_gemms[i].g;
      const double alpha = t ? 1.0 : 0.75, beta = t ? 0.0 : 0.5;
      op_case *c = add_case(case_gemm_patches, seed++,
                            "gemm_patches ta=%d img %dx%dx%d grid %dx%d k=%d stride=%d pad=%d "
                            "batch=%d n=%zu",
                            t, g->img_h, g->img_w, g->c, g->grid_h, g->grid_w, g->k, g->stride,
                            g->pad, patch_gemms[i].batch, patch_gemms[i].n);
      c->geom = *g;
      c->batch = patch_gemms[i].batch;
      c->n = patch_gemms[i].n;
      c->ta = t;
      c->alpha = alpha;
      c->beta = beta;
      c->fused = !(t && g->c % 8 != 0); /* P^T needs a multiple of 8 channels */
    }

  /* gemm_col2im: conv-transpose forward passes (image = the output) with 16 and more
   * image channels, which on CPU devices run in cl/gemm_patches.cl: partial lane
   * blocks (24, 40 channels), strides 1-3 with pixel classes of unequal sizes (7x7
   * at stride 2), a stride larger than k (pixels no tap reaches), k 5 with pad 2, the
   * reference model's ConvT 2 at batch 2; each with no bias (a conv's input gradient)
   * and with bias and an activation, in turn every one (every one on the geometries
   * with full blocks of 32 lanes). */
  const struct {
    vb_patch_geom g;
    int batch;
    size_t cin;
  } col2im_gemms[] = {
      {{8, 8, 16, 4, 4, 3, 2, 1}, 3, 24},      {{7, 7, 24, 5, 5, 3, 1, 0}, 2, 20},
      {{9, 9, 40, 3, 3, 3, 3, 0}, 3, 17},      {{7, 7, 16, 4, 4, 3, 2, 1}, 3, 32},
      {{8, 8, 16, 3, 3, 2, 3, 0}, 3, 18},      {{10, 10, 16, 5, 5, 5, 2, 2}, 4, 33},
      {{28, 28, 64, 14, 14, 3, 2, 1}, 2, 128},
  };
  const vb_act col2im_acts[] = {VB_ACT_RELU, VB_ACT_LEAKY_RELU, VB_ACT_SIGMOID, VB_ACT_TANH,
                                VB_ACT_NONE};
  const size_t n_col2im_gemms = !gemm ? 0 : small ? 5 : sizeof col2im_gemms / sizeof *col2im_gemms;
  for (size_t i = 0; i < n_col2im_gemms; i++) {
    /* 32 channels and more fill a block of lanes, whose relu, leaky_relu and no
     * activation run in vectors: every activation there */
    const vb_patch_geom *g = &col2im_gemms[i].g;
    const int variants = g->c >= 32 ? 6 : 2;
    for (int v = 0; v < variants; v++) {
      const int with_bias = v > 0;
      const vb_act act = variants > 2 && v > 0 ? col2im_acts[v - 1] : col2im_acts[i % 5];
      op_case *c =
          add_case(case_gemm_col2im, seed++,
                   "gemm_col2im %s img %dx%dx%d grid %dx%d k=%d stride=%d pad=%d "
                   "batch=%d cin=%zu",
                   with_bias ? act_name(act) : "no bias", g->img_h, g->img_w, g->c, g->grid_h,
                   g->grid_w, g->k, g->stride, g->pad, col2im_gemms[i].batch, col2im_gemms[i].cin);
      c->geom = *g;
      c->batch = col2im_gemms[i].batch;
      c->n = col2im_gemms[i].cin;
      c->flag = with_bias;
      c->act = act;
      c->alpha = 0.2;
      c->fused = true;
    }
  }

  /* Every activation; leaky_relu with two slopes; inputs wide enough to saturate
   * sigmoid and tanh. */
  const struct {
    vb_act act;
    double alpha, lo, hi;
  } acts[] = {{VB_ACT_NONE, 0, -1, 1},         {VB_ACT_RELU, 0, -1, 1},
              {VB_ACT_LEAKY_RELU, 0.2, -1, 1}, {VB_ACT_LEAKY_RELU, 0.3, -1, 1},
              {VB_ACT_SIGMOID, 0, -12, 12},    {VB_ACT_TANH, 0, -6, 6}};
  const int n_acts = (int)(sizeof acts / sizeof *acts);

  /* The fused conv-transpose output on every geometry, each with the activations
   * in turn (sums of up to k*k entries of col: sigmoid and tanh saturate). */
  for (int i = 0; i < ng; i++) {
    const vb_patch_geom *g = &geoms[i];
    const int a = i % n_acts;
    op_case *c = add_case(case_col2im_bias_act, seed++,
                          "col2im_bias_act %s img %dx%dx%d grid %dx%d k=%d stride=%d pad=%d "
                          "batch=%d",
                          act_name(acts[a].act), g->img_h, g->img_w, g->c, g->grid_h, g->grid_w,
                          g->k, g->stride, g->pad, batches[i]);
    c->geom = *g;
    c->batch = batches[i];
    c->act = acts[a].act;
    c->alpha = acts[a].alpha;
    c->lo = acts[a].lo / 2;
    c->hi = acts[a].hi / 2;
  }
  for (int a = 0; a < n_acts; a++) {
    op_case *c = add_case(case_bias_act, seed++, "bias_act %s alpha=%g 37x19",
                          act_name(acts[a].act), acts[a].alpha);
    c->m = 37;
    c->n = 19;
    c->act = acts[a].act;
    c->alpha = acts[a].alpha;
    c->lo = acts[a].lo;
    c->hi = acts[a].hi;
    c = add_case(case_act_backward, seed++, "act_backward %s alpha=%g n=1001",
                 act_name(acts[a].act), acts[a].alpha);
    c->m = 1001;
    c->act = acts[a].act;
    c->alpha = acts[a].alpha;
    c->lo = acts[a].lo;
    c->hi = acts[a].hi;
  }

  /* the channels layout cuts few columns' rows into chunks: {4097,3} and {30000,2}
   * (and {1000,1} with Oclgrind's 16-item groups) sum in two passes */
  const size_t bg[][2] = {{300, 13}, {1, 7}, {1000, 1}, {64, 64}, {4097, 3}, {7, 300}, {30000, 2}};
  for (size_t s = 0; s < sizeof bg / sizeof *bg; s++) {
    if (small && bg[s][0] * bg[s][1] > 4096)
      continue;
    op_case *c = add_case(case_bias_grad, seed++, "bias_grad %zux%zu", bg[s][0], bg[s][1]);
    c->m = bg[s][0];
    c->n = bg[s][1];
  }

  const size_t counts[] = {1, 2, 255, 256, 257, 4097, 8000};
  for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
    if (!small || counts[i] <= 1000)
      add_case(case_accumulate_exact, seed++, "accumulate exact n=%zu", counts[i])->m = counts[i];
  add_case(case_accumulate_float, seed++, "accumulate float n=1000")->m = 1000;

  const double bce_scales[] = {1.0, 1.0 / 784};
  for (int i = 0; i < 2; i++) {
    op_case *c = add_case(case_bce_logits, seed++, "bce_logits n=1001 scale=%g", bce_scales[i]);
    c->m = 1001;
    c->beta = bce_scales[i];
  }
  op_case *sat = add_case(case_bce_logits, seed++, "bce_logits saturated |z| up to 100");
  sat->flag = 1;
  sat->beta = 2.0;

  const double lvs[] = {-3.5, -0.25, 0.0, 1.7};
  for (size_t i = 0; i < sizeof lvs / sizeof *lvs; i++)
    for (int with = 0; with < 2; with++) {
      op_case *c = add_case(case_gaussian_nll, seed++, "gaussian_nll lv=%g %s n=1001", lvs[i],
                            with ? "with dlog_var" : "without dlog_var");
      c->m = 1001;
      c->alpha = lvs[i];
      c->beta = with ? 1.0 / 784 : 1.0;
      c->flag = with;
    }

  op_case *c = add_case(case_sample, 99, "sample 7x9");
  c->m = 7;
  c->n = 9;
  c = add_case(case_sample, 12345678901ull, "sample 64x33");
  c->m = 64;
  c->n = 33;
  c = add_case(case_sample, 4242, "sample 5x7 from row 37 of the batch");
  c->m = 5;
  c->n = 7;
  c->k = 37;
  c = add_case(case_sample_kl_backward, seed++, "sample_kl_backward 7x9 kl_scale=0.75");
  c->m = 7;
  c->n = 9;
  c->beta = 0.75;
  c = add_case(case_sample_kl_backward, seed++, "sample_kl_backward 16x5 kl_scale=1");
  c->m = 16;
  c->n = 5;
  c->beta = 1.0;

  add_case(case_adam, seed++, "adam two steps n=1001")->m = 1001;
  add_case(case_gather_images, seed++, "gather_images");
}

/* ---- running --------------------------------------------------------------------- */

enum { MAX_BACKENDS = 8 };
static const char *selected[MAX_BACKENDS];
static int n_selected;

/* VAECL_TEST_BACKENDS (comma-separated) or every registered backend. */
static void select_backends(void) {
  const char *want = getenv("VAECL_TEST_BACKENDS");
  for (const char *const *name = vaecl_backend_names(); *name && n_selected < MAX_BACKENDS;
       name++) {
    if (want && *want) {
      const size_t len = strlen(*name);
      const char *p = want;
      bool found = false;
      while (*p && !found) {
        const char *end = strchr(p, ',');
        const size_t n = end ? (size_t)(end - p) : strlen(p);
        found = n == len && strncmp(p, *name, n) == 0;
        p = end ? end + 1 : p + n;
      }
      if (!found)
        continue;
    }
    selected[n_selected++] = *name;
  }
}

START_TEST(test_backend) {
  const char *name = selected[_i];
  const vaecl_backend_options o = test_backend_options();
  vb_backend *b = vaecl_backend_create(name, &o);
  ck_assert_msg(b != NULL, "creating backend %s: %s", name, vaecl_last_error());
  ck_assert_str_eq(b->ops->name, name);
  ck_assert_int_eq(b->ops->version, VB_OPS_VERSION);
  cur.backend = name;
  cur.exact = strcmp(name, "cpu") == 0;
  int passed = 0;
  for (int i = 0; i < n_cases; i++) {
    cur.name = cases[i].name;
    cur.failures = 0;
    cases[i].run(b, &cases[i]);
    passed += cur.failures == 0;
  }
  const char *layout = getenv("VAECL_WORK_LAYOUT");
  printf("test_backend_ops: %-6s %d/%d cases passed on %s%s%s%s (GEMM: %s)\n", name, passed,
         n_cases, b->device_name,
         strcmp(name, "opencl") == 0 && layout && *layout ? " (work layout " : "",
         strcmp(name, "opencl") == 0 && layout && *layout ? layout : "",
         strcmp(name, "opencl") == 0 && layout && *layout ? ")" : "", b->gemm_note);
  fflush(stdout);
  b->ops->destroy(b);
  ck_assert_msg(passed == n_cases, "%s: %d of %d cases failed (see FAIL lines above)", name,
                n_cases - passed, n_cases);
}
END_TEST

/* The registry itself: names, defaults, an unknown name, device listing. */
START_TEST(test_registry) {
  const char *const *names = vaecl_backend_names();
  ck_assert_str_eq(names[0], "opencl");
  ck_assert_str_eq(names[1], "cpu");
  ck_assert_ptr_null(names[2]);
  const vaecl_backend_options d = vaecl_backend_defaults();
  ck_assert_int_eq(d.device, -1);
  ck_assert_ptr_null(d.cache_dir);
  ck_assert_int_eq(d.gemm_tuning, 1);
  ck_assert_int_eq(d.work_layout, VAECL_LAYOUT_AUTO);
  ck_assert_int_eq(d.profile, 0);
  ck_assert_ptr_null(d.device_match);
  ck_assert_int_eq(d.gemm_indirect_min, 0);
  ck_assert_ptr_null(d.build_log);
  ck_assert_int_eq(d.gemm_split_k, VAECL_GEMM_SPLIT_AUTO);
  ck_assert_ptr_null(vaecl_backend_create("cuda", NULL));
  ck_assert_msg(strstr(vaecl_last_error(), "opencl") && strstr(vaecl_last_error(), "cpu"),
                "message lists the backends: %s", vaecl_last_error());
  vaecl_backend_options o = d;
  o.device = 1;
  ck_assert_ptr_null(vaecl_backend_create("cpu", &o));
  vb_backend *cpu = vaecl_backend_create("cpu", NULL);
  ck_assert_ptr_nonnull(cpu);
  vaecl_op_profile *rows = (vaecl_op_profile *)1;
  size_t n = 1;
  ck_assert_int_eq(vaecl_backend_profile(cpu, &rows, &n), 0);
  ck_assert_ptr_null(rows);
  ck_assert_uint_eq(n, 0);
  cpu->ops->destroy(cpu);

  vaecl_device_info *devs;
  size_t count;
  char unavailable[1024];
  ck_assert_int_eq(vaecl_backend_list_devices(&devs, &count, unavailable, sizeof unavailable), 0);
  ck_assert_uint_ge(count, 1);
  /* Without an OpenCL driver (the ctest entry that hides the ICDs sets
   * VAECL_TEST_EXPECT_NO_OPENCL) the CPU device is still listed, and why OpenCL is
   * missing is kept for the caller. */
  const char *no_opencl = getenv("VAECL_TEST_EXPECT_NO_OPENCL");
  if (no_opencl && *no_opencl) {
    ck_assert_msg(strncmp(unavailable, "opencl: ", 8) == 0, "unavailable: '%s'", unavailable);
    ck_assert_uint_eq(count, 1);
  } else {
    ck_assert_msg(unavailable[0] == '\0', "unavailable: '%s'", unavailable);
  }
  ck_assert_str_eq(devs[count - 1].backend, "cpu"); /* always there, and last */
  ck_assert_int_eq(devs[count - 1].index, 0);
  for (size_t i = 0; i + 1 < count; i++) {
    ck_assert_str_eq(devs[i].backend, "opencl");
    ck_assert_int_eq(devs[i].index, (int)i);
  }
  free(devs);
}
END_TEST

/* Profiling (OpenCL): every op that ran has a row per layer and shape, with the
 * GEMM's FLOPs; launches and waits are counted; a reset clears both; nothing is
 * printed. The cpu backend neither profiles nor counts. */
START_TEST(test_profile) {
  vaecl_backend_options o = test_backend_options();
  o.profile = 1;
  vb_backend *b = vaecl_backend_create("opencl", &o);
  ck_assert_msg(b != NULL, "%s", vaecl_last_error());
  /* C apart from A and B: a GEMM that writes its input is a data race (Oclgrind). */
  vb_buf *x = alloc_floats(b, 64), *y = alloc_floats(b, 64);
  b->ops->label(b, "enc.conv1", "fwd");
  CK_OP(b->ops->fill(b, x, 1.0f, 64));
  CK_OP(b->ops->fill(b, x, 2.0f, 64));
  const bool gemm = !no_gemm();
  if (gemm)
    CK_OP(b->ops->gemm(b, false, true, 8, 7, 1, 1.0f, x, x, 0.0f, y));
  b->ops->label(b, "adam", "");
  CK_OP(b->ops->fill(b, x, 2.0f, 64));
  CK_OP(b->ops->fill(b, x, 2.0f, 63));
  CK_OP(b->ops->finish(b));
  vaecl_op_profile *rows;
  size_t n;
  CK_OP(vaecl_backend_profile(b, &rows, &n));
  ck_assert_uint_eq(n, gemm ? 4 : 3);
  ck_assert_str_eq(rows[0].op, "fill");
  ck_assert_str_eq(rows[0].layer, "enc.conv1 fwd");
  ck_assert_str_eq(rows[0].shape, "64");
  ck_assert_int_eq(rows[0].calls, 2);
  const size_t r = gemm ? 2 : 1; /* the rows after the GEMM's */
  if (gemm) {
    /* CLBlast, or the thin-product kernel on CPU devices */
    ck_assert_msg(!strcmp(rows[1].op, "gemm (CLBlast)") || !strcmp(rows[1].op, "gemm (thin)"),
                  "GEMM row named %s", rows[1].op);
    ck_assert_str_eq(rows[1].shape, "8x7x1 B^T");
    ck_assert_int_eq(rows[1].calls, 1);
    ck_assert(rows[1].flops == 2 * 8 * 7 * 1);
  }
  ck_assert_str_eq(rows[r].layer, "adam");
  ck_assert_str_eq(rows[r + 1].shape, "63");
  for (size_t i = 0; i < n; i++)
    ck_assert(rows[i].seconds >= 0);
  free(rows);
  vaecl_backend_counts c;
  CK_OP(vaecl_backend_counts_get(b, &c));
  ck_assert_int_eq(c.launches, gemm ? 5 : 4);
  ck_assert_int_eq(c.host_syncs, 1);
  CK_OP(vaecl_backend_profile_reset(b, 0));
  CK_OP(b->ops->fill(b, x, 2.0f, 64));
  CK_OP(vaecl_backend_profile(b, &rows, &n));
  ck_assert_uint_eq(n, 0);
  CK_OP(vaecl_backend_counts_get(b, &c));
  ck_assert_int_eq(c.launches, 1);
  ck_assert_int_eq(c.host_syncs, 0);
  b->ops->release(b, x);
  b->ops->release(b, y);
  b->ops->destroy(b);
  vb_backend *cpu = vaecl_backend_create("cpu", NULL);
  ck_assert_msg(cpu != NULL, "%s", vaecl_last_error());
  CK_OP(vaecl_backend_counts_get(cpu, &c));
  ck_assert_int_eq(c.launches, -1);
  CK_OP(vaecl_backend_profile_reset(cpu, 1));
  cpu->ops->destroy(cpu);
}
END_TEST

/* Both backends draw the same noise: the same Philox words, through Box-Muller in
 * float (OpenCL) or double rounded to float (cpu), so eps agrees within the float
 * Box-Muller bound; and given the same eps, sample_kl_backward agrees within the
 * OpenCL bound. */
START_TEST(test_same_noise) {
  enum { BATCH = 32, LATENT = 16, N = BATCH * LATENT };
  const uint64_t seed = 0xfeedbeef12ull, step = 77;
  const vaecl_backend_options o = test_backend_options();
  vb_backend *bs[2] = {vaecl_backend_create("opencl", &o), vaecl_backend_create("cpu", &o)};
  ck_assert_msg(bs[0] && bs[1], "%s", vaecl_last_error());
  test_rng r = test_rng_new(5);
  double *stats = rand_floats(&r, 2 * N, -2, 2), *dz = rand_floats(&r, N, -1, 1);
  double *eps[2], *z[2], *dstats[2], *kl[2];
  for (int i = 0; i < 2; i++) {
    vb_backend *bk = bs[i];
    vb_buf *ds = upload(bk, stats, 2 * N), *de = alloc_floats(bk, N), *dzb = alloc_floats(bk, N);
    vb_buf *ddz = upload(bk, dz, N), *dd = alloc_floats(bk, 2 * N), *dkl = alloc_floats(bk, N);
    CK_OP(bk->ops->sample(bk, ds, de, dzb, BATCH, LATENT, 0, seed, step));
    eps[i] = download(bk, de, N);
    z[i] = download(bk, dzb, N);
    vb_buf *same = upload(bk, eps[0], N); /* OpenCL's noise, on both backends */
    CK_OP(bk->ops->sample_kl_backward(bk, ds, same, ddz, dd, dkl, BATCH, LATENT, 1.0f));
    dstats[i] = download(bk, dd, 2 * N);
    kl[i] = download(bk, dkl, N);
    bk->ops->release(bk, ds);
    bk->ops->release(bk, de);
    bk->ops->release(bk, dzb);
    bk->ops->release(bk, ddz);
    bk->ops->release(bk, dd);
    bk->ops->release(bk, dkl);
    bk->ops->release(bk, same);
  }
  cur.backend = "opencl vs cpu";
  cur.name = "same noise";
  cur.exact = false;
  cur.failures = 0;
  double tol[N];
  for (int i = 0; i < N; i++)
    tol[i] = eps_tolerance(seed, step, (uint32_t)i);
  check_close_each("eps", eps[0], eps[1], N, 0, tol, 0);
  check_close("dstats", dstats[0], dstats[1], 2 * N, 2 * 16 * U * (4.1 + 4.2), 0);
  check_close("kl", kl[0], kl[1], N, 2 * 16 * U * 15, 0);
  for (int i = 0; i < 2; i++) {
    free(eps[i]);
    free(z[i]);
    free(dstats[i]);
    free(kl[i]);
    bs[i]->ops->destroy(bs[i]);
  }
  free(stats);
  free(dz);
  ck_assert_int_eq(cur.failures, 0);
}
END_TEST

/* On CPU devices vaecl's GEMM kernels claim CLBlast's summation order: every harness
 * shape, both transposes and both alpha/beta pairs give the same bits from the
 * backend under test, from CLBlast alone (gemm_tuning 0, no split), and from the block
 * kernel with other parameters (chunks of 5 terms, groups of up to 3x3). The float
 * tolerance of test_backend cannot see a change of order; this can. */
START_TEST(test_gemm_bits) {
  vaecl_backend_options o = test_backend_options();
  vb_backend *own = vaecl_backend_create("opencl", &o);
  ck_assert_msg(own != NULL, "%s", vaecl_last_error());
  vaecl_gemm_params used;
  int tunable;
  CK_OP(vaecl_backend_gemm_params(own, &used, &tunable));
  const char *no_clblast = getenv("VAECL_TEST_NO_CLBLAST"); /* work-groups CLBlast cannot use */
  if (!tunable || no_gemm() || (no_clblast && *no_clblast && strcmp(no_clblast, "0") != 0)) {
    printf("test_gemm_bits: GEMMs on %s run in %s: nothing to compare\n", own->device_name,
           own->gemm_note);
    own->ops->destroy(own);
    return;
  }
  vaecl_backend_options oc = o;
  oc.gemm_tuning = 0;
  oc.gemm_split_k = 0;
  vaecl_backend_options op = o;
  op.gemm_chunk = used.chunk == 5 ? 7 : 5;
  op.gemm_group = used.group == 3 ? 2 : 3;
  vb_backend *others[2] = {vaecl_backend_create("opencl", &oc),
                           vaecl_backend_create("opencl", &op)};
  ck_assert_msg(others[0] && others[1], "%s", vaecl_last_error());
  const size_t n_shapes = test_small_shapes() ? 5 : sizeof gemm_shapes / sizeof *gemm_shapes;
  test_rng r = test_rng_new(77);
  int compared = 0;
  for (size_t s = 0; s < n_shapes; s++)
    for (int t = 0; t < 4; t++)
      for (int ab = 0; ab < 2; ab++) {
        const size_t m = gemm_shapes[s][0], n = gemm_shapes[s][1], k = gemm_shapes[s][2];
        const bool ta = t & 1, tb = (t >> 1) & 1;
        const float alpha = ab ? 1.0f : 0.75f, beta = ab ? 0.0f : 0.5f;
        double *a = rand_floats(&r, m * k, -1, 1), *b = rand_floats(&r, k * n, -1, 1);
        double *c0 = rand_floats(&r, m * n, -1, 1), *got[3];
        vb_backend *bk[3] = {own, others[0], others[1]};
        for (int i = 0; i < 3; i++) {
          vb_buf *da = upload(bk[i], a, m * k), *db = upload(bk[i], b, k * n);
          vb_buf *dc = upload(bk[i], c0, m * n);
          CK_OP(bk[i]->ops->gemm(bk[i], ta, tb, m, n, k, alpha, da, db, beta, dc));
          got[i] = download(bk[i], dc, m * n);
          bk[i]->ops->release(bk[i], da);
          bk[i]->ops->release(bk[i], db);
          bk[i]->ops->release(bk[i], dc);
        }
        for (int i = 1; i < 3; i++)
          for (size_t e = 0; e < m * n; e++)
            ck_assert_msg(memcmp(&got[0][e], &got[i][e], sizeof(double)) == 0,
                          "gemm ta=%d tb=%d %zux%zux%zu alpha=%g beta=%g: C[%zu] %.9g from %s, "
                          "%.9g from %s",
                          ta, tb, m, n, k, alpha, beta, e, got[0][e], own->gemm_note, got[i][e],
                          bk[i]->gemm_note);
        compared++;
        for (int i = 0; i < 3; i++)
          free(got[i]);
        free(a);
        free(b);
        free(c0);
      }
  printf("test_gemm_bits: %d products bit-identical from %s, %s and %s\n", compared, own->gemm_note,
         others[0]->gemm_note, others[1]->gemm_note);
  for (int i = 0; i < 2; i++)
    others[i]->ops->destroy(others[i]);
  own->ops->destroy(own);
}
END_TEST

int main(void) {
  build_cases();
  select_backends();
  if (n_selected == 0) {
    fprintf(stderr, "test_backend_ops: VAECL_TEST_BACKENDS selects no backend\n");
    return EXIT_FAILURE;
  }
  Suite *s = suite_create("backend_ops");
  TCase *tc = tcase_create("registry");
  tcase_add_test(tc, test_registry);
  suite_add_tcase(s, tc);
  tc = tcase_create("ops");
  tcase_set_timeout(tc, 900);
  tcase_add_loop_test(tc, test_backend, 0, n_selected);
  suite_add_tcase(s, tc);
  bool opencl = false;
  for (int i = 0; i < n_selected; i++)
    opencl |= strcmp(selected[i], "opencl") == 0;
  bool cpu = false;
  for (int i = 0; i < n_selected; i++)
    cpu |= strcmp(selected[i], "cpu") == 0;
  if (opencl) {
    tc = tcase_create("profile");
    tcase_add_test(tc, test_profile);
    suite_add_tcase(s, tc);
    tc = tcase_create("gemm bits");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_gemm_bits);
    suite_add_tcase(s, tc);
  }
  if (opencl && cpu) {
    tc = tcase_create("across backends");
    tcase_add_test(tc, test_same_noise);
    suite_add_tcase(s, tc);
  }
  return vaecl_test_run(s);
}
