#include "ref_vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_ops.h"
#include "testutil.h"

typedef enum { NODE_DENSE, NODE_CONV, NODE_CONVT } node_kind;

/* One layer with parameters: y = act(op(x) + b). s holds the per-image shapes
 * (batch 1); dense layers use in_c / out_c only. */
typedef struct {
  node_kind kind;
  vb_act act;
  double alpha;
  ref_conv_shape s;
  double fan_in, fan_out;
} node;

struct ref_vae {
  int input_h, input_w, input_c;
  int latent;
  int heads; /* index of the heads node */
  int count;
  node nodes[2 * VAECL_MAX_LAYERS + 1];
  int bernoulli, learned_variance;
  double fixed_log_var; /* 2 log sigma */
  double kl_weight;
};

static size_t out_size(const node *n) {
  return (size_t)n->s.out_h * n->s.out_w * n->s.out_c;
}

/* TensorFlow's output size and padding-before along one axis: conv 'same'
 * out = ceil(in/s), pad = max((out-1)s + k - in, 0)/2; 'valid' out = ceil((in-k+1)/s),
 * pad 0. A transposed conv goes the other way: 'same' out = in*s, 'valid'
 * out = in*s + max(k-s, 0), padded like the conv from its output back to its input. */
static void tf_side(int transposed, int same, int in, int k, int s, int *out, int *pad) {
  if (!transposed) {
    *out = same ? (in + s - 1) / s : (in - k + 1 + s - 1) / s;
    const int total = (*out - 1) * s + k - in;
    *pad = same && total > 0 ? total / 2 : 0;
  } else {
    *out = same ? in * s : in * s + (k > s ? k - s : 0);
    const int total = (in - 1) * s + k - *out;
    *pad = same && total > 0 ? total / 2 : 0;
  }
}

/* Flowing shape between layers: rank 1 (c values) or rank 3. */
typedef struct {
  int rank, h, w, c;
} flow;

static void add_layer(ref_vae *r, const vaecl_layer_spec *l, flow *cur) {
  const size_t cur_size = (size_t)cur->h * cur->w * cur->c;
  ck_assert_msg((size_t)l->in.h * l->in.w * l->in.c == cur_size && l->in.c == cur->c,
                "line %d: the parser's input shape %dx%dx%d is not %dx%dx%d", l->line, l->in.h,
                l->in.w, l->in.c, cur->h, cur->w, cur->c);
  node *n = &r->nodes[r->count];
  switch (l->type) {
  case VAECL_LAYER_FLATTEN:
    *cur = (flow){1, 1, 1, (int)cur_size};
    return;
  case VAECL_LAYER_RESHAPE:
    ck_assert_msg((size_t)l->target.h * l->target.w * l->target.c == cur_size,
                  "line %d: reshape of %zu values", l->line, cur_size);
    *cur = (flow){3, l->target.h, l->target.w, l->target.c};
    return;
  case VAECL_LAYER_DENSE:
    ck_assert_msg(cur->rank == 1, "line %d: dense on an unflattened input", l->line);
    *n = (node){.kind = NODE_DENSE, .act = l->activation, .alpha = l->alpha};
    n->s = (ref_conv_shape){1, 1, 1, cur->c, 1, 1, l->units, 1, 1, 0};
    n->fan_in = cur->c;
    n->fan_out = l->units;
    *cur = (flow){1, 1, 1, l->units};
    break;
  case VAECL_LAYER_CONV2D:
  case VAECL_LAYER_CONV2D_TRANSPOSE:
  default: {
    const int t = l->type == VAECL_LAYER_CONV2D_TRANSPOSE, same = l->padding == VAECL_PADDING_SAME;
    ck_assert_msg(cur->rank == 3, "line %d: convolution of a flat input", l->line);
    int oh, ow, ph, pw;
    tf_side(t, same, cur->h, l->kernel, l->stride, &oh, &ph);
    tf_side(t, same, cur->w, l->kernel, l->stride, &ow, &pw);
    ck_assert_msg(oh >= 1 && ow >= 1, "line %d: empty output", l->line);
    ck_assert_msg(l->out.h == oh && l->out.w == ow && l->out.c == l->filters,
                  "line %d: the parser infers %dx%dx%d, TensorFlow gives %dx%dx%d", l->line,
                  l->out.h, l->out.w, l->out.c, oh, ow, l->filters);
    ck_assert_msg(ph == pw && l->pad == ph, "line %d: the parser's pad %d, TensorFlow's %d/%d",
                  l->line, l->pad, ph, pw);
    *n = (node){.kind = t ? NODE_CONVT : NODE_CONV, .act = l->activation, .alpha = l->alpha};
    n->s =
        (ref_conv_shape){1, cur->h, cur->w, cur->c, oh, ow, l->filters, l->kernel, l->stride, ph};
    n->fan_in = (double)l->kernel * l->kernel * cur->c;
    n->fan_out = (double)l->kernel * l->kernel * l->filters;
    *cur = (flow){3, oh, ow, l->filters};
    break;
  }
  }
  ck_assert_msg(l->out.h * l->out.w * l->out.c == cur->h * cur->w * cur->c,
                "line %d: the parser's output shape differs", l->line);
  r->count++;
}

