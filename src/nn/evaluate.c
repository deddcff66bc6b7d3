/* Per-image negative ELBO and IWAE bound (vaecl/evaluate.h): the encoder and decoder run on
 * the device, the likelihoods and the log-sum-exp on the host in double. */
#include <vaecl/evaluate.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/philox.h"
#include "util/pixels.h"

vaecl_eval_options vaecl_eval_defaults(void) {
  return (vaecl_eval_options){.samples = 64, .seed = 1};
}

double vaecl_bits_per_dim(double nats, size_t dims) {
  return nats / ((double)dims * log(2.0));
}

/* log(1 + e^l) without overflow. */
static double softplus(double l) {
  return l > 0 ? l + log1p(exp(-l)) : log1p(exp(l));
}

typedef struct {
  vaecl_model *m;
  vb_backend *be;
  const vaecl_dataset *data;
  const vaecl_eval_options *opt;
  int L, bernoulli;
  size_t D, batch;
  double log_var; /* Gaussian output */
  float *stats, *z, *out;
  double *log_w, *recon, *prior_ratio;
} evaluator;

/* The Gaussian's log-variance: the trained value, or 2 log sigma. */
static int output_log_var(evaluator *e) {
  const vaecl_model_spec *s = vaecl_model_get_spec(e->m);
  e->log_var = 2.0 * log((double)s->sigma);
  if (s->output != VAECL_OUTPUT_GAUSSIAN || !s->learned_variance)
    return 0;
  for (size_t i = 0; i < vaecl_model_tensor_count(e->m); i++)
    if (strcmp(vaecl_model_tensor_name(e->m, i), "output.log_var") == 0) {
      float v;
      if (vaecl_model_read_param(e->m, i, &v) != 0)
        return -1;
      e->log_var = v;
      return 0;
    }
  return vaecl_fail("internal error: the model has no output.log_var tensor");
}

/* -log p(x|z) summed over one image's pixels, from the decoder's raw output. */
static double image_nll(const evaluator *e, const uint8_t *bytes, const float *out) {
  double sum = 0;
  if (e->bernoulli) {
    for (size_t p = 0; p < e->D; p++) {
      const double x = vaecl_pixel_value(bytes[p]), l = out[p];
      sum += softplus(l) - x * l;
    }
    return sum;
  }
  const double inv_var = exp(-e->log_var), c = e->log_var + log(2.0 * 3.14159265358979323846);
  for (size_t p = 0; p < e->D; p++) {
    const double d = (double)(vaecl_pixel_value(bytes[p])) - out[p];
    sum += 0.5 * (d * d * inv_var + c);
  }
  return sum;
}

/* z for row r of the batch's (image, sample) rows, and log p(z) - log q(z|x) for it. */
static void draw(evaluator *e, size_t first, size_t r, float *z, double *ratio) {
  const size_t i = r / (size_t)e->opt->samples, k = r % (size_t)e->opt->samples;
  const float *st = e->stats + i * 2 * (size_t)e->L;
  double sum = 0;
  for (int j = 0; j < e->L; j++) {
    const double mean = st[j], lv = st[e->L + j];
    const double eps = vaecl_philox_normal(e->opt->seed, VAECL_EVAL_STREAM + first + i,
                                           (uint32_t)(k * (size_t)e->L + (size_t)j));
    const double zj = mean + exp(0.5 * lv) * eps;
    z[j] = (float)zj;
    /* log N(z; 0, 1) - log N(z; mean, e^lv): the log(2 pi) terms cancel */
    sum += -0.5 * zj * zj + 0.5 * (eps * eps + lv);
  }
  *ratio = sum;
}

