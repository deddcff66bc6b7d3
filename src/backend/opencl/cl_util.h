/* Small OpenCL helpers shared by the backend's files: error names, device lookup,
 * program building with an on-disk binary cache. */
#ifndef VAECL_CL_UTIL_H
#define VAECL_CL_UTIL_H

#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include <clblast_c.h>
#include <stddef.h>
#include <stdint.h>

/* "CL_OUT_OF_RESOURCES" etc.; a number for codes it does not know. */
const char *vaecl_cl_error_name(cl_int err);
/* A hint for the user for the common failures ("the device ran out of memory: ..."). */
const char *vaecl_cl_error_hint(cl_int err);

/* Records "<what> failed on <device>: CL_XXX (-n). <hint>" and returns -1. */
int vaecl_cl_fail(cl_int err, const char *device, const char *what);
/* The same for a CLBlast status (its OpenCL codes get the OpenCL hints). */
int vaecl_clblast_fail(CLBlastStatusCode s, const char *device, const char *what);

/* One classification of a device for the default choice, the work layout, the
 * GEMM parameters and the listing. The CPU bit wins: PoCL's CPU device, and
 * Oclgrind, a simulator on the host that sets every bit. Then the GPU bit;
 * accelerators and custom devices are "other" and get the GPU choices. */
typedef enum { VAECL_CL_KIND_CPU, VAECL_CL_KIND_GPU, VAECL_CL_KIND_OTHER } vaecl_cl_kind;
vaecl_cl_kind vaecl_cl_classify(cl_device_type type);
/* VAECL_CL_KIND_OTHER when the query fails. */
vaecl_cl_kind vaecl_cl_device_kind(cl_device_id dev);
const char *vaecl_cl_kind_name(vaecl_cl_kind); /* "CPU", "GPU", "other" */

/* Device `index` of the flat list over all platforms; with index -1, the one whose
 * name contains `match` (ignoring case) when match is not NULL, else the best-ranked
 * usable device (cl_device_rank.h). Refuses an unusable device (OpenCL < 1.2, no
 * compiler, unavailable) with the reason. Fails with a message naming the fix when
 * there is no ICD or no such device. */
int vaecl_cl_find_device(int index, const char *match, cl_platform_id *platform,
                         cl_device_id *device);

/* Builds the program from the joined sources, reusing a cached binary for the same
 * sources, options, device and driver. The cache lives in cache_dir (created when
 * missing; NULL: no cache); a cache that cannot be written only costs a rebuild.
 * Build logs are included in the error message; on success log_fn (when not NULL)
 * gets the log too. */
int vaecl_cl_build_program(cl_context ctx, cl_device_id dev, const char *source,
                           const char *options, const char *cache_dir,
                           void (*log_fn)(void *, const char *, const char *, int), void *log_ctx,
                           cl_program *out);

/* Describes the GEMM implementation in note (vaecl's kernels on CPU devices unless
 * enabled == 0; CLBlast otherwise, split along long sums when split). indirect_min > 0
 * sets CLBlast's XGEMM_MIN_INDIRECT_SIZE for the device (a test setting); fails only
 * when that cannot be set. */
int vaecl_cl_gemm_setup(cl_device_id dev, int enabled, int split, int indirect_min, char *note,
                        size_t note_size);

/* The block GEMM kernel's parameters: a k-chunk of 1 to GEMM_CHUNK_MAX terms, work-
 * groups of 1 to GEMM_GROUP_MAX work-items a side (include/vaecl/backend_registry.h). */
#define GEMM_CHUNK_MAX 65536
#define GEMM_GROUP_MAX 16
int vaecl_cl_gemm_params_valid(int chunk, int group);

/* The block GEMM kernel's parameters stored for dev in dir by `vaecl tune`: 1 and
 * *chunk, *group when a valid file is there, 0 otherwise (none, damaged: defaults). */
int vaecl_cl_load_gemm_params(cl_device_id dev, const char *dir, int *chunk, int *group);
/* Stores them (atomically); path gets the file. -1 with a message naming it. */
int vaecl_cl_save_gemm_params(cl_device_id dev, const char *device_name, const char *dir, int chunk,
                              int group, char *path, size_t path_size);

/* A hash of the device's name and version, the driver's version and the platform's:
 * what a compiled kernel or a tuned parameter is valid for. -1 when a query fails. */
int vaecl_cl_device_key(cl_device_id dev, uint64_t *key);
/* "DIR/WHAT-<hash of the device key and text>", DIR created if need be; -1 when there
 * is no directory, no key or no room. */
int vaecl_cl_cache_file(cl_device_id dev, const char *dir, const char *what, const char *text,
                        char *buf, size_t size);

/* Text info queries into fixed buffers; the empty string when the query fails. */
void vaecl_cl_device_string(cl_device_id dev, cl_device_info what, char *buf, size_t size);

#endif
