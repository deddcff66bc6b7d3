#include <vaecl/graph.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"
#include "util/error.h"

struct vaecl_model {
  vb_backend *be;
  vaecl_model_spec spec;
  int max_batch;
  /* The layers with parameters, in order: the encoder's, then the two latent heads
   * as one Dense(2*latent) node (mean | log_var), then the decoder's. Flatten and
   * Reshape move no data in NHWC, so they are not nodes. */
  layer *nodes;
  int heads;      /* index of the heads node */
  int node_count; /* heads + 1 + the decoder's */
  /* Gaussian output: the log-variance, a trained parameter or a fixed value. */
  param log_var;
  int learned_variance;
  vb_buf *eps, *z, *dz;
  vb_buf *loss_elem, *kl_elem, *dlv_elem, *loss_sums;
  vb_buf *eval_sums; /* evaluate_batch's own sums, apart from training's */
  uint64_t seed;
  uint64_t adam_steps;
};

static const vb_ops *ops(const vaecl_model *m) {
  return m->be->ops;
}

static param *tensor(vaecl_model *m, size_t i);

vaecl_adam_config vaecl_adam_default(void) {
  return (vaecl_adam_config){
      .learning_rate = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-7f};
}

/* ---- construction ---------------------------------------------------------------- */

void vaecl_model_destroy(vaecl_model *m) {
  if (!m)
    return;
  for (int i = 0; m->nodes && i < m->node_count; i++)
    layer_release(m->be, &m->nodes[i]);
  free(m->nodes);
  layer_release_param(m->be, &m->log_var);
  vb_buf *bufs[] = {m->eps,     m->z,        m->dz,        m->loss_elem,
                    m->kl_elem, m->dlv_elem, m->loss_sums, m->eval_sums};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    ops(m)->release(m->be, bufs[i]);
  vaecl_model_spec_free(&m->spec);
  free(m);
}

static int is_node(const vaecl_layer_spec *l) {
  return l->type == VAECL_LAYER_DENSE || l->type == VAECL_LAYER_CONV2D ||
         l->type == VAECL_LAYER_CONV2D_TRANSPOSE;
}

/* The nodes from the spec. Glorot streams number the nodes in order, so a model's
 * initial weights depend only on its file and the seed. */
static int build_nodes(vaecl_model *m) {
  const vaecl_model_spec *s = &m->spec;
  int n = 1, enc_out = (int)vaecl_shape_size(&s->input);
  for (int i = 0; i < s->encoder_count; i++) {
    n += is_node(&s->encoder[i]);
    enc_out = (int)vaecl_shape_size(&s->encoder[i].out);
  }
  for (int i = 0; i < s->decoder_count; i++)
    n += is_node(&s->decoder[i]);
  if (!(m->nodes = calloc((size_t)n, sizeof *m->nodes)))
    return vaecl_fail("out of host memory");
  int k = 0;
  for (int i = 0; i < s->encoder_count; i++)
    if (is_node(&s->encoder[i])) {
      layer_init_from_spec(&m->nodes[k], &s->encoder[i]);
      snprintf(m->nodes[k++].name, sizeof m->nodes[0].name, "%s", s->encoder[i].name);
    }
  /* The mean and log-variance heads side by side: one GEMM, but initialised like
   * Keras' two Dense(latent) layers. */
  m->heads = k;
  layer_init_dense(&m->nodes[k], enc_out, 2 * s->latent, VB_ACT_NONE, 0.0f);
  m->nodes[k].init_fan_out = s->latent;
  snprintf(m->nodes[k++].name, sizeof m->nodes[0].name, "latent");
  for (int i = 0; i < s->decoder_count; i++)
    if (is_node(&s->decoder[i])) {
      layer_init_from_spec(&m->nodes[k], &s->decoder[i]);
      snprintf(m->nodes[k++].name, sizeof m->nodes[0].name, "%s", s->decoder[i].name);
    }
  m->node_count = k;
  /* Bernoulli: the last sigmoid is fused into the loss, so the graph ends in logits. */
  if (s->output == VAECL_OUTPUT_BERNOULLI)
    m->nodes[k - 1].act = VB_ACT_NONE;
  return 0;
}

