/* Plain-C double-precision reference ops: direct loops from the definitions in
 * ref_ops.h, deliberately unoptimised so they are easy to check by eye. */
#include "ref/ref_ops.h"

#include <math.h>
#include <string.h>

#include "util/philox.h"

int ref_same_pad(int in, int out, int k, int stride) {
  const int total = (out - 1) * stride + k - in;
  /* TensorFlow puts the odd pixel after (bottom/right), so "before" rounds down. */
  return total > 0 ? total / 2 : 0;
}

/* ---- Conv2D and Conv2DTranspose ----------------------------------------- */

static size_t nhwc(int h, int w, int c, int n, int y, int x, int ch) {
  return (((size_t)n * h + y) * w + x) * c + ch;
}

/* Index into a [k,k,a,b] weight tensor. */
static size_t kkab(int k, int a, int b, int ky, int kx, int ia, int ib) {
  return (((size_t)ky * k + kx) * a + ia) * b + ib;
}

static void fill_bias(size_t pixels, int c, const double *b, double *y) {
  for (size_t p = 0; p < pixels; p++)
    for (int ch = 0; ch < c; ch++)
      y[p * c + ch] = b ? b[ch] : 0.0;
}

static void sum_bias_grad(size_t pixels, int c, const double *dy, double *db) {
  for (int ch = 0; ch < c; ch++)
    db[ch] = 0;
  for (size_t p = 0; p < pixels; p++)
    for (int ch = 0; ch < c; ch++)
      db[ch] += dy[p * c + ch];
}

/* Calls fn for every (n, oy, ox, ky, kx) whose input tap (iy, ix) lies inside the
 * input: the single loop nest shared by the conv forward and backward. */
typedef void (*conv_tap_fn)(const ref_conv_shape *, size_t in_px, size_t out_px, int ky, int kx,
                            void *ctx);

static void conv_for_each_tap(const ref_conv_shape *s, conv_tap_fn fn, void *ctx) {
  for (int n = 0; n < s->batch; n++)
    for (int oy = 0; oy < s->out_h; oy++)
      for (int ox = 0; ox < s->out_w; ox++)
        for (int ky = 0; ky < s->k; ky++) {
          const int iy = oy * s->stride + ky - s->pad;
          if (iy < 0 || iy >= s->in_h)
            continue;
          for (int kx = 0; kx < s->k; kx++) {
            const int ix = ox * s->stride + kx - s->pad;
            if (ix < 0 || ix >= s->in_w)
              continue;
            const size_t in_px = ((size_t)n * s->in_h + iy) * s->in_w + ix;
            const size_t out_px = ((size_t)n * s->out_h + oy) * s->out_w + ox;
            fn(s, in_px, out_px, ky, kx, ctx);
          }
        }
}

/* The two weight layouts: Conv2D [k,k,in,out], Conv2DTranspose [k,k,out,in]. Given
 * the layout, the forward and backward taps of both layers are the same. */
static size_t weight_index(const ref_conv_shape *s, bool transposed, int ky, int kx, int ci,
                           int co) {
  return transposed ? kkab(s->k, s->out_c, s->in_c, ky, kx, co, ci)
                    : kkab(s->k, s->in_c, s->out_c, ky, kx, ci, co);
}

typedef struct {
  bool transposed;
  const double *x, *w, *dy;
  double *y, *dx, *dw;
} conv_ctx;

static void fwd_tap(const ref_conv_shape *s, size_t in_px, size_t out_px, int ky, int kx,
                    void *vctx) {
  conv_ctx *c = vctx;
  for (int ci = 0; ci < s->in_c; ci++) {
    const double xv = c->x[in_px * s->in_c + ci];
    for (int co = 0; co < s->out_c; co++)
      c->y[out_px * s->out_c + co] += xv * c->w[weight_index(s, c->transposed, ky, kx, ci, co)];
  }
}

static void bwd_tap(const ref_conv_shape *s, size_t in_px, size_t out_px, int ky, int kx,
                    void *vctx) {
  conv_ctx *c = vctx;
  for (int ci = 0; ci < s->in_c; ci++)
    for (int co = 0; co < s->out_c; co++) {
      const size_t wi = weight_index(s, c->transposed, ky, kx, ci, co);
      const double g = c->dy[out_px * s->out_c + co];
      c->dw[wi] += c->x[in_px * s->in_c + ci] * g;
      if (c->dx)
        c->dx[in_px * s->in_c + ci] += c->w[wi] * g;
    }
}

