/* vaecl_evaluate against an independent computation: the per-image reconstruction, KL and IWAE
 * bound, and their means, from the plain-C double-precision VAE (tests/ref_vae.c, built on the
 * reference ops) with the noise the header documents; for both likelihoods (a fixed and a
 * learned Gaussian variance), kl_weight != 1, RGB, and batches that split images and draws. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_vae.h"
#include "testdevice.h"
#include "testutil.h"
#include "util/philox.h"
#include <vaecl.h>
#include <vaecl/evaluate.h>
#include <vaecl/graph.h>

static const char *const models[] = {
    /* Bernoulli, RGB, convolutions both ways, beta 0.5 */
    "input 7 7 3\n"
    "encoder\n"
    "conv2d filters=4 kernel=3 stride=2 padding=same activation=relu\n"
    "flatten\n"
    "dense units=6 activation=leaky_relu alpha=0.3\n"
    "latent 2\n"
    "decoder\n"
    "dense units=32 activation=relu\n"
    "reshape 4 4 2\n"
    "conv2d_transpose filters=3 kernel=3 stride=2 padding=valid activation=tanh\n"
    "conv2d filters=3 kernel=3 stride=1 padding=valid activation=sigmoid\n"
    "output bernoulli\n"
    "kl_weight 0.5\n",
    /* Gaussian with sigma 0.5, beta 2 */
    "input 6 6 1\n"
    "encoder\n"
    "conv2d filters=3 kernel=3 stride=2 padding=same activation=sigmoid\n"
    "flatten\n"
    "latent 3\n"
    "decoder\n"
    "dense units=36 activation=tanh\n"
    "reshape 6 6 1\n"
    "conv2d_transpose filters=1 kernel=3 stride=1 padding=same\n"
    "output gaussian sigma=0.5\n"
    "kl_weight 2\n",
    /* Gaussian with a learned variance, dense only, two channels */
    "input 5 5 2\n"
    "encoder\n"
    "flatten\n"
    "dense units=7 activation=sigmoid\n"
    "latent 2\n"
    "decoder\n"
    "dense units=8 activation=tanh\n"
    "dense units=50 activation=sigmoid\n"
    "reshape 5 5 2\n"
    "output gaussian variance=learned\n",
};
#define MODEL_COUNT ((int)(sizeof models / sizeof models[0]))

enum { IMAGES = 5, SAMPLES = 3 };
static const double log_2pi = 1.8378770664093454836; /* log(2 pi) */

/* The reference's answer for one image: -log p(x|z_k) for each draw from ref_vae_loss at batch
 * 1, the exact KL, and the log-weights from the Gaussian densities written out in full. */
typedef struct {
  double recon, kl, iwae, scale; /* scale: the largest sum of |terms| behind one log-weight */
} expected;

static expected reference(const ref_vae *r, double *const *params, const double *x, int L,
                          uint64_t seed, size_t index) {
  expected e = {0};
  double logw[SAMPLES], eps[16], stats[32];
  for (int k = 0; k < SAMPLES; k++) {
    for (int j = 0; j < L; j++)
      eps[j] = vaecl_philox_normal(seed, VAECL_EVAL_STREAM + index, (uint32_t)(k * L + j));
    double recon, kl;
    ref_vae_loss(r, 1, params, x, eps, NULL, &recon, &kl, stats);
    double log_p = 0, log_q = 0, mag = 0;
    for (int j = 0; j < L; j++) {
      const double mu = stats[j], lv = stats[L + j], z = mu + exp(0.5 * lv) * eps[j];
      log_p += -0.5 * z * z - 0.5 * log_2pi;
      log_q += -0.5 * (z - mu) * (z - mu) / exp(lv) - 0.5 * lv - 0.5 * log_2pi;
      mag += 0.5 * (z * z + eps[j] * eps[j] + fabs(lv)) + log_2pi;
    }
    logw[k] = -recon + log_p - log_q;
    e.recon += recon / SAMPLES;
    e.kl = kl;
    e.scale = fmax(e.scale, fabs(recon) + mag);
  }
  double m = logw[0], s = 0;
  for (int k = 1; k < SAMPLES; k++)
    m = fmax(m, logw[k]);
  for (int k = 0; k < SAMPLES; k++)
    s += exp(logw[k] - m);
  e.iwae = -(m + log(s / SAMPLES));
  return e;
}

/* Random weights (the model's Glorot draw), random biases, a learned log-variance of -0.4; the
 * reference gets the same float values. */
