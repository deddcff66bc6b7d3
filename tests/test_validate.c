/* Validation during training: the held-out split (reproducible, disjoint, complete), the
 * forward-only loss against the double-precision reference VAE (tests/ref_vae.c), and that
 * validating changes nothing about training; the checkpoint's validation note. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_vae.h"
#include "testdevice.h"
#include "testutil.h"
#include "util/philox.h"
#include <vaecl.h>
#include <vaecl/checkpoint.h>
#include <vaecl/train.h>
#include <vaecl/validate.h>

/* A Bernoulli model with beta != 1, a Gaussian with a fixed sigma and one with a learned
 * variance: every reconstruction term and the KL weighting. */
static const char *const models[] = {
    "input 6 6 1\n"
    "encoder\n"
    "conv2d filters=3 kernel=3 stride=2 padding=same activation=relu\n"
    "flatten\n"
    "dense units=8 activation=tanh\n"
    "latent 3\n"
    "decoder\n"
    "dense units=27 activation=relu\n"
    "reshape 3 3 3\n"
    "conv2d_transpose filters=1 kernel=3 stride=2 padding=same activation=sigmoid\n"
    "output bernoulli\n"
    "kl_weight 0.5\n",
    "input 5 5 2\n"
    "encoder\n"
    "flatten\n"
    "dense units=7 activation=relu\n"
    "latent 2\n"
    "decoder\n"
    "dense units=50 activation=sigmoid\n"
    "reshape 5 5 2\n"
    "output gaussian sigma=0.5\n",
    "input 4 4 3\n"
    "encoder\n"
    "flatten\n"
    "dense units=6 activation=leaky_relu\n"
    "latent 4\n"
    "decoder\n"
    "dense units=48 activation=tanh\n"
    "reshape 4 4 3\n"
    "output gaussian variance=learned\n",
};
#define MODEL_COUNT ((int)(sizeof models / sizeof models[0]))

static vaecl_model_spec parse(int i) {
  vaecl_model_spec s;
  ck_assert_msg(vaecl_model_spec_parse(models[i], "test", &s) == 0, "%s", vaecl_last_error());
  return s;
}

/* count images of the model's shape with pseudo-random bytes and labels k % 3. */
static vaecl_dataset synthetic(const vaecl_model_spec *s, size_t count, uint64_t seed) {
  vaecl_dataset d = {.count = count, .rows = s->input.h, .cols = s->input.w};
  d.channels = s->input.c;
  d.class_count = 3;
  const size_t ppi = vaecl_dataset_image_size(&d);
  d.pixels = malloc(count * ppi);
  d.labels = malloc(count);
  ck_assert(d.pixels && d.labels);
  test_rng r = test_rng_new(seed);
  for (size_t i = 0; i < count * ppi; i++)
    d.pixels[i] = (uint8_t)test_rng_uniform(&r, 0, 256);
  for (size_t i = 0; i < count; i++)
    d.labels[i] = (uint8_t)(i % 3);
  return d;
}

/* ---- the split ---- */

