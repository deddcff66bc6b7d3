/* The device graph against the double-precision plain-C VAE (tests/ref_vae.c), for
 * a list of small model texts that together cover every layer kind, stride, kernel
 * size, padding, activation and likelihood, and for every shipped model file in
 * data/models/: losses, every parameter gradient, partial batches, Adam,
 * encode/decode, Glorot initialisation and checkpoints; and the reference itself
 * against finite differences. Nothing here is specific to one model. */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_ops.h"
#include "ref_vae.h"
#include "testdevice.h"
#include "testutil.h"
#include "util/philox.h"
#include <vaecl.h>

#include <vaecl/graph.h>

/* Small enough for finite differences of every entry; between them: conv2d and
 * conv2d_transpose with strides 1 and 2, kernels 1, 3, 4 and 5, both paddings, odd
 * image sizes, several channels, dense, flatten, reshape, every activation, both
 * likelihoods (Gaussian with a fixed and a learned variance) and kl_weight != 1. */
static const char *const small_models[] = {
    /* RGB 7x7; 'same' stride 2 on an odd size (pad 1), a 1x1 conv, a 'valid'
     * stride-2 transpose growing 4 -> 9 and a 'valid' conv back to 7. */
    "vaecl-model 1\n"
    "input 7 7 3\n"
    "encoder\n"
    "conv2d filters=4 kernel=3 stride=2 padding=same activation=relu\n"
    "conv2d filters=5 kernel=1 activation=tanh\n"
    "flatten\n"
    "dense units=6 activation=leaky_relu alpha=0.3\n"
    "latent 2\n"
    "decoder\n"
    "dense units=32 activation=relu\n"
    "reshape 4 4 2\n"
    "conv2d_transpose filters=3 kernel=3 stride=2 padding=valid activation=leaky_relu alpha=0.3\n"
    "conv2d filters=3 kernel=3 stride=1 padding=valid activation=sigmoid\n"
    "output bernoulli\n"
    "kl_weight 0.5\n",
    /* 9x9; a 5x5 'valid' stride-2 conv, 'same' stride 1, a 'valid' stride-2 5x5
     * transpose (3 -> 9) and a 'same' stride-1 5x5 transpose (pad 2); a Gaussian
     * with sigma 0.5 whose mean is the last layer's linear output. */
    "input 9 9 1\n"
    "encoder\n"
    "conv2d filters=3 kernel=5 stride=2 padding=valid activation=sigmoid\n"
    "conv2d filters=4 kernel=3 stride=1 padding=same activation=none\n"
    "flatten\n"
    "latent 3\n"
    "decoder\n"
    "dense units=36 activation=tanh\n"
    "reshape 3 3 4\n"
    "conv2d_transpose filters=2 kernel=5 stride=2 padding=valid activation=relu\n"
    "conv2d_transpose filters=1 kernel=5 stride=1 padding=same\n"
    "output gaussian sigma=0.5\n"
    "kl_weight 2\n",
    /* Dense only, two channels, a learned output variance, leaky_relu's default. */
    "input 5 5 2\n"
    "encoder\n"
    "flatten\n"
    "dense units=7 activation=sigmoid\n"
    "dense units=6 activation=leaky_relu\n"
    "latent 2\n"
    "decoder\n"
    "dense units=8 activation=tanh\n"
    "dense units=50 activation=sigmoid\n"
    "reshape 5 5 2\n"
    "output gaussian variance=learned\n",
    /* 9x9x2; a 5x5 'same' stride-2 conv on an odd size (pad 2), a 'valid' stride-2
     * 3x3, a 'same' stride-2 5x5 transpose (pad 1), 'valid' stride-1 4x4 and 1x1
     * transposes. */
    "input 9 9 2\n"
    "encoder\n"
    "conv2d filters=3 kernel=5 stride=2 padding=same activation=relu\n"
    "conv2d filters=4 kernel=3 stride=2 padding=valid activation=leaky_relu alpha=0.3\n"
    "flatten\n"
    "dense units=5 activation=relu\n"
    "latent 2\n"
    "decoder\n"
    "dense units=18 activation=relu\n"
    "reshape 3 3 2\n"
    "conv2d_transpose filters=3 kernel=5 stride=2 padding=same activation=tanh\n"
    "conv2d_transpose filters=2 kernel=4 stride=1 padding=valid activation=relu\n"
    "conv2d_transpose filters=2 kernel=1 stride=1 activation=sigmoid\n"
    "output bernoulli\n"
    "kl_weight 0.25\n",
};
#define SMALL_COUNT ((int)(sizeof small_models / sizeof small_models[0]))