ref_vae *ref_vae_create(const vaecl_model_spec *spec) {
  ref_vae *r = calloc(1, sizeof *r);
  ck_assert_ptr_nonnull(r);
  r->input_h = spec->input.h;
  r->input_w = spec->input.w;
  r->input_c = spec->input.c;
  r->latent = spec->latent;
  r->bernoulli = spec->output == VAECL_OUTPUT_BERNOULLI;
  r->learned_variance = spec->learned_variance;
  r->fixed_log_var = 2.0 * log((double)spec->sigma);
  r->kl_weight = spec->kl_weight;
  flow cur = {3, spec->input.h, spec->input.w, spec->input.c};
  for (int i = 0; i < spec->encoder_count; i++)
    add_layer(r, &spec->encoder[i], &cur);
  ck_assert_msg(cur.rank == 1, "the encoder must end flat");
  r->heads = r->count;
  node *h = &r->nodes[r->count++];
  *h = (node){.kind = NODE_DENSE, .act = VB_ACT_NONE};
  h->s = (ref_conv_shape){1, 1, 1, cur.c, 1, 1, 2 * spec->latent, 1, 1, 0};
  h->fan_in = cur.c;
  h->fan_out = spec->latent; /* two Dense(latent) side by side */
  cur = (flow){1, 1, 1, spec->latent};
  for (int i = 0; i < spec->decoder_count; i++)
    add_layer(r, &spec->decoder[i], &cur);
  ck_assert_msg(cur.h * cur.w * cur.c == spec->input.h * spec->input.w * spec->input.c,
                "the decoder gives %d values for %d pixels", cur.h * cur.w * cur.c,
                spec->input.h * spec->input.w * spec->input.c);
  ck_assert_msg(r->count > r->heads + 1, "no decoder layer with parameters");
  if (r->bernoulli) { /* the last sigmoid belongs to the likelihood */
    ck_assert_int_eq(r->nodes[r->count - 1].act, VB_ACT_SIGMOID);
    r->nodes[r->count - 1].act = VB_ACT_NONE;
  }
  return r;
}

void ref_vae_destroy(ref_vae *r) {
  free(r);
}

int ref_vae_tensor_count(const ref_vae *r) {
  return 2 * r->count + (r->learned_variance ? 1 : 0);
}

size_t ref_vae_tensor_size(const ref_vae *r, int i) {
  if (i == 2 * r->count)
    return 1;
  const node *n = &r->nodes[i / 2];
  if (i % 2)
    return (size_t)n->s.out_c;
  return (size_t)n->s.in_c * n->s.out_c * (n->kind == NODE_DENSE ? 1 : (size_t)n->s.k * n->s.k);
}

void ref_vae_tensor_fans(const ref_vae *r, int i, double *fan_in, double *fan_out) {
  *fan_in = *fan_out = 0;
  if (i % 2 || i == 2 * r->count)
    return;
  *fan_in = r->nodes[i / 2].fan_in;
  *fan_out = r->nodes[i / 2].fan_out;
}