static double **copy_params(vaecl_model *m, const ref_vae *r) {
  const int nt = ref_vae_tensor_count(r);
  ck_assert_uint_eq(vaecl_model_tensor_count(m), (size_t)nt);
  double **p = calloc((size_t)nt, sizeof *p);
  for (int i = 0; i < nt; i++) {
    const size_t n = vaecl_model_tensor_size(m, (size_t)i);
    ck_assert_uint_eq(n, ref_vae_tensor_size(r, i));
    float *tmp = malloc(n * sizeof *tmp);
    p[i] = malloc(n * sizeof **p);
    test_rng g = test_rng_new(200 + (uint64_t)i);
    ck_assert_int_eq(vaecl_model_read_param(m, (size_t)i, tmp), 0);
    const int log_var = !strcmp(vaecl_model_tensor_name(m, (size_t)i), "output.log_var");
    for (size_t j = 0; j < n; j++)
      tmp[j] = log_var ? -0.4f : i % 2 ? (float)test_rng_uniform(&g, -0.3, 0.3) : tmp[j];
    ck_assert_int_eq(vaecl_model_write_param(m, (size_t)i, tmp), 0);
    for (size_t j = 0; j < n; j++)
      p[i][j] = tmp[j];
    free(tmp);
  }
  return p;
}

static void check_model(int model, int max_batch) {
  vaecl_model_spec spec;
  ck_assert_msg(vaecl_model_spec_parse(models[model], "eval model", &spec) == 0, "%s",
                vaecl_last_error());
  ref_vae *r = ref_vae_create(&spec);
  vaecl_model *m = vaecl_model_create(be, &spec, max_batch, 3);
  ck_assert_msg(m, "%s", vaecl_last_error());
  double **params = copy_params(m, r);
  const size_t D = ref_vae_image_size(r);
  const int L = spec.latent;
  vaecl_dataset data = {
      .count = IMAGES, .rows = spec.input.h, .cols = spec.input.w, .channels = spec.input.c};
  data.pixels = malloc(IMAGES * D);
  test_rng g = test_rng_new(17);
  for (size_t i = 0; i < IMAGES * D; i++)
    data.pixels[i] = (uint8_t)test_rng_uniform(&g, 0, 256);
  data.pixels[0] = 0, data.pixels[1] = 255; /* both ends of the byte range */
  vaecl_eval_options o = vaecl_eval_defaults();
  o.samples = SAMPLES;
  o.seed = 12345;
  vaecl_image_score got[IMAGES];
  vaecl_eval_summary sum;
  ck_assert_msg(vaecl_evaluate(m, be, &data, &o, got, &sum) == 0, "%s", vaecl_last_error());
  double *x = malloc(D * sizeof *x), mean_rec = 0, mean_kl = 0, mean_iwae = 0;
  size_t other_outside = 0;
  for (size_t i = 0; i < IMAGES; i++) {
    for (size_t p = 0; p < D; p++) /* the training's image values: bytes / 255 in float */
      x[p] = (float)data.pixels[i * D + p] * (1.0f / 255.0f);
    const expected e = reference(r, params, x, L, o.seed, i);
    /* The device runs the layers in float32. A dot product of n terms is within n*u of the sum
     * of its terms' magnitudes (Higham, u = 2^-24); these layers have n <= 64, so each is within
     * 3.8e-6 of that sum, and four layers with Lipschitz-1 activations within ~1.5e-5. A logit's
     * error moves a pixel's -log p(x|z) by at most |sigmoid(l) - x| <= 1 times it (Bernoulli)
     * or |x - mu| / sigma^2 <= 4 times it (Gaussian, sigma >= 0.5 here), and the encoder's error
     * moves z and the KL the same way; so 4 * 1.5e-5 = 6e-5 < 1e-4 of the terms' magnitudes
     * bounds every difference.
     * The log-sum-exp is 1-Lipschitz in its largest argument, so the IWAE bound gets the same
     * tolerance as a single log-weight. A wrong term (a missing log(2 pi), another draw, the
     * wrong variance) is off by far more. */
    const double tol = 1e-4 * e.scale;
    ck_assert_msg(fabs(got[i].reconstruction - e.recon) <= tol,
                  "model %d image %zu: reconstruction %.9g, reference %.9g (tolerance %.3g)", model,
                  i, got[i].reconstruction, e.recon, tol);
    ck_assert_msg(fabs(got[i].kl - e.kl) <= tol, "model %d image %zu: kl %.9g, reference %.9g",
                  model, i, got[i].kl, e.kl);
    ck_assert_msg(fabs(got[i].iwae - e.iwae) <= tol,
                  "model %d image %zu: iwae %.9g, reference %.9g (tolerance %.3g)", model, i,
                  got[i].iwae, e.iwae, tol);
    /* The negative control: another draw of the noise must fall outside the tolerance. */
    const expected other = reference(r, params, x, L, o.seed + 1, i);
    other_outside += fabs(got[i].reconstruction - other.recon) > tol;
    mean_rec += e.recon / IMAGES;
    mean_kl += e.kl / IMAGES;
    mean_iwae += e.iwae / IMAGES;
  }
  ck_assert_msg(other_outside == IMAGES,
                "model %d: only %zu of %d images tell another noise draw from this one", model,
                other_outside, (int)IMAGES);
  /* The summary: means of the same figures, the loss with beta, the ELBO without. */
  const double beta = spec.kl_weight, stol = 1e-4 * (fabs(mean_rec) + fabs(mean_kl) + 1);
  ck_assert_uint_eq(sum.count, IMAGES);
  ck_assert_uint_eq(sum.dims, D);
  ck_assert_int_eq(sum.samples, SAMPLES);
  ck_assert(fabs(sum.reconstruction - mean_rec) <= stol && fabs(sum.kl - mean_kl) <= stol);
  ck_assert(fabs(sum.iwae - mean_iwae) <= stol * 2);
  ck_assert_msg(fabs(sum.loss - (mean_rec + beta * mean_kl)) <= stol * (1 + beta), "loss %.9g",
                sum.loss);
  ck_assert_msg(fabs(sum.neg_elbo - (mean_rec + mean_kl)) <= stol * 2, "neg_elbo %.9g",
                sum.neg_elbo);
  /* bits per dimension: nats / (D ln 2) */
  ck_assert(fabs(vaecl_bits_per_dim(sum.iwae, D) - sum.iwae / (D * 0.69314718055994531)) <=
            1e-12 * fabs(sum.iwae));
  /* The same seed gives the same figures; another seed other draws. */
  vaecl_image_score again[IMAGES];
  ck_assert_int_eq(vaecl_evaluate(m, be, &data, &o, again, NULL), 0);
  ck_assert(memcmp(got, again, sizeof got) == 0);
  o.seed = 54321;
  ck_assert_int_eq(vaecl_evaluate(m, be, &data, &o, again, NULL), 0);
  ck_assert(again[0].iwae != got[0].iwae && again[0].kl == got[0].kl);
  free(x);
  free(data.pixels);
  for (int i = 0; i < ref_vae_tensor_count(r); i++)
    free(params[i]);
  free(params);
  vaecl_model_destroy(m);
  ref_vae_destroy(r);
  vaecl_model_spec_free(&spec);
}