/* The shipped model files, found when the suite starts. */
#define MAX_SHIPPED 32
static char shipped[MAX_SHIPPED][1024];
static int shipped_count;

static int by_name(const void *a, const void *b) {
  return strcmp(a, b);
}

static void find_shipped_models(void) {
  const char *data = getenv("VAECL_TEST_DATA");
  char dir[900];
  snprintf(dir, sizeof dir, "%s/models", data ? data : "data");
  DIR *d = opendir(dir);
  if (!d)
    return;
  for (struct dirent *e; (e = readdir(d)) && shipped_count < MAX_SHIPPED;) {
    const size_t n = strlen(e->d_name);
    if (n > 4 && strcmp(e->d_name + n - 4, ".vae") == 0)
      snprintf(shipped[shipped_count++], sizeof shipped[0], "%s/%s", dir, e->d_name);
  }
  closedir(d);
  qsort(shipped, (size_t)shipped_count, sizeof shipped[0], by_name);
}

/* Model i: the small texts first, then the shipped files. */
static void load_spec(int i, vaecl_model_spec *spec) {
  int rc;
  if (i < SMALL_COUNT) {
    char name[32];
    snprintf(name, sizeof name, "small model %d", i);
    rc = vaecl_model_spec_parse(small_models[i], name, spec);
  } else {
    ck_assert_int_lt(i - SMALL_COUNT, shipped_count);
    rc = vaecl_model_spec_load(shipped[i - SMALL_COUNT], spec);
  }
  ck_assert_msg(rc == 0, "%s", vaecl_last_error());
}

static double **alloc_tensors(const ref_vae *r) {
  const int n = ref_vae_tensor_count(r);
  double **t = calloc((size_t)n, sizeof *t);
  for (int i = 0; i < n; i++)
    t[i] = calloc(ref_vae_tensor_size(r, i), sizeof(double));
  return t;
}

static void free_tensors(const ref_vae *r, double **t) {
  for (int i = 0; i < ref_vae_tensor_count(r); i++)
    free(t[i]);
  free(t);
}

typedef struct {
  vaecl_model_spec spec;
  ref_vae *ref;
  vaecl_model *m;
  int batch, latent;
  size_t image;
  double **params;
  double *images, *eps;
  vb_buf *dev_images;
} fixture;

static void setup_fixture(fixture *f, int model, int max_batch, int batch, uint64_t seed,
                          uint64_t step) {
  load_spec(model, &f->spec);
  f->ref = ref_vae_create(&f->spec);
  f->batch = batch;
  f->latent = f->spec.latent;
  f->image = ref_vae_image_size(f->ref);
  f->m = vaecl_model_create(be, &f->spec, max_batch, seed);
  ck_assert_msg(f->m, "%s", vaecl_last_error());
  const int nt = ref_vae_tensor_count(f->ref);
  ck_assert_uint_eq(vaecl_model_tensor_count(f->m), (size_t)nt);
  ck_assert_uint_eq(vaecl_model_image_size(f->m), f->image);
  f->params = alloc_tensors(f->ref);
  for (int i = 0; i < nt; i++) {
    const size_t n = vaecl_model_tensor_size(f->m, (size_t)i);
    ck_assert_msg(n == ref_vae_tensor_size(f->ref, i), "%s: %zu values, reference %zu",
                  vaecl_model_tensor_name(f->m, (size_t)i), n, ref_vae_tensor_size(f->ref, i));
    float *tmp = malloc(n * sizeof *tmp);
    /* Random biases too, so their gradients are not checked only at zero; a learned
     * log-variance away from its initial 0. */
    test_rng r = test_rng_new(100 + (uint64_t)i);
    ck_assert_int_eq(vaecl_model_read_param(f->m, (size_t)i, tmp), 0);
    for (size_t j = 0; j < n; j++)
      tmp[j] = i == 2 * (nt / 2) && nt % 2 ? -0.4f
               : i % 2                     ? (float)test_rng_uniform(&r, -0.1, 0.1)
                                           : tmp[j];
    ck_assert_int_eq(vaecl_model_write_param(f->m, (size_t)i, tmp), 0);
    for (size_t j = 0; j < n; j++)
      f->params[i][j] = tmp[j];
    free(tmp);
  }
  const size_t pixels = (size_t)batch * f->image;
  f->images = malloc(pixels * sizeof(double));
  float *fimg = malloc(pixels * sizeof *fimg);
  test_rng r = test_rng_new(7);
  for (size_t i = 0; i < pixels; i++)
    f->images[i] = fimg[i] = (float)test_rng_uniform(&r, 0.0, 1.0);
  f->dev_images = be->ops->alloc(be, pixels * sizeof *fimg);
  ck_assert_ptr_nonnull(f->dev_images);
  ck_assert_int_eq(be->ops->write(be, f->dev_images, 0, fimg, pixels * sizeof *fimg), 0);
  free(fimg);
  f->eps = malloc((size_t)batch * f->latent * sizeof(double));
  for (int i = 0; i < batch * f->latent; i++)
    f->eps[i] = vaecl_philox_normal(seed, step, (uint32_t)i);
}