size_t ref_vae_image_size(const ref_vae *r) {
  return (size_t)r->input_h * r->input_w * r->input_c;
}

int ref_vae_latent(const ref_vae *r) {
  return r->latent;
}

/* ---- activations and the Gaussian likelihood, from their definitions ---------- */

static void act_forward(vb_act a, double alpha, size_t n, double *y) {
  switch (a) {
  case VB_ACT_RELU:
    ref_relu_forward(n, y);
    break;
  case VB_ACT_LEAKY_RELU:
    for (size_t i = 0; i < n; i++)
      y[i] = y[i] > 0 ? y[i] : alpha * y[i];
    break;
  case VB_ACT_SIGMOID:
    for (size_t i = 0; i < n; i++)
      y[i] = 1.0 / (1.0 + exp(-y[i]));
    break;
  case VB_ACT_TANH:
    for (size_t i = 0; i < n; i++)
      y[i] = tanh(y[i]);
    break;
  case VB_ACT_NONE:
  default:
    break;
  }
}

/* dy *= act'(x), written in terms of the output y = act(x). */
static void act_backward(vb_act a, double alpha, size_t n, const double *y, double *dy) {
  switch (a) {
  case VB_ACT_RELU:
    ref_relu_backward(n, y, dy);
    break;
  case VB_ACT_LEAKY_RELU: /* alpha > 0 keeps the sign, so y > 0 iff x > 0 */
    for (size_t i = 0; i < n; i++)
      dy[i] *= y[i] > 0 ? 1.0 : alpha;
    break;
  case VB_ACT_SIGMOID:
    for (size_t i = 0; i < n; i++)
      dy[i] *= y[i] * (1.0 - y[i]);
    break;
  case VB_ACT_TANH:
    for (size_t i = 0; i < n; i++)
      dy[i] *= 1.0 - y[i] * y[i];
    break;
  case VB_ACT_NONE:
  default:
    break;
  }
}

/* Sum over n of 0.5 ((x - mu)^2 e^-lv + lv + log 2pi); dmean (may be NULL) gets its
 * gradient times grad_scale, *dlv the summed gradient w.r.t. lv times grad_scale. */
static double gaussian_nll(size_t n, const double *mean, const double *x, double lv, double *dmean,
                           double *dlv, double grad_scale) {
  const double inv_var = exp(-lv), log_2pi = log(2.0 * 3.14159265358979323846);
  double sum = 0, dsum = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = x[i] - mean[i];
    sum += 0.5 * (d * d * inv_var + lv + log_2pi);
    if (dmean)
      dmean[i] = -d * inv_var * grad_scale;
    dsum += 0.5 * (1.0 - d * d * inv_var);
  }
  if (dlv)
    *dlv = dsum * grad_scale;
  return sum;
}

/* ---- forward and backward ------------------------------------------------------ */

static ref_conv_shape batched(const node *n, int batch) {
  ref_conv_shape s = n->s;
  s.batch = batch;
  return s;
}

static void node_forward(const node *n, int batch, const double *x, const double *w,
                         const double *b, double *y) {
  const ref_conv_shape s = batched(n, batch);
  if (n->kind == NODE_DENSE)
    ref_dense_forward(batch, s.in_c, s.out_c, x, w, b, y);
  else if (n->kind == NODE_CONV)
    ref_conv2d_forward(&s, x, w, b, y);
  else
    ref_conv2d_transpose_forward(&s, x, w, b, y);
  act_forward(n->act, n->alpha, (size_t)batch * out_size(n), y);
}

/* dy is w.r.t. the node's output after its activation; it is modified. */
static void node_backward(const node *n, int batch, const double *x, const double *w,
                          const double *y, double *dy, double *dx, double *dw, double *db) {
  const ref_conv_shape s = batched(n, batch);
  act_backward(n->act, n->alpha, (size_t)batch * out_size(n), y, dy);
  if (n->kind == NODE_DENSE)
    ref_dense_backward(batch, s.in_c, s.out_c, x, w, dy, dx, dw, db);
  else if (n->kind == NODE_CONV)
    ref_conv2d_backward(&s, x, w, dy, dx, dw, db);
  else
    ref_conv2d_transpose_backward(&s, x, w, dy, dx, dw, db);
}