static int alloc_log_var(vaecl_model *m) {
  const vaecl_model_spec *s = &m->spec;
  param *p = &m->log_var;
  snprintf(p->name, sizeof p->name, "output.log_var");
  p->count = 1;
  p->rank = 1;
  p->shape[0] = 1;
  m->learned_variance = s->learned_variance;
  const float init = s->learned_variance ? 0.0f : (float)(2.0 * log((double)s->sigma));
  if (!(p->value = layer_alloc_floats(m->be, 1)) || ops(m)->fill(m->be, p->value, init, 1) != 0)
    return -1;
  if (!m->learned_variance)
    return 0;
  if (!(p->grad = layer_alloc_floats(m->be, 1)) || !(p->m = layer_alloc_floats(m->be, 1)) ||
      !(p->v = layer_alloc_floats(m->be, 1)) ||
      !(m->dlv_elem =
            layer_alloc_floats(m->be, layer_mul((size_t)m->max_batch, vaecl_model_image_size(m)))))
    return -1;
  return layer_zero(m->be, p->grad, 1) || layer_zero(m->be, p->m, 1) || layer_zero(m->be, p->v, 1)
             ? -1
             : 0;
}

vaecl_model *vaecl_model_create(vb_backend *be, const vaecl_model_spec *spec, int max_batch,
                                uint64_t seed) {
  if (max_batch < 1) {
    vaecl_fail("batch size %d must be at least 1", max_batch);
    return NULL;
  }
  if (!be || !be->ops || be->ops->version != VB_OPS_VERSION) {
    vaecl_fail("the backend implements interface version %d, not %d",
               be && be->ops ? be->ops->version : -1, VB_OPS_VERSION);
    return NULL;
  }
  vaecl_model *m = calloc(1, sizeof *m);
  if (!m) {
    vaecl_fail("out of host memory");
    return NULL;
  }
  m->be = be;
  m->max_batch = max_batch;
  m->seed = seed;
  if (vaecl_model_spec_copy(spec, &m->spec) != 0 || build_nodes(m) != 0 ||
      vaecl_model_check_memory(m, 0, 0) != 0) {
    vaecl_model_destroy(m);
    return NULL;
  }
  const int L = spec->latent;
  const size_t b = (size_t)max_batch, img = vaecl_model_image_size(m);
  int rc = 0;
  for (int i = 0; i < m->node_count && rc == 0; i++)
    rc = layer_alloc(be, &m->nodes[i], m->nodes[i].name, max_batch, seed,
                     0xFFFFFFFF00000000ull + (uint64_t)i);
  if (rc == 0 &&
      (!(m->eps = layer_alloc_floats(be, layer_mul(b, L))) ||
       !(m->z = layer_alloc_floats(be, layer_mul(b, L))) ||
       !(m->dz = layer_alloc_floats(be, layer_mul(b, L))) ||
       !(m->loss_elem = layer_alloc_floats(be, layer_mul(b, img))) ||
       !(m->kl_elem = layer_alloc_floats(be, layer_mul(b, L))) ||
       !(m->loss_sums = layer_alloc_floats(be, 2)) || !(m->eval_sums = layer_alloc_floats(be, 2))))
    rc = -1;
  if (rc == 0 && spec->output == VAECL_OUTPUT_GAUSSIAN)
    rc = alloc_log_var(m);
  if (rc == 0)
    rc = layer_zero(m->be, m->loss_sums, 2);
  if (rc != 0) {
    vaecl_fail_context("setting up %s for batches of %d: ", spec->source, max_batch);
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

/* Tells a profiling backend which part of the step the next ops belong to. */
static void label(const vaecl_model *m, const char *part, const char *pass) {
  if (ops(m)->label)
    ops(m)->label(m->be, part, pass);
}

/* Runs nodes [first, last) on x; *out gets the last node's output. */
static int chain_forward(vaecl_model *m, int first, int last, const vb_buf *x, int batch) {
  for (int i = first; i < last; i++) {
    label(m, m->nodes[i].name, "fwd");
    if (layer_forward(m->be, &m->nodes[i], x, batch) != 0)
      return -1;
    x = m->nodes[i].y;
  }
  return 0;
}

static int encoder_forward(vaecl_model *m, const vb_buf *images, int batch) {
  return chain_forward(m, 0, m->heads + 1, images, batch);
}

static int decoder_forward(vaecl_model *m, int batch) {
  return chain_forward(m, m->heads + 1, m->node_count, m->z, batch);
}

/* The reconstruction term's per-pixel loss and its gradient w.r.t. the last node. */
static int reconstruction_loss(vaecl_model *m, const vb_buf *images, size_t pixels,
                               float inv_batch) {
  const vb_ops *o = ops(m);
  layer *out = &m->nodes[m->node_count - 1];
  if (m->spec.output == VAECL_OUTPUT_BERNOULLI)
    return o->bce_logits(m->be, out->y, images, out->dy, m->loss_elem, pixels, inv_batch);
  if (o->gaussian_nll(m->be, out->y, images, m->log_var.value, out->dy, m->loss_elem,
                      m->learned_variance ? m->dlv_elem : NULL, pixels, inv_batch) != 0)
    return -1;
  if (!m->learned_variance)
    return 0;
  return layer_zero(m->be, m->log_var.grad, 1) != 0 ||
                 o->accumulate(m->be, m->log_var.grad, 0, m->dlv_elem, pixels, inv_batch) != 0
             ? -1
             : 0;
}

int vaecl_model_compute_gradients(vaecl_model *m, const vb_buf *images, int batch, uint64_t step) {
  return vaecl_model_compute_shard_gradients(m, images, batch, 0, batch, step);
}

/* A shard that drew no images adds nothing: its gradients are zero. */
static int zero_gradients(vaecl_model *m) {
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++)
    if (layer_zero(m->be, tensor(m, i)->grad, tensor(m, i)->count) != 0)
      return -1;
  return 0;
}

int vaecl_model_compute_shard_gradients(vaecl_model *m, const vb_buf *images, int batch, int first,
                                        int whole, uint64_t step) {
  if (first < 0 || batch < 0 || whole < 1 || first > whole - batch)
    return vaecl_fail("internal error: shard of %d images from %d of a batch of %d", batch, first,
                      whole);
  if (batch == 0)
    return zero_gradients(m);
  if (check_batch(m, batch) != 0)
    return -1;
  const vb_ops *o = ops(m);
  layer *n = m->nodes;
  const int L = m->spec.latent, H = m->heads;
  const size_t pixels = (size_t)batch * vaecl_model_image_size(m);
  /* the loss is the mean over the whole batch, whichever part of it is here */
  const float inv_batch = 1.0f / (float)whole;
  /* beta == 1 gives inv_batch exactly, as before beta existed */
  const float kl_scale = (float)((double)m->spec.kl_weight * (double)inv_batch);
  if (encoder_forward(m, images, batch) != 0)
    return -1;
  label(m, "sampling", "fwd");
  if (o->sample(m->be, n[H].y, m->eps, m->z, batch, L, first, m->seed, step) != 0 ||
      decoder_forward(m, batch) != 0)
    return -1;
  /* Loss = mean over the batch of (summed reconstruction loss + beta * summed KL). */
  label(m, "loss", "");
  if (reconstruction_loss(m, images, pixels, inv_batch) != 0 ||
      o->accumulate(m->be, m->loss_sums, 0, m->loss_elem, pixels, inv_batch) != 0)
    return -1;
  for (int i = m->node_count - 1; i > H; i--) {
    vb_buf *dx = i > H + 1 ? n[i - 1].dy : m->dz;
    const vb_buf *x = i > H + 1 ? n[i - 1].y : m->z;
    label(m, n[i].name, "bwd");
    if (layer_backward(m->be, &n[i], x, dx, batch) != 0)
      return -1;
  }
  label(m, "sampling", "bwd");
  if (o->sample_kl_backward(m->be, n[H].y, m->eps, m->dz, n[H].dy, m->kl_elem, batch, L,
                            kl_scale) != 0 ||
      o->accumulate(m->be, m->loss_sums, 1, m->kl_elem, (size_t)batch * L, inv_batch) != 0)
    return -1;
  for (int i = H; i >= 0; i--) {
    label(m, n[i].name, "bwd");
    if (layer_backward(m->be, &n[i], i > 0 ? n[i - 1].y : images, i > 0 ? n[i - 1].dy : NULL,
                       batch) != 0)
      return -1;
  }
  return 0;
}

int vaecl_model_train_step(vaecl_model *m, const vb_buf *images, int batch, uint64_t step,
                           const vaecl_adam_config *adam) {
  if (vaecl_model_compute_gradients(m, images, batch, step) != 0)
    return -1;
  return vaecl_model_apply_adam(m, adam);
}

int vaecl_model_apply_adam(vaecl_model *m, const vaecl_adam_config *adam) {
  m->adam_steps++;
  const double t = (double)m->adam_steps;
  const vb_adam_step s = {.alpha = (float)(adam->learning_rate * sqrt(1.0 - pow(adam->beta2, t)) /
                                           (1.0 - pow(adam->beta1, t))),
                          .beta1 = adam->beta1,
                          .beta2 = adam->beta2,
                          .epsilon = adam->epsilon};
  label(m, "adam", "");
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++) {
    param *p = tensor(m, i);
    if (ops(m)->adam(m->be, p->value, p->grad, p->m, p->v, p->count, &s) != 0)
      return -1;
  }
  return 0;
}

