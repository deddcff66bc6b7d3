/* The README's library example, built against the public headers only (include/),
 * and run as a test so the example keeps working. */

#include <stdio.h>
#include <vaecl.h>
#include <vaecl/backend_opencl.h>
#include <vaecl/train.h>

int main(void) {
  vaecl_dataset data;
  vb_backend *be = vb_opencl_create(-1); /* first GPU, else first device */
  if (!be || vaecl_idx_load_dir(VAECL_DEFAULT_DATA_DIR, &data) != 0)
    return fprintf(stderr, "%s\n", vaecl_last_error()), 1;
  vaecl_dataset_truncate(&data, 1024);
  const vaecl_model_config cfg = vaecl_model_config_default();
  vaecl_model *m = vaecl_model_create(be, &cfg, 128, /*seed*/ 1);
  vaecl_train_options opt = vaecl_train_defaults();
  opt.epochs = 2;
  if (!m || vaecl_train(m, be, &data, &opt, 0, NULL) != 0)
    return fprintf(stderr, "%s\n", vaecl_last_error()), 1;
  vaecl_model_destroy(m);
  be->ops->destroy(be);
  vaecl_dataset_free(&data);
  return 0;
}