/* Image i carries its index in its first four bytes, so parts can be traced back. */
static size_t index_of(const vaecl_dataset *d, size_t k) {
  const uint8_t *p = d->pixels + k * vaecl_dataset_image_size(d);
  return (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
}

static vaecl_dataset indexed(size_t count) {
  vaecl_dataset d = {.count = count, .rows = 2, .cols = 2, .channels = 1, .class_count = 7};
  d.pixels = malloc(count * 4);
  d.labels = malloc(count);
  ck_assert(d.pixels && d.labels);
  for (size_t i = 0; i < count; i++) {
    for (int b = 0; b < 4; b++)
      d.pixels[4 * i + b] = (uint8_t)(i >> (8 * b));
    d.labels[i] = (uint8_t)(i % 7);
  }
  return d;
}

START_TEST(split_is_reproducible_disjoint_and_complete) {
  const size_t n = 1000;
  const double fractions[] = {0.1, 0.25, 0.5, 0.0004, 0.9999};
  vaecl_dataset all = indexed(n);
  for (size_t f = 0; f < sizeof fractions / sizeof *fractions; f++) {
    vaecl_dataset tr, va, tr2, va2, tr3, va3;
    ck_assert_msg(vaecl_dataset_split(&all, fractions[f], 7, &tr, &va) == 0, "%s",
                  vaecl_last_error());
    /* round(F n), but never an empty side */
    const double want = fmin(fmax(floor(fractions[f] * n + 0.5), 1.0), (double)n - 1);
    ck_assert_uint_eq(va.count, (size_t)want);
    ck_assert_uint_eq(tr.count + va.count, n);
    unsigned char *seen = calloc(n, 1);
    for (int part = 0; part < 2; part++) {
      const vaecl_dataset *d = part ? &va : &tr;
      ck_assert_int_eq(d->class_count, 7);
      for (size_t k = 0; k < d->count; k++) {
        const size_t i = index_of(d, k);
        ck_assert_uint_lt(i, n);
        ck_assert_msg(!seen[i], "image %zu is in both parts", i);
        seen[i] = 1;
        ck_assert_uint_eq(d->labels[k], i % 7);
        if (k > 0) /* the original order */
          ck_assert_uint_gt(i, index_of(d, k - 1));
      }
    }
    free(seen);
    ck_assert_int_eq(vaecl_dataset_split(&all, fractions[f], 7, &tr2, &va2), 0);
    ck_assert_uint_eq(va2.count, va.count);
    ck_assert_mem_eq(va2.pixels, va.pixels, va.count * 4);
    /* another seed holds out other images (for more than a handful of them) */
    ck_assert_int_eq(vaecl_dataset_split(&all, fractions[f], 8, &tr3, &va3), 0);
    ck_assert_uint_eq(va3.count, va.count);
    if (va.count >= 10 && tr.count >= 10)
      ck_assert_msg(memcmp(va3.pixels, va.pixels, va.count * 4) != 0,
                    "seeds 7 and 8 held out the same images");
    vaecl_dataset *parts[] = {&tr, &va, &tr2, &va2, &tr3, &va3};
    for (int i = 0; i < 6; i++)
      vaecl_dataset_free(parts[i]);
  }
  /* the held-out images look random: about F of the first half, not the first F n */
  vaecl_dataset tr, va;
  ck_assert_int_eq(vaecl_dataset_split(&all, 0.5, 1, &tr, &va), 0);
  size_t low = 0;
  for (size_t k = 0; k < va.count; k++)
    low += index_of(&va, k) < n / 2;
  ck_assert_msg(low > 200 && low < 300, "%zu of 500 held out from the first half", low);
  vaecl_dataset_free(&tr);
  vaecl_dataset_free(&va);
  vaecl_dataset_free(&all);
}
END_TEST

START_TEST(split_refuses_what_it_cannot_do) {
  vaecl_dataset all = indexed(1), tr, va;
  ck_assert_int_eq(vaecl_dataset_split(&all, 0.5, 1, &tr, &va), -1);
  ck_assert_ptr_nonnull(strstr(vaecl_last_error(), "1 images cannot be split"));
  vaecl_dataset_free(&all);
  all = indexed(10);
  ck_assert_int_eq(vaecl_dataset_split(&all, 0.0, 1, &tr, &va), -1);
  ck_assert_int_eq(vaecl_dataset_split(&all, 1.0, 1, &tr, &va), -1);
  ck_assert_int_eq(vaecl_dataset_split(&all, NAN, 1, &tr, &va), -1);
  ck_assert_ptr_nonnull(strstr(vaecl_last_error(), "not between 0 and 1"));
  ck_assert_ptr_null(tr.pixels);
  ck_assert_ptr_null(va.pixels);
  vaecl_dataset_free(&all);
}
END_TEST

/* ---- the loss against the reference ---- */

typedef struct {
  double recon, kl;
} pair;

/* The reference's mean over the data set, noise for batch k at (key, k + shift). */
static pair reference_loss(const ref_vae *r, double *const *params, const vaecl_dataset *d,
                           int batch, uint64_t key, uint64_t shift, double *kl_terms) {
  const size_t ppi = ref_vae_image_size(r);
  const int L = ref_vae_latent(r);
  double *img = malloc((size_t)batch * ppi * sizeof *img);
  double *eps = malloc((size_t)batch * L * sizeof *eps);
  double *stats = malloc((size_t)batch * 2 * L * sizeof *stats);
  pair sum = {0, 0};
  *kl_terms = 0;
  for (size_t first = 0, k = 0; first < d->count; first += (size_t)batch, k++) {
    const int n = (int)(d->count - first < (size_t)batch ? d->count - first : (size_t)batch);
    for (size_t i = 0; i < (size_t)n * ppi; i++)
      img[i] = d->pixels[first * ppi + i] / 255.0;
    for (int i = 0; i < n * L; i++)
      eps[i] = vaecl_philox_normal(key, k + shift, (uint32_t)i);
    double recon, kl;
    ref_vae_loss(r, n, params, img, eps, NULL, &recon, &kl, stats);
    sum.recon += recon * n;
    sum.kl += kl * n;
    for (int i = 0; i < n * L; i++) { /* the magnitudes the KL's float terms have */
      const double mu = stats[(i / L) * 2 * L + i % L], lv = stats[(i / L) * 2 * L + L + i % L];
      *kl_terms += 1 + fabs(lv) + mu * mu + exp(lv);
    }
  }
  free(img);
  free(eps);
  free(stats);
  *kl_terms /= (double)d->count;
  return (pair){sum.recon / (double)d->count, sum.kl / (double)d->count};
}

static double **read_params(vaecl_model *m, const ref_vae *r) {
  const int nt = ref_vae_tensor_count(r);
  ck_assert_uint_eq(vaecl_model_tensor_count(m), (size_t)nt);
  double **p = calloc((size_t)nt, sizeof *p);
  for (int i = 0; i < nt; i++) {
    const size_t n = vaecl_model_tensor_size(m, (size_t)i);
    ck_assert_uint_eq(n, ref_vae_tensor_size(r, i));
    float *tmp = malloc(n * sizeof *tmp);
    test_rng g = test_rng_new(300 + (uint64_t)i);
    ck_assert_int_eq(vaecl_model_read_param(m, (size_t)i, tmp), 0);
    /* nonzero biases, and a learned log-variance away from its initial 0 */
    for (size_t j = 0; j < n; j++)
      if (i % 2 || i == 2 * (nt / 2))
        tmp[j] = i == 2 * (nt / 2) ? -0.4f : (float)test_rng_uniform(&g, -0.2, 0.2);
    ck_assert_int_eq(vaecl_model_write_param(m, (size_t)i, tmp), 0);
    p[i] = malloc(n * sizeof(double));
    for (size_t j = 0; j < n; j++)
      p[i][j] = tmp[j];
    free(tmp);
  }
  return p;
}

/* 10 images in batches of 4: two full batches and a short one, which must weigh by its
 * images (a mean of batch means would not). */
START_TEST(validation_loss_matches_reference) {
  vaecl_model_spec spec = parse(_i);
  ref_vae *r = ref_vae_create(&spec);
  const int batch = 4;
  const uint64_t seed = 11;
  vaecl_model *m = vaecl_model_create(be, &spec, batch, seed);
  ck_assert_msg(m, "%s", vaecl_last_error());
  double **params = read_params(m, r);
  vaecl_dataset d = synthetic(&spec, 10, 5 + (uint64_t)_i);
  double recon, kl, kl_terms;
  ck_assert_msg(vaecl_validate(m, be, &d, batch, seed, &recon, &kl) == 0, "%s", vaecl_last_error());
  const uint64_t key = seed ^ VAECL_VALIDATION_KEY;
  const pair want = reference_loss(r, params, &d, batch, key, 0, &kl_terms);
  /* Rounding bound: every sum of n float terms is off by at most n u of its terms' magnitude
   * (u = 2^-24, first order); the error of a value is bounded by the fan-ins on its path
   * through the layers plus the pixels and batch the loss sums over. The loss terms are all
   * positive, so relative to the total; the factor 4 covers each activation's and loss
   * element's own rounding. The KL cancels (1 + lv - mu^2 - e^lv), so its bound is absolute,
   * on the magnitudes of those terms. */
  double path = (double)batch * (double)ref_vae_image_size(r) + batch * spec.latent;
  for (int i = 0; i < ref_vae_tensor_count(r); i++) {
    double fan_in, fan_out;
    ref_vae_tensor_fans(r, i, &fan_in, &fan_out);
    path += fan_in;
  }
  const double u = FLT_EPSILON / 2, recon_tol = 4 * path * u * fabs(want.recon),
               kl_tol = 4 * path * u * kl_terms;
  printf("%s: recon %.9g vs %.9g (tol %.3g), kl %.9g vs %.9g (tol %.3g)\n", spec.source, recon,
         want.recon, recon_tol, kl, want.kl, kl_tol);
  ck_assert_msg(fabs(recon - want.recon) <= recon_tol, "recon %.9g vs reference %.9g", recon,
                want.recon);
  ck_assert_msg(fabs(kl - want.kl) <= kl_tol, "kl %.9g vs reference %.9g", kl, want.kl);
  /* The tolerance can tell the right noise from the next batch's noise. */
  const pair other = reference_loss(r, params, &d, batch, key, 1, &kl_terms);
  ck_assert_msg(fabs(other.recon - want.recon) > recon_tol,
                "other noise gives %.9g: the test cannot see the noise", other.recon);
  /* Deterministic: the same figures again. */
  double recon2, kl2;
  ck_assert_int_eq(vaecl_validate(m, be, &d, batch, seed, &recon2, &kl2), 0);
  ck_assert(recon2 == recon && kl2 == kl);
  for (int i = 0; i < ref_vae_tensor_count(r); i++)
    free(params[i]);
  free(params);
  vaecl_dataset_free(&d);
  vaecl_model_destroy(m);
  ref_vae_destroy(r);
  vaecl_model_spec_free(&spec);
}
END_TEST

START_TEST(validation_refuses_bad_arguments) {
  vaecl_model_spec spec = parse(0);
  vaecl_model *m = vaecl_model_create(be, &spec, 4, 1);
  vaecl_dataset d = synthetic(&spec, 3, 1);
  double recon, kl;
  ck_assert_int_eq(vaecl_validate(m, be, &d, 5, 1, &recon, &kl), -1);
  ck_assert_ptr_nonnull(strstr(vaecl_last_error(), "batches of up to 4"));
  d.cols = 5;
  ck_assert_int_eq(vaecl_validate(m, be, &d, 4, 1, &recon, &kl), -1);
  ck_assert_ptr_nonnull(strstr(vaecl_last_error(), "do not fit the model"));
  d.cols = 6;
  vaecl_model_destroy(m);
  vaecl_dataset_free(&d);
  vaecl_model_spec_free(&spec);
}
END_TEST

/* ---- training with validation ---- */

#define EPOCHS 3
typedef struct {
  vaecl_epoch_metrics e[EPOCHS];
  int n;
} epochs_seen;

static void keep(void *user, const vaecl_epoch_metrics *e) {
  epochs_seen *s = user;
  ck_assert_int_lt(s->n, EPOCHS);
  s->e[s->n++] = *e;
}

static float *all_params(vaecl_model *m, size_t *total) {
  *total = vaecl_model_parameter_count(m);
  float *p = malloc(*total * sizeof *p), *at = p;
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++) {
    ck_assert_int_eq(vaecl_model_read_param(m, i, at), 0);
    at += vaecl_model_tensor_size(m, i);
  }
  return p;
}