/* Forward only. The ops still write the activations' scratch gradients (dy, dz, dstats),
 * which the next training step overwrites before reading; no parameter, parameter gradient,
 * Adam moment or training loss sum is touched. */
int vaecl_model_evaluate_batch(vaecl_model *m, const vb_buf *images, int batch, uint64_t seed,
                               uint64_t step, double *recon, double *kl) {
  if (check_batch(m, batch) != 0)
    return -1;
  const vb_ops *o = ops(m);
  layer *n = m->nodes;
  const int L = m->spec.latent, H = m->heads;
  const size_t pixels = (size_t)batch * vaecl_model_image_size(m);
  const float inv_batch = 1.0f / (float)batch;
  float host[2];
  layer *out = &n[m->node_count - 1];
  int rc = layer_zero(m->be, m->eval_sums, 2) != 0 || encoder_forward(m, images, batch) != 0 ||
           o->sample(m->be, n[H].y, m->eps, m->z, batch, L, 0, seed, step) != 0 ||
           decoder_forward(m, batch) != 0;
  if (!rc && m->spec.output == VAECL_OUTPUT_BERNOULLI)
    rc = o->bce_logits(m->be, out->y, images, out->dy, m->loss_elem, pixels, inv_batch) != 0;
  else if (!rc)
    rc = o->gaussian_nll(m->be, out->y, images, m->log_var.value, out->dy, m->loss_elem, NULL,
                         pixels, inv_batch) != 0;
  /* The KL per element comes with the sampling's backward pass (from a zero dz: never
   * reading stale values); its dstats are scratch. */
  if (rc || o->accumulate(m->be, m->eval_sums, 0, m->loss_elem, pixels, inv_batch) != 0 ||
      layer_zero(m->be, m->dz, (size_t)batch * L) != 0 ||
      o->sample_kl_backward(m->be, n[H].y, m->eps, m->dz, n[H].dy, m->kl_elem, batch, L, 0.0f) !=
          0 ||
      o->accumulate(m->be, m->eval_sums, 1, m->kl_elem, (size_t)batch * L, inv_batch) != 0 ||
      o->read(m->be, m->eval_sums, 0, host, sizeof host) != 0)
    return -1;
  *recon = host[0];
  *kl = host[1];
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
  return ops(m)->read(m->be, m->nodes[m->heads].y, 0, stats,
                      (size_t)batch * 2 * m->spec.latent * sizeof(float));
}

