/* End to end: training on real Fashion-MNIST images lowers the loss, and a run
 * stopped and resumed from its checkpoint ends exactly where an unbroken run does. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testdevice.h"
#include "testutil.h"
#include <vaecl.h>
#include <vaecl/idx.h>
#include <vaecl/step_window.h>
#include <vaecl/train.h>

static vaecl_dataset data;

static void load_fixture(size_t n) {
  const char *dir = getenv("VAECL_TEST_DATA");
  ck_assert_msg(dir, "VAECL_TEST_DATA is not set (run through ctest)");
  char images[4096], labels[4096];
  snprintf(images, sizeof images, "%s/fixtures/fashion-mnist-1024-images-idx3-ubyte.gz", dir);
  snprintf(labels, sizeof labels, "%s/fixtures/fashion-mnist-1024-labels-idx1-ubyte.gz", dir);
  ck_assert_msg(vaecl_idx_load(images, labels, &data) == 0, "%s", vaecl_last_error());
  vaecl_dataset_truncate(&data, n);
}

static vaecl_model_spec reference_spec(void) {
  vaecl_model_spec s;
  ck_assert_msg(vaecl_model_spec_default(&s) == 0, "%s", vaecl_last_error());
  return s;
}

/* The reference model with 4 filters everywhere: fast, but the same layer kinds. */
static vaecl_model_spec small_spec(void) {
  static const char text[] = "input 28 28 1\n"
                             "encoder\n"
                             "conv2d filters=4 kernel=3 stride=2 padding=same activation=relu\n"
                             "conv2d filters=4 kernel=3 stride=2 padding=same activation=relu\n"
                             "flatten\n"
                             "dense units=16 activation=relu\n"
                             "latent 2\n"
                             "decoder\n"
                             "dense units=196 activation=relu\n"
                             "reshape 7 7 4\n"
                             "conv2d_transpose filters=4 kernel=3 stride=2 padding=same "
                             "activation=relu\n"
                             "conv2d_transpose filters=4 kernel=3 stride=2 padding=same "
                             "activation=relu\n"
                             "conv2d_transpose filters=1 kernel=3 padding=same activation=sigmoid\n"
                             "output bernoulli\n";
  vaecl_model_spec s;
  ck_assert_msg(vaecl_model_spec_parse(text, "small", &s) == 0, "%s", vaecl_last_error());
  return s;
}

/* The Keras model itself, on 512 real images: three epochs must cut the loss well
 * below the ~544 (784 ln 2) of an untrained decoder and keep improving. */
START_TEST(loss_falls_on_real_images) {
  load_fixture(512);
  vaecl_model_spec spec = reference_spec();
  vaecl_model *m = vaecl_model_create(be, &spec, 64, 1);
  ck_assert_ptr_nonnull(m);
  vaecl_train_options opt = vaecl_train_defaults();
  opt.batch = 64;
  vaecl_train_result r1, r3;
  opt.epochs = 1;
  ck_assert_msg(vaecl_train(m, be, &data, &opt, 0, &r1) == 0, "%s", vaecl_last_error());
  opt.epochs = 3;
  ck_assert_msg(vaecl_train(m, be, &data, &opt, 1, &r3) == 0, "%s", vaecl_last_error());
  const vaecl_epoch_metrics first = r1.last, last = r3.last;
  ck_assert_uint_eq(r3.epochs_done, 3);
  vaecl_model_spec_free(&spec);
  printf("epoch 1: loss %.2f (recon %.2f, kl %.3f); epoch 3: loss %.2f (recon %.2f, kl %.3f)\n",
         first.loss, first.reconstruction_loss, first.kl_loss, last.loss, last.reconstruction_loss,
         last.kl_loss);
  ck_assert_int_eq(first.steps, 8);
  ck_assert(isfinite(last.loss));
  ck_assert_msg(first.loss < 544.0, "epoch 1 loss %.2f: not learning", first.loss);
  ck_assert_msg(last.loss < 0.95 * first.loss, "loss %.2f -> %.2f: not falling", first.loss,
                last.loss);
  ck_assert_double_eq_tol(last.loss, last.reconstruction_loss + last.kl_loss, 1e-6 * last.loss);
  ck_assert_msg(last.kl_loss > 0.0, "KL %.4f must be positive", last.kl_loss);
  vaecl_model_destroy(m);
  vaecl_dataset_free(&data);
}
END_TEST

static float *all_params(vaecl_model *m, size_t *total) {
  *total = vaecl_model_parameter_count(m);
  float *p = malloc(*total * sizeof *p), *at = p;
  for (size_t i = 0; i < vaecl_model_tensor_count(m); i++) {
    ck_assert_int_eq(vaecl_model_read_param(m, i, at), 0);
    at += vaecl_model_tensor_size(m, i);
  }
  return p;
}

