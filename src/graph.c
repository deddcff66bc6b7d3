#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "philox.h"

typedef enum { NODE_DENSE, NODE_CONV, NODE_CONVT } node_kind;

/* A trainable tensor with its gradient and Adam moments, all on the device. */
typedef struct {
  char name[32];
  size_t count;
  vb_buf *value, *grad, *m, *v;
} param;

/* One layer: y = act(op(x; w) + b). Sizes are per image. */
typedef struct {
  node_kind kind;
  vb_act act;
  size_t in_size, out_size;
  size_t rows_per_image; /* rows of the GEMM output per image: 1, or the pixels of y */
  int in_c, out_c;
  int init_fan_out;   /* Glorot's fan-out: out_c, or one head's width for the heads */
  vb_patch_geom geom; /* conv: image = input; convT: image = output */
  param w, b;
  vb_buf *col; /* patch matrix scratch (conv, convT) */
  vb_buf *y;   /* output, [max_batch, out_size] */
  vb_buf *dy;  /* gradient w.r.t. y */
} node;

enum { ENC_NODES = 4, DEC_NODES = 4, NODES = ENC_NODES + DEC_NODES };

struct vaecl_model {
  vb_backend *be;
  vaecl_model_config cfg;
  int max_batch;
  node nodes[NODES]; /* encoder 0..3, decoder 4..7 */
  vb_buf *eps, *z, *dz;
  vb_buf *loss_elem, *kl_elem, *loss_sums;
  uint64_t seed;
  uint64_t adam_steps;
};

static const vb_ops *ops(const vaecl_model *m) {
  return m->be->ops;
}

vaecl_adam_config vaecl_adam_default(void) {
  return (vaecl_adam_config){
      .learning_rate = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-7f};
}

/* ---- construction ---------------------------------------------------------------- */

static vb_buf *alloc_floats(vaecl_model *m, size_t count) {
  return ops(m)->alloc(m->be, count * sizeof(float));
}

static int zero(vaecl_model *m, vb_buf *b, size_t count) {
  return ops(m)->fill(m->be, b, 0.0f, count);
}

/* 'same' padding before the first pixel (TensorFlow puts any odd pixel after). */
static int same_pad(int img, int grid, int k, int stride) {
  const int total = (grid - 1) * stride + k - img;
  return total > 0 ? total / 2 : 0;
}

static void init_dense(node *n, int in, int out, vb_act act) {
  n->kind = NODE_DENSE;
  n->act = act;
  n->in_size = (size_t)in;
  n->out_size = (size_t)out;
  n->rows_per_image = 1;
  n->in_c = in;
  n->out_c = out;
  n->init_fan_out = out;
  n->w.count = (size_t)in * out;
  n->b.count = (size_t)out;
}

/* Conv (stride s) from an h x w x cin image to an (h/s) x (w/s) x cout grid. */
static void init_conv(node *n, int h, int w, int cin, int cout, int k, int s) {
  const int gh = h / s, gw = w / s;
  n->kind = NODE_CONV;
  n->act = VB_ACT_RELU;
  n->geom = (vb_patch_geom){h, w, cin, gh, gw, k, s, same_pad(h, gh, k, s)};
  n->in_size = (size_t)h * w * cin;
  n->out_size = (size_t)gh * gw * cout;
  n->rows_per_image = (size_t)gh * gw;
  n->in_c = cin;
  n->out_c = cout;
  n->init_fan_out = cout;
  n->w.count = (size_t)k * k * cin * cout;
  n->b.count = (size_t)cout;
}

/* Conv-transpose (stride s) from an h x w x cin grid to an (h*s) x (w*s) x cout image. */
static void init_convt(node *n, int h, int w, int cin, int cout, int k, int s, vb_act act) {
  const int oh = h * s, ow = w * s;
  n->kind = NODE_CONVT;
  n->act = act;
  n->geom = (vb_patch_geom){oh, ow, cout, h, w, k, s, same_pad(oh, h, k, s)};
  n->in_size = (size_t)h * w * cin;
  n->out_size = (size_t)oh * ow * cout;
  n->rows_per_image = (size_t)oh * ow;
  n->in_c = cin;
  n->out_c = cout;
  n->init_fan_out = cout;
  n->w.count = (size_t)k * k * cout * cin;
  n->b.count = (size_t)cout;
}

