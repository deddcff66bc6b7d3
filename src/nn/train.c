#include <vaecl/train.h>

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/philox.h"
#include <vaecl/step_window.h>

static volatile sig_atomic_t stop_requested;

void vaecl_train_request_stop(void) {
  stop_requested = 1;
}

vaecl_train_options vaecl_train_defaults(void) {
  return (vaecl_train_options){.epochs = 10,
                               .batch = 128,
                               .seed = 1,
                               .adam = vaecl_adam_default(),
                               .out_path = NULL,
                               .log = stdout,
                               .progress = NULL};
}

/* Fisher-Yates with the counter RNG: epoch e's order depends only on (seed, e), so a
 * resumed run sees the same batches as an uninterrupted one. */
static void shuffle(uint32_t *order, size_t n, uint64_t seed, uint32_t epoch) {
  for (size_t i = 0; i < n; i++)
    order[i] = (uint32_t)i;
  for (size_t i = n - 1; i > 0; i--) {
    uint32_t w[4];
    vaecl_philox_draw(seed ^ 0x53485546464C45ull /* "SHUFFLE" */, epoch, (uint32_t)i, w);
    const uint64_t r = ((uint64_t)w[0] << 32 | w[1]) % (i + 1);
    const uint32_t t = order[i];
    order[i] = order[r];
    order[r] = t;
  }
}

/* A non-finite loss means the run diverged; nothing after it can recover. */
static int check_finite(double loss, uint32_t epoch, int step, float lr) {
  if (isfinite(loss))
    return 0;
  return vaecl_fail("the loss became %g in epoch %u (by step %d): training diverged. Try a "
                    "smaller --lr (now %g) or another --seed.",
                    loss, epoch + 1, step, (double)lr);
}

static int save(vaecl_model *m, const char *path, uint32_t epochs_done) {
  vaecl_checkpoint ck;
  if (vaecl_model_to_checkpoint(m, &ck) != 0)
    return -1;
  ck.epochs_done = epochs_done;
  const int rc = vaecl_checkpoint_save(path, &ck);
  vaecl_checkpoint_free(&ck);
  return rc;
}

typedef struct {
  vb_backend *be;
  vb_buf *pixels, *order, *batch_images;
} device_data;

static void release_data(device_data *d) {
  d->be->ops->release(d->be, d->pixels);
  d->be->ops->release(d->be, d->order);
  d->be->ops->release(d->be, d->batch_images);
}

/* The whole data set goes to the device once, as bytes (55 MB for 70,000 images). */
static int upload_data(device_data *d, const vaecl_dataset *data, int batch) {
  const vb_ops *o = d->be->ops;
  const size_t ppi = (size_t)data->rows * data->cols;
  if (!(d->pixels = o->alloc(d->be, data->count * ppi)) ||
      !(d->order = o->alloc(d->be, data->count * sizeof(uint32_t))) ||
      !(d->batch_images = o->alloc(d->be, (size_t)batch * ppi * sizeof(float))))
    return -1;
  return o->write(d->be, d->pixels, 0, data->pixels, data->count * ppi);
}

static void print_progress(const vaecl_train_options *opt, int step, int steps,
                           const double sums[2], double elapsed) {
  const double rec = sums[0] / step, kl = sums[1] / step;
  fprintf(opt->progress,
          "%s%d/%d - %.0fs - loss: %.4f - reconstruction_loss: %.4f - kl_loss: %.4f%s",
          opt->progress_is_tty ? "\r" : "  ", step, steps, elapsed, rec + kl, rec, kl,
          opt->progress_is_tty ? "" : "\n");
  fflush(opt->progress);
}

