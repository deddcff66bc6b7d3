/* libFuzzer harness: the model-file parser (src/nn/model_spec.c) on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vaecl/model_spec.h>

/* What the graph relies on when it allocates from a parsed model. */
static void check_chain(const vaecl_layer_spec *l, int n) {
  for (int i = 0; i < n; i++)
    if (vaecl_shape_size(&l[i].in) == 0 || vaecl_shape_size(&l[i].out) == 0)
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1); /* the parser takes a C string */
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  vaecl_model_spec spec;
  if (vaecl_model_spec_parse(text, "fuzz.vae", &spec) == 0) {
    if (vaecl_shape_size(&spec.input) == 0 || spec.latent < 1 ||
        vaecl_model_spec_param_count(&spec) == 0)
      abort();
    check_chain(spec.encoder, spec.encoder_count);
    check_chain(spec.decoder, spec.decoder_count);
    vaecl_model_spec copy;
    if (vaecl_model_spec_copy(&spec, &copy) == 0)
      vaecl_model_spec_free(&copy);
    vaecl_model_spec_free(&spec);
  }
  free(text);
  return 0;
}
