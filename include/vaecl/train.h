/* The training loop: epochs of shuffled mini-batches, metrics as Keras computes
 * them, a checkpoint after every epoch and when stopped. It prints nothing: the
 * caller gets every report through callbacks. */
#ifndef VAECL_TRAIN_H
#define VAECL_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include <vaecl/backend.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Means over the batches so far (Keras' running metrics). loss is
 * reconstruction_loss + kl_weight * kl_loss. */
typedef struct {
  int epoch, epochs; /* 1-based epoch, and the run's total */
  int step, steps;   /* steps done in this epoch, and its total */
  double seconds;    /* since the epoch began (at the epoch's end: validation included) */
  double loss, reconstruction_loss, kl_loss;
  /* In the run's first epoch: its first step alone, waited for (it includes compiling
   * kernels on first use, seconds on PoCL); 0 in later epochs. Part of seconds. */
  double first_step_seconds;
  /* At the epoch's end, when the options give validation data: the same three over the
   * validation images (see vaecl/validate.h), after the epoch's last step. */
  int has_val;
  double val_loss, val_reconstruction_loss, val_kl_loss;
} vaecl_epoch_metrics;

typedef struct {
  void *user; /* passed to every callback */
  void (*on_epoch_begin)(void *user, int epoch, int epochs);
  /* Within an epoch, at most every progress_interval seconds (each call waits for
   * the device to catch up, so keep the interval at a second or more). */
  void (*on_progress)(void *user, const vaecl_epoch_metrics *);
  void (*on_epoch_end)(void *user, const vaecl_epoch_metrics *);
  double progress_interval; /* seconds; 0: no progress calls */
} vaecl_train_callbacks;

/* Data-parallel training: `ranks` processes (one per device, e.g. under MPI) each call
 * vaecl_train with the same options, data and seed. Every rank follows the same
 * shuffle and takes its part of each batch (rows [n*rank/ranks, n*(rank+1)/ranks) of
 * a batch of n); the gradients, the loss sums and the stop flag are summed across
 * ranks through `reduce` once per step, and every rank applies the same Adam update.
 * The library knows nothing of MPI: the caller supplies reduce. Rank 0 alone writes
 * out_path; the callbacks run on every rank with the same (global) figures. Before
 * the first step the ranks check that they train the same data, model and options;
 * after each epoch, that they hold the same weights (else rank 0's are copied). */
typedef struct {
  int rank, ranks; /* ranks <= 1: a single process, reduce unused */
  void *user;      /* passed to reduce */
  /* Sums buf[0..count) across all ranks in place, every rank getting the same sums,
   * and returns 0; or returns -1 after vaecl_fail. Called collectively: every rank
   * calls it the same number of times with the same count. */
  int (*reduce)(void *user, float *buf, size_t count);
} vaecl_shard;

typedef struct {
  int epochs;    /* the total, counting epochs a resumed run already did (10) */
  int batch;     /* 128 */
  uint64_t seed; /* weights, shuffling and sampling noise */
  vaecl_adam_config adam;
  const char *out_path; /* checkpoint written after each epoch and when stopped; NULL: none */
  vaecl_train_callbacks callbacks;
  /* Polled before each step: once nonzero, the run stops after the current step,
   * saves and returns. A signal handler may set it. NULL: never stops early. */
  const volatile sig_atomic_t *stop;
  /* Held-out images scored after every epoch (vaecl_validate, batches of `batch`, or of a
   * rank's share of it under data parallelism, where rank 0 alone validates; the noise
   * keyed by `seed`); NULL: no validation. Never trained on, and the training trajectory
   * is the same with or without it. */
  const vaecl_dataset *val_data;
  /* Stored in every checkpoint as its `validation` (vaecl/checkpoint.h), so a resumed run
   * can repeat the same choice; NULL: none. */
  const char *validation_note;

  /* Zeroed (the default): one process. With several ranks, a stop on any rank stops every rank
   * after the same step. */
  vaecl_shard shard;
} vaecl_train_options;

typedef struct {
  uint32_t epochs_done;     /* completed epochs, as recorded in the last checkpoint */
  int interrupted;          /* stopped through opt->stop before the last epoch ended */
  int stopped_at_step;      /* when interrupted: steps done of the unfinished epoch */
  int saved;                /* a checkpoint was written to out_path */
  vaecl_epoch_metrics last; /* the last completed epoch's metrics */
  /* With several ranks: epochs after which some rank's weights differed from rank
   * 0's (devices that round Adam differently) and rank 0's were copied to all. */
  int weight_syncs;
} vaecl_train_result;

vaecl_train_options vaecl_train_defaults(void);

/* Trains m (fresh, or restored from a checkpoint with `epochs_done` completed) on
 * the data set until opt->epochs are done. 0 on success, also when stopped through
 * opt->stop (result->interrupted then says so); -1 with a message on failure. A
 * run with nothing left to do returns 0 with result->saved == 0. result may be NULL. */
int vaecl_train(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                const vaecl_train_options *opt, uint32_t epochs_done, vaecl_train_result *result);

#ifdef __cplusplus
}
#endif
#endif