/* Keras' glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)), where a conv
 * kernel's fans are its receptive field times the channels on each side. */
static float glorot_limit(const node *n) {
  const double field = n->kind == NODE_DENSE ? 1.0 : (double)n->geom.k * n->geom.k;
  return (float)sqrt(6.0 / (field * n->in_c + field * n->init_fan_out));
}

/* Host-side draw from the same counter RNG as sampling, on a stream of its own per
 * tensor, so a seed fixes the initial weights on every device. */
static int upload_glorot(vaecl_model *m, param *p, float limit, uint64_t stream) {
  float *host = malloc(p->count * sizeof *host);
  if (!host)
    return vaecl_fail("out of host memory initialising %s", p->name);
  for (size_t i = 0; i < p->count; i++) {
    uint32_t w[4];
    vaecl_philox_draw(m->seed, stream, (uint32_t)i, w);
    host[i] = (float)((2.0 * (w[0] * (1.0 / 4294967296.0)) - 1.0) * limit);
  }
  const int rc = ops(m)->write(m->be, p->value, 0, host, p->count * sizeof *host);
  free(host);
  return rc;
}

static int alloc_param(vaecl_model *m, param *p, const char *layer, const char *suffix) {
  snprintf(p->name, sizeof p->name, "%s.%s", layer, suffix);
  if (!(p->value = alloc_floats(m, p->count)) || !(p->grad = alloc_floats(m, p->count)) ||
      !(p->m = alloc_floats(m, p->count)) || !(p->v = alloc_floats(m, p->count)))
    return -1;
  return zero(m, p->value, p->count) || zero(m, p->grad, p->count) || zero(m, p->m, p->count) ||
                 zero(m, p->v, p->count)
             ? -1
             : 0;
}

static int alloc_node(vaecl_model *m, node *n, const char *name, int index) {
  const size_t b = (size_t)m->max_batch;
  if (alloc_param(m, &n->w, name, "w") != 0 || alloc_param(m, &n->b, name, "b") != 0)
    return -1;
  if (upload_glorot(m, &n->w, glorot_limit(n), 0xFFFFFFFF00000000ull + (uint64_t)index) != 0)
    return -1;
  if (!(n->y = alloc_floats(m, b * n->out_size)) || !(n->dy = alloc_floats(m, b * n->out_size)))
    return -1;
  if (n->kind != NODE_DENSE) {
    const vb_patch_geom *g = &n->geom;
    const size_t col = b * g->grid_h * g->grid_w * g->k * g->k * g->c;
    if (!(n->col = alloc_floats(m, col)))
      return -1;
  }
  return 0;
}

static void release_param(vaecl_model *m, param *p) {
  vb_buf *bufs[] = {p->value, p->grad, p->m, p->v};
  for (int i = 0; i < 4; i++)
    ops(m)->release(m->be, bufs[i]);
}

void vaecl_model_destroy(vaecl_model *m) {
  if (!m)
    return;
  for (int i = 0; i < NODES; i++) {
    node *n = &m->nodes[i];
    release_param(m, &n->w);
    release_param(m, &n->b);
    ops(m)->release(m->be, n->col);
    ops(m)->release(m->be, n->y);
    ops(m)->release(m->be, n->dy);
  }
  vb_buf *bufs[] = {m->eps, m->z, m->dz, m->loss_elem, m->kl_elem, m->loss_sums};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    ops(m)->release(m->be, bufs[i]);
  free(m);
}

