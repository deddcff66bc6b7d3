/* The backends' entry points, for src/backend/registry.c only: everything else
 * creates backends through vaecl/backend_registry.h and never names one. */
#ifndef VAECL_BACKENDS_H
#define VAECL_BACKENDS_H

#include <stddef.h>

#include <vaecl.h>
#include <vaecl/backend.h>
#include <vaecl/backend_registry.h>

/* OpenCL (src/backend/opencl): opts->device indexes the flat list of
 * vaecl_list_devices; -1 picks the first GPU, else the first device. */
vb_backend *vb_opencl_create(const vaecl_backend_options *opts);
int vb_opencl_profile(vb_backend *, vaecl_op_profile **rows, size_t *n);
int vb_opencl_profile_reset(vb_backend *, int on);
int vb_opencl_counts(vb_backend *, vaecl_backend_counts *);
int vb_opencl_gemm_params(vb_backend *, vaecl_gemm_params *used, int *tunable);
int vb_opencl_save_gemm_params(vb_backend *, const char *cache_dir, const vaecl_gemm_params *,
                               char *path, size_t path_size);

/* Plain C on the host (src/backend/cpu): one device, 0 (or -1). */
vb_backend *vb_cpu_create(const vaecl_backend_options *opts);
int vb_cpu_list_devices(vaecl_device_info **out, size_t *count);

#endif