START_TEST(validation_leaves_training_unchanged) {
  vaecl_model_spec spec = parse(0);
  vaecl_dataset all = synthetic(&spec, 50, 3), tr, va;
  ck_assert_int_eq(vaecl_dataset_split(&all, 0.2, 9, &tr, &va), 0);
  char *dir = test_make_temp_dir("validate");
  char path[4200];
  snprintf(path, sizeof path, "%s/v.ckpt", dir);
  epochs_seen plain = {0}, checked = {0};
  vaecl_train_options opt = vaecl_train_defaults();
  opt.epochs = EPOCHS;
  opt.batch = 16; /* 40 images: a short last batch */
  opt.seed = 9;
  opt.callbacks.on_epoch_end = keep;
  vaecl_model *a = vaecl_model_create(be, &spec, 16, 9), *b = vaecl_model_create(be, &spec, 16, 9);
  opt.callbacks.user = &plain;
  ck_assert_msg(vaecl_train(a, be, &tr, &opt, 0, NULL) == 0, "%s", vaecl_last_error());
  opt.callbacks.user = &checked;
  opt.val_data = &va;
  opt.out_path = path;
  opt.validation_note = "split 0.2 50";
  ck_assert_msg(vaecl_train(b, be, &tr, &opt, 0, NULL) == 0, "%s", vaecl_last_error());
  size_t na, nb;
  float *pa = all_params(a, &na), *pb = all_params(b, &nb);
  ck_assert_uint_eq(na, nb);
  ck_assert_msg(memcmp(pa, pb, na * sizeof *pa) == 0, "validation changed the weights");
  ck_assert_int_eq(plain.n, EPOCHS);
  ck_assert_int_eq(checked.n, EPOCHS);
  for (int e = 0; e < EPOCHS; e++) {
    ck_assert_int_eq(plain.e[e].has_val, 0);
    ck_assert_int_eq(checked.e[e].has_val, 1);
    ck_assert(plain.e[e].loss == checked.e[e].loss);
    ck_assert(plain.e[e].kl_loss == checked.e[e].kl_loss);
    ck_assert(isfinite(checked.e[e].val_loss) && checked.e[e].val_kl_loss > 0);
    ck_assert_double_eq_tol(checked.e[e].val_loss,
                            checked.e[e].val_reconstruction_loss + 0.5 * checked.e[e].val_kl_loss,
                            1e-12 * checked.e[e].val_loss);
  }
  /* the last epoch's figures are those of the final weights */
  double recon, kl;
  ck_assert_int_eq(vaecl_validate(b, be, &va, 16, 9, &recon, &kl), 0);
  ck_assert(recon == checked.e[EPOCHS - 1].val_reconstruction_loss);
  ck_assert(kl == checked.e[EPOCHS - 1].val_kl_loss);
  /* the checkpoint keeps the note for --resume */
  vaecl_checkpoint ck;
  ck_assert_msg(vaecl_checkpoint_load(path, &ck) == 0, "%s", vaecl_last_error());
  ck_assert_ptr_nonnull(ck.validation);
  ck_assert_str_eq(ck.validation, "split 0.2 50");
  vaecl_checkpoint_free(&ck);
  /* and a run without validation writes none */
  opt.validation_note = NULL;
  opt.val_data = NULL;
  opt.callbacks.on_epoch_end = NULL;
  opt.epochs = EPOCHS + 1;
  ck_assert_int_eq(vaecl_train(b, be, &tr, &opt, EPOCHS, NULL), 0);
  ck_assert_msg(vaecl_checkpoint_load(path, &ck) == 0, "%s", vaecl_last_error());
  ck_assert_ptr_null(ck.validation);
  vaecl_checkpoint_free(&ck);
  free(pa);
  free(pb);
  test_remove_tree(dir);
  free(dir);
  vaecl_model_destroy(a);
  vaecl_model_destroy(b);
  vaecl_dataset *ds[] = {&all, &tr, &va};
  for (int i = 0; i < 3; i++)
    vaecl_dataset_free(ds[i]);
  vaecl_model_spec_free(&spec);
}
END_TEST

int main(void) {
  Suite *s = suite_create("validate");
  TCase *tc = tcase_create("validate");
  tcase_add_checked_fixture(tc, test_device_setup, test_device_teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, split_is_reproducible_disjoint_and_complete);
  tcase_add_test(tc, split_refuses_what_it_cannot_do);
  tcase_add_loop_test(tc, validation_loss_matches_reference, 0, MODEL_COUNT);
  tcase_add_test(tc, validation_refuses_bad_arguments);
  tcase_add_test(tc, validation_leaves_training_unchanged);
  suite_add_tcase(s, tc);
  return vaecl_test_run(s);
}