vaecl_model *vaecl_model_create(vb_backend *be, const vaecl_model_config *cfg, int max_batch,
                                uint64_t seed) {
  if (vaecl_model_config_check(cfg) != 0)
    return NULL;
  if (max_batch < 1) {
    vaecl_fail("batch size %d must be at least 1", max_batch);
    return NULL;
  }
  vaecl_model *m = calloc(1, sizeof *m);
  if (!m) {
    vaecl_fail("out of host memory");
    return NULL;
  }
  m->be = be;
  m->cfg = *cfg;
  m->max_batch = max_batch;
  m->seed = seed;
  const int h = cfg->image_h, w = cfg->image_w, k = cfg->kernel, L = cfg->latent;
  node *n = m->nodes;
  init_conv(&n[0], h, w, cfg->channels, cfg->enc_c1, k, 2);
  init_conv(&n[1], h / 2, w / 2, cfg->enc_c1, cfg->enc_c2, k, 2);
  init_dense(&n[2], (h / 4) * (w / 4) * cfg->enc_c2, cfg->hidden, VB_ACT_RELU);
  /* The mean and log-variance heads side by side: one GEMM, but initialised like
   * Keras' two Dense(latent) layers. */
  init_dense(&n[3], cfg->hidden, 2 * L, VB_ACT_NONE);
  n[3].init_fan_out = L;
  init_dense(&n[4], L, (h / 4) * (w / 4) * cfg->dec_c0, VB_ACT_RELU);
  init_convt(&n[5], h / 4, w / 4, cfg->dec_c0, cfg->dec_c1, k, 2, VB_ACT_RELU);
  init_convt(&n[6], h / 2, w / 2, cfg->dec_c1, cfg->dec_c2, k, 2, VB_ACT_RELU);
  init_convt(&n[7], h, w, cfg->dec_c2, cfg->channels, k, 1, VB_ACT_NONE); /* logits */
  static const char *const names[NODES] = {"enc.conv1", "enc.conv2",  "enc.dense",  "enc.heads",
                                           "dec.dense", "dec.convt1", "dec.convt2", "dec.convt3"};
  const size_t b = (size_t)max_batch, img = (size_t)h * w * cfg->channels;
  int rc = 0;
  for (int i = 0; i < NODES && rc == 0; i++)
    rc = alloc_node(m, &n[i], names[i], i);
  if (rc == 0 && (!(m->eps = alloc_floats(m, b * L)) || !(m->z = alloc_floats(m, b * L)) ||
                  !(m->dz = alloc_floats(m, b * L)) || !(m->loss_elem = alloc_floats(m, b * img)) ||
                  !(m->kl_elem = alloc_floats(m, b * L)) || !(m->loss_sums = alloc_floats(m, 2))))
    rc = -1;
  if (rc == 0)
    rc = zero(m, m->loss_sums, 2);
  if (rc != 0) {
    vaecl_fail_context("setting up the model on %s: ", be->device_name);
    vaecl_model_destroy(m);
    return NULL;
  }
  return m;
}

/* ---- forward and backward ---------------------------------------------------- */

static int node_forward(vaecl_model *m, node *n, const vb_buf *x, int batch) {
  const vb_ops *o = ops(m);
  const size_t rows = (size_t)batch * n->rows_per_image;
  const vb_patch_geom *g = &n->geom;
  const size_t kk = (size_t)g->k * g->k;
  int rc;
  switch (n->kind) {
  case NODE_DENSE:
    rc = o->gemm(m->be, false, false, (size_t)batch, n->out_size, n->in_size, 1.0f, x, n->w.value,
                 0.0f, n->y);
    break;
  case NODE_CONV: /* y[B*G, cout] = im2col(x)[B*G, k*k*cin] * w[k*k*cin, cout] */
    rc = o->im2col(m->be, g, batch, x, n->col);
    if (rc == 0)
      rc = o->gemm(m->be, false, false, rows, (size_t)n->out_c, kk * n->in_c, 1.0f, n->col,
                   n->w.value, 0.0f, n->y);
    break;
  case NODE_CONVT: /* y = col2im(x[B*G, cin] * w[k*k*cout, cin]^T) */
  default:
    rc = o->gemm(m->be, false, true, (size_t)batch * g->grid_h * g->grid_w, kk * n->out_c,
                 (size_t)n->in_c, 1.0f, x, n->w.value, 0.0f, n->col);
    if (rc == 0)
      rc = o->col2im(m->be, g, batch, n->col, n->y);
    break;
  }
  return rc != 0 ? rc : o->bias_act(m->be, n->y, n->b.value, rows, (size_t)n->out_c, n->act);
}