/* Calls fn for every (n, iy, ix, ky, kx) whose scatter target (oy, ox) lies inside
 * the output; x is the small grid [in_h, in_w], y the big image [out_h, out_w]. */
static void convt_for_each_tap(const ref_conv_shape *s, conv_tap_fn fn, void *ctx) {
  for (int n = 0; n < s->batch; n++)
    for (int iy = 0; iy < s->in_h; iy++)
      for (int ix = 0; ix < s->in_w; ix++)
        for (int ky = 0; ky < s->k; ky++) {
          const int oy = iy * s->stride + ky - s->pad;
          if (oy < 0 || oy >= s->out_h)
            continue;
          for (int kx = 0; kx < s->k; kx++) {
            const int ox = ix * s->stride + kx - s->pad;
            if (ox < 0 || ox >= s->out_w)
              continue;
            const size_t in_px = ((size_t)n * s->in_h + iy) * s->in_w + ix;
            const size_t out_px = ((size_t)n * s->out_h + oy) * s->out_w + ox;
            fn(s, in_px, out_px, ky, kx, ctx);
          }
        }
}

/* The loop nest over (pixel, tap) pairs: a gather for Conv2D, a scatter for the
 * transposed convolution. */
static void for_each_tap(const ref_conv_shape *s, bool transposed, conv_tap_fn fn, void *ctx) {
  if (transposed)
    convt_for_each_tap(s, fn, ctx);
  else
    conv_for_each_tap(s, fn, ctx);
}

static void forward(const ref_conv_shape *s, bool transposed, const double *x, const double *w,
                    const double *b, double *y) {
  fill_bias((size_t)s->batch * s->out_h * s->out_w, s->out_c, b, y);
  conv_ctx c = {.transposed = transposed, .x = x, .w = w, .y = y};
  for_each_tap(s, transposed, fwd_tap, &c);
}

static void backward(const ref_conv_shape *s, bool transposed, const double *x, const double *w,
                     const double *dy, double *dx, double *dw, double *db) {
  memset(dw, 0, sizeof(double) * s->k * s->k * s->in_c * s->out_c);
  if (dx)
    memset(dx, 0, sizeof(double) * s->batch * s->in_h * s->in_w * s->in_c);
  sum_bias_grad((size_t)s->batch * s->out_h * s->out_w, s->out_c, dy, db);
  conv_ctx c = {.transposed = transposed, .x = x, .w = w, .dy = dy, .dx = dx, .dw = dw};
  for_each_tap(s, transposed, bwd_tap, &c);
}

void ref_conv2d_forward(const ref_conv_shape *s, const double *x, const double *w, const double *b,
                        double *y) {
  forward(s, false, x, w, b, y);
}

void ref_conv2d_backward(const ref_conv_shape *s, const double *x, const double *w,
                         const double *dy, double *dx, double *dw, double *db) {
  backward(s, false, x, w, dy, dx, dw, db);
}

void ref_conv2d_transpose_forward(const ref_conv_shape *s, const double *x, const double *w,
                                  const double *b, double *y) {
  forward(s, true, x, w, b, y);
}

void ref_conv2d_transpose_backward(const ref_conv_shape *s, const double *x, const double *w,
                                   const double *dy, double *dx, double *dw, double *db) {
  backward(s, true, x, w, dy, dx, dw, db);
}

/* ---- Dense, ReLU --------------------------------------------------------- */

void ref_dense_forward(int batch, int in, int out, const double *x, const double *w,
                       const double *b, double *y) {
  for (int n = 0; n < batch; n++)
    for (int o = 0; o < out; o++) {
      double acc = b ? b[o] : 0.0;
      for (int i = 0; i < in; i++)
        acc += x[(size_t)n * in + i] * w[(size_t)i * out + o];
      y[(size_t)n * out + o] = acc;
    }
}

