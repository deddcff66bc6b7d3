/* The device graph against the double-precision plain-C VAE (tests/ref_vae.c):
 * losses, every parameter gradient, Adam, encode/decode and checkpoints; and the
 * reference itself against finite differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vaecl/backend_opencl.h>
#include <vaecl/graph.h>
#include "util/philox.h"
#include "ref/ref_ops.h"
#include "ref_vae.h"
#include "testdevice.h"
#include "testutil.h"
#include <vaecl.h>

/* Small enough for finite differences, but every layer kind and both strides. */
static vaecl_model_config tiny(void) {
  vaecl_model_config c = {.image_h = 8,
                          .image_w = 8,
                          .channels = 1,
                          .enc_c1 = 3,
                          .enc_c2 = 4,
                          .hidden = 5,
                          .latent = 2,
                          .dec_c0 = 3,
                          .dec_c1 = 4,
                          .dec_c2 = 3,
                          .kernel = 3};
  return c;
}

typedef struct {
  vaecl_model_config cfg;
  vaecl_model *m;
  int batch;
  double *params[REF_VAE_TENSORS];
  double *images, *eps;
  vb_buf *dev_images;
} fixture;

static void setup_fixture(fixture *f, int max_batch, int batch, uint64_t seed, uint64_t step) {
  f->cfg = tiny();
  f->batch = batch;
  f->m = vaecl_model_create(be, &f->cfg, max_batch, seed);
  ck_assert_msg(f->m, "%s", vaecl_last_error());
  ck_assert_uint_eq(vaecl_model_tensor_count(f->m), REF_VAE_TENSORS);
  for (int i = 0; i < REF_VAE_TENSORS; i++) {
    const size_t n = vaecl_model_tensor_size(f->m, (size_t)i);
    ck_assert_uint_eq(n, ref_vae_tensor_size(&f->cfg, i));
    float *tmp = malloc(n * sizeof *tmp);
    f->params[i] = malloc(n * sizeof(double));
    /* Random biases too, so their gradients are not checked only at zero. */
    test_rng r = test_rng_new(100 + (uint64_t)i);
    ck_assert_int_eq(vaecl_model_read_param(f->m, (size_t)i, tmp), 0);
    for (size_t j = 0; j < n; j++)
      tmp[j] = i % 2 ? (float)test_rng_uniform(&r, -0.1, 0.1) : tmp[j];
    ck_assert_int_eq(vaecl_model_write_param(f->m, (size_t)i, tmp), 0);
    for (size_t j = 0; j < n; j++)
      f->params[i][j] = tmp[j];
    free(tmp);
  }
  const size_t pixels = (size_t)batch * 64;
  f->images = malloc(pixels * sizeof(double));
  float *fimg = malloc(pixels * sizeof *fimg);
  test_rng r = test_rng_new(7);
  for (size_t i = 0; i < pixels; i++)
    f->images[i] = fimg[i] = (float)test_rng_uniform(&r, 0.0, 1.0);
  f->dev_images = be->ops->alloc(be, pixels * sizeof *fimg);
  ck_assert_ptr_nonnull(f->dev_images);
  ck_assert_int_eq(be->ops->write(be, f->dev_images, 0, fimg, pixels * sizeof *fimg), 0);
  free(fimg);
  f->eps = malloc((size_t)batch * f->cfg.latent * sizeof(double));
  for (int i = 0; i < batch * f->cfg.latent; i++)
    f->eps[i] = vaecl_philox_normal(seed, step, (uint32_t)i);
}

static void teardown_fixture(fixture *f) {
  for (int i = 0; i < REF_VAE_TENSORS; i++)
    free(f->params[i]);
  free(f->images);
  free(f->eps);
  be->ops->release(be, f->dev_images);
  vaecl_model_destroy(f->m);
}

static void check_gradients(int max_batch, int batch) {
  fixture f;
  const uint64_t seed = 42, step = 5;
  setup_fixture(&f, max_batch, batch, seed, step);
  ck_assert_int_eq(vaecl_model_compute_gradients(f.m, f.dev_images, batch, step), 0);
  double sums[2], recon, kl;
  ck_assert_int_eq(vaecl_model_read_loss_sums(f.m, sums), 0);
  double *grads[REF_VAE_TENSORS];
  for (int i = 0; i < REF_VAE_TENSORS; i++)
    grads[i] = calloc(ref_vae_tensor_size(&f.cfg, i), sizeof(double));
  ref_vae_loss(&f.cfg, batch, f.params, f.images, f.eps, grads, &recon, &kl, NULL);
  /* float32 through eight layers: errors of a few 1e-6 relative; 1e-4 leaves margin
   * without hiding a wrong term (those are off by O(1)). */
  ck_assert_msg(fabs(sums[0] - recon) <= 1e-4 * fabs(recon), "recon %g vs %g", sums[0], recon);
  ck_assert_msg(fabs(sums[1] - kl) <= 1e-4 * fabs(kl) + 1e-6, "kl %g vs %g", sums[1], kl);
  for (int i = 0; i < REF_VAE_TENSORS; i++) {
    const size_t n = ref_vae_tensor_size(&f.cfg, i);
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
    ck_assert_msg(err <= 1.0, "%s[%zu]: device %.8g vs reference %.8g (scaled error %.3g)",
                  vaecl_model_tensor_name(f.m, (size_t)i), at, devd[at], grads[i][at], err);
    ck_assert_msg(scale > 0, "%s: all-zero gradient cannot test anything",
                  vaecl_model_tensor_name(f.m, (size_t)i));
    free(dev);
    free(devd);
    free(grads[i]);
  }
  teardown_fixture(&f);
}

