/* The OpenCL device under test, for the suites that need one. */
#ifndef VAECL_TESTDEVICE_H
#define VAECL_TESTDEVICE_H

#include <vaecl/backend.h>

/* Opened by test_device_setup (a Check checked fixture), closed by teardown. */
extern vb_backend *be;

void test_device_setup(void);
void test_device_teardown(void);

#endif
