/* libFuzzer harness: the checkpoint reader (src/io: safetensors, format 1), then the model
 * text it carries, as `vaecl plot --model FILE` and `train --resume FILE` read them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vaecl/checkpoint.h>
#include <vaecl/model_spec.h>

#include "fuzz_util.h"

/* Every tensor of a loaded checkpoint has the element count its shape says. */
static void check(const vaecl_checkpoint *c) {
  if (!c->model_text || (c->tensor_count && !c->tensors))
    abort();
  for (size_t i = 0; i < c->tensor_count; i++) {
    const vaecl_ckpt_tensor *t = &c->tensors[i];
    size_t n = 1;
    for (int d = 0; d < t->rank; d++)
      n *= t->shape[d];
    if (t->rank < 0 || t->rank > VAECL_CKPT_MAX_RANK || n != t->count || !t->count || !t->data ||
        memchr(t->name, '\0', sizeof t->name) == NULL || vaecl_checkpoint_find(c, t->name) != t)
      abort();
    volatile float last = t->data[t->count - 1]; /* ASan checks the buffer's size */
    (void)last;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[FUZZ_PATH_MAX];
  fuzz_write(path, "input.ckpt", data, size);
  vaecl_checkpoint c;
  if (vaecl_checkpoint_load(path, &c) != 0)
    return 0;
  check(&c);
  vaecl_model_spec spec;
  if (vaecl_model_spec_parse(c.model_text, "input.ckpt (its model)", &spec) == 0)
    vaecl_model_spec_free(&spec);
  vaecl_checkpoint_free(&c);
  return 0;
}
