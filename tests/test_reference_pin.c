/* The reference model's training trajectory, pinned bit for bit.
 *
 * The digests below were recorded at commit 1ee90f2 (before models became files;
 * tensor data in order, without their names, which changed with model files):
 * the reference model, seed 1, trained for 2 epochs at batch 128 on the first 512
 * fixture images, on PoCL's CPU device. Any change that alters one bit of the
 * weights, Adam's moments or the reported losses of the default model fails here.
 * On another device (a GPU, another PoCL) float results legitimately differ, so the
 * check only applies to the device the digests were recorded on. */
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

/* Devices the trajectory was recorded on, with its two digests. */
static const struct {
  const char *device;
  uint64_t state, loss;
} pins[] = {
    {"pthread-skylake-avx512-Intel(R) Xeon(R) Processor", 0xd7433f7729b1e2acull,
     0x2e3f16d4c4a4c1f5ull},
};

static uint64_t fnv1a(uint64_t h, const void *bytes, size_t n) {
  const unsigned char *p = bytes;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

START_TEST(reference_trajectory_is_unchanged) {
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
  vaecl_model *m = vaecl_model_create(be, &spec, 128, 1);
  ck_assert_ptr_nonnull(m);
  vaecl_train_options opt = vaecl_train_defaults();
  opt.epochs = 2;
  vaecl_train_result result;
  ck_assert_msg(vaecl_train(m, be, &data, &opt, 0, &result) == 0, "%s", vaecl_last_error());
  const vaecl_epoch_metrics last = result.last;
  vaecl_model_spec_free(&spec);
  vaecl_checkpoint ck;
  ck_assert_int_eq(vaecl_model_to_checkpoint(m, &ck), 0);
  uint64_t state = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < ck.tensor_count; i++) {
    state = fnv1a(state, ck.tensors[i].data, ck.tensors[i].count * sizeof(float));
  }
  state = fnv1a(state, &ck.adam_steps, sizeof ck.adam_steps);
  const double losses[3] = {last.loss, last.reconstruction_loss, last.kl_loss};
  const uint64_t loss = fnv1a(0xcbf29ce484222325ull, losses, sizeof losses);
  printf("device %s: state digest 0x%016llxull, loss digest 0x%016llxull (loss %.6f)\n",
         be->device_name, (unsigned long long)state, (unsigned long long)loss, last.loss);
  vaecl_checkpoint_free(&ck);
  vaecl_model_destroy(m);
  vaecl_dataset_free(&data);
  for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
    if (strcmp(be->device_name, pins[i].device) == 0) {
      ck_assert_msg(state == pins[i].state, "weights/moments digest changed");
      ck_assert_msg(loss == pins[i].loss, "loss digest changed");
      return;
    }
  printf("no digest recorded for this device: trajectory not compared\n");
}
END_TEST

int main(void) {
  Suite *s = suite_create("reference_pin");
  TCase *tc = tcase_create("reference");
  tcase_add_checked_fixture(tc, test_device_setup, test_device_teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, reference_trajectory_is_unchanged);
  suite_add_tcase(s, tc);
  return vaecl_test_run(s);
}