static void teardown_fixture(fixture *f) {
  free_tensors(f->ref, f->params);
  free(f->images);
  free(f->eps);
  be->ops->release(be, f->dev_images);
  vaecl_model_destroy(f->m);
  ref_vae_destroy(f->ref);
  vaecl_model_spec_free(&f->spec);
}

static void check_gradients(int model, int max_batch, int batch) {
  fixture f;
  const uint64_t seed = 42, step = 5;
  setup_fixture(&f, model, max_batch, batch, seed, step);
  ck_assert_int_eq(vaecl_model_compute_gradients(f.m, f.dev_images, batch, step), 0);
  double sums[2], recon, kl;
  ck_assert_int_eq(vaecl_model_read_loss_sums(f.m, sums), 0);
  double **grads = alloc_tensors(f.ref);
  ref_vae_loss(f.ref, batch, f.params, f.images, f.eps, grads, &recon, &kl, NULL);
  /* float32 through a handful of layers: errors of a few 1e-6 relative; 1e-4 leaves
   * margin without hiding a wrong term (those are off by O(1)). */
  ck_assert_msg(fabs(sums[0] - recon) <= 1e-4 * fabs(recon), "%s: recon %g vs %g", f.spec.source,
                sums[0], recon);
  ck_assert_msg(fabs(sums[1] - kl) <= 1e-4 * fabs(kl) + 1e-6, "%s: kl %g vs %g", f.spec.source,
                sums[1], kl);
  for (int i = 0; i < ref_vae_tensor_count(f.ref); i++) {
    const size_t n = ref_vae_tensor_size(f.ref, i);
    float *dev = malloc(n * sizeof *dev);
    double *devd = malloc(n * sizeof *devd), scale = 0;
    ck_assert_int_eq(vaecl_model_read_grad(f.m, (size_t)i, dev), 0);
    for (size_t j = 0; j < n; j++) {
      devd[j] = dev[j];
      scale = fmax(scale, fabs(grads[i][j]));
    }
    /* Relative to the tensor's largest gradient: entries that are sums of many
     * cancelling float terms can't be held to their own magnitude. */
    size_t at;
    const double err = test_max_scaled_error(devd, grads[i], n, 1e-4 * scale, 1e-3, &at);
    ck_assert_msg(err <= 1.0, "%s: %s[%zu]: device %.8g vs reference %.8g (scaled error %.3g)",
                  f.spec.source, vaecl_model_tensor_name(f.m, (size_t)i), at, devd[at],
                  grads[i][at], err);
    ck_assert_msg(scale > 0, "%s: %s: all-zero gradient cannot test anything", f.spec.source,
                  vaecl_model_tensor_name(f.m, (size_t)i));
    free(dev);
    free(devd);
  }
  free_tensors(f.ref, grads);
  teardown_fixture(&f);
}

/* Every model, the shipped ones at batch 2 to keep the reference affordable. */
START_TEST(gradients_match_reference) {
  if (_i < SMALL_COUNT)
    check_gradients(_i, 3, 3);
  else
    check_gradients(_i, 2, 2);
}
END_TEST

/* A last, partial batch uses the first rows of buffers sized for the full one. */
START_TEST(partial_batch_gradients_match_reference) {
  check_gradients(_i, 4, 2);
}
END_TEST

/* Data-parallel training: shards [0,2), [2,2) (empty: it must zero the gradients the
 * first left behind) and [2,5) of a batch of 5, each scaled by 1/5 and drawing its
 * rows' noise, add up (in double, on the host) to the reference's whole-batch loss and
 * gradients. Each shard carries the float32 error of a whole batch (a few 1e-6 of the
 * tensor's largest entry, see check_gradients), so the sum of three stays far inside
 * check_gradients' bound; a wrong scale, row offset or stale gradient is off by O(1). */
