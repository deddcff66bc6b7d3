#include <stdio.h>
#include <vaecl.h>
#include <vaecl/backend_registry.h>
#include <vaecl/train.h>

int main(void) {
  vaecl_dataset data;
  vaecl_model_spec spec;
  vb_backend *be = vaecl_backend_create("opencl", NULL); /* the best-ranked device */
  if (!be || vaecl_dataset_load(VAECL_DEFAULT_DATA_DIR, &data) != 0 ||
      vaecl_model_spec_default(&spec) != 0) /* or vaecl_model_spec_load("my.vae", &spec) */
    return fprintf(stderr, "%s\n", vaecl_last_error()), 1;
  vaecl_dataset_truncate(&data, 1024);
  vaecl_model *m = vaecl_model_create(be, &spec, 128, /*seed*/ 1);
  vaecl_train_options opt = vaecl_train_defaults();
  opt.epochs = 2;
  vaecl_train_result result;
  if (!m || vaecl_train(m, be, &data, &opt, 0, &result) != 0)
    return fprintf(stderr, "%s\n", vaecl_last_error()), 1;
  printf("loss after %u epochs: %.2f\n", result.epochs_done, result.last.loss);
  vaecl_model_destroy(m);
  vaecl_model_spec_free(&spec);
  be->ops->destroy(be);
  vaecl_dataset_free(&data);
  return 0;
}
