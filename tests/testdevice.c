#include "testdevice.h"

#include <check.h>

#include <vaecl/backend_opencl.h>
#include <vaecl.h>

vb_backend *be;

void test_device_setup(void) {
  be = vb_opencl_create(-1);
  ck_assert_msg(be != NULL, "no OpenCL device: %s", vaecl_last_error());
}

void test_device_teardown(void) {
  if (be)
    be->ops->destroy(be);
  be = NULL;
}