START_TEST(shard_gradients_add_up_to_the_batch) {
  fixture f;
  enum { BATCH = 5 };
  const uint64_t seed = 42, step = 5;
  const int cuts[] = {0, 2, 2, 5};
  setup_fixture(&f, _i, BATCH, BATCH, seed, step);
  double **want = alloc_tensors(f.ref), **got = alloc_tensors(f.ref), recon, kl, loss[2] = {0, 0};
  ref_vae_loss(f.ref, BATCH, f.params, f.images, f.eps, want, &recon, &kl, NULL);
  for (int s = 0; s < 3; s++) {
    const int first = cuts[s], count = cuts[s + 1] - cuts[s];
    const size_t pixels = (size_t)count * f.image;
    float *rows = malloc((pixels ? pixels : 1) * sizeof *rows);
    for (size_t i = 0; i < pixels; i++)
      rows[i] = (float)f.images[(size_t)first * f.image + i];
    vb_buf *part = be->ops->alloc(be, (pixels ? pixels : 1) * sizeof *rows);
    ck_assert_ptr_nonnull(part);
    ck_assert_int_eq(pixels ? be->ops->write(be, part, 0, rows, pixels * sizeof *rows) : 0, 0);
    double sums[2];
    ck_assert_int_eq(vaecl_model_reset_loss_sums(f.m), 0);
    ck_assert_msg(vaecl_model_compute_shard_gradients(f.m, part, count, first, BATCH, step) == 0,
                  "%s", vaecl_last_error());
    ck_assert_int_eq(vaecl_model_read_loss_sums(f.m, sums), 0);
    loss[0] += sums[0];
    loss[1] += sums[1];
    for (int i = 0; i < ref_vae_tensor_count(f.ref); i++) {
      const size_t n = ref_vae_tensor_size(f.ref, i);
      float *g = malloc(n * sizeof *g);
      ck_assert_int_eq(vaecl_model_read_grad(f.m, (size_t)i, g), 0);
      for (size_t j = 0; j < n; j++) {
        ck_assert_msg(count > 0 || g[j] == 0.0f, "%s: an empty shard left %s[%zu] = %g",
                      f.spec.source, vaecl_model_tensor_name(f.m, (size_t)i), j, (double)g[j]);
        got[i][j] += g[j];
      }
      free(g);
    }
    be->ops->release(be, part);
    free(rows);
  }
  ck_assert_msg(fabs(loss[0] - recon) <= 1e-4 * fabs(recon), "%s: recon %g vs %g", f.spec.source,
                loss[0], recon);
  ck_assert_msg(fabs(loss[1] - kl) <= 1e-4 * fabs(kl) + 1e-6, "%s: kl %g vs %g", f.spec.source,
                loss[1], kl);
  for (int i = 0; i < ref_vae_tensor_count(f.ref); i++) {
    const size_t n = ref_vae_tensor_size(f.ref, i);
    double scale = 0;
    for (size_t j = 0; j < n; j++)
      scale = fmax(scale, fabs(want[i][j]));
    size_t at;
    const double err = test_max_scaled_error(got[i], want[i], n, 1e-4 * scale, 1e-3, &at);
    ck_assert_msg(err <= 1.0, "%s: %s[%zu]: shards %.8g vs whole batch %.8g (scaled error %.3g)",
                  f.spec.source, vaecl_model_tensor_name(f.m, (size_t)i), at, got[i][at],
                  want[i][at], err);
  }
  free_tensors(f.ref, want);
  free_tensors(f.ref, got);
  teardown_fixture(&f);
}
END_TEST

/* The reference's backward pass against central differences of its own loss, at
 * batch 2. Small models: every entry of every tensor. Shipped models (up to millions
 * of multiply-adds per image, in double): a deterministic random sample of 10
 * entries per tensor, plus one directional derivative along the tensor's whole
 * gradient, which checks every entry at once. */
