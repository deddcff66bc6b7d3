#include "ref_vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_ops.h"

typedef struct {
  int kind; /* 0 dense, 1 conv, 2 conv-transpose */
  int relu;
  ref_conv_shape s; /* dense: in_c = inputs, out_c = outputs, spatial 1x1 */
} layer;

static void layers_of(const vaecl_model_config *c, int batch, layer out[8]) {
  const int H = c->image_h, W = c->image_w, k = c->kernel;
  const int h2 = H / 2, w2 = W / 2, h4 = H / 4, w4 = W / 4;
  const ref_conv_shape conv1 = {batch, H,         W, c->channels, h2,
                                w2,    c->enc_c1, k, 2,           ref_same_pad(H, h2, k, 2)};
  const ref_conv_shape conv2 = {batch, h2,        w2, c->enc_c1, h4,
                                w4,    c->enc_c2, k,  2,         ref_same_pad(h2, h4, k, 2)};
  const ref_conv_shape dense1 = {batch, 1, 1, h4 * w4 * c->enc_c2, 1, 1, c->hidden, 1, 1, 0};
  const ref_conv_shape heads = {batch, 1, 1, c->hidden, 1, 1, 2 * c->latent, 1, 1, 0};
  const ref_conv_shape dense2 = {batch, 1, 1, c->latent, 1, 1, h4 * w4 * c->dec_c0, 1, 1, 0};
  const ref_conv_shape t1 = {batch, h4,        w4, c->dec_c0, h2,
                             w2,    c->dec_c1, k,  2,         ref_same_pad(h2, h4, k, 2)};
  const ref_conv_shape t2 = {batch, h2,        w2, c->dec_c1, H,
                             W,     c->dec_c2, k,  2,         ref_same_pad(H, h2, k, 2)};
  const ref_conv_shape t3 = {batch, H,           W, c->dec_c2, H,
                             W,     c->channels, k, 1,         ref_same_pad(H, H, k, 1)};
  const layer l[8] = {{1, 1, conv1},  {1, 1, conv2}, {0, 1, dense1}, {0, 0, heads},
                      {0, 1, dense2}, {2, 1, t1},    {2, 1, t2},     {2, 0, t3}};
  memcpy(out, l, sizeof l);
}

static size_t out_size(const layer *l) {
  return (size_t)l->s.batch * l->s.out_h * l->s.out_w * l->s.out_c;
}

size_t ref_vae_tensor_size(const vaecl_model_config *c, int i) {
  layer l[8];
  layers_of(c, 1, l);
  const ref_conv_shape *s = &l[i / 2].s;
  if (i % 2)
    return (size_t)s->out_c;
  return (size_t)s->in_c * s->out_c * (l[i / 2].kind ? (size_t)s->k * s->k : 1);
}

static void forward(const layer *l, const double *x, const double *w, const double *b, double *y) {
  if (l->kind == 0)
    ref_dense_forward(l->s.batch, l->s.in_c, l->s.out_c, x, w, b, y);
  else if (l->kind == 1)
    ref_conv2d_forward(&l->s, x, w, b, y);
  else
    ref_conv2d_transpose_forward(&l->s, x, w, b, y);
  if (l->relu)
    ref_relu_forward(out_size(l), y);
}

/* dy is w.r.t. the layer's output after its activation; it is modified. */
static void backward(const layer *l, const double *x, const double *w, const double *y, double *dy,
                     double *dx, double *dw, double *db) {
  if (l->relu)
    ref_relu_backward(out_size(l), y, dy);
  if (l->kind == 0)
    ref_dense_backward(l->s.batch, l->s.in_c, l->s.out_c, x, w, dy, dx, dw, db);
  else if (l->kind == 1)
    ref_conv2d_backward(&l->s, x, w, dy, dx, dw, db);
  else
    ref_conv2d_transpose_backward(&l->s, x, w, dy, dx, dw, db);
}

double ref_vae_loss(const vaecl_model_config *c, int batch, double *const p[REF_VAE_TENSORS],
                    const double *images, const double *eps, double *grads[REF_VAE_TENSORS],
                    double *recon, double *kl, double *stats_out) {
  layer l[8];
  layers_of(c, batch, l);
  const int L = c->latent;
  double *y[8], *dy[8];
  for (int i = 0; i < 8; i++) {
    y[i] = calloc(out_size(&l[i]), sizeof(double));
    dy[i] = calloc(out_size(&l[i]), sizeof(double));
  }
  double *z = calloc((size_t)batch * L, sizeof(double));
  double *dz = calloc((size_t)batch * L, sizeof(double));
  for (int i = 0; i < 4; i++)
    forward(&l[i], i ? y[i - 1] : images, p[2 * i], p[2 * i + 1], y[i]);
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < L; j++) {
      const double mean = y[3][b * 2 * L + j], lv = y[3][b * 2 * L + L + j];
      z[b * L + j] = mean + exp(0.5 * lv) * eps[b * L + j];
    }
  for (int i = 4; i < 8; i++)
    forward(&l[i], i > 4 ? y[i - 1] : z, p[2 * i], p[2 * i + 1], y[i]);
  const size_t pixels = out_size(&l[7]);
  const double inv_b = 1.0 / batch;
  *recon = ref_bce_logits(pixels, y[7], images, dy[7], inv_b) * inv_b;
  if (grads) {
    for (int i = 7; i >= 4; i--)
      backward(&l[i], i > 4 ? y[i - 1] : z, p[2 * i], y[i], dy[i], i > 4 ? dy[i - 1] : dz,
               grads[2 * i], grads[2 * i + 1]);
    *kl = ref_sample_kl_backward(batch, L, y[3], eps, dz, dy[3], inv_b) * inv_b;
    for (int i = 3; i >= 0; i--)
      backward(&l[i], i ? y[i - 1] : images, p[2 * i], y[i], dy[i], i ? dy[i - 1] : NULL,
               grads[2 * i], grads[2 * i + 1]);
  } else {
    *kl = ref_kl(batch, L, y[3]) * inv_b;
  }
  if (stats_out)
    memcpy(stats_out, y[3], (size_t)batch * 2 * L * sizeof(double));
  for (int i = 0; i < 8; i++) {
    free(y[i]);
    free(dy[i]);
  }
  free(z);
  free(dz);
  return *recon + *kl;
}

void ref_vae_decode(const vaecl_model_config *c, int batch, double *const p[REF_VAE_TENSORS],
                    const double *z, double *images) {
  layer l[8];
  layers_of(c, batch, l);
  double *y[8] = {0};
  for (int i = 4; i < 8; i++) {
    y[i] = calloc(out_size(&l[i]), sizeof(double));
    forward(&l[i], i > 4 ? y[i - 1] : z, p[2 * i], p[2 * i + 1], y[i]);
  }
  for (size_t i = 0; i < out_size(&l[7]); i++)
    images[i] = 1.0 / (1.0 + exp(-y[7][i]));
  for (int i = 4; i < 8; i++)
    free(y[i]);
}