int vaecl_model_decode_output(vaecl_model *m, const float *z, int batch, float *out) {
  const size_t n = (size_t)batch * vaecl_model_image_size(m);
  if (check_batch(m, batch) != 0 ||
      ops(m)->write(m->be, m->z, 0, z, (size_t)batch * m->spec.latent * sizeof(float)) != 0 ||
      decoder_forward(m, batch) != 0 ||
      ops(m)->read(m->be, m->nodes[m->node_count - 1].y, 0, out, n * sizeof(float)) != 0)
    return -1;
  return 0;
}

int vaecl_model_decode(vaecl_model *m, const float *z, int batch, float *images) {
  const size_t n = (size_t)batch * vaecl_model_image_size(m);
  if (vaecl_model_decode_output(m, z, batch, images) != 0)
    return -1;
  if (m->spec.output == VAECL_OUTPUT_BERNOULLI) /* the graph ends in logits */
    for (size_t i = 0; i < n; i++)
      images[i] = 1.0f / (1.0f + expf(-images[i]));
  return 0;
}

/* ---- parameters and checkpoints ------------------------------------------------ */

const vaecl_model_spec *vaecl_model_get_spec(const vaecl_model *m) {
  return &m->spec;
}

int vaecl_model_max_batch(const vaecl_model *m) {
  return m->max_batch;
}