START_TEST(reference_gradients_match_finite_differences) {
  vaecl_model_spec spec;
  load_spec(_i, &spec);
  ref_vae *ref = ref_vae_create(&spec);
  const int small = _i < SMALL_COUNT, batch = 2, L = spec.latent;
  const int nt = ref_vae_tensor_count(ref);
  const size_t image = ref_vae_image_size(ref);
  double **params = alloc_tensors(ref), **grads = alloc_tensors(ref);
  test_rng r = test_rng_new(3);
  for (int i = 0; i < nt; i++) {
    const size_t n = ref_vae_tensor_size(ref, i);
    double fan_in, fan_out;
    ref_vae_tensor_fans(ref, i, &fan_in, &fan_out);
    /* Weights of about unit gain (U(-l, l), l = sqrt(3/fan_in)) so activations stay
     * O(1) in wide layers; positive biases keep most ReLUs alive, so few gradients
     * are trivially zero; a learned log-variance of -0.3. */
    if (fan_in > 0) {
      const double l = sqrt(3.0 / fan_in);
      test_fill_uniform(&r, params[i], n, -l, l);
    } else if (i == 2 * (nt / 2)) {
      params[i][0] = -0.3;
    } else {
      test_fill_uniform(&r, params[i], n, 0.05, 0.3);
    }
  }
  double *images = malloc(batch * image * sizeof(double)), *eps = malloc(batch * L * sizeof *eps);
  double recon, kl;
  test_fill_uniform(&r, images, batch * image, 0, 1);
  test_fill_uniform(&r, eps, (size_t)batch * L, -1, 1);
  const double loss = ref_vae_loss(ref, batch, params, images, eps, grads, &recon, &kl, NULL);
  /* Central differences: O(h^2) truncation (negligible) plus the rounding of two
   * losses, each a sum of ~batch*(pixels+latent) terms: at most about
   * DBL_EPSILON*|loss|*sqrt(terms)/h, ~1e-7 for the small models and up to a few
   * 1e-5 for the shipped ones, whose losses are in the thousands. h = 1e-6 keeps a
   * ReLU kink inside [x-h, x+h] unlikely with random data (at h = 1e-5 the
   * shipped models' directional checks below already cross some). */
  const double h = 1e-6;
  const double noise = DBL_EPSILON * fabs(loss) * sqrt((double)batch * (image + L)) / h;
#define LOSS() ref_vae_loss(ref, batch, params, images, eps, NULL, &recon, &kl, NULL)
  int checked = 0, nonzero = 0;
  for (int i = 0; i < nt; i++) {
    const size_t n = ref_vae_tensor_size(ref, i);
    const size_t picks = small ? n : n < 10 ? n : 10;
    test_rng pick = test_rng_new(1000 + (uint64_t)i);
    for (size_t s = 0; s < picks; s++) {
      const size_t j = small || picks == n ? s : (size_t)test_rng_uniform(&pick, 0, (double)n);
      const double keep = params[i][j];
      params[i][j] = keep + h;
      const double up = LOSS();
      params[i][j] = keep - h;
      const double down = LOSS();
      params[i][j] = keep;
      const double fd = (up - down) / (2 * h);
      ck_assert_msg(fabs(fd - grads[i][j]) <= 1e-6 + noise + 1e-5 * fabs(fd),
                    "%s: tensor %d[%zu]: analytic %.10g vs finite difference %.10g", spec.source, i,
                    j, grads[i][j], fd);
      nonzero += grads[i][j] != 0.0;
      checked++;
    }
    if (small || n == 1)
      continue;
    /* d/dt L(p + t d) at 0 = grad . d = |grad| along the unit vector d = grad/|grad|:
     * a sum of squares without cancellation, which a gradient wrong in many entries
     * cannot meet. A unit step spread over the whole tensor moves each pre-activation
     * less than a single entry's step does, so ReLU kinks stay as unlikely. */
    double *keep = malloc(n * sizeof *keep), *dir = malloc(n * sizeof *dir), dot = 0, norm = 0;
    for (size_t j = 0; j < n; j++)
      norm += grads[i][j] * grads[i][j];
    norm = sqrt(norm);
    ck_assert_msg(norm > 0, "%s: tensor %d: all-zero gradient", spec.source, i);
    memcpy(keep, params[i], n * sizeof *keep);
    for (size_t j = 0; j < n; j++) {
      dir[j] = grads[i][j] / norm;
      dot += grads[i][j] * dir[j];
      params[i][j] = keep[j] + h * dir[j];
    }
    const double up = LOSS();
    for (size_t j = 0; j < n; j++)
      params[i][j] = keep[j] - h * dir[j];
    const double down = LOSS();
    memcpy(params[i], keep, n * sizeof *keep);
    const double fd = (up - down) / (2 * h);
    ck_assert_msg(fabs(fd - dot) <= 1e-6 + noise + 1e-5 * fabs(fd),
                  "%s: tensor %d along its gradient: analytic %.10g vs finite "
                  "difference %.10g",
                  spec.source, i, dot, fd);
    free(keep);
    free(dir);
  }
#undef LOSS
  /* A guard that the check means something: with random weights some ReLUs are dead
   * (their zero gradients are still checked above), but most entries must not be.
   * In the shipped models' wide layers a unit-gain init leaves ~40% of the ReLUs
   * dead, so there half of the sampled entries must be non-zero (and no tensor's
   * gradient is all zero, checked above). */
  ck_assert_msg(small ? nonzero * 4 >= checked * 3 : nonzero * 2 >= checked,
                "%s: only %d of %d gradients are non-zero", spec.source, nonzero, checked);
  free_tensors(ref, params);
  free_tensors(ref, grads);
  free(images);
  free(eps);
  ref_vae_destroy(ref);
  vaecl_model_spec_free(&spec);
}
END_TEST

