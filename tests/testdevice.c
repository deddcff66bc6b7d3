#include "testdevice.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vaecl.h>
#include <vaecl/backend_registry.h>

vb_backend *be;

vaecl_backend_options test_backend_options(void) {
  vaecl_backend_options o = vaecl_backend_defaults();
  const char *cache = getenv("VAECL_CACHE_DIR");
  const char *layout = getenv("VAECL_WORK_LAYOUT");
  const char *tuning = getenv("VAECL_GEMM_TUNING");
  o.cache_dir = cache && *cache ? cache : NULL;
  if (layout && strcmp(layout, "rows") == 0)
    o.work_layout = VAECL_LAYOUT_ROWS;
  else if (layout && strcmp(layout, "channels") == 0)
    o.work_layout = VAECL_LAYOUT_CHANNELS;
  o.gemm_tuning = !(tuning && strcmp(tuning, "off") == 0);
  const char *indirect = getenv("VAECL_TEST_GEMM_INDIRECT");
  o.gemm_indirect_min = indirect && *indirect ? atoi(indirect) : 0;
  const char *split = getenv("VAECL_GEMM_SPLIT");
  if (split && *split && strcmp(split, "auto") != 0)
    o.gemm_split_k = strcmp(split, "on") == 0;
  const char *params = getenv("VAECL_TEST_GEMM_PARAMS"); /* "CHUNK,GROUP" */
  if (params && *params && sscanf(params, "%d,%d", &o.gemm_chunk, &o.gemm_group) != 2)
    o.gemm_chunk = o.gemm_group = 0;
  return o;
}

void test_device_setup(void) {
  const vaecl_backend_options o = test_backend_options();
  be = vaecl_backend_create("opencl", &o);
  ck_assert_msg(be != NULL, "no OpenCL device: %s", vaecl_last_error());
}

void test_device_teardown(void) {
  if (be)
    be->ops->destroy(be);
  be = NULL;
}

int test_small_shapes(void) {
  const char *small = getenv("VAECL_TEST_SMALL");
  return small && *small && strcmp(small, "0") != 0;
}