/* From dy (w.r.t. the activation's output) to the parameter gradients and, when dx
 * is not NULL, the input gradient. Consumes dy (it is scaled by act'). */
static int node_backward(vaecl_model *m, node *n, const vb_buf *x, vb_buf *dx, int batch) {
  const vb_ops *o = ops(m);
  const size_t rows = (size_t)batch * n->rows_per_image, cout = (size_t)n->out_c;
  const vb_patch_geom *g = &n->geom;
  const size_t kk = (size_t)g->k * g->k, grid_rows = (size_t)batch * g->grid_h * g->grid_w;
  if (o->act_backward(m->be, n->dy, n->y, rows * cout, n->act) != 0 ||
      o->bias_grad(m->be, n->b.grad, n->dy, rows, cout) != 0)
    return -1;
  switch (n->kind) {
  case NODE_DENSE:
    if (o->gemm(m->be, true, false, n->in_size, n->out_size, (size_t)batch, 1.0f, x, n->dy, 0.0f,
                n->w.grad) != 0)
      return -1;
    return dx ? o->gemm(m->be, false, true, (size_t)batch, n->in_size, n->out_size, 1.0f, n->dy,
                        n->w.value, 0.0f, dx)
              : 0;
  case NODE_CONV: /* dw = col^T dy; dx = col2im(dy w^T); col still holds im2col(x) */
    if (o->gemm(m->be, true, false, kk * n->in_c, cout, rows, 1.0f, n->col, n->dy, 0.0f,
                n->w.grad) != 0)
      return -1;
    if (!dx)
      return 0;
    if (o->gemm(m->be, false, true, rows, kk * n->in_c, cout, 1.0f, n->dy, n->w.value, 0.0f,
                n->col) != 0)
      return -1;
    return o->col2im(m->be, g, batch, n->col, dx);
  case NODE_CONVT: /* dcol = im2col(dy); dw = dcol^T x; dx = dcol w */
  default:
    if (o->im2col(m->be, g, batch, n->dy, n->col) != 0 ||
        o->gemm(m->be, true, false, kk * cout, (size_t)n->in_c, grid_rows, 1.0f, n->col, x, 0.0f,
                n->w.grad) != 0)
      return -1;
    return dx ? o->gemm(m->be, false, false, grid_rows, (size_t)n->in_c, kk * cout, 1.0f, n->col,
                        n->w.value, 0.0f, dx)
              : 0;
  }
}

static int check_batch(const vaecl_model *m, int batch) {
  if (batch < 1 || batch > m->max_batch)
    return vaecl_fail("internal error: batch %d outside 1..%d", batch, m->max_batch);
  return 0;
}

static int encoder_forward(vaecl_model *m, const vb_buf *images, int batch) {
  const vb_buf *x = images;
  for (int i = 0; i < ENC_NODES; i++) {
    if (node_forward(m, &m->nodes[i], x, batch) != 0)
      return -1;
    x = m->nodes[i].y;
  }
  return 0;
}

static int decoder_forward(vaecl_model *m, int batch) {
  const vb_buf *x = m->z;
  for (int i = ENC_NODES; i < NODES; i++) {
    if (node_forward(m, &m->nodes[i], x, batch) != 0)
      return -1;
    x = m->nodes[i].y;
  }
  return 0;
}