/* Images first .. first+n-1: encode, then decode every (image, sample) row in batches. */
static int score_batch(evaluator *e, size_t first, size_t n, vaecl_image_score *scores) {
  const size_t K = (size_t)e->opt->samples, L = (size_t)e->L, rows = n * K;
  if (vaecl_encode_images(e->m, e->be, e->data, first, n, e->stats) != 0)
    return -1;
  for (size_t at = 0; at < rows; at += e->batch) {
    const size_t nr = rows - at < e->batch ? rows - at : e->batch;
    for (size_t r = 0; r < nr; r++)
      draw(e, first, at + r, e->z + r * L, &e->prior_ratio[r]);
    if (vaecl_model_decode_output(e->m, e->z, (int)nr, e->out) != 0)
      return -1;
    for (size_t r = 0; r < nr; r++) {
      const size_t i = (at + r) / K;
      const double nll = image_nll(e, e->data->pixels + (first + i) * e->D, e->out + r * e->D);
      e->recon[at + r] = nll;
      e->log_w[at + r] = -nll + e->prior_ratio[r];
    }
  }
  for (size_t i = 0; i < n; i++) {
    const double *lw = e->log_w + i * K, *rec = e->recon + i * K;
    double max = -INFINITY, sum = 0, rsum = 0, kl = 0;
    for (size_t k = 0; k < K; k++)
      max = lw[k] > max ? lw[k] : max;
    for (size_t k = 0; k < K; k++) {
      sum += exp(lw[k] - max);
      rsum += rec[k];
    }
    const float *st = e->stats + i * 2 * L;
    for (size_t j = 0; j < L; j++) {
      const double mean = st[j], lv = st[L + j];
      kl += -0.5 * (1.0 + lv - mean * mean - exp(lv));
    }
    scores[i].reconstruction = rsum / (double)K;
    scores[i].kl = kl;
    /* max is -inf or NaN only when every weight is: then so is the bound */
    scores[i].iwae = isfinite(max) ? -(max + log(sum / (double)K)) : -max;
  }
  return 0;
}

static void summarise(const evaluator *e, const vaecl_image_score *all, vaecl_eval_summary *s) {
  memset(s, 0, sizeof *s);
  s->count = e->data->count;
  s->dims = e->D;
  s->samples = e->opt->samples;
  for (size_t i = 0; i < s->count; i++) {
    s->reconstruction += all[i].reconstruction;
    s->kl += all[i].kl;
    s->iwae += all[i].iwae;
  }
  const double n = s->count ? (double)s->count : 1.0;
  s->reconstruction /= n;
  s->kl /= n;
  s->iwae /= n;
  s->neg_elbo = s->reconstruction + s->kl;
  s->loss = s->reconstruction + (double)vaecl_model_get_spec(e->m)->kl_weight * s->kl;
}

int vaecl_evaluate(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                   const vaecl_eval_options *opt, vaecl_image_score *per_image,
                   vaecl_eval_summary *summary) {
  const vaecl_model_spec *spec = vaecl_model_get_spec(m);
  if (opt->samples < 1 || opt->samples > VAECL_EVAL_MAX_SAMPLES)
    return vaecl_fail("%d importance samples: use 1 to %d", opt->samples, VAECL_EVAL_MAX_SAMPLES);
  if (vaecl_dataset_check_fits(data, spec->input.h, spec->input.w, spec->input.c) != 0)
    return -1;
  evaluator e = {.m = m,
                 .be = be,
                 .data = data,
                 .opt = opt,
                 .L = spec->latent,
                 .bernoulli = spec->output == VAECL_OUTPUT_BERNOULLI,
                 .D = vaecl_model_image_size(m),
                 .batch = (size_t)vaecl_model_max_batch(m)};
  const size_t K = (size_t)opt->samples, L = (size_t)e.L, B = e.batch;
  vaecl_image_score *all =
      per_image ? per_image : calloc(data->count ? data->count : 1, sizeof *all);
  e.stats = malloc(B * 2 * L * sizeof *e.stats);
  e.z = malloc(B * L * sizeof *e.z);
  e.out = malloc(B * e.D * sizeof *e.out);
  e.log_w = malloc(B * K * sizeof *e.log_w);
  e.recon = malloc(B * K * sizeof *e.recon);
  e.prior_ratio = malloc(B * sizeof *e.prior_ratio);
  int rc = all && e.stats && e.z && e.out && e.log_w && e.recon && e.prior_ratio
               ? output_log_var(&e)
               : vaecl_fail("out of host memory scoring %zu images", data->count);
  double last = vaecl_seconds();
  for (size_t first = 0; rc == 0 && first < data->count; first += B) {
    const size_t n = data->count - first < B ? data->count - first : B;
    rc = score_batch(&e, first, n, all + first);
    const double now = vaecl_seconds();
    if (rc == 0 && opt->on_progress && opt->progress_interval > 0 &&
        now - last >= opt->progress_interval) {
      opt->on_progress(opt->user, first + n, data->count);
      last = now;
    }
  }
  if (rc == 0 && summary)
    summarise(&e, all, summary);
  if (all != per_image)
    free(all);
  free(e.stats);
  free(e.z);
  free(e.out);
  free(e.log_w);
  free(e.recon);
  free(e.prior_ratio);
  return rc;
}