size_t vaecl_model_image_size(const vaecl_model *m) {
  return vaecl_shape_size(&m->spec.input);
}

/* Tensors: w and b of each node, then the learned log-variance if any. */
size_t vaecl_model_tensor_count(const vaecl_model *m) {
  return 2 * (size_t)m->node_count + (m->learned_variance ? 1 : 0);
}

static param *tensor(vaecl_model *m, size_t i) {
  if (i == 2 * (size_t)m->node_count)
    return &m->log_var;
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

int vaecl_model_write_grad(vaecl_model *m, size_t i, const float *in) {
  param *p = tensor(m, i);
  return ops(m)->write(m->be, p->grad, 0, in, p->count * sizeof(float));
}

int vaecl_model_read_grads(vaecl_model *m, float *out) {
  for (size_t i = 0; i < vaecl_model_tensor_count(m); out += tensor(m, i)->count, i++)
    if (vaecl_model_read_grad(m, i, out) != 0)
      return -1;
  return 0;
}

int vaecl_model_write_grads(vaecl_model *m, const float *in) {
  for (size_t i = 0; i < vaecl_model_tensor_count(m); in += tensor(m, i)->count, i++)
    if (vaecl_model_write_grad(m, i, in) != 0)
      return -1;
  return 0;
}

/* Checkpoint tensor k: value, Adam m, Adam v of each parameter in turn. */
static const char *const kinds[3] = {"", "adam.m.", "adam.v."};

static vb_buf *kind_buf(param *p, int kind) {
  return kind == 0 ? p->value : kind == 1 ? p->m : p->v;
}

int vaecl_model_to_checkpoint(vaecl_model *m, vaecl_checkpoint *ck) {
  memset(ck, 0, sizeof *ck);
  const size_t n = 3 * vaecl_model_tensor_count(m), text = strlen(m->spec.text) + 1;
  if (!(ck->tensors = calloc(n, sizeof *ck->tensors)) || !(ck->model_text = malloc(text))) {
    vaecl_checkpoint_free(ck);
    return vaecl_fail("out of host memory saving the model");
  }
  memcpy(ck->model_text, m->spec.text, text);
  ck->seed = m->seed;
  ck->adam_steps = m->adam_steps;
  ck->batch = (uint32_t)m->max_batch;
  ck->format_version = VAECL_CHECKPOINT_VERSION;
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++)
    for (int kind = 0; kind < 3; kind++) {
      param *p = tensor(m, i);
      vaecl_ckpt_tensor *t = &ck->tensors[ck->tensor_count++];
      snprintf(t->name, sizeof t->name, "%s%s", kinds[kind], p->name);
      t->count = p->count;
      t->rank = p->rank;
      memcpy(t->shape, p->shape, sizeof t->shape);
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

/* One checkpoint tensor against the parameter it should fill: present, the same
 * shape, and finite (NaN or Inf weights come from a diverged run and would only
 * give NaN losses and empty figures). */
static int check_tensor(const vaecl_checkpoint *ck, const char *name, const param *p) {
  const vaecl_ckpt_tensor *t = vaecl_checkpoint_find(ck, name);
  if (!t || t->count != p->count)
    return vaecl_fail("the checkpoint has no tensor %s of %zu values", name, p->count);
  if (t->rank != p->rank || memcmp(t->shape, p->shape, (size_t)p->rank * sizeof *p->shape))
    return vaecl_fail("the checkpoint's tensor %s has another shape than the model's", name);
  for (size_t j = 0; j < t->count; j++)
    if (!isfinite(t->data[j]))
      return vaecl_fail("the checkpoint's tensor %s holds %s (value %zu of %zu): it was saved "
                        "from a run that diverged; use an earlier checkpoint, or train again "
                        "with a smaller learning rate",
                        name, isnan(t->data[j]) ? "NaN" : "an infinity", j, t->count);
  return 0;
}

/* Every tensor of the model (value and Adam moments) checked in ck. */
static int check_tensors(vaecl_model *m, const vaecl_checkpoint *ck) {
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++)
    for (int kind = 0; kind < 3; kind++) {
      char name[96];
      snprintf(name, sizeof name, "%s%s", kinds[kind], tensor(m, i)->name);
      if (check_tensor(ck, name, tensor(m, i)) != 0)
        return -1;
    }
  return 0;
}

int vaecl_checkpoint_check_model(const vaecl_checkpoint *ck, const vaecl_model_spec *spec) {
  /* The graph's nodes without any device memory: shapes and names only. */
  vaecl_model m = {.spec = *spec, .learned_variance = spec->learned_variance};
  if (build_nodes(&m) != 0)
    return -1;
  for (int i = 0; i < m.node_count; i++) {
    snprintf(m.nodes[i].w.name, sizeof m.nodes[i].w.name, "%s.w", m.nodes[i].name);
    snprintf(m.nodes[i].b.name, sizeof m.nodes[i].b.name, "%s.b", m.nodes[i].name);
  }
  snprintf(m.log_var.name, sizeof m.log_var.name, "output.log_var");
  m.log_var.count = 1;
  m.log_var.rank = 1;
  m.log_var.shape[0] = 1;
  const int rc = check_tensors(&m, ck);
  free(m.nodes);
  return rc;
}

int vaecl_model_from_checkpoint(vaecl_model *m, const vaecl_checkpoint *ck) {
  if (check_tensors(m, ck) != 0)
    return -1;
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++)
    for (int kind = 0; kind < 3; kind++) {
      param *p = tensor(m, i);
      char name[96];
      snprintf(name, sizeof name, "%s%s", kinds[kind], p->name);
      const vaecl_ckpt_tensor *t = vaecl_checkpoint_find(ck, name);
      if (ops(m)->write(m->be, kind_buf(p, kind), 0, t->data, t->count * sizeof(float)) != 0)
        return -1;
    }
  m->seed = ck->seed;
  m->adam_steps = ck->adam_steps;
  return 0;
}

