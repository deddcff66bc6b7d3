/* One data-parallel training step (see vaecl_shard in vaecl/train.h): this rank's
 * part of the batch forward and backward, one sum across ranks of a fused host
 * buffer, the same Adam update on every rank. */
#ifndef VAECL_TRAIN_SHARD_H
#define VAECL_TRAIN_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include <vaecl/dataset.h>
#include <vaecl/graph.h>
#include <vaecl/train.h>

typedef struct {
  vaecl_shard shard;
  vb_backend *be;
  /* The reduced buffer: every gradient (tensor order), then this epoch's two loss
   * sums and the stop votes, so one reduce per step carries all three. */
  float *buf;
  size_t params, count;
  int stop;       /* some rank asked to stop: every rank stops after this step */
  double sums[2]; /* the whole batch's running loss sums (vaecl_model_read_loss_sums) */
  double compute_s, reduce_s, apply_s; /* time in each part, summed over steps */
} shard_step;

/* The rows of a batch of n that `rank` of `ranks` takes: [*first, *first + *count). */
void shard_rows(int n, int rank, int ranks, int *first, int *count);

int shard_step_open(shard_step *, vaecl_model *, vb_backend *, const vaecl_shard *);
void shard_step_close(shard_step *);

/* Every rank checks that all ranks run the same training: values[0..k) (each below
 * 2^32) must be equal on every rank; else -1 with a message naming the first value
 * (names[i]) that differs and the ranks. Collective. */
int shard_agree(shard_step *, const uint64_t *values, const char *const *names, int k);

/* shard_agree on what must match for the ranks' steps to line up: the images (count
 * and a CRC of the pixels), the model, the batch, the epochs and the seed. */
int shard_check_setup(shard_step *, vaecl_model *, const vaecl_dataset *,
                      const vaecl_train_options *, uint32_t epochs_done);

/* After an epoch: every rank should hold the same weights and Adam moments, since
 * each applies the same update to the same sums; but devices of different vendors
 * may round Adam's square root and division differently (OpenCL allows a few ulp).
 * Compares a CRC-32 of them across ranks and, when any differs, copies rank 0's to
 * every rank. *copied says whether it did. Collective. */
int shard_sync_weights(shard_step *, vaecl_model *, int *copied);

/* Zeroes the model's and the shard's loss sums (an epoch begins). */
int shard_reset_sums(shard_step *, vaecl_model *);

/* One step: images hold this rank's rows [first, first + count) of a batch of
 * `whole` (count may be 0). local_stop is this rank's vote. Collective. When
 * `timed`, waits for the device after the update so apply_s is the update's time. */
int shard_step_run(shard_step *, vaecl_model *, const vb_buf *images, int count, int first,
                   int whole, uint64_t step, const vaecl_adam_config *, int local_stop, int timed);

#endif
