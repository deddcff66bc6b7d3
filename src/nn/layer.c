/* Layers on the backend interface: shapes, Glorot initialisation, and the forward
 * and backward passes of dense, conv and conv-transpose layers. */
#include "nn/layer.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/philox.h"

size_t layer_mul(size_t a, size_t b) {
  size_t r;
  return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

vb_buf *layer_alloc_floats(vb_backend *be, size_t count) {
  /* SIZE_MAX is what layer_mul gives on overflow: refused here, never wrapped. */
  if (count >= SIZE_MAX / sizeof(float)) {
    vaecl_fail("a buffer of more than %zu floats is too large for this machine",
               SIZE_MAX / sizeof(float));
    return NULL;
  }
  return be->ops->alloc(be, count * sizeof(float));
}

int layer_zero(vb_backend *be, vb_buf *b, size_t count) {
  return be->ops->fill(be, b, 0.0f, count);
}

void layer_init_dense(layer *l, int in, int out, vb_act act, float alpha) {
  l->kind = LAYER_DENSE;
  l->act = act;
  l->alpha = alpha;
  l->in_size = (size_t)in;
  l->out_size = (size_t)out;
  l->rows_per_image = 1;
  l->in_c = in;
  l->out_c = out;
  l->init_fan_out = out;
  l->w.count = (size_t)in * out;
  l->w.rank = 2;
  l->w.shape[0] = (size_t)in;
  l->w.shape[1] = (size_t)out;
  l->b.count = (size_t)out;
  l->b.rank = 1;
  l->b.shape[0] = (size_t)out;
}

/* A conv reads an image and writes a patch grid; a conv-transpose reads the grid and
 * writes the image. The geometry is the same (vb_patch_geom), seen from both ends. */
void layer_init_from_spec(layer *l, const vaecl_layer_spec *s) {
  if (s->type == VAECL_LAYER_DENSE) {
    layer_init_dense(l, s->in.c, s->units, s->activation, s->alpha);
    return;
  }
  const int conv = s->type == VAECL_LAYER_CONV2D, k = s->kernel;
  const vaecl_shape *img = conv ? &s->in : &s->out, *grid = conv ? &s->out : &s->in;
  l->kind = conv ? LAYER_CONV : LAYER_CONVT;
  l->act = s->activation;
  l->alpha = s->alpha;
  l->geom = (vb_patch_geom){img->h, img->w, img->c, grid->h, grid->w, k, s->stride, s->pad};
  l->in_size = vaecl_shape_size(&s->in);
  l->out_size = vaecl_shape_size(&s->out);
  l->rows_per_image = (size_t)s->out.h * s->out.w;
  l->in_c = s->in.c;
  l->out_c = s->filters;
  l->init_fan_out = s->filters;
  l->w.count = (size_t)k * k * s->in.c * s->filters;
  l->w.rank = 4;
  l->w.shape[0] = l->w.shape[1] = (size_t)k;
  l->w.shape[2] = (size_t)(conv ? s->in.c : s->filters); /* Keras: [k,k,in,out] */
  l->w.shape[3] = (size_t)(conv ? s->filters : s->in.c); /* or [k,k,out,in] */
  l->b.count = (size_t)s->filters;
  l->b.rank = 1;
  l->b.shape[0] = (size_t)s->filters;
}

/* Keras' glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)), where a conv
 * kernel's fans are its receptive field times the channels on each side. */
static float glorot_limit(const layer *l) {
  const double field = l->kind == LAYER_DENSE ? 1.0 : (double)l->geom.k * l->geom.k;
  return (float)sqrt(6.0 / (field * l->in_c + field * l->init_fan_out));
}

/* Host-side draw from the same counter RNG as sampling, on a stream of its own per
 * tensor, so a seed fixes the initial weights on every device. */
static int upload_glorot(vb_backend *be, param *p, float limit, uint64_t seed, uint64_t stream) {
  float *host = malloc(p->count * sizeof *host);
  if (!host)
    return vaecl_fail("out of host memory initialising %s", p->name);
  for (size_t i = 0; i < p->count; i++) {
    uint32_t w[4];
    vaecl_philox_draw(seed, stream, (uint32_t)i, w);
    host[i] = (float)((2.0 * (w[0] * (1.0 / 4294967296.0)) - 1.0) * limit);
  }
  const int rc = be->ops->write(be, p->value, 0, host, p->count * sizeof *host);
  free(host);
  return rc;
}

static int alloc_param(vb_backend *be, param *p, const char *owner, const char *suffix) {
  snprintf(p->name, sizeof p->name, "%s.%s", owner, suffix);
  if (!(p->value = layer_alloc_floats(be, p->count)) ||
      !(p->grad = layer_alloc_floats(be, p->count)) || !(p->m = layer_alloc_floats(be, p->count)) ||
      !(p->v = layer_alloc_floats(be, p->count)))
    return -1;
  return layer_zero(be, p->value, p->count) || layer_zero(be, p->grad, p->count) ||
                 layer_zero(be, p->m, p->count) || layer_zero(be, p->v, p->count)
             ? -1
             : 0;
}

int layer_alloc(vb_backend *be, layer *l, const char *name, int max_batch, uint64_t seed,
                uint64_t stream) {
  const size_t b = (size_t)max_batch;
  if (alloc_param(be, &l->w, name, "w") != 0 || alloc_param(be, &l->b, name, "b") != 0)
    return -1;
  if (upload_glorot(be, &l->w, glorot_limit(l), seed, stream) != 0)
    return -1;
  if (!(l->y = layer_alloc_floats(be, layer_mul(b, l->out_size))) ||
      !(l->dy = layer_alloc_floats(be, layer_mul(b, l->out_size))))
    return -1;
  if (l->kind != LAYER_DENSE) {
    const vb_patch_geom *g = &l->geom;
    /* the spec bounds the per-image part; the batch may still push it past size_t */
    const size_t col =
        layer_mul(b, (size_t)g->grid_h * g->grid_w * (size_t)g->k * g->k * (size_t)g->c);
    if (!(l->col = layer_alloc_floats(be, col)))
      return -1;
  }
  return 0;
}

void layer_release_param(vb_backend *be, param *p) {
  vb_buf *bufs[] = {p->value, p->grad, p->m, p->v};
  for (int i = 0; i < 4; i++)
    be->ops->release(be, bufs[i]);
}

/* c = op(im2col(img)) b, the patch matrix having k*k*channels columns: the backend's
 * implicit GEMM where it has one for these operands, else im2col into l->col (unless
 * *col_filled says it holds these patches already) and gemm. The same bits either way. */
static int patch_gemm(vb_backend *be, layer *l, int batch, bool ta, const vb_buf *img,
                      bool *col_filled, size_t n, const vb_buf *b, vb_buf *c) {
  const vb_ops *o = be->ops;
  const vb_patch_geom *g = &l->geom;
  const size_t rows = (size_t)batch * g->grid_h * g->grid_w;
  const size_t width = (size_t)g->k * g->k * (size_t)g->c;
  const int rc = o->gemm_patches ? o->gemm_patches(be, ta, g, batch, img, n, 1.0f, b, 0.0f, c) : 1;
  if (rc != 1)
    return rc;
  if (!*col_filled && o->im2col(be, g, batch, img, l->col) != 0)
    return -1;
  *col_filled = true;
  return o->gemm(be, ta, false, ta ? width : rows, n, ta ? rows : width, 1.0f, l->col, b, 0.0f, c);
}

/* img = col2im(x w^T), then act(img + l->b) when bias is not NULL; x has cin columns:
 * the backend's fused op where it has one for these operands, else a gemm into l->col
 * and col2im. The same bits either way. */
static int gemm_col2im(vb_backend *be, layer *l, int batch, const vb_buf *x, size_t cin,
                       const vb_buf *bias, vb_buf *img) {
  const vb_ops *o = be->ops;
  const vb_patch_geom *g = &l->geom;
  const int rc = o->gemm_col2im
                     ? o->gemm_col2im(be, g, batch, x, cin, l->w.value, bias, l->act, l->alpha, img)
                     : 1;
  if (rc != 1)
    return rc;
  const size_t rows = (size_t)batch * g->grid_h * g->grid_w;
  if (o->gemm(be, false, true, rows, (size_t)g->k * g->k * (size_t)g->c, cin, 1.0f, x, l->w.value,
              0.0f, l->col) != 0)
    return -1;
  return bias ? o->col2im_bias_act(be, g, batch, l->col, bias, l->act, l->alpha, img)
              : o->col2im(be, g, batch, l->col, img);
}

int layer_forward(vb_backend *be, layer *l, const vb_buf *x, int batch) {
  const vb_ops *o = be->ops;
  const size_t rows = (size_t)batch * l->rows_per_image;
  int rc;
  switch (l->kind) {
  case LAYER_DENSE:
    rc = o->gemm(be, false, false, (size_t)batch, l->out_size, l->in_size, 1.0f, x, l->w.value,
                 0.0f, l->y);
    break;
  case LAYER_CONV: /* y[B*G, cout] = im2col(x)[B*G, k*k*cin] * w[k*k*cin, cout] */
    l->col_has_x = false;
    rc = patch_gemm(be, l, batch, false, x, &l->col_has_x, (size_t)l->out_c, l->w.value, l->y);
    break;
  case LAYER_CONVT: /* y = act(col2im(x[B*G, cin] * w[k*k*cout, cin]^T) + b) */
  default:
    return gemm_col2im(be, l, batch, x, (size_t)l->in_c, l->b.value, l->y);
  }
  return rc != 0 ? rc : o->bias_act(be, l->y, l->b.value, rows, (size_t)l->out_c, l->act, l->alpha);
}

/* From dy (w.r.t. the activation's output) to the parameter gradients and, when dx
 * is not NULL, the input gradient. Consumes dy (it is scaled by act'). */
int layer_backward(vb_backend *be, layer *l, const vb_buf *x, vb_buf *dx, int batch) {
  const vb_ops *o = be->ops;
  const size_t rows = (size_t)batch * l->rows_per_image, cout = (size_t)l->out_c;
  if (o->act_backward(be, l->dy, l->y, rows * cout, l->act, l->alpha) != 0 ||
      o->bias_grad(be, l->b.grad, l->dy, rows, cout) != 0)
    return -1;
  switch (l->kind) {
  case LAYER_DENSE:
    if (o->gemm(be, true, false, l->in_size, l->out_size, (size_t)batch, 1.0f, x, l->dy, 0.0f,
                l->w.grad) != 0)
      return -1;
    return dx ? o->gemm(be, false, true, (size_t)batch, l->in_size, l->out_size, 1.0f, l->dy,
                        l->w.value, 0.0f, dx)
              : 0;
  case LAYER_CONV: /* dw = im2col(x)^T dy; dx = col2im(dy w^T) */
    if (patch_gemm(be, l, batch, true, x, &l->col_has_x, cout, l->dy, l->w.grad) != 0)
      return -1;
    if (!dx)
      return 0;
    l->col_has_x = false;
    return gemm_col2im(be, l, batch, l->dy, cout, NULL, dx);
  case LAYER_CONVT: /* dw = im2col(dy)^T x; dx = im2col(dy) w */
  default: {
    bool col_filled = false;
    if (patch_gemm(be, l, batch, true, l->dy, &col_filled, (size_t)l->in_c, x, l->w.grad) != 0)
      return -1;
    return dx ? patch_gemm(be, l, batch, false, l->dy, &col_filled, (size_t)l->in_c, l->w.value, dx)
              : 0;
  }
  }
}

void layer_release(vb_backend *be, layer *l) {
  layer_release_param(be, &l->w);
  layer_release_param(be, &l->b);
  be->ops->release(be, l->col);
  be->ops->release(be, l->y);
  be->ops->release(be, l->dy);
}