/* One train step = the same gradients + Keras Adam, checked against ref_adam. */
START_TEST(train_step_applies_adam) {
  fixture f;
  const uint64_t seed = 9, step = 1;
  setup_fixture(&f, _i, 3, 3, seed, step);
  vaecl_adam_config adam = vaecl_adam_default();
  adam.learning_rate = 0.01f;
  double **mom = alloc_tensors(f.ref), **vel = alloc_tensors(f.ref);
  const int nt = ref_vae_tensor_count(f.ref);
  /* Two steps exercise the bias correction; after each, the gradient buffers hold
   * the gradient that step used, which the reference Adam then applies. */
  for (int t = 1; t <= 2; t++) {
    ck_assert_int_eq(vaecl_model_train_step(f.m, f.dev_images, 3, step, &adam), 0);
    const vb_adam_step s = {(float)(0.01 * sqrt(1 - pow(0.999, t)) / (1 - pow(0.9, t))), 0.9f,
                            0.999f, 1e-7f};
    for (int i = 0; i < nt; i++) {
      const size_t n = ref_vae_tensor_size(f.ref, i);
      float *tmp = malloc(n * sizeof *tmp);
      double *g = malloc(n * sizeof *g);
      ck_assert_int_eq(vaecl_model_read_grad(f.m, (size_t)i, tmp), 0);
      for (size_t j = 0; j < n; j++)
        g[j] = tmp[j];
      ref_adam(n, f.params[i], g, mom[i], vel[i], &s);
      free(tmp);
      free(g);
    }
  }
  for (int i = 0; i < nt; i++) {
    const size_t n = ref_vae_tensor_size(f.ref, i);
    float *dev = malloc(n * sizeof *dev);
    ck_assert_int_eq(vaecl_model_read_param(f.m, (size_t)i, dev), 0);
    for (size_t j = 0; j < n; j++) /* an update is ~lr; float rounding ~1e-7 of the param */
      ck_assert_msg(fabs(dev[j] - f.params[i][j]) <= 1e-6 + 1e-6 * fabs(f.params[i][j]),
                    "%s: %s[%zu]: %.9g vs %.9g", f.spec.source,
                    vaecl_model_tensor_name(f.m, (size_t)i), j, dev[j], f.params[i][j]);
    free(dev);
  }
  free_tensors(f.ref, mom);
  free_tensors(f.ref, vel);
  teardown_fixture(&f);
}
END_TEST

START_TEST(encode_and_decode_match_reference) {
  fixture f;
  const int B = 3;
  setup_fixture(&f, _i, B, B, 5, 0);
  const int L = f.latent;
  float *stats = malloc((size_t)B * 2 * L * sizeof *stats);
  double *ref_stats = malloc((size_t)B * 2 * L * sizeof *ref_stats), recon, kl;
  ck_assert_int_eq(vaecl_model_encode(f.m, f.dev_images, B, stats), 0);
  ref_vae_loss(f.ref, B, f.params, f.images, f.eps, NULL, &recon, &kl, ref_stats);
  for (int i = 0; i < B * 2 * L; i++)
    ck_assert_msg(fabs(stats[i] - ref_stats[i]) <= 1e-5 * (1 + fabs(ref_stats[i])),
                  "%s: stats[%d] %g vs %g", f.spec.source, i, stats[i], ref_stats[i]);
  float *z = malloc((size_t)B * L * sizeof *z);
  double *zd = malloc((size_t)B * L * sizeof *zd);
  test_rng r = test_rng_new(17);
  for (int i = 0; i < B * L; i++)
    zd[i] = z[i] = (float)test_rng_uniform(&r, -2, 2);
  const size_t n = (size_t)B * f.image;
  float *img = malloc(n * sizeof *img);
  double *ref_img = malloc(n * sizeof *ref_img);
  ck_assert_int_eq(vaecl_model_decode(f.m, z, B, img), 0);
  ref_vae_decode(f.ref, B, f.params, zd, ref_img);
  /* Probabilities (or Gaussian means of the same size) after a few float layers. */
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(fabs(img[i] - ref_img[i]) <= 1e-5 * (1 + fabs(ref_img[i])),
                  "%s: pixel %zu %g vs %g", f.spec.source, i, img[i], ref_img[i]);
  free(stats);
  free(ref_stats);
  free(z);
  free(zd);
  free(img);
  free(ref_img);
  teardown_fixture(&f);
}
END_TEST

