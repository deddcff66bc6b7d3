/* The training loop: epochs of shuffled mini-batches, Keras-style reports, a
 * checkpoint after every epoch (and on Ctrl-C). */
#ifndef VAECL_TRAIN_H
#define VAECL_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include <vaecl/backend.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>

typedef struct {
  int epochs;    /* 10 */
  int batch;     /* 128 */
  uint64_t seed; /* weights, shuffling and sampling noise */
  vaecl_adam_config adam;
  const char *out_path; /* checkpoint written after each epoch; NULL: none */
  FILE *log;            /* per-epoch lines (stdout) */
  FILE *progress;       /* live progress within an epoch, or NULL */
  int progress_is_tty;  /* redraw one line each second; else a plain line every 30 s */
} vaecl_train_options;

typedef struct {
  double loss, reconstruction_loss, kl_loss; /* means over the epoch's batches */
  double seconds;
  int steps;
} vaecl_epoch_metrics;

vaecl_train_options vaecl_train_defaults(void);

/* Trains m (fresh, or restored from a checkpoint with `epochs_done` completed) on
 * the data set. last (optional) gets the final epoch's metrics. */
int vaecl_train(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                const vaecl_train_options *opt, uint32_t epochs_done, vaecl_epoch_metrics *last);

/* Set by SIGINT: the loop stops after the current step and saves. */
void vaecl_train_request_stop(void);

#endif