START_TEST(gradients_match_reference) {
  check_gradients(3, 3);
}
END_TEST

/* A last, partial batch uses the first rows of buffers sized for the full one. */
START_TEST(partial_batch_gradients_match_reference) {
  check_gradients(4, 2);
}
END_TEST

/* The reference's backward pass against central differences of its own loss. */
START_TEST(reference_gradients_match_finite_differences) {
  const vaecl_model_config cfg = tiny();
  const int batch = 2;
  double *params[REF_VAE_TENSORS], *grads[REF_VAE_TENSORS];
  test_rng r = test_rng_new(3);
  for (int i = 0; i < REF_VAE_TENSORS; i++) {
    const size_t n = ref_vae_tensor_size(&cfg, i);
    params[i] = malloc(n * sizeof(double));
    grads[i] = calloc(n, sizeof(double));
    /* Positive biases keep most ReLUs alive, so few gradients are trivially zero. */
    test_fill_uniform(&r, params[i], n, i % 2 ? 0.05 : -0.5, i % 2 ? 0.3 : 0.5);
  }
  double images[2 * 64], eps[2 * 2], recon, kl;
  test_fill_uniform(&r, images, 128, 0, 1);
  test_fill_uniform(&r, eps, 4, -1, 1);
  ref_vae_loss(&cfg, batch, params, images, eps, grads, &recon, &kl, NULL);
  int checked = 0, nonzero = 0;
  for (int i = 0; i < REF_VAE_TENSORS; i++) {
    const size_t n = ref_vae_tensor_size(&cfg, i);
    for (size_t j = 0; j < n; j += 1 + n / 7) { /* a spread of entries per tensor */
      const double keep = params[i][j], h = 1e-6;
      params[i][j] = keep + h;
      const double up = ref_vae_loss(&cfg, batch, params, images, eps, NULL, &recon, &kl, NULL);
      params[i][j] = keep - h;
      const double down = ref_vae_loss(&cfg, batch, params, images, eps, NULL, &recon, &kl, NULL);
      params[i][j] = keep;
      const double fd = (up - down) / (2 * h);
      /* Central differences: O(h^2) truncation plus ~1e-16*L/h rounding, ~1e-9 here;
       * a ReLU kink inside [x-h, x+h] is vanishingly unlikely with random data. */
      ck_assert_msg(fabs(fd - grads[i][j]) <= 1e-6 + 1e-5 * fabs(fd),
                    "tensor %d[%zu]: analytic %.10g vs finite difference %.10g", i, j, grads[i][j],
                    fd);
      nonzero += grads[i][j] != 0.0;
      checked++;
    }
  }
  /* A guard that the check means something: with random weights some ReLUs are dead
   * (their zero gradients are still checked above), but most entries must not be. */
  ck_assert_msg(nonzero * 4 >= checked * 3, "only %d of %d gradients are non-zero", nonzero,
                checked);
  for (int i = 0; i < REF_VAE_TENSORS; i++) {
    free(params[i]);
    free(grads[i]);
  }
}
END_TEST

