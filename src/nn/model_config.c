#include <vaecl/model_config.h>

#include "util/error.h"

vaecl_model_config vaecl_model_config_default(void) {
  vaecl_model_config c = {.image_h = 28,
                          .image_w = 28,
                          .channels = 1,
                          .enc_c1 = 64,
                          .enc_c2 = 128,
                          .hidden = 16,
                          .latent = 2,
                          .dec_c0 = 64,
                          .dec_c1 = 128,
                          .dec_c2 = 64,
                          .kernel = 3};
  return c;
}

int vaecl_model_config_check(const vaecl_model_config *c) {
  const struct {
    const char *name;
    int value, max;
  } fields[] = {
      {"image_h", c->image_h, 4096}, {"image_w", c->image_w, 4096}, {"channels", c->channels, 64},
      {"enc_c1", c->enc_c1, 4096},   {"enc_c2", c->enc_c2, 4096},   {"hidden", c->hidden, 65536},
      {"latent", c->latent, 4096},   {"dec_c0", c->dec_c0, 4096},   {"dec_c1", c->dec_c1, 4096},
      {"dec_c2", c->dec_c2, 4096},   {"kernel", c->kernel, 15}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (fields[i].value < 1 || fields[i].value > fields[i].max)
      return vaecl_fail("model %s = %d is out of range (1..%d)", fields[i].name, fields[i].value,
                        fields[i].max);
  if (c->image_h % 4 || c->image_w % 4)
    return vaecl_fail("image size %dx%d: both sides must be multiples of 4 (two stride-2 convs)",
                      c->image_h, c->image_w);
  if (c->kernel % 2 == 0)
    return vaecl_fail("kernel size %d must be odd", c->kernel);
  return 0;
}
