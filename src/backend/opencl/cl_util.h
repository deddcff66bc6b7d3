/* Small OpenCL helpers shared by the backend's files: error names, device lookup,
 * program building with an on-disk binary cache. */
#ifndef VAECL_CL_UTIL_H
#define VAECL_CL_UTIL_H

#include <CL/cl.h>

/* "CL_OUT_OF_RESOURCES" etc.; a number for codes it does not know. */
const char *vaecl_cl_error_name(cl_int err);
/* A hint for the user for the common failures ("the device ran out of memory: ..."). */
const char *vaecl_cl_error_hint(cl_int err);

/* Records "<what> failed on <device>: CL_XXX (-n). <hint>" and returns -1. */
int vaecl_cl_fail(cl_int err, const char *device, const char *what);

/* Device `index` of the flat list over all platforms (-1: first GPU, else first
 * device). Fails with a message naming the fix when there is no ICD or no such device. */
int vaecl_cl_find_device(int index, cl_platform_id *platform, cl_device_id *device);

/* Builds the program from the joined sources, reusing a cached binary for the same
 * sources, options, device and driver. The cache lives in cache_dir (created when
 * missing; NULL: no cache); a cache that cannot be written only costs a rebuild.
 * Build logs are included in the error message. */
int vaecl_cl_build_program(cl_context ctx, cl_device_id dev, const char *source,
                           const char *options, const char *cache_dir, cl_program *out);

/* Gives CLBlast vaecl's GEMM parameters when the device is a CPU (CLBlast has none
 * for PoCL); GPUs keep CLBlast's database. enabled == 0 skips it, for comparisons.
 * note gets a short description of what is in effect. */
int vaecl_cl_tune_gemm(cl_device_id dev, int enabled, char *note, size_t note_size);

/* Text info queries into fixed buffers; the empty string when the query fails. */
void vaecl_cl_device_string(cl_device_id dev, cl_device_info what, char *buf, size_t size);

#endif
