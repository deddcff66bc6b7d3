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

vaecl_train_options vaecl_train_defaults(void) {
  return (vaecl_train_options){
      .epochs = 10, .batch = 128, .seed = 1, .adam = vaecl_adam_default(), .out_path = NULL};
}

static int stop_requested(const vaecl_train_options *opt) {
  return opt->stop && *opt->stop;
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
  return vaecl_fail("the loss became %g in epoch %u (by step %d): training diverged with "
                    "learning rate %g; a smaller learning rate or another seed may help",
                    loss, epoch + 1, step, (double)lr);
}

static int save(vaecl_model *m, const char *path, uint32_t epochs_done, int batch) {
  vaecl_checkpoint ck;
  if (vaecl_model_to_checkpoint(m, &ck) != 0)
    return -1;
  ck.epochs_done = epochs_done;
  ck.batch = (uint32_t)batch;
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
  const size_t ppi = vaecl_dataset_image_size(data);
  if (!(d->pixels = o->alloc(d->be, data->count * ppi)) ||
      !(d->order = o->alloc(d->be, data->count * sizeof(uint32_t))) ||
      !(d->batch_images = o->alloc(d->be, (size_t)batch * ppi * sizeof(float))))
    return -1;
  return o->write(d->be, d->pixels, 0, data->pixels, data->count * ppi);
}

static void fill_metrics(vaecl_epoch_metrics *e, const vaecl_model *m, const double sums[2],
                         int step, double seconds) {
  e->step = step;
  e->seconds = seconds;
  e->reconstruction_loss = step ? sums[0] / step : 0;
  e->kl_loss = step ? sums[1] / step : 0;
  e->loss = e->reconstruction_loss + (double)vaecl_model_get_spec(m)->kl_weight * e->kl_loss;
}

static int run_epoch(vaecl_model *m, device_data *d, const vaecl_dataset *data,
                     const vaecl_train_options *opt, uint32_t epoch, uint32_t *order,
                     vaecl_epoch_metrics *out) {
  const vb_ops *o = d->be->ops;
  const size_t ppi = vaecl_dataset_image_size(data);
  const int steps = (int)((data->count + (size_t)opt->batch - 1) / (size_t)opt->batch);
  shuffle(order, data->count, opt->seed, epoch);
  if (o->write(d->be, d->order, 0, order, data->count * sizeof *order) != 0 ||
      vaecl_model_reset_loss_sums(m) != 0)
    return -1;
  const double start = vaecl_seconds();
  double last_report = start, sums[2];
  vaecl_step_window window = vaecl_step_window_open(d->be);
  int step = 0, rc = 0;
  out->steps = steps;
  for (; step < steps && !stop_requested(opt) && rc == 0; step++) {
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
    /* Reading the sums waits for the device, so only do it as often as asked. */
    const vaecl_train_callbacks *cb = &opt->callbacks;
    if (cb->on_progress && cb->progress_interval > 0 &&
        vaecl_seconds() - last_report > cb->progress_interval) {
      if ((rc = vaecl_model_read_loss_sums(m, sums)) != 0)
        break;
      last_report = vaecl_seconds();
      fill_metrics(out, m, sums, step + 1, last_report - start);
      cb->on_progress(cb->user, out);
      /* the sums are here anyway: stop a diverged run now, not at the epoch's end */
      if ((rc = check_finite(sums[0] + sums[1], epoch, step + 1, opt->adam.learning_rate)) != 0)
        break;
    }
  }
  if (vaecl_step_window_close(&window) != 0)
    rc = -1;
  if (rc != 0 || vaecl_model_read_loss_sums(m, sums) != 0)
    return -1;
  fill_metrics(out, m, sums, step, vaecl_seconds() - start);
  return 0;
}

int vaecl_train(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                const vaecl_train_options *opt, uint32_t epochs_done, vaecl_train_result *result) {
  vaecl_train_result ignored;
  vaecl_train_result *r = result ? result : &ignored;
  memset(r, 0, sizeof *r);
  r->epochs_done = epochs_done;
  if (data->count == 0)
    return vaecl_fail("the data set is empty");
  if (opt->batch < 1 || opt->batch > vaecl_model_max_batch(m))
    return vaecl_fail("batch %d does not fit a model made for batches of up to %d", opt->batch,
                      vaecl_model_max_batch(m));
  const vaecl_shape *in = &vaecl_model_get_spec(m)->input;
  if (vaecl_dataset_check_fits(data, in->h, in->w, in->c) != 0)
    return vaecl_fail_context("%s: ", vaecl_model_get_spec(m)->source);
  if (epochs_done >= (uint32_t)opt->epochs)
    return 0; /* nothing to do; saved stays 0 */
  /* The data set as bytes, the shuffled order and one batch of floats (upload_data). */
  const uint64_t ppi = vaecl_dataset_image_size(data), pixels = (uint64_t)data->count * ppi;
  if (vaecl_model_check_memory(m, pixels + data->count * 4ull + (uint64_t)opt->batch * ppi * 4,
                               pixels) != 0)
    return vaecl_fail_context("%zu images of %llu bytes: ", data->count, (unsigned long long)ppi);
  device_data d = {.be = be};
  uint32_t *order = malloc(data->count * sizeof *order);
  int rc = order ? upload_data(&d, data, opt->batch) : vaecl_fail("out of host memory");
  const vaecl_train_callbacks *cb = &opt->callbacks;
  for (uint32_t e = epochs_done; rc == 0 && e < (uint32_t)opt->epochs; e++) {
    vaecl_epoch_metrics em = {.epoch = (int)e + 1, .epochs = opt->epochs};
    if (cb->on_epoch_begin)
      cb->on_epoch_begin(cb->user, (int)e + 1, opt->epochs);
    if ((rc = run_epoch(m, &d, data, opt, e, order, &em)) != 0)
      break;
    /* A stop during the epoch's last step still completes the epoch. */
    if (em.step < em.steps) {
      r->interrupted = 1;
      r->stopped_at_step = em.step;
      /* The epoch is not complete: a resumed run repeats it from these weights. */
      if (opt->out_path && (rc = save(m, opt->out_path, e, opt->batch)) == 0)
        r->saved = 1;
      break;
    }
    if ((rc = check_finite(em.loss, e, em.steps, opt->adam.learning_rate)) != 0)
      break;
    if (cb->on_epoch_end)
      cb->on_epoch_end(cb->user, &em);
    if (opt->out_path && (rc = save(m, opt->out_path, e + 1, opt->batch)) != 0)
      break;
    r->saved = opt->out_path != NULL;
    r->epochs_done = e + 1;
    r->last = em;
    if (stop_requested(opt) && e + 1 < (uint32_t)opt->epochs) {
      r->interrupted = 1;
      break;
    }
  }
  free(order);
  release_data(&d);
  return rc;
}