void ref_dense_backward(int batch, int in, int out, const double *x, const double *w,
                        const double *dy, double *dx, double *dw, double *db) {
  sum_bias_grad((size_t)batch, out, dy, db);
  for (int i = 0; i < in; i++)
    for (int o = 0; o < out; o++) {
      double acc = 0;
      for (int n = 0; n < batch; n++)
        acc += x[(size_t)n * in + i] * dy[(size_t)n * out + o];
      dw[(size_t)i * out + o] = acc;
    }
  if (!dx)
    return;
  for (int n = 0; n < batch; n++)
    for (int i = 0; i < in; i++) {
      double acc = 0;
      for (int o = 0; o < out; o++)
        acc += dy[(size_t)n * out + o] * w[(size_t)i * out + o];
      dx[(size_t)n * in + i] = acc;
    }
}

void ref_relu_forward(size_t n, double *y) {
  for (size_t i = 0; i < n; i++)
    y[i] = y[i] > 0 ? y[i] : 0.0;
}

void ref_relu_backward(size_t n, const double *y, double *dy) {
  for (size_t i = 0; i < n; i++)
    if (!(y[i] > 0))
      dy[i] = 0;
}

static double act_value(vb_act act, double alpha, double v) {
  switch (act) {
  case VB_ACT_RELU:
    return v > 0 ? v : 0.0;
  case VB_ACT_LEAKY_RELU:
    return v > 0 ? v : alpha * v;
  case VB_ACT_SIGMOID: /* exp(-v) may overflow to inf: the quotient is then 0 */
    return 1.0 / (1.0 + exp(-v));
  case VB_ACT_TANH:
    return tanh(v);
  default:
    return v;
  }
}

static double act_slope(vb_act act, double alpha, double y) {
  switch (act) {
  case VB_ACT_RELU:
    return y > 0 ? 1.0 : 0.0;
  case VB_ACT_LEAKY_RELU:
    return y > 0 ? 1.0 : alpha;
  case VB_ACT_SIGMOID:
    return y * (1.0 - y);
  case VB_ACT_TANH:
    return 1.0 - y * y;
  default:
    return 1.0;
  }
}

void ref_act_forward(size_t n, vb_act act, double alpha, double *y) {
  for (size_t i = 0; i < n; i++)
    y[i] = act_value(act, alpha, y[i]);
}

void ref_act_backward(size_t n, vb_act act, double alpha, const double *y, double *dy) {
  for (size_t i = 0; i < n; i++) {
    const double slope = act_slope(act, alpha, y[i]);
    /* relu's zero slope gives an exact zero, even for an infinite dy */
    dy[i] = slope == 0.0 ? 0.0 : dy[i] * slope;
  }
}

/* ---- GEMM, im2col, col2im ------------------------------------------------ */

void ref_gemm(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha, const double *a,
              const double *b, double beta, double *c) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double acc = 0;
      for (size_t p = 0; p < k; p++) {
        const double av = ta ? a[p * m + i] : a[i * k + p];
        const double bv = tb ? b[j * k + p] : b[p * n + j];
        acc += av * bv;
      }
      /* beta == 0 must ignore C entirely (it may be uninitialised), as in BLAS. */
      c[i * n + j] = alpha * acc + (beta == 0 ? 0.0 : beta * c[i * n + j]);
    }
}

/* Image offset of patch `row`, tap (ky,kx), or -1 when the tap falls in padding. */
static long patch_pixel(const vb_patch_geom *g, size_t row, int ky, int kx) {
  const size_t per_image = (size_t)g->grid_h * g->grid_w;
  const size_t n = row / per_image, cell = row % per_image;
  const int gy = (int)(cell / g->grid_w), gx = (int)(cell % g->grid_w);
  const int iy = gy * g->stride + ky - g->pad, ix = gx * g->stride + kx - g->pad;
  if (iy < 0 || iy >= g->img_h || ix < 0 || ix >= g->img_w)
    return -1;
  return (long)nhwc(g->img_h, g->img_w, g->c, (int)n, iy, ix, 0);
}

void ref_im2col(const vb_patch_geom *g, int batch, const double *img, double *col) {
  const size_t rows = (size_t)batch * g->grid_h * g->grid_w, width = (size_t)g->k * g->k * g->c;
  for (size_t r = 0; r < rows; r++)
    for (int ky = 0; ky < g->k; ky++)
      for (int kx = 0; kx < g->k; kx++) {
        const long px = patch_pixel(g, r, ky, kx);
        double *dst = col + r * width + ((size_t)ky * g->k + kx) * g->c;
        for (int ch = 0; ch < g->c; ch++)
          dst[ch] = px < 0 ? 0.0 : img[px + ch];
      }
}

