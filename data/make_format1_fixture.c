/* Writes data/fixtures/format1-small.ckpt: a format-1 ("VAECLCKP") checkpoint of a tiny
 * model, as vaecl 0.1 wrote them, for the test that format-1 files still load.
 *
 * Builds against vaecl 0.1 (commit 1ee90f2), NOT against this tree: its
 * vaecl_checkpoint_save and vaecl_model_config are the old API. See data/README.md:
 *   git worktree add /tmp/old-main 1ee90f2
 *   cmake -S /tmp/old-main -B /tmp/old-main/build -DBUILD_TESTING=OFF
 *   cmake --build /tmp/old-main/build --target vaecl_core
 *   cc -std=c11 -I/tmp/old-main/include data/make_format1_fixture.c \
 *      /tmp/old-main/build/libvaecl_core.a -lpng -lz -lm -o make_format1_fixture
 *   ./make_format1_fixture data/fixtures/format1-small.ckpt
 *
 * The tensors are those vaecl 0.1's model wrote, in its order (per layer: weights then
 * bias; each as value, Adam m, Adam v). Tensor number t (0-based, in file order) holds
 * value(t, j) = s * ((t + 1) + j / 128) at element j, s = -1 for odd j else 1: exact in
 * float32, so tests/test_checkpoint.c recomputes them. */
#include <stdio.h>
#include <stdlib.h>

#include <vaecl.h>
#include <vaecl/checkpoint.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT.ckpt\n", argv[0]);
    return 2;
  }
  const vaecl_model_config cfg = {.image_h = 8,
                                  .image_w = 8,
                                  .channels = 1,
                                  .enc_c1 = 2,
                                  .enc_c2 = 3,
                                  .hidden = 4,
                                  .latent = 2,
                                  .dec_c0 = 2,
                                  .dec_c1 = 3,
                                  .dec_c2 = 2,
                                  .kernel = 3};
  const int h = cfg.image_h, w = cfg.image_w, k = cfg.kernel;
  /* vaecl 0.1's layers: name, weight count, bias count (Keras layouts). */
  const struct {
    const char *name;
    size_t weights, biases;
  } layers[] = {
      {"enc.conv1", (size_t)k * k * cfg.channels * cfg.enc_c1, (size_t)cfg.enc_c1},
      {"enc.conv2", (size_t)k * k * cfg.enc_c1 * cfg.enc_c2, (size_t)cfg.enc_c2},
      {"enc.dense", (size_t)(h / 4) * (w / 4) * cfg.enc_c2 * cfg.hidden, (size_t)cfg.hidden},
      {"enc.heads", (size_t)cfg.hidden * 2 * cfg.latent, (size_t)2 * cfg.latent},
      {"dec.dense", (size_t)cfg.latent * (h / 4) * (w / 4) * cfg.dec_c0,
       (size_t)(h / 4) * (w / 4) * cfg.dec_c0},
      {"dec.convt1", (size_t)k * k * cfg.dec_c1 * cfg.dec_c0, (size_t)cfg.dec_c1},
      {"dec.convt2", (size_t)k * k * cfg.dec_c2 * cfg.dec_c1, (size_t)cfg.dec_c2},
      {"dec.convt3", (size_t)k * k * cfg.channels * cfg.dec_c2, (size_t)cfg.channels}};
  static const char *const kinds[3] = {"", "adam.m.", "adam.v."};
  vaecl_checkpoint c = {
      .config = cfg, .seed = 0x0123456789abcdefull, .epochs_done = 3, .adam_steps = 5000000001ull};
  for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++)
    for (int wb = 0; wb < 2; wb++)
      for (int kind = 0; kind < 3; kind++) {
        vaecl_ckpt_tensor *t = &c.tensors[c.tensor_count];
        snprintf(t->name, sizeof t->name, "%s%s.%s", kinds[kind], layers[l].name, wb ? "b" : "w");
        t->count = wb ? layers[l].biases : layers[l].weights;
        t->data = malloc(t->count * sizeof(float));
        if (!t->data)
          return 1;
        for (size_t j = 0; j < t->count; j++)
          t->data[j] = (j % 2 ? -1.0f : 1.0f) * ((float)(c.tensor_count + 1) + (float)j / 128.0f);
        c.tensor_count++;
      }
  const int rc = vaecl_checkpoint_save(argv[1], &c);
  if (rc != 0)
    fprintf(stderr, "%s\n", vaecl_last_error());
  for (size_t i = 0; i < c.tensor_count; i++)
    free(c.tensors[i].data);
  return rc ? 1 : 0;
}