/* The model's text with its latent size changed: the same layers, other shapes. */
static char *with_other_latent(const char *text, int latent) {
  const char *at = strstr(text, "\nlatent ");
  ck_assert_ptr_nonnull(at);
  const char *eol = strchr(at + 1, '\n');
  char *out = malloc(strlen(text) + 32);
  sprintf(out, "%.*s\nlatent %d%s", (int)(at - text), text, latent + 1, eol ? eol : "");
  return out;
}

/* In memory: the checkpoint module's file format is tested on its own. */
START_TEST(checkpoint_restores_model_exactly) {
  fixture f;
  setup_fixture(&f, _i, 2, 2, 11, 0);
  vaecl_adam_config adam = vaecl_adam_default();
  ck_assert_int_eq(vaecl_model_train_step(f.m, f.dev_images, 2, 0, &adam), 0);
  vaecl_checkpoint ck;
  ck_assert_int_eq(vaecl_model_to_checkpoint(f.m, &ck), 0);
  ck_assert_uint_eq(ck.adam_steps, 1);
  ck_assert_str_eq(ck.model_text, f.spec.text);
  vaecl_model *other = vaecl_model_create(be, &f.spec, 2, 999);
  ck_assert_ptr_nonnull(other);
  ck_assert_msg(vaecl_model_from_checkpoint(other, &ck) == 0, "%s", vaecl_last_error());
  vaecl_checkpoint_free(&ck);
  const size_t nt = vaecl_model_tensor_count(f.m);
  for (size_t i = 0; i < nt; i++) {
    const size_t n = vaecl_model_tensor_size(f.m, i);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    ck_assert_int_eq(vaecl_model_read_param(f.m, i, a), 0);
    ck_assert_int_eq(vaecl_model_read_param(other, i, b), 0);
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "%s: tensor %zu differs after reload",
                  f.spec.source, i);
    free(a);
    free(b);
  }
  /* Same state (weights, moments, step count, seed), same next step: training
   * resumes exactly, for every tensor. */
  ck_assert_int_eq(vaecl_model_train_step(f.m, f.dev_images, 2, 1, &adam), 0);
  ck_assert_int_eq(vaecl_model_train_step(other, f.dev_images, 2, 1, &adam), 0);
  for (size_t i = 0; i < nt; i++) {
    const size_t n = vaecl_model_tensor_size(f.m, i);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    ck_assert_int_eq(vaecl_model_read_param(f.m, i, a), 0);
    ck_assert_int_eq(vaecl_model_read_param(other, i, b), 0);
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "%s: tensor %zu differs after a step",
                  f.spec.source, i);
    free(a);
    free(b);
  }
  /* A different shape is refused with a message. */
  vaecl_model_spec spec2;
  char *text2 = with_other_latent(f.spec.text, f.latent);
  ck_assert_msg(vaecl_model_spec_parse(text2, "other latent", &spec2) == 0, "%s",
                vaecl_last_error());
  vaecl_model *wrong = vaecl_model_create(be, &spec2, 2, 1);
  ck_assert_ptr_nonnull(wrong);
  ck_assert_int_eq(vaecl_model_to_checkpoint(f.m, &ck), 0);
  ck_assert_int_eq(vaecl_model_from_checkpoint(wrong, &ck), -1);
  ck_assert_msg(strstr(vaecl_last_error(), "latent"), "%s", vaecl_last_error());
  vaecl_checkpoint_free(&ck);
  vaecl_model_destroy(wrong);
  vaecl_model_spec_free(&spec2);
  free(text2);
  vaecl_model_destroy(other);
  teardown_fixture(&f);
}
END_TEST