void ref_col2im(const vb_patch_geom *g, int batch, const double *col, double *img) {
  const size_t rows = (size_t)batch * g->grid_h * g->grid_w, width = (size_t)g->k * g->k * g->c;
  memset(img, 0, sizeof(double) * batch * g->img_h * g->img_w * g->c);
  for (size_t r = 0; r < rows; r++)
    for (int ky = 0; ky < g->k; ky++)
      for (int kx = 0; kx < g->k; kx++) {
        const long px = patch_pixel(g, r, ky, kx);
        if (px < 0)
          continue;
        const double *src = col + r * width + ((size_t)ky * g->k + kx) * g->c;
        for (int ch = 0; ch < g->c; ch++)
          img[px + ch] += src[ch];
      }
}

/* ---- Loss, sampling, KL -------------------------------------------------- */

double ref_bce_logits(size_t n, const double *logits, const double *target, double *dlogits,
                      double grad_scale) {
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    const double z = logits[i], x = target[i];
    /* softplus(z) - x z, without overflow for large |z| */
    sum += fmax(z, 0.0) - x * z + log1p(exp(-fabs(z)));
    if (dlogits) {
      const double sig = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
      dlogits[i] = (sig - x) * grad_scale;
    }
  }
  return sum;
}

double ref_gaussian_nll(size_t n, const double *mean, const double *target, double log_var,
                        double *dmean, double *loss, double *dlog_var, double grad_scale) {
  const double inv_var = exp(-log_var), log_2pi = log(2.0 * 3.14159265358979323846);
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = mean[i] - target[i], r = d * d * inv_var;
    const double l = 0.5 * (r + log_var + log_2pi);
    sum += l;
    if (loss)
      loss[i] = l;
    if (dmean)
      dmean[i] = d * inv_var * grad_scale;
    if (dlog_var)
      dlog_var[i] = 0.5 * (1.0 - r);
  }
  return sum;
}

void ref_sample(int batch, int latent, int first, const double *stats, uint64_t seed, uint64_t step,
                double *eps, double *z) {
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < latent; j++) {
      const size_t i = (size_t)b * latent + j;
      const double mean = stats[(size_t)b * 2 * latent + j];
      const double lv = stats[(size_t)b * 2 * latent + latent + j];
      eps[i] = vaecl_philox_normal(seed, step, (uint32_t)((size_t)first * latent + i));
      z[i] = mean + exp(0.5 * lv) * eps[i];
    }
}

static double kl_term(double mean, double lv) {
  return -0.5 * (1.0 + lv - mean * mean - exp(lv));
}

double ref_sample_kl_backward(int batch, int latent, const double *stats, const double *eps,
                              const double *dz, double *dstats, double kl_scale) {
  double kl = 0;
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < latent; j++) {
      const size_t i = (size_t)b * latent + j, mi = (size_t)b * 2 * latent + j, li = mi + latent;
      const double mean = stats[mi], lv = stats[li];
      dstats[mi] = dz[i] + kl_scale * mean;
      dstats[li] = dz[i] * 0.5 * exp(0.5 * lv) * eps[i] + kl_scale * 0.5 * (exp(lv) - 1.0);
      kl += kl_term(mean, lv);
    }
  return kl;
}

double ref_kl(int batch, int latent, const double *stats) {
  double kl = 0;
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < latent; j++) {
      const size_t mi = (size_t)b * 2 * latent + j;
      kl += kl_term(stats[mi], stats[mi + latent]);
    }
  return kl;
}

/* ---- Adam ---------------------------------------------------------------- */

void ref_adam(size_t n, double *param, const double *grad, double *m, double *v,
              const vb_adam_step *s) {
  const double b1 = s->beta1, b2 = s->beta2;
  for (size_t i = 0; i < n; i++) {
    m[i] = b1 * m[i] + (1.0 - b1) * grad[i];
    v[i] = b2 * v[i] + (1.0 - b2) * grad[i] * grad[i];
    param[i] -= s->alpha * m[i] / (sqrt(v[i]) + s->epsilon);
  }
}
