#include "nn/train_shard.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "util/clock.h"
#include "util/error.h"

void shard_rows(int n, int rank, int ranks, int *first, int *count) {
  /* balanced: the parts differ by at most one image, and an early rank gets fewer */
  const int a = (int)((long long)n * rank / ranks), b = (int)((long long)n * (rank + 1) / ranks);
  *first = a;
  *count = b - a;
}

int shard_step_open(shard_step *s, vaecl_model *m, vb_backend *be, const vaecl_shard *shard) {
  memset(s, 0, sizeof *s);
  if (shard->ranks < 2 || shard->rank < 0 || shard->rank >= shard->ranks || !shard->reduce)
    return vaecl_fail("data-parallel training needs 0 <= rank < ranks and a reduce function "
                      "(rank %d of %d%s)",
                      shard->rank, shard->ranks, shard->reduce ? "" : ", no reduce");
  s->shard = *shard;
  s->be = be;
  s->params = vaecl_model_parameter_count(m);
  s->count = s->params + 3;
  if (!(s->buf = malloc(s->count * sizeof *s->buf)))
    return vaecl_fail("out of host memory for the %zu gradients to sum across ranks", s->params);
  return 0;
}

void shard_step_close(shard_step *s) {
  free(s->buf);
  s->buf = NULL;
}

/* Each rank writes its values into its own slots and zeros elsewhere, so the sum is
 * every rank's values side by side; 16-bit halves keep the floats exact. */
int shard_agree(shard_step *s, const uint64_t *values, const char *const *names, int k) {
  const int ranks = s->shard.ranks;
  const size_t n = (size_t)ranks * (size_t)k * 2;
  float *all = calloc(n, sizeof *all);
  if (!all)
    return vaecl_fail("out of host memory comparing the ranks' settings");
  for (int i = 0; i < k; i++) {
    float *slot = all + ((size_t)s->shard.rank * k + i) * 2;
    slot[0] = (float)(values[i] & 0xFFFF);
    slot[1] = (float)((values[i] >> 16) & 0xFFFF);
  }
  int rc = s->shard.reduce(s->shard.user, all, n);
  for (int i = 0; rc == 0 && i < k; i++)
    for (int r = 1; r < ranks; r++) {
      const float *a = all + (size_t)i * 2, *b = all + ((size_t)r * k + i) * 2;
      if (a[0] != b[0] || a[1] != b[1]) {
        rc = vaecl_fail("the ranks do not run the same training: %s is %.0f on rank 0 but %.0f "
                        "on rank %d; give every rank the same data, model and options",
                        names[i], (double)a[0] + 65536.0 * a[1], (double)b[0] + 65536.0 * b[1], r);
        break;
      }
    }
  free(all);
  return rc;
}

static uint32_t crc(const void *data, size_t size) {
  return (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), data, size); /* size_t length: zlib >= 1.2.9 */
}

int shard_check_setup(shard_step *s, vaecl_model *m, const vaecl_dataset *data,
                      const vaecl_train_options *opt, uint32_t epochs_done) {
  const vaecl_model_spec *spec = vaecl_model_get_spec(m);
  const uint64_t values[] = {data->count & 0xFFFFFFFFu,
                             crc(data->pixels, data->count * vaecl_dataset_image_size(data)),
                             crc(spec->text, strlen(spec->text)),
                             s->params,
                             (uint64_t)opt->batch,
                             (uint64_t)opt->epochs,
                             epochs_done,
                             opt->seed & 0xFFFFFFFFu,
                             opt->seed >> 32};
  static const char *const names[] = {"the number of images",
                                      "the CRC-32 of the images",
                                      "the CRC-32 of the model text",
                                      "the number of parameters",
                                      "the batch",
                                      "the number of epochs",
                                      "the number of epochs done (--resume)",
                                      "the seed (low 32 bits)",
                                      "the seed (high 32 bits)"};
  return shard_agree(s, values, names, (int)(sizeof values / sizeof values[0]));
}

/* Whether `value` is the same on every rank (each writes its own slots, as above). */
static int same_everywhere(shard_step *s, uint32_t value, int *same) {
  const size_t n = 2 * (size_t)s->shard.ranks;
  float *all = calloc(n, sizeof *all);
  if (!all)
    return vaecl_fail("out of host memory comparing the ranks' weights");
  all[2 * s->shard.rank] = (float)(value & 0xFFFF);
  all[2 * s->shard.rank + 1] = (float)(value >> 16);
  const int rc = s->shard.reduce(s->shard.user, all, n);
  *same = 1;
  for (int r = 1; rc == 0 && r < s->shard.ranks; r++)
    *same &= all[2 * r] == all[0] && all[2 * r + 1] == all[1];
  free(all);
  return rc;
}

int shard_sync_weights(shard_step *s, vaecl_model *m, int *copied) {
  vaecl_checkpoint ck;
  *copied = 0;
  if (vaecl_model_to_checkpoint(m, &ck) != 0)
    return -1;
  uLong c = crc32(0L, Z_NULL, 0);
  for (size_t i = 0; i < ck.tensor_count; i++)
    c ^= crc(ck.tensors[i].data, ck.tensors[i].count * sizeof(float)) + (uLong)i;
  int same = 1, rc = same_everywhere(s, (uint32_t)c, &same);
  /* a sum in which every rank but 0 adds zeros is rank 0's values (-0 becomes +0) */
  for (size_t i = 0; rc == 0 && !same && i < ck.tensor_count; i++) {
    vaecl_ckpt_tensor *t = &ck.tensors[i];
    if (s->shard.rank != 0)
      memset(t->data, 0, t->count * sizeof(float));
    rc = s->shard.reduce(s->shard.user, t->data, t->count);
  }
  if (rc == 0 && !same) {
    rc = vaecl_model_from_checkpoint(m, &ck);
    *copied = 1;
  }
  vaecl_checkpoint_free(&ck);
  return rc;
}

int shard_reset_sums(shard_step *s, vaecl_model *m) {
  s->sums[0] = s->sums[1] = 0;
  return vaecl_model_reset_loss_sums(m);
}

int shard_step_run(shard_step *s, vaecl_model *m, const vb_buf *images, int count, int first,
                   int whole, uint64_t step, const vaecl_adam_config *adam, int local_stop,
                   int timed) {
  const double t0 = vaecl_seconds();
  double sums[2];
  /* reading the gradients waits for this rank's forward and backward pass */
  if (vaecl_model_compute_shard_gradients(m, images, count, first, whole, step) != 0 ||
      vaecl_model_read_grads(m, s->buf) != 0 || vaecl_model_read_loss_sums(m, sums) != 0)
    return -1;
  float *tail = s->buf + s->params;
  tail[0] = (float)sums[0];
  tail[1] = (float)sums[1];
  tail[2] = local_stop ? 1.0f : 0.0f;
  const double t1 = vaecl_seconds();
  if (s->shard.reduce(s->shard.user, s->buf, s->count) != 0)
    return vaecl_fail_context("summing the gradients across ranks: ");
  const double t2 = vaecl_seconds();
  if (vaecl_model_write_grads(m, s->buf) != 0 || vaecl_model_apply_adam(m, adam) != 0 ||
      (timed && s->be->ops->finish(s->be) != 0))
    return -1;
  s->compute_s += t1 - t0;
  s->reduce_s += t2 - t1;
  s->apply_s += vaecl_seconds() - t2;
  s->sums[0] = tail[0];
  s->sums[1] = tail[1];
  s->stop = tail[2] > 0.0f;
  return 0;
}