/* Keras' glorot_uniform, fans computed by the reference from the layer shapes:
 * U(-l, l) with l = sqrt(6 / (fan_in + fan_out)), a conv's fans being k*k*channels;
 * each of the two heads is its own Dense(latent). Biases start at zero, a learned
 * log-variance at 0 (unit variance). Every model. */
START_TEST(init_is_keras_glorot_uniform) {
  vaecl_model_spec spec;
  load_spec(_i, &spec);
  ref_vae *ref = ref_vae_create(&spec);
  vaecl_model *m = vaecl_model_create(be, &spec, 1, 123),
              *same = vaecl_model_create(be, &spec, 1, 123);
  ck_assert_ptr_nonnull(m);
  ck_assert_ptr_nonnull(same);
  for (int i = 0; i < ref_vae_tensor_count(ref); i++) {
    const size_t n = vaecl_model_tensor_size(m, (size_t)i);
    const char *name = vaecl_model_tensor_name(m, (size_t)i);
    float *w = malloc(n * sizeof *w), *w2 = malloc(n * sizeof *w2);
    ck_assert_int_eq(vaecl_model_read_param(m, (size_t)i, w), 0);
    ck_assert_int_eq(vaecl_model_read_param(same, (size_t)i, w2), 0);
    ck_assert_mem_eq(w, w2, n * sizeof *w); /* the seed fixes the weights */
    double max = 0, sum = 0, sq = 0, fan_in, fan_out;
    for (size_t j = 0; j < n; j++) {
      max = fmax(max, fabs(w[j]));
      sum += w[j];
      sq += (double)w[j] * w[j];
    }
    ref_vae_tensor_fans(ref, i, &fan_in, &fan_out);
    if (fan_in == 0) {
      ck_assert_msg(max == 0, "%s: %s must start at 0", spec.source, name);
    } else {
      const double l = sqrt(6.0 / (fan_in + fan_out));
      ck_assert_msg(max <= l, "%s: %s: |w| %g above the Glorot limit %g", spec.source, name, max,
                    l);
      /* A smaller limit would pass the line above; with n >= 500 draws the largest
       * is below 0.98 l with probability 0.98^500 < 1e-4. */
      ck_assert_msg(n < 500 || max >= 0.98 * l, "%s: %s: max |w| %g, limit %g", spec.source, name,
                    max, l);
      /* Uniform(-l, l): variance l^2/3; the sample variance of n draws is within
       * ~5 standard errors (l^2 * 2/sqrt(45 n)) of it. */
      const double var = sq / n - (sum / n) * (sum / n), want = l * l / 3;
      ck_assert_msg(fabs(var - want) <= 5 * l * l * 2 / sqrt(45.0 * n),
                    "%s: %s: variance %g, expected %g", spec.source, name, var, want);
    }
    free(w);
    free(w2);
  }
  vaecl_model_destroy(m);
  vaecl_model_destroy(same);
  ref_vae_destroy(ref);
  vaecl_model_spec_free(&spec);
}
END_TEST

int main(void) {
  if (!test_small_shapes()) /* under a simulator, the small models only */
    find_shipped_models();
  const int all = SMALL_COUNT + shipped_count;
  Suite *s = suite_create("model");
  TCase *tc = tcase_create("device");
  tcase_set_timeout(tc, 600);
  tcase_add_checked_fixture(tc, test_device_setup, test_device_teardown);
  tcase_add_loop_test(tc, init_is_keras_glorot_uniform, 0, all);
  tcase_add_loop_test(tc, gradients_match_reference, 0, all);
  tcase_add_loop_test(tc, partial_batch_gradients_match_reference, 0, SMALL_COUNT);
  tcase_add_loop_test(tc, shard_gradients_add_up_to_the_batch, 0, SMALL_COUNT);
  tcase_add_loop_test(tc, train_step_applies_adam, 0, SMALL_COUNT);
  tcase_add_loop_test(tc, encode_and_decode_match_reference, 0, all);
  tcase_add_loop_test(tc, checkpoint_restores_model_exactly, 0, SMALL_COUNT);
  suite_add_tcase(s, tc);
  /* The reference alone, no device: once, not again in the channels-layout or the
   * simulator runs. */
  if (!getenv("VAECL_WORK_LAYOUT") && !test_small_shapes()) {
    TCase *ref = tcase_create("reference");
    tcase_set_timeout(ref, 600);
    tcase_add_loop_test(ref, reference_gradients_match_finite_differences, 0, all);
    suite_add_tcase(s, ref);
  }
  return vaecl_test_run(s);
}