/* Runs nodes [first, last) from x; y[i] are allocated here. */
static void run_forward(const ref_vae *r, int first, int last, int batch, double *const *p,
                        const double *x, double **y) {
  for (int i = first; i < last; i++) {
    y[i] = calloc((size_t)batch * out_size(&r->nodes[i]), sizeof(double));
    ck_assert_ptr_nonnull(y[i]);
    node_forward(&r->nodes[i], batch, i > first ? y[i - 1] : x, p[2 * i], p[2 * i + 1], y[i]);
  }
}

double ref_vae_loss(const ref_vae *r, int batch, double *const *p, const double *images,
                    const double *eps, double *const *grads, double *recon, double *kl,
                    double *stats_out) {
  const int L = r->latent, H = r->heads, N = r->count;
  double *y[2 * VAECL_MAX_LAYERS + 1] = {0}, *dy[2 * VAECL_MAX_LAYERS + 1] = {0};
  double *z = calloc((size_t)batch * L, sizeof(double));
  double *dz = calloc((size_t)batch * L, sizeof(double));
  run_forward(r, 0, H + 1, batch, p, images, y);
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < L; j++) {
      const double mean = y[H][b * 2 * L + j], lv = y[H][b * 2 * L + L + j];
      z[b * L + j] = mean + exp(0.5 * lv) * eps[b * L + j];
    }
  run_forward(r, H + 1, N, batch, p, z, y);
  for (int i = 0; grads && i < N; i++)
    dy[i] = calloc((size_t)batch * out_size(&r->nodes[i]), sizeof(double));
  const size_t pixels = (size_t)batch * ref_vae_image_size(r);
  const double inv_b = 1.0 / batch;
  double *dout = grads ? dy[N - 1] : NULL;
  if (r->bernoulli) {
    *recon = ref_bce_logits(pixels, y[N - 1], images, dout, inv_b) * inv_b;
  } else {
    const double lv = r->learned_variance ? p[2 * N][0] : r->fixed_log_var;
    double dlv;
    *recon = gaussian_nll(pixels, y[N - 1], images, lv, dout, &dlv, inv_b) * inv_b;
    if (grads && r->learned_variance)
      grads[2 * N][0] = dlv;
  }
  if (grads) {
    for (int i = N - 1; i > H; i--)
      node_backward(&r->nodes[i], batch, i > H + 1 ? y[i - 1] : z, p[2 * i], y[i], dy[i],
                    i > H + 1 ? dy[i - 1] : dz, grads[2 * i], grads[2 * i + 1]);
    *kl = ref_sample_kl_backward(batch, L, y[H], eps, dz, dy[H], r->kl_weight * inv_b) * inv_b;
    for (int i = H; i >= 0; i--)
      node_backward(&r->nodes[i], batch, i ? y[i - 1] : images, p[2 * i], y[i], dy[i],
                    i ? dy[i - 1] : NULL, grads[2 * i], grads[2 * i + 1]);
  } else {
    *kl = ref_kl(batch, L, y[H]) * inv_b;
  }
  if (stats_out)
    memcpy(stats_out, y[H], (size_t)batch * 2 * L * sizeof(double));
  for (int i = 0; i < N; i++) {
    free(y[i]);
    free(dy[i]);
  }
  free(z);
  free(dz);
  return *recon + r->kl_weight * *kl;
}

void ref_vae_decode(const ref_vae *r, int batch, double *const *p, const double *z,
                    double *images) {
  const int N = r->count;
  double *y[2 * VAECL_MAX_LAYERS + 1] = {0};
  run_forward(r, r->heads + 1, N, batch, p, z, y);
  const size_t n = (size_t)batch * ref_vae_image_size(r);
  for (size_t i = 0; i < n; i++)
    images[i] = r->bernoulli ? 1.0 / (1.0 + exp(-y[N - 1][i])) : y[N - 1][i];
  for (int i = r->heads + 1; i < N; i++)
    free(y[i]);
}