/* ---- device memory ------------------------------------------------------------- */

/* Checked against the backend's limits before anything is allocated: drivers that
 * allocate lazily would otherwise fail at the first step (or, with
 * CL_OUT_OF_RESOURCES, look like a kernel fault). The sizes mirror the allocations of
 * vaecl_model_create and layer_alloc. */
typedef struct {
  uint64_t total, largest;
} bytes_need;

static void add(bytes_need *n, uint64_t floats) {
  const uint64_t bytes = floats * sizeof(float);
  n->total += bytes;
  if (bytes > n->largest)
    n->largest = bytes;
}

static bytes_need model_bytes(const vaecl_model *m, uint64_t b) {
  bytes_need n = {0, 0};
  for (int i = 0; i < m->node_count; i++) {
    const layer *l = &m->nodes[i];
    for (int k = 0; k < 4; k++) { /* value, gradient, Adam's two moments */
      add(&n, l->w.count);
      add(&n, l->b.count);
    }
    add(&n, b * l->out_size); /* y */
    add(&n, b * l->out_size); /* dy */
    if (l->kind != LAYER_DENSE) {
      const vb_patch_geom *g = &l->geom;
      add(&n, b * (uint64_t)g->grid_h * g->grid_w * g->k * g->k * g->c);
    }
  }
  const uint64_t latent = (uint64_t)m->spec.latent, img = vaecl_model_image_size(m);
  for (int k = 0; k < 4; k++) /* eps, z, dz, kl */
    add(&n, b * latent);
  add(&n, b * img);                              /* per-pixel loss */
  add(&n, 2);                                    /* training's loss sums */
  add(&n, 2);                                    /* evaluate_batch's */
  if (m->spec.output == VAECL_OUTPUT_GAUSSIAN) { /* alloc_log_var */
    add(&n, 1);
    if (m->spec.learned_variance) {
      for (int k = 0; k < 3; k++)
        add(&n, 1);
      add(&n, b * img);
    }
  }
  return n;
}

