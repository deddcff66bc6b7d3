#include <vaecl/graph.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "nn/layer.h"

enum { ENC_NODES = 4, DEC_NODES = 4, NODES = ENC_NODES + DEC_NODES };

struct vaecl_model {
  vb_backend *be;
  vaecl_model_config cfg;
  int max_batch;
  layer nodes[NODES]; /* encoder 0..3, decoder 4..7 */
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

void vaecl_model_destroy(vaecl_model *m) {
  if (!m)
    return;
  for (int i = 0; i < NODES; i++) {
    layer_release(m->be, &m->nodes[i]);
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
  layer *n = m->nodes;
  layer_init_conv(&n[0], h, w, cfg->channels, cfg->enc_c1, k, 2);
  layer_init_conv(&n[1], h / 2, w / 2, cfg->enc_c1, cfg->enc_c2, k, 2);
  layer_init_dense(&n[2], (h / 4) * (w / 4) * cfg->enc_c2, cfg->hidden, VB_ACT_RELU);
  /* The mean and log-variance heads side by side: one GEMM, but initialised like
   * Keras' two Dense(latent) layers. */
  layer_init_dense(&n[3], cfg->hidden, 2 * L, VB_ACT_NONE);
  n[3].init_fan_out = L;
  layer_init_dense(&n[4], L, (h / 4) * (w / 4) * cfg->dec_c0, VB_ACT_RELU);
  layer_init_convt(&n[5], h / 4, w / 4, cfg->dec_c0, cfg->dec_c1, k, 2, VB_ACT_RELU);
  layer_init_convt(&n[6], h / 2, w / 2, cfg->dec_c1, cfg->dec_c2, k, 2, VB_ACT_RELU);
  layer_init_convt(&n[7], h, w, cfg->dec_c2, cfg->channels, k, 1, VB_ACT_NONE); /* logits */
  static const char *const names[NODES] = {"enc.conv1", "enc.conv2",  "enc.dense",  "enc.heads",
                                           "dec.dense", "dec.convt1", "dec.convt2", "dec.convt3"};
  const size_t b = (size_t)max_batch, img = (size_t)h * w * cfg->channels;
  int rc = 0;
  for (int i = 0; i < NODES && rc == 0; i++)
    rc = layer_alloc(be, &n[i], names[i], max_batch, seed, 0xFFFFFFFF00000000ull + (uint64_t)i);
  if (rc == 0 &&
      (!(m->eps = layer_alloc_floats(be, b * L)) || !(m->z = layer_alloc_floats(be, b * L)) ||
       !(m->dz = layer_alloc_floats(be, b * L)) ||
       !(m->loss_elem = layer_alloc_floats(be, b * img)) ||
       !(m->kl_elem = layer_alloc_floats(be, b * L)) ||
       !(m->loss_sums = layer_alloc_floats(be, 2))))
    rc = -1;
  if (rc == 0)
    rc = layer_zero(m->be, m->loss_sums, 2);
  if (rc != 0) {
    vaecl_fail_context("setting up the model for batches of %d: ", max_batch);
    vaecl_model_destroy(m);
    return NULL;
  }
  return m;
}

/* ---- forward and backward ---------------------------------------------------- */

static int check_batch(const vaecl_model *m, int batch) {
  if (batch < 1 || batch > m->max_batch)
    return vaecl_fail("internal error: batch %d outside 1..%d", batch, m->max_batch);
  return 0;
}

static int encoder_forward(vaecl_model *m, const vb_buf *images, int batch) {
  const vb_buf *x = images;
  for (int i = 0; i < ENC_NODES; i++) {
    if (layer_forward(m->be, &m->nodes[i], x, batch) != 0)
      return -1;
    x = m->nodes[i].y;
  }
  return 0;
}

static int decoder_forward(vaecl_model *m, int batch) {
  const vb_buf *x = m->z;
  for (int i = ENC_NODES; i < NODES; i++) {
    if (layer_forward(m->be, &m->nodes[i], x, batch) != 0)
      return -1;
    x = m->nodes[i].y;
  }
  return 0;
}

int vaecl_model_compute_gradients(vaecl_model *m, const vb_buf *images, int batch, uint64_t step) {
  if (check_batch(m, batch) != 0)
    return -1;
  const vb_ops *o = ops(m);
  layer *n = m->nodes;
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
    if (layer_backward(m->be, &n[i], x, dx, batch) != 0)
      return -1;
  }
  if (o->sample_kl_backward(m->be, n[ENC_NODES - 1].y, m->eps, m->dz, n[ENC_NODES - 1].dy,
                            m->kl_elem, batch, L, inv_batch) != 0 ||
      o->accumulate(m->be, m->loss_sums, 1, m->kl_elem, (size_t)batch * L, inv_batch) != 0)
    return -1;
  for (int i = ENC_NODES - 1; i >= 0; i--)
    if (layer_backward(m->be, &n[i], i > 0 ? n[i - 1].y : images, i > 0 ? n[i - 1].dy : NULL,
                       batch) != 0)
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
  return layer_zero(m->be, m->loss_sums, 2);
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
