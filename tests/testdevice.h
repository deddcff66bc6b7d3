/* The OpenCL device under test, for the suites that need one. */
#ifndef VAECL_TESTDEVICE_H
#define VAECL_TESTDEVICE_H

#include <vaecl/backend.h>
#include <vaecl/backend_registry.h>

/* Opened by test_device_setup (a Check checked fixture), closed by teardown. */
extern vb_backend *be;

/* The backend options the test environment asks for (tests may read the
 * environment; the library does not): VAECL_CACHE_DIR for the kernel cache,
 * VAECL_WORK_LAYOUT=rows|channels, VAECL_GEMM_TUNING=off, and
 * VAECL_TEST_GEMM_INDIRECT=N (CLBlast's indirect GEMM from N^3 multiply-adds, so
 * small GEMMs take the path large ones take on GPUs). */
vaecl_backend_options test_backend_options(void);

/* VAECL_TEST_SMALL=1: only the small shapes and models, for runs under a simulator
 * (Oclgrind), which is thousands of times slower than a device. */
int test_small_shapes(void);

void test_device_setup(void);
void test_device_teardown(void);

#endif