START_TEST(resume_matches_unbroken_run) {
  load_fixture(200); /* 200 / 64: a partial last batch every epoch */
  vaecl_model_spec cfg = small_spec();
  char *dir = test_make_temp_dir("resume");
  char path[4200];
  snprintf(path, sizeof path, "%s/run.ckpt", dir);
  vaecl_train_options opt = vaecl_train_defaults();
  opt.batch = 64;
  opt.seed = 5;

  vaecl_model *unbroken = vaecl_model_create(be, &cfg, 64, 5);
  opt.epochs = 2;
  ck_assert_int_eq(vaecl_train(unbroken, be, &data, &opt, 0, NULL), 0);

  vaecl_model *first = vaecl_model_create(be, &cfg, 64, 5);
  opt.epochs = 1;
  opt.out_path = path;
  ck_assert_int_eq(vaecl_train(first, be, &data, &opt, 0, NULL), 0);
  vaecl_checkpoint ck;
  ck_assert_msg(vaecl_checkpoint_load(path, &ck) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(ck.epochs_done, 1);
  vaecl_model *resumed = vaecl_model_create(be, &cfg, 64, 77);
  ck_assert_int_eq(vaecl_model_from_checkpoint(resumed, &ck), 0);
  vaecl_checkpoint_free(&ck);
  opt.epochs = 2;
  ck_assert_int_eq(vaecl_train(resumed, be, &data, &opt, 1, NULL), 0);
  vaecl_model_spec_free(&cfg);

  size_t n1, n2;
  float *a = all_params(unbroken, &n1), *b = all_params(resumed, &n2);
  ck_assert_uint_eq(n1, n2);
  ck_assert_msg(memcmp(a, b, n1 * sizeof *a) == 0, "resumed run differs from the unbroken one");
  free(a);
  free(b);
  vaecl_model_destroy(unbroken);
  vaecl_model_destroy(first);
  vaecl_model_destroy(resumed);
  test_remove_tree(dir);
  free(dir);
  vaecl_dataset_free(&data);
}
END_TEST

/* Every shipped model file trains: three epochs on small data cut its loss. Grey
 * 28x28 models get real Fashion-MNIST images; other shapes get smooth synthetic
 * images (per-image gradients plus a blob), which a VAE learns quickly too. */
static void synthetic_images(vaecl_dataset *d, size_t n, int h, int w, int c) {
  memset(d, 0, sizeof *d);
  d->count = n;
  d->rows = h;
  d->cols = w;
  d->channels = c;
  d->pixels = malloc(n * (size_t)h * w * c);
  ck_assert_ptr_nonnull(d->pixels);
  test_rng r = test_rng_new(11);
  for (size_t i = 0; i < n; i++) {
    const double cx = test_rng_uniform(&r, 0.2, 0.8) * w, cy = test_rng_uniform(&r, 0.2, 0.8) * h;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int k = 0; k < c; k++) {
          const double d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (0.05 * h * w);
          const double v = 0.5 * exp(-d2) + 0.4 * (double)(x + k * y) / (w + h);
          d->pixels[((i * h + y) * w + x) * c + k] = (uint8_t)(255.0 * (v > 1 ? 1 : v));
        }
  }
}

START_TEST(every_shipped_model_learns) {
  const char *dir = getenv("VAECL_TEST_DATA");
  ck_assert_ptr_nonnull(dir);
  char models[4200];
  snprintf(models, sizeof models, "%s/models", dir);
  DIR *dp = opendir(models);
  ck_assert_ptr_nonnull(dp);
  int tried = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    const size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".vae") != 0)
      continue;
    char path[8500];
    snprintf(path, sizeof path, "%s/%s", models, e->d_name);
    vaecl_model_spec spec;
    ck_assert_msg(vaecl_model_spec_load(path, &spec) == 0, "%s", vaecl_last_error());
    const vaecl_shape *in = &spec.input;
    if (in->h == 28 && in->w == 28 && in->c == 1)
      load_fixture(256);
    else
      synthetic_images(&data, 256, in->h, in->w, in->c);
    vaecl_model *m = vaecl_model_create(be, &spec, 64, 1);
    ck_assert_msg(m, "%s", vaecl_last_error());
    vaecl_train_options opt = vaecl_train_defaults();
    opt.batch = 64;
    vaecl_train_result r1, r3;
    opt.epochs = 1;
    ck_assert_msg(vaecl_train(m, be, &data, &opt, 0, &r1) == 0, "%s", vaecl_last_error());
    opt.epochs = 3;
    ck_assert_msg(vaecl_train(m, be, &data, &opt, 1, &r3) == 0, "%s", vaecl_last_error());
    printf("%s: loss %.2f after 1 epoch, %.2f after 3\n", e->d_name, r1.last.loss, r3.last.loss);
    ck_assert_msg(isfinite(r3.last.loss), "%s: loss %g", e->d_name, r3.last.loss);
    ck_assert_msg(r3.last.loss < r1.last.loss - 0.02 * fabs(r1.last.loss), "%s: loss %.3f -> %.3f",
                  e->d_name, r1.last.loss, r3.last.loss);
    vaecl_model_destroy(m);
    vaecl_model_spec_free(&spec);
    vaecl_dataset_free(&data);
    tried++;
  }
  closedir(dp);
  ck_assert_int_ge(tried, 4);
}
END_TEST

