#include <vaecl/train.h>

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/train_shard.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/philox.h"
#include <vaecl/step_window.h>
#include <vaecl/validate.h>

vaecl_train_options vaecl_train_defaults(void) {
  return (vaecl_train_options){
      .epochs = 10, .batch = 128, .seed = 1, .adam = vaecl_adam_default(), .out_path = NULL};
}

static int local_stop(const vaecl_train_options *opt) {
  return opt->stop && *opt->stop;
}

/* With several ranks, only the stop every rank has agreed on counts. */
static int stop_requested(const vaecl_train_options *opt, const shard_step *sh) {
  return sh ? sh->stop : local_stop(opt);
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

static int save(vaecl_model *m, const vaecl_train_options *opt, const char *path,
                uint32_t epochs_done) {
  vaecl_checkpoint ck;
  if (vaecl_model_to_checkpoint(m, &ck) != 0)
    return -1;
  ck.epochs_done = epochs_done;
  ck.batch = (uint32_t)opt->batch;
  ck.validation = (char *)opt->validation_note; /* borrowed: not freed below */
  const int rc = vaecl_checkpoint_save(path, &ck);
  ck.validation = NULL;
  vaecl_checkpoint_free(&ck);
  return rc;
}

/* The validation figures, after the epoch; their time counts in the epoch's, as in Keras. */
static int validate(vaecl_model *m, vb_backend *be, const vaecl_train_options *opt,
                    vaecl_epoch_metrics *em) {
  const double start = vaecl_seconds();
  double recon, kl;
  /* Under data parallelism a rank's model holds only its part of a batch. */
  const int batch = opt->batch < vaecl_model_max_batch(m) ? opt->batch : vaecl_model_max_batch(m);
  if (vaecl_validate(m, be, opt->val_data, batch, opt->seed, &recon, &kl) != 0)
    return vaecl_fail_context("validating after epoch %d: ", em->epoch);
  em->has_val = 1;
  em->val_reconstruction_loss = recon;
  em->val_kl_loss = kl;
  em->val_loss = recon + (double)vaecl_model_get_spec(m)->kl_weight * kl;
  em->seconds += vaecl_seconds() - start;
  return 0;
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

/* This rank's part of the batch of n images at `first`, and one step with the others. */
static int shard_batch(shard_step *sh, vaecl_model *m, device_data *d,
                       const vaecl_train_options *opt, size_t first, int n, size_t ppi,
                       uint64_t step) {
  int part_first, part;
  shard_rows(n, sh->shard.rank, sh->shard.ranks, &part_first, &part);
  if (part > 0 && d->be->ops->gather_images(d->be, d->pixels, d->order, first + (size_t)part_first,
                                            (size_t)part, ppi, d->batch_images) != 0)
    return -1;
  return shard_step_run(sh, m, d->batch_images, part, part_first, n, step, &opt->adam,
                        local_stop(opt), 0);
}

static int read_sums(vaecl_model *m, const shard_step *sh, double sums[2]) {
  if (!sh)
    return vaecl_model_read_loss_sums(m, sums);
  sums[0] = sh->sums[0];
  sums[1] = sh->sums[1];
  return 0;
}

/* first_of_run: time the first step alone (see vaecl_epoch_metrics). Waiting for
 * the device there changes no result. */
static int run_epoch(vaecl_model *m, device_data *d, const vaecl_dataset *data,
                     const vaecl_train_options *opt, uint32_t epoch, int first_of_run,
                     uint32_t *order, shard_step *sh, vaecl_epoch_metrics *out) {
  const vb_ops *o = d->be->ops;
  const size_t ppi = vaecl_dataset_image_size(data);
  const int steps = (int)((data->count + (size_t)opt->batch - 1) / (size_t)opt->batch);
  shuffle(order, data->count, opt->seed, epoch);
  if (o->write(d->be, d->order, 0, order, data->count * sizeof *order) != 0 ||
      (sh ? shard_reset_sums(sh, m) : vaecl_model_reset_loss_sums(m)) != 0)
    return -1;
  const double start = vaecl_seconds();
  double last_report = start, sums[2];
  vaecl_step_window window = vaecl_step_window_open(d->be);
  int step = 0, rc = 0;
  out->steps = steps;
  for (; step < steps && !stop_requested(opt, sh) && rc == 0; step++) {
    const size_t first = (size_t)step * opt->batch;
    const int n =
        (int)(data->count - first < (size_t)opt->batch ? data->count - first : (size_t)opt->batch);
    /* Sampling noise is numbered by the global step, unique across epochs. */
    const uint64_t global_step = (uint64_t)epoch * (uint64_t)steps + (uint64_t)step;
    if (sh) { /* the sums are on the host after every step: check each one */
      if ((rc = shard_batch(sh, m, d, opt, first, n, ppi, global_step)) != 0 ||
          (rc = check_finite(sh->sums[0] + sh->sums[1], epoch, step + 1,
                             opt->adam.learning_rate)) != 0)
        break;
    } else if ((rc = vaecl_step_window_admit(&window)) != 0 ||
               (rc = o->gather_images(d->be, d->pixels, d->order, first, (size_t)n, ppi,
                                      d->batch_images)) != 0 ||
               (rc = vaecl_model_train_step(m, d->batch_images, n, global_step, &opt->adam)) != 0 ||
               (rc = vaecl_step_window_mark(&window)) != 0)
      break;
    if (first_of_run && step == 0) {
      if ((rc = o->finish(d->be)) != 0)
        break;
      out->first_step_seconds = vaecl_seconds() - start;
    }
    /* Reading the sums waits for the device, so only do it as often as asked. */
    const vaecl_train_callbacks *cb = &opt->callbacks;
    if (cb->on_progress && cb->progress_interval > 0 &&
        vaecl_seconds() - last_report > cb->progress_interval) {
      if ((rc = read_sums(m, sh, sums)) != 0)
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
  if (rc != 0 || read_sums(m, sh, sums) != 0)
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
  /* with several ranks, each model holds only its part of a batch */
  const int ranks = opt->shard.ranks > 1 ? opt->shard.ranks : 1;
  if (opt->batch < 1 || (opt->batch + ranks - 1) / ranks > vaecl_model_max_batch(m))
    return vaecl_fail("batch %d%s does not fit a model made for batches of up to %d", opt->batch,
                      ranks > 1 ? " split over the ranks" : "", vaecl_model_max_batch(m));
  const vaecl_shape *in = &vaecl_model_get_spec(m)->input;
  if (vaecl_dataset_check_fits(data, in->h, in->w, in->c) != 0)
    return vaecl_fail_context("%s: ", vaecl_model_get_spec(m)->source);
  if (opt->val_data && (opt->val_data->count == 0 ||
                        vaecl_dataset_check_fits(opt->val_data, in->h, in->w, in->c) != 0))
    return opt->val_data->count ? vaecl_fail_context("the validation data: ")
                                : vaecl_fail("the validation set is empty");
  if (epochs_done >= (uint32_t)opt->epochs)
    return 0; /* nothing to do; saved stays 0 */
  /* The data set as bytes, the shuffled order and one batch of floats (upload_data). */
  const uint64_t ppi = vaecl_dataset_image_size(data), pixels = (uint64_t)data->count * ppi;
  if (vaecl_model_check_memory(m, pixels + data->count * 4ull + (uint64_t)opt->batch * ppi * 4,
                               pixels) != 0)
    return vaecl_fail_context("%zu images of %llu bytes: ", data->count, (unsigned long long)ppi);
  device_data d = {.be = be};
  shard_step shard, *sh = opt->shard.ranks > 1 ? &shard : NULL;
  if (sh && (shard_step_open(sh, m, be, &opt->shard) != 0 ||
             shard_check_setup(sh, m, data, opt, epochs_done) != 0)) {
    shard_step_close(sh);
    return -1;
  }
  /* rank 0 alone writes the checkpoint */
  const char *out_path = sh && sh->shard.rank != 0 ? NULL : opt->out_path;
  uint32_t *order = malloc(data->count * sizeof *order);
  int rc = order ? upload_data(&d, data, opt->batch) : vaecl_fail("out of host memory");
  const vaecl_train_callbacks *cb = &opt->callbacks;
  for (uint32_t e = epochs_done; rc == 0 && e < (uint32_t)opt->epochs; e++) {
    vaecl_epoch_metrics em = {.epoch = (int)e + 1, .epochs = opt->epochs};
    if (cb->on_epoch_begin)
      cb->on_epoch_begin(cb->user, (int)e + 1, opt->epochs);
    if ((rc = run_epoch(m, &d, data, opt, e, e == epochs_done, order, sh, &em)) != 0)
      break;
    /* A stop during the epoch's last step still completes the epoch. */
    if (em.step < em.steps) {
      r->interrupted = 1;
      r->stopped_at_step = em.step;
      /* The epoch is not complete: a resumed run repeats it from these weights. */
      if (out_path && (rc = save(m, opt, out_path, e)) == 0)
        r->saved = 1;
      break;
    }
    if ((rc = check_finite(em.loss, e, em.steps, opt->adam.learning_rate)) != 0)
      break;
    int copied = 0;
    if (sh && (rc = shard_sync_weights(sh, m, &copied)) != 0)
      break;
    r->weight_syncs += copied;
    /* Rank 0 alone reports, so it alone validates; the others wait at the next step. */
    if (opt->val_data && (!sh || sh->shard.rank == 0) && (rc = validate(m, be, opt, &em)) != 0)
      break;
    if (cb->on_epoch_end)
      cb->on_epoch_end(cb->user, &em);
    if (out_path && (rc = save(m, opt, out_path, e + 1)) != 0)
      break;
    r->saved = out_path != NULL;
    r->epochs_done = e + 1;
    r->last = em;
    if (stop_requested(opt, sh) && e + 1 < (uint32_t)opt->epochs) {
      r->interrupted = 1;
      break;
    }
  }
  free(order);
  release_data(&d);
  if (sh)
    shard_step_close(sh);
  return rc;
}
