/* The reference model's training trajectory, pinned bit for bit.
 *
 * The exact digests below were recorded at commit 1ee90f2 (before models became
 * files; tensor data in order, without their names, which changed with model
 * files): the reference model, seed 1, trained for 2 epochs at batch 128 on the
 * first 512 fixture images, on PoCL's CPU device, and still hold by default, where
 * vaecl's own GEMM kernels run on CPU devices, and with CLBlast computing every GEMM
 * (gemm_tuning = 0): both sum each product in the same order. Other parameters of the
 * block kernel (gemm_chunk, gemm_group: what `vaecl tune` chooses) give the same bits on
 * any device. CLBlast's GEMMs split
 * along long sums (gemm_split_k = 1, the default on GPUs) sum in another order: that
 * trajectory is pinned too, and must stay within float bounds of the exact one. Any
 * change that alters one bit of the weights, Adam's moments or the reported losses
 * fails here.
 * On another device (a GPU, another PoCL) float results legitimately differ, so the
 * check only applies to the device the digests were recorded on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testdevice.h"
#include "testutil.h"
#include <vaecl.h>
#include <vaecl/checkpoint.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>
#include <vaecl/train.h>

/* Devices the trajectories were recorded on, with their digests: `exact`, bit for
 * bit vaecl 0.1's trajectory; `split` with CLBlast's GEMMs split along long sums
 * (recorded when the split became partial products side by side). */
typedef struct {
  uint64_t state, loss;
} digests;
static const struct {
  const char *device;
  digests exact, split;
} pins[] = {
    {"pthread-skylake-avx512-Intel(R) Xeon(R) Processor",
     {0xd7433f7729b1e2acull, 0x2e3f16d4c4a4c1f5ull},
     {0xb923b21c0af40ea8ull, 0x96f17a4f722ed19dull}},
};

static uint64_t fnv1a(uint64_t h, const void *bytes, size_t n) {
  const unsigned char *p = bytes;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* Trains the reference recipe on a backend with the given GEMM choices; the digests
 * of the final state and losses, and the last epoch's metrics. */
static void train(int tuning, int split, int chunk, digests *d, vaecl_epoch_metrics *last,
                  char *device, size_t size) {
  vaecl_backend_options o = test_backend_options();
  o.gemm_tuning = tuning;
  o.gemm_split_k = split;
  o.gemm_chunk = chunk; /* with groups of up to 3x3: what vaecl tune may choose */
  o.gemm_group = chunk ? 3 : 0;
  vb_backend *b = vaecl_backend_create("opencl", &o);
  ck_assert_msg(b != NULL, "no OpenCL device: %s", vaecl_last_error());
  snprintf(device, size, "%s", b->device_name);
  const char *dir = getenv("VAECL_TEST_DATA");
  ck_assert_msg(dir, "VAECL_TEST_DATA is not set (run through ctest)");
  char images[4096], labels[4096];
  snprintf(images, sizeof images, "%s/fixtures/fashion-mnist-1024-images-idx3-ubyte.gz", dir);
  snprintf(labels, sizeof labels, "%s/fixtures/fashion-mnist-1024-labels-idx1-ubyte.gz", dir);
  vaecl_dataset data;
  ck_assert_msg(vaecl_idx_load(images, labels, &data) == 0, "%s", vaecl_last_error());
  vaecl_dataset_truncate(&data, 512);
  vaecl_model_spec spec; /* the shipped file, not the built-in copy */
  snprintf(images, sizeof images, "%s/models/fashion-mnist-vae.vae", dir);
  ck_assert_msg(vaecl_model_spec_load(images, &spec) == 0, "%s", vaecl_last_error());
  vaecl_model *m = vaecl_model_create(b, &spec, 128, 1);
  ck_assert_ptr_nonnull(m);
  vaecl_train_options opt = vaecl_train_defaults();
  opt.epochs = 2;
  vaecl_train_result result;
  ck_assert_msg(vaecl_train(m, b, &data, &opt, 0, &result) == 0, "%s", vaecl_last_error());
  *last = result.last;
  vaecl_model_spec_free(&spec);
  vaecl_checkpoint ck;
  ck_assert_int_eq(vaecl_model_to_checkpoint(m, &ck), 0);
  d->state = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < ck.tensor_count; i++)
    d->state = fnv1a(d->state, ck.tensors[i].data, ck.tensors[i].count * sizeof(float));
  d->state = fnv1a(d->state, &ck.adam_steps, sizeof ck.adam_steps);
  const double losses[3] = {last->loss, last->reconstruction_loss, last->kl_loss};
  d->loss = fnv1a(0xcbf29ce484222325ull, losses, sizeof losses);
  printf("device %s, GEMM %s: state digest 0x%016llxull, loss digest 0x%016llxull "
         "(loss %.6f)\n",
         b->device_name, b->gemm_note, (unsigned long long)d->state, (unsigned long long)d->loss,
         last->loss);
  vaecl_checkpoint_free(&ck);
  vaecl_model_destroy(m);
  vaecl_dataset_free(&data);
  b->ops->destroy(b);
}