/* One train step = the same gradients + Keras Adam, checked against ref_adam. */
START_TEST(train_step_applies_adam) {
  fixture f;
  const uint64_t seed = 9, step = 1;
  setup_fixture(&f, 3, 3, seed, step);
  vaecl_adam_config adam = vaecl_adam_default();
  adam.learning_rate = 0.01f;
  double *mom[REF_VAE_TENSORS], *vel[REF_VAE_TENSORS];
  for (int i = 0; i < REF_VAE_TENSORS; i++) {
    mom[i] = calloc(ref_vae_tensor_size(&f.cfg, i), sizeof(double));
    vel[i] = calloc(ref_vae_tensor_size(&f.cfg, i), sizeof(double));
  }
  /* Two steps exercise the bias correction; after each, the gradient buffers hold
   * the gradient that step used, which the reference Adam then applies. */
  for (int t = 1; t <= 2; t++) {
    ck_assert_int_eq(vaecl_model_train_step(f.m, f.dev_images, 3, step, &adam), 0);
    const vb_adam_step s = {(float)(0.01 * sqrt(1 - pow(0.999, t)) / (1 - pow(0.9, t))), 0.9f,
                            0.999f, 1e-7f};
    for (int i = 0; i < REF_VAE_TENSORS; i++) {
      const size_t n = ref_vae_tensor_size(&f.cfg, i);
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
  for (int i = 0; i < REF_VAE_TENSORS; i++) {
    const size_t n = ref_vae_tensor_size(&f.cfg, i);
    float *dev = malloc(n * sizeof *dev);
    ck_assert_int_eq(vaecl_model_read_param(f.m, (size_t)i, dev), 0);
    for (size_t j = 0; j < n; j++) /* an update is ~lr; float rounding ~1e-7 of the param */
      ck_assert_msg(fabs(dev[j] - f.params[i][j]) <= 1e-6 + 1e-6 * fabs(f.params[i][j]),
                    "%s[%zu]: %.9g vs %.9g", vaecl_model_tensor_name(f.m, (size_t)i), j, dev[j],
                    f.params[i][j]);
    free(dev);
    free(mom[i]);
    free(vel[i]);
  }
  teardown_fixture(&f);
}
END_TEST

START_TEST(encode_and_decode_match_reference) {
  fixture f;
  setup_fixture(&f, 3, 3, 5, 0);
  const int L = f.cfg.latent;
  float stats[3 * 4];
  double ref_stats[3 * 4], recon, kl;
  ck_assert_int_eq(vaecl_model_encode(f.m, f.dev_images, 3, stats), 0);
  ref_vae_loss(&f.cfg, 3, f.params, f.images, f.eps, NULL, &recon, &kl, ref_stats);
  for (int i = 0; i < 3 * 2 * L; i++)
    ck_assert_msg(fabs(stats[i] - ref_stats[i]) <= 1e-5 * (1 + fabs(ref_stats[i])),
                  "stats[%d] %g vs %g", i, stats[i], ref_stats[i]);
  const float z[6] = {-0.5f, 0.25f, 0.0f, 0.0f, 1.5f, -2.0f};
  const double zd[6] = {-0.5, 0.25, 0.0, 0.0, 1.5, -2.0};
  float img[3 * 64];
  double ref_img[3 * 64];
  ck_assert_int_eq(vaecl_model_decode(f.m, z, 3, img), 0);
  ref_vae_decode(&f.cfg, 3, f.params, zd, ref_img);
  for (int i = 0; i < 3 * 64; i++)
    ck_assert_msg(fabs(img[i] - ref_img[i]) <= 1e-5, "pixel %d %g vs %g", i, img[i], ref_img[i]);
  teardown_fixture(&f);
}
END_TEST

START_TEST(checkpoint_restores_model_exactly) {
  fixture f;
  setup_fixture(&f, 2, 2, 11, 0);
  vaecl_adam_config adam = vaecl_adam_default();
  ck_assert_int_eq(vaecl_model_train_step(f.m, f.dev_images, 2, 0, &adam), 0);
  char *dir = test_make_temp_dir("model");
  char path[4200];
  snprintf(path, sizeof path, "%s/m.ckpt", dir);
  vaecl_checkpoint ck, loaded;
  ck_assert_int_eq(vaecl_model_to_checkpoint(f.m, &ck), 0);
  ck.epochs_done = 3;
  ck_assert_int_eq(vaecl_checkpoint_save(path, &ck), 0);
  vaecl_checkpoint_free(&ck);
  ck_assert_msg(vaecl_checkpoint_load(path, &loaded) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(loaded.epochs_done, 3);
  ck_assert_uint_eq(loaded.adam_steps, 1);
  vaecl_model *other = vaecl_model_create(be, &f.cfg, 2, 999);
  ck_assert_ptr_nonnull(other);
  ck_assert_int_eq(vaecl_model_from_checkpoint(other, &loaded), 0);
  vaecl_checkpoint_free(&loaded);
  for (size_t i = 0; i < REF_VAE_TENSORS; i++) {
    const size_t n = vaecl_model_tensor_size(f.m, i);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    ck_assert_int_eq(vaecl_model_read_param(f.m, i, a), 0);
    ck_assert_int_eq(vaecl_model_read_param(other, i, b), 0);
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "tensor %zu differs after reload", i);
    free(a);
    free(b);
  }
  /* Same state, same next step: training resumes exactly. */
  ck_assert_int_eq(vaecl_model_train_step(f.m, f.dev_images, 2, 1, &adam), 0);
  ck_assert_int_eq(vaecl_model_train_step(other, f.dev_images, 2, 1, &adam), 0);
  float a0[27], b0[27];
  ck_assert_int_eq(vaecl_model_read_param(f.m, 0, a0), 0);
  ck_assert_int_eq(vaecl_model_read_param(other, 0, b0), 0);
  ck_assert_mem_eq(a0, b0, sizeof a0);
  /* A different shape is refused with a message. */
  vaecl_model_config c2 = f.cfg;
  c2.latent = 3;
  vaecl_model *wrong = vaecl_model_create(be, &c2, 2, 1);
  ck_assert_int_eq(vaecl_model_to_checkpoint(f.m, &ck), 0);
  ck_assert_int_eq(vaecl_model_from_checkpoint(wrong, &ck), -1);
  ck_assert_ptr_nonnull(strstr(vaecl_last_error(), "latent"));
  vaecl_checkpoint_free(&ck);
  vaecl_model_destroy(wrong);
  vaecl_model_destroy(other);
  test_remove_tree(dir);
  free(dir);
  teardown_fixture(&f);
}
END_TEST

/* Keras' glorot_uniform, fans computed here from the layer shapes: U(-l, l) with
 * l = sqrt(6 / (fan_in + fan_out)), a conv's fans being k*k*channels; each of the
 * two heads is its own Dense(latent). Biases start at zero. */
START_TEST(init_is_keras_glorot_uniform) {
  const vaecl_model_config c = vaecl_model_config_default();
  vaecl_model *m = vaecl_model_create(be, &c, 1, 123), *same = vaecl_model_create(be, &c, 1, 123);
  ck_assert_ptr_nonnull(m);
  const double fans[8][2] = {{9 * 1, 9 * 64},   {9 * 64, 9 * 128}, {7 * 7 * 128, 16},
                             {16, 2},           {2, 7 * 7 * 64},   {9 * 64, 9 * 128},
                             {9 * 128, 9 * 64}, {9 * 64, 9 * 1}};
  for (size_t i = 0; i < 16; i++) {
    const size_t n = vaecl_model_tensor_size(m, i);
    float *w = malloc(n * sizeof *w), *w2 = malloc(n * sizeof *w2);
    ck_assert_int_eq(vaecl_model_read_param(m, i, w), 0);
    ck_assert_int_eq(vaecl_model_read_param(same, i, w2), 0);
    ck_assert_mem_eq(w, w2, n * sizeof *w); /* the seed fixes the weights */
    double max = 0, sum = 0, sq = 0;
    for (size_t j = 0; j < n; j++) {
      max = fmax(max, fabs(w[j]));
      sum += w[j];
      sq += (double)w[j] * w[j];
    }
    if (i % 2) {
      ck_assert_msg(max == 0, "%s: biases must start at 0", vaecl_model_tensor_name(m, i));
    } else {
      const double l = sqrt(6.0 / (fans[i / 2][0] + fans[i / 2][1]));
      ck_assert_msg(max <= l, "%s: |w| %g above the Glorot limit %g", vaecl_model_tensor_name(m, i),
                    max, l);
      /* A smaller limit would pass the line above; with n >= 500 draws the largest
       * is below 0.98 l with probability 0.98^500 < 1e-4. */
      ck_assert_msg(n < 500 || max >= 0.98 * l, "%s: max |w| %g, limit %g",
                    vaecl_model_tensor_name(m, i), max, l);
      /* Uniform(-l, l): variance l^2/3; the sample variance of n draws is within
       * ~5 standard errors (l^2 * 2/sqrt(45 n)) of it. */
      const double var = sq / n - (sum / n) * (sum / n), want = l * l / 3;
      ck_assert_msg(fabs(var - want) <= 5 * l * l * 2 / sqrt(45.0 * n),
                    "%s: variance %g, expected %g", vaecl_model_tensor_name(m, i), var, want);
    }
    free(w);
    free(w2);
  }
  vaecl_model_destroy(m);
  vaecl_model_destroy(same);
}
END_TEST

int main(void) {
  Suite *s = suite_create("model");
  TCase *tc = tcase_create("model");
  tcase_set_timeout(tc, 600);
  tcase_add_checked_fixture(tc, test_device_setup, test_device_teardown);
  tcase_add_test(tc, init_is_keras_glorot_uniform);
  tcase_add_test(tc, gradients_match_reference);
  tcase_add_test(tc, partial_batch_gradients_match_reference);
  tcase_add_test(tc, reference_gradients_match_finite_differences);
  tcase_add_test(tc, train_step_applies_adam);
  tcase_add_test(tc, encode_and_decode_match_reference);
  tcase_add_test(tc, checkpoint_restores_model_exactly);
  suite_add_tcase(s, tc);
  return vaecl_test_run(s);
}