int vaecl_model_compute_gradients(vaecl_model *m, const vb_buf *images, int batch, uint64_t step) {
  if (check_batch(m, batch) != 0)
    return -1;
  const vb_ops *o = ops(m);
  node *n = m->nodes;
  const int L = m->cfg.latent;
  const size_t pixels = (size_t)batch * vaecl_model_image_size(m);
  const float inv_batch = 1.0f / (float)batch;
  if (encoder_forward(m, images, batch) != 0 ||
      o->sample(m->be, n[ENC_NODES - 1].y, m->eps, m->z, batch, L, m->seed, step) != 0 ||
      decoder_forward(m, batch) != 0)
    return -1;
  /* Loss = mean over the batch of (sum of pixel BCE + sum of KL terms). */
  if (o->bce_logits(m->be, n[NODES - 1].y, images, n[NODES - 1].dy, m->loss_elem, pixels,
                    inv_batch) != 0 ||
      o->accumulate(m->be, m->loss_sums, 0, m->loss_elem, pixels, inv_batch) != 0)
    return -1;
  for (int i = NODES - 1; i >= ENC_NODES; i--) {
    vb_buf *dx = i > ENC_NODES ? n[i - 1].dy : m->dz;
    const vb_buf *x = i > ENC_NODES ? n[i - 1].y : m->z;
    if (node_backward(m, &n[i], x, dx, batch) != 0)
      return -1;
  }
  if (o->sample_kl_backward(m->be, n[ENC_NODES - 1].y, m->eps, m->dz, n[ENC_NODES - 1].dy,
                            m->kl_elem, batch, L, inv_batch) != 0 ||
      o->accumulate(m->be, m->loss_sums, 1, m->kl_elem, (size_t)batch * L, inv_batch) != 0)
    return -1;
  for (int i = ENC_NODES - 1; i >= 0; i--)
    if (node_backward(m, &n[i], i > 0 ? n[i - 1].y : images, i > 0 ? n[i - 1].dy : NULL, batch) !=
        0)
      return -1;
  return 0;
}

int vaecl_model_train_step(vaecl_model *m, const vb_buf *images, int batch, uint64_t step,
                           const vaecl_adam_config *adam) {
  if (vaecl_model_compute_gradients(m, images, batch, step) != 0)
    return -1;
  m->adam_steps++;
  const double t = (double)m->adam_steps;
  const vb_adam_step s = {.alpha = (float)(adam->learning_rate * sqrt(1.0 - pow(adam->beta2, t)) /
                                           (1.0 - pow(adam->beta1, t))),
                          .beta1 = adam->beta1,
                          .beta2 = adam->beta2,
                          .epsilon = adam->epsilon};
  for (int i = 0; i < NODES; i++) {
    param *ps[2] = {&m->nodes[i].w, &m->nodes[i].b};
    for (int j = 0; j < 2; j++)
      if (ops(m)->adam(m->be, ps[j]->value, ps[j]->grad, ps[j]->m, ps[j]->v, ps[j]->count, &s) != 0)
        return -1;
  }
  return 0;
}

int vaecl_model_read_loss_sums(vaecl_model *m, double sums[2]) {
  float host[2];
  if (ops(m)->read(m->be, m->loss_sums, 0, host, sizeof host) != 0)
    return -1;
  sums[0] = host[0];
  sums[1] = host[1];
  return 0;
}

int vaecl_model_reset_loss_sums(vaecl_model *m) {
  return zero(m, m->loss_sums, 2);
}

int vaecl_model_encode(vaecl_model *m, const vb_buf *images, int batch, float *stats) {
  if (check_batch(m, batch) != 0 || encoder_forward(m, images, batch) != 0)
    return -1;
  return ops(m)->read(m->be, m->nodes[ENC_NODES - 1].y, 0, stats,
                      (size_t)batch * 2 * m->cfg.latent * sizeof(float));
}

int vaecl_model_decode(vaecl_model *m, const float *z, int batch, float *images) {
  const size_t n = (size_t)batch * vaecl_model_image_size(m);
  if (check_batch(m, batch) != 0 ||
      ops(m)->write(m->be, m->z, 0, z, (size_t)batch * m->cfg.latent * sizeof(float)) != 0 ||
      decoder_forward(m, batch) != 0 ||
      ops(m)->read(m->be, m->nodes[NODES - 1].y, 0, images, n * sizeof(float)) != 0)
    return -1;
  for (size_t i = 0; i < n; i++) /* the output layer is sigmoid(logits) */
    images[i] = 1.0f / (1.0f + expf(-images[i]));
  return 0;
}

/* ---- parameters and checkpoints ------------------------------------------------ */

const vaecl_model_config *vaecl_model_get_config(const vaecl_model *m) {
  return &m->cfg;
}

