/* The OpenCL device under test, for the suites that need one. */
#ifndef VAECL_TESTDEVICE_H
#define VAECL_TESTDEVICE_H

#include <vaecl/backend.h>
#include <vaecl/backend_registry.h>

/* Opened by test_device_setup (a Check checked fixture), closed by teardown. */
extern vb_backend *be;

/* The backend options the test environment asks for (tests may read the
 * environment; the library does not): VAECL_CACHE_DIR for the kernel cache,
 * VAECL_WORK_LAYOUT=rows|channels, VAECL_GEMM_TUNING=off. */
vaecl_backend_options test_backend_options(void);

void test_device_setup(void);
void test_device_teardown(void);

#endif