static int fits(const vaecl_model *m, uint64_t b, uint64_t other, uint64_t other_max) {
  const vb_backend *be = m->be;
  const bytes_need n = model_bytes(m, b);
  return (!be->max_alloc_bytes ||
          (n.largest <= be->max_alloc_bytes && other_max <= be->max_alloc_bytes)) &&
         (!be->global_mem_bytes || n.total + other <= be->global_mem_bytes);
}

int vaecl_model_check_memory(const vaecl_model *m, uint64_t other, uint64_t other_max) {
  const uint64_t batch = (uint64_t)m->max_batch;
  if (fits(m, batch, other, other_max))
    return 0;
  const vb_backend *be = m->be;
  const double mib = 1024.0 * 1024.0;
  const bytes_need n = model_bytes(m, batch);
  char sizes[1024];
  snprintf(sizes, sizeof sizes,
           "%s at batch %llu needs %.1f MiB of device memory (the model's buffers %.1f MiB, "
           "other data %.1f MiB; the largest buffer %.1f MiB), but %s has %.1f MiB with "
           "buffers of at most %.1f MiB",
           m->spec.source, (unsigned long long)batch, (double)(n.total + other) / mib,
           (double)n.total / mib, (double)other / mib,
           (double)(n.largest > other_max ? n.largest : other_max) / mib, be->device_name,
           (double)be->global_mem_bytes / mib, (double)be->max_alloc_bytes / mib);
  if (!fits(m, 1, other, other_max))
    return vaecl_fail("%s: even batch 1 does not fit; use --limit to load fewer images, a "
                      "smaller model, or a device with more memory",
                      sizes);
  uint64_t lo = 1, hi = batch; /* fits(lo), !fits(hi) */
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (fits(m, mid, other, other_max))
      lo = mid;
    else
      hi = mid;
  }
  return vaecl_fail("%s: the largest batch that fits is %llu; use --batch %llu or less", sizes,
                    (unsigned long long)lo, (unsigned long long)lo);
}