/* Queued work holds device and host memory, so training must never run more than
 * VAECL_STEPS_IN_FLIGHT steps ahead of the device (an unbounded queue once took an
 * epoch to 24 GB). The backend's mark/wait ops are wrapped to count what is queued. */
static const vb_ops *real_ops;
static int marks_outstanding, marks_peak, marks_total;

static int counting_mark(vb_backend *b, vb_mark **out) {
  marks_total++;
  if (++marks_outstanding > marks_peak)
    marks_peak = marks_outstanding;
  return real_ops->mark(b, out);
}

static int counting_wait(vb_backend *b, vb_mark *m) {
  marks_outstanding--;
  return real_ops->wait_mark(b, m);
}

START_TEST(steps_in_flight_are_bounded) {
  load_fixture(640); /* 20 steps of 32 */
  vaecl_model_spec cfg = small_spec();
  vaecl_model *m = vaecl_model_create(be, &cfg, 32, 3);
  vaecl_model_spec_free(&cfg);
  ck_assert_ptr_nonnull(m);
  real_ops = be->ops;
  vb_ops counting = *real_ops;
  counting.mark = counting_mark;
  counting.wait_mark = counting_wait;
  be->ops = &counting;
  vaecl_train_options opt = vaecl_train_defaults();
  opt.batch = 32;
  opt.epochs = 1;
  marks_outstanding = marks_peak = marks_total = 0;
  const int rc = vaecl_train(m, be, &data, &opt, 0, NULL);
  be->ops = real_ops;
  ck_assert_msg(rc == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(marks_total, 20); /* one per step */
  ck_assert_int_le(marks_peak, VAECL_STEPS_IN_FLIGHT);
  ck_assert_int_eq(marks_outstanding, 0); /* all waited for and released */
  vaecl_model_destroy(m);
  vaecl_dataset_free(&data);
}
END_TEST

/* Sets the stop flag from the progress callback once the epoch's last step is
 * queued: a Ctrl-C that lands during the last step. */
static volatile sig_atomic_t stop_now;
static void stop_after_last_step(void *user, const vaecl_epoch_metrics *e) {
  (void)user;
  if (e->step == e->steps)
    stop_now = 1;
}

/* Issue 8, defect 7: a stop during an epoch's last step still finishes that epoch.
 * The checkpoint must say 1 epoch done with all of its Adam steps, so a resume
 * does not repeat it (which would break the bit-exact resume). */
START_TEST(stop_in_last_step_completes_the_epoch) {
  load_fixture(96); /* 3 steps of 32 */
  vaecl_model_spec cfg = small_spec();
  char *dir = test_make_temp_dir("last-step");
  char path[4200];
  snprintf(path, sizeof path, "%s/run.ckpt", dir);
  vaecl_train_options opt = vaecl_train_defaults();
  opt.batch = 32;
  opt.epochs = 3;
  opt.out_path = path;
  stop_now = 0;
  opt.stop = &stop_now;
  opt.callbacks.on_progress = stop_after_last_step;
  opt.callbacks.progress_interval = 1e-9; /* a report after every step */
  vaecl_model *m = vaecl_model_create(be, &cfg, 32, 9);
  vaecl_train_result r;
  ck_assert_msg(vaecl_train(m, be, &data, &opt, 0, &r) == 0, "%s", vaecl_last_error());
  ck_assert(r.interrupted);
  ck_assert_int_eq(r.stopped_at_step, 0);
  ck_assert_uint_eq(r.epochs_done, 1);
  ck_assert(r.saved);
  vaecl_checkpoint ck;
  ck_assert_msg(vaecl_checkpoint_load(path, &ck) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(ck.epochs_done, 1);
  ck_assert_uint_eq(ck.adam_steps, 3);
  vaecl_checkpoint_free(&ck);
  vaecl_model_destroy(m);
  vaecl_model_spec_free(&cfg);
  test_remove_tree(dir);
  free(dir);
  vaecl_dataset_free(&data);
}
END_TEST

int main(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("train");
  tcase_set_timeout(tc, 900);
  tcase_add_checked_fixture(tc, test_device_setup, test_device_teardown);
  tcase_add_test(tc, loss_falls_on_real_images);
  tcase_add_test(tc, resume_matches_unbroken_run);
  tcase_add_test(tc, steps_in_flight_are_bounded);
  tcase_add_test(tc, stop_in_last_step_completes_the_epoch);
  tcase_add_test(tc, every_shipped_model_learns);
  suite_add_tcase(s, tc);
  return vaecl_test_run(s);
}