int vaecl_model_max_batch(const vaecl_model *m) {
  return m->max_batch;
}

size_t vaecl_model_image_size(const vaecl_model *m) {
  return (size_t)m->cfg.image_h * m->cfg.image_w * m->cfg.channels;
}

size_t vaecl_model_tensor_count(const vaecl_model *m) {
  (void)m;
  return 2 * NODES;
}

static param *tensor(vaecl_model *m, size_t i) {
  return i % 2 ? &m->nodes[i / 2].b : &m->nodes[i / 2].w;
}

const char *vaecl_model_tensor_name(const vaecl_model *m, size_t i) {
  return tensor((vaecl_model *)m, i)->name;
}

size_t vaecl_model_tensor_size(const vaecl_model *m, size_t i) {
  return tensor((vaecl_model *)m, i)->count;
}

size_t vaecl_model_parameter_count(const vaecl_model *m) {
  size_t total = 0;
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++)
    total += vaecl_model_tensor_size(m, i);
  return total;
}

int vaecl_model_read_param(vaecl_model *m, size_t i, float *out) {
  param *p = tensor(m, i);
  return ops(m)->read(m->be, p->value, 0, out, p->count * sizeof(float));
}

int vaecl_model_write_param(vaecl_model *m, size_t i, const float *in) {
  param *p = tensor(m, i);
  return ops(m)->write(m->be, p->value, 0, in, p->count * sizeof(float));
}

int vaecl_model_read_grad(vaecl_model *m, size_t i, float *out) {
  param *p = tensor(m, i);
  return ops(m)->read(m->be, p->grad, 0, out, p->count * sizeof(float));
}

/* Checkpoint tensor k: value, Adam m, Adam v of each parameter in turn. */
static const char *const kinds[3] = {"", "adam.m.", "adam.v."};

static vb_buf *kind_buf(param *p, int kind) {
  return kind == 0 ? p->value : kind == 1 ? p->m : p->v;
}

int vaecl_model_to_checkpoint(vaecl_model *m, vaecl_checkpoint *ck) {
  memset(ck, 0, sizeof *ck);
  ck->config = m->cfg;
  ck->seed = m->seed;
  ck->adam_steps = m->adam_steps;
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++)
    for (int kind = 0; kind < 3; kind++) {
      param *p = tensor(m, i);
      vaecl_ckpt_tensor *t = &ck->tensors[ck->tensor_count++];
      snprintf(t->name, sizeof t->name, "%s%s", kinds[kind], p->name);
      t->count = p->count;
      if (!(t->data = malloc(p->count * sizeof(float)))) {
        vaecl_checkpoint_free(ck);
        return vaecl_fail("out of host memory saving %s", p->name);
      }
      if (ops(m)->read(m->be, kind_buf(p, kind), 0, t->data, p->count * sizeof(float)) != 0) {
        vaecl_checkpoint_free(ck);
        return -1;
      }
    }
  return 0;
}

int vaecl_model_from_checkpoint(vaecl_model *m, const vaecl_checkpoint *ck) {
  if (memcmp(&ck->config, &m->cfg, sizeof m->cfg) != 0)
    return vaecl_fail("the checkpoint's model shape (latent %d, image %dx%d) differs from the "
                      "requested one (latent %d, image %dx%d)",
                      ck->config.latent, ck->config.image_h, ck->config.image_w, m->cfg.latent,
                      m->cfg.image_h, m->cfg.image_w);
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++)
    for (int kind = 0; kind < 3; kind++) {
      param *p = tensor(m, i);
      char name[64];
      snprintf(name, sizeof name, "%s%s", kinds[kind], p->name);
      const vaecl_ckpt_tensor *t = vaecl_checkpoint_find(ck, name);
      if (!t || t->count != p->count)
        return vaecl_fail("the checkpoint has no tensor %s of %zu values", name, p->count);
      if (ops(m)->write(m->be, kind_buf(p, kind), 0, t->data, t->count * sizeof(float)) != 0)
        return -1;
    }
  m->seed = ck->seed;
  m->adam_steps = ck->adam_steps;
  return 0;
}