/* Batches of 2 split the 5 images and their 3 draws across decoder passes; batches of 8 hold
 * all 5 images but not all 15 draws. */
START_TEST(scores_match_reference) {
  check_model(_i / 2, _i % 2 ? 8 : 2);
}
END_TEST

START_TEST(bad_requests_are_refused) {
  vaecl_model_spec spec;
  ck_assert_int_eq(vaecl_model_spec_parse(models[0], "eval model", &spec), 0);
  vaecl_model *m = vaecl_model_create(be, &spec, 2, 3);
  ck_assert_ptr_nonnull(m);
  uint8_t px[6 * 6] = {0};
  vaecl_dataset grey = {.pixels = px, .count = 1, .rows = 6, .cols = 6, .channels = 1};
  vaecl_eval_options o = vaecl_eval_defaults();
  ck_assert_int_eq(vaecl_evaluate(m, be, &grey, &o, NULL, NULL), -1);
  ck_assert_msg(strstr(vaecl_last_error(), "6x6x1") && strstr(vaecl_last_error(), "7x7x3"), "%s",
                vaecl_last_error());
  o.samples = 0;
  ck_assert_int_eq(vaecl_evaluate(m, be, &grey, &o, NULL, NULL), -1);
  ck_assert_msg(strstr(vaecl_last_error(), "samples"), "%s", vaecl_last_error());
  float stats[4];
  ck_assert_int_eq(vaecl_encode_images(m, be, &grey, 0, 1, stats), -1);
  vaecl_model_destroy(m);
  vaecl_model_spec_free(&spec);
}
END_TEST

int main(void) {
  Suite *s = suite_create("evaluate");
  TCase *tc = tcase_create("evaluate");
  tcase_add_unchecked_fixture(tc, test_device_setup, test_device_teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, scores_match_reference, 0, 2 * MODEL_COUNT);
  tcase_add_test(tc, bad_requests_are_refused);
  suite_add_tcase(s, tc);
  return vaecl_test_run(s);
}