static int run_epoch(vaecl_model *m, device_data *d, const vaecl_dataset *data,
                     const vaecl_train_options *opt, uint32_t epoch, uint32_t *order,
                     vaecl_epoch_metrics *out) {
  const vb_ops *o = d->be->ops;
  const size_t ppi = (size_t)data->rows * data->cols;
  const int steps = (int)((data->count + (size_t)opt->batch - 1) / (size_t)opt->batch);
  shuffle(order, data->count, opt->seed, epoch);
  if (o->write(d->be, d->order, 0, order, data->count * sizeof *order) != 0 ||
      vaecl_model_reset_loss_sums(m) != 0)
    return -1;
  const double start = vaecl_seconds();
  double last_report = start, sums[2];
  vaecl_step_window window = vaecl_step_window_open(d->be);
  int step = 0, rc = 0;
  for (; step < steps && !stop_requested && rc == 0; step++) {
    const size_t first = (size_t)step * opt->batch;
    const int n =
        (int)(data->count - first < (size_t)opt->batch ? data->count - first : (size_t)opt->batch);
    /* Sampling noise is numbered by the global step, unique across epochs. */
    const uint64_t global_step = (uint64_t)epoch * (uint64_t)steps + (uint64_t)step;
    if ((rc = vaecl_step_window_admit(&window)) != 0 ||
        (rc = o->gather_images(d->be, d->pixels, d->order, first, (size_t)n, ppi,
                               d->batch_images)) != 0 ||
        (rc = vaecl_model_train_step(m, d->batch_images, n, global_step, &opt->adam)) != 0 ||
        (rc = vaecl_step_window_mark(&window)) != 0)
      break;
    /* Reading the sums waits for the device, so only do it for a live display. */
    /* A terminal gets a live line; a log file a line now and then. */
    const double interval = opt->progress_is_tty ? 1.0 : 30.0;
    if (opt->progress && vaecl_seconds() - last_report > interval) {
      if ((rc = vaecl_model_read_loss_sums(m, sums)) != 0)
        break;
      last_report = vaecl_seconds();
      print_progress(opt, step + 1, steps, sums, last_report - start);
      /* the sums are here anyway: stop a diverged run now, not at the epoch's end */
      if ((rc = check_finite(sums[0] + sums[1], epoch, step + 1, opt->adam.learning_rate)) != 0)
        break;
    }
  }
  if (vaecl_step_window_close(&window) != 0)
    rc = -1;
  if (rc != 0 || vaecl_model_read_loss_sums(m, sums) != 0)
    return -1;
  out->steps = step;
  out->seconds = vaecl_seconds() - start;
  out->reconstruction_loss = step ? sums[0] / step : 0;
  out->kl_loss = step ? sums[1] / step : 0;
  out->loss = out->reconstruction_loss + out->kl_loss;
  if (opt->progress && opt->progress_is_tty)
    fprintf(opt->progress, "\r\033[K");
  return 0;
}

int vaecl_train(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                const vaecl_train_options *opt, uint32_t epochs_done, vaecl_epoch_metrics *last) {
  if (data->count == 0)
    return vaecl_fail("the data set is empty");
  if (opt->batch < 1 || opt->batch > vaecl_model_max_batch(m))
    return vaecl_fail("batch %d does not fit a model made for batches of up to %d", opt->batch,
                      vaecl_model_max_batch(m));
  if ((size_t)data->rows * data->cols != vaecl_model_image_size(m))
    return vaecl_fail("the images are %dx%d but the model expects %zu pixels", data->rows,
                      data->cols, vaecl_model_image_size(m));
  device_data d = {.be = be};
  uint32_t *order = malloc(data->count * sizeof *order);
  int rc = order ? upload_data(&d, data, opt->batch) : vaecl_fail("out of host memory");
  stop_requested = 0;
  for (uint32_t e = epochs_done; rc == 0 && e < (uint32_t)opt->epochs; e++) {
    vaecl_epoch_metrics em;
    fprintf(opt->log, "Epoch %u/%d\n", e + 1, opt->epochs);
    fflush(opt->log);
    if ((rc = run_epoch(m, &d, data, opt, e, order, &em)) != 0)
      break;
    const int steps = (int)((data->count + (size_t)opt->batch - 1) / (size_t)opt->batch);
    if (stop_requested) {
      fprintf(opt->log, "interrupted at step %d/%d of epoch %u\n", em.steps, steps, e + 1);
      /* The epoch is not complete: a resumed run repeats it from these weights. */
      if (opt->out_path && (rc = save(m, opt->out_path, e)) == 0)
        fprintf(opt->log, "saved %s (resume with --resume %s)\n", opt->out_path, opt->out_path);
      if (rc == 0)
        rc = vaecl_fail("training interrupted");
      break;
    }
    fprintf(opt->log,
            "%d/%d - %.0fs - %.0fms/step - loss: %.4f - reconstruction_loss: %.4f - "
            "kl_loss: %.4f\n",
            em.steps, steps, em.seconds, 1e3 * em.seconds / em.steps, em.loss,
            em.reconstruction_loss, em.kl_loss);
    fflush(opt->log);
    if ((rc = check_finite(em.loss, e, em.steps, opt->adam.learning_rate)) != 0)
      break;
    if (opt->out_path && (rc = save(m, opt->out_path, e + 1)) != 0)
      break;
    if (last)
      *last = em;
  }
  free(order);
  release_data(&d);
  return rc;
}