/* The split sums may differ from the single-call ones in every gradient by the
 * float bound of a sum, (K-1) U relative to the sum of |terms|, K <= 25,088 (the
 * longest sum: batch x 14 x 14 pixels of ConvT 2's weight gradient): 1.5e-3. The
 * epoch means of the losses of the two runs must agree within that bound. */
static void check_close_run(const char *what, double split, double exact) {
  const double tol = 25088.0 / 16777216.0;
  ck_assert_msg(fabs(split - exact) <= tol * fabs(exact),
                "%s with split sums %.6f vs %.6f with single calls: beyond %.2g relative", what,
                split, exact, tol);
}

START_TEST(reference_trajectory_is_unchanged) {
  char device[256];
  digests exact, tuned, clblast, split;
  vaecl_epoch_metrics last_exact, last_tuned, last_clblast, last_split;
  train(1, VAECL_GEMM_SPLIT_AUTO, 0, &exact, &last_exact, device, sizeof device);
  train(1, VAECL_GEMM_SPLIT_AUTO, 5, &tuned, &last_tuned, device, sizeof device);
  train(0, 0, 0, &clblast, &last_clblast, device, sizeof device);
  train(0, 1, 0, &split, &last_split, device, sizeof device);
  /* the block kernel's chunk and groups are scheduling only (on CPU devices; elsewhere
   * the kernel does not run and this holds trivially) */
  ck_assert_msg(tuned.state == exact.state && tuned.loss == exact.loss,
                "other GEMM kernel parameters changed the trajectory");
  check_close_run("loss", last_split.loss, last_exact.loss);
  check_close_run("reconstruction_loss", last_split.reconstruction_loss,
                  last_exact.reconstruction_loss);
  check_close_run("kl_loss", last_split.kl_loss, last_exact.kl_loss);
  for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
    if (strcmp(device, pins[i].device) == 0) {
      ck_assert_msg(exact.state == pins[i].exact.state,
                    "weights/moments digest changed (default GEMMs)");
      ck_assert_msg(exact.loss == pins[i].exact.loss, "loss digest changed (default GEMMs)");
      ck_assert_msg(clblast.state == pins[i].exact.state,
                    "weights/moments digest changed (CLBlast for every GEMM)");
      ck_assert_msg(clblast.loss == pins[i].exact.loss,
                    "loss digest changed (CLBlast for every GEMM)");
      ck_assert_msg(split.state == pins[i].split.state,
                    "weights/moments digest changed (CLBlast, split sums)");
      ck_assert_msg(split.loss == pins[i].split.loss, "loss digest changed (CLBlast, split sums)");
      return;
    }
  printf("no digest recorded for this device: trajectory not compared\n");
}
END_TEST

int main(void) {
  Suite *s = suite_create("reference_pin");
  TCase *tc = tcase_create("reference");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, reference_trajectory_is_unchanged);
  suite_add_tcase(s, tc);
  return vaecl_test_run(s);
}
