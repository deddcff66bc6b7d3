/* Backends by name: the only place that knows which backends exist. Callers create
 * a backend here and then use its vb_ops table; nothing else names a backend. */
#ifndef VAECL_BACKEND_REGISTRY_H
#define VAECL_BACKEND_REGISTRY_H

#include <stddef.h>

#include <vaecl.h>
#include <vaecl/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  VAECL_LAYOUT_AUTO = 0, /* rows on CPU devices, channels on GPUs */
  VAECL_LAYOUT_ROWS,
  VAECL_LAYOUT_CHANNELS
} vaecl_work_layout;

/* What a caller may choose about a backend. The library reads no environment
 * variables: the command line maps its options and VAECL_* variables onto these. */
/* OpenCL: receives the driver's build log of vaecl's kernels once they are built
 * (from_cache: the program came from the binary cache, whose log is usually empty). */
typedef void (*vaecl_build_log_fn)(void *ctx, const char *device, const char *log, int from_cache);

typedef struct {
  int device;                    /* index in the backend's device list; -1: its default choice */
  const char *device_match;      /* OpenCL: when not NULL (and device is -1), the one device
                                    whose name contains this text, ignoring case */
  const char *cache_dir;         /* OpenCL: where compiled kernels are cached; NULL: no cache */
  int gemm_tuning;               /* OpenCL: 1 (default) vaecl's GEMM parameters on CPU devices;
                                    0 CLBlast's defaults */
  vaecl_work_layout work_layout; /* OpenCL: im2col/col2im work layout */
  int profile; /* OpenCL: time every op (waits after each; slow); see vaecl_backend_profile */
  /* OpenCL, for tests: > 0 sets CLBlast's XGEMM_MIN_INDIRECT_SIZE for the device, so
   * GEMMs of at least that size cubed (m*n*k) take CLBlast's indirect kernel, as large
   * ones do on GPUs (768-1984 on NVIDIA, 128-448 on AMD and Intel). CLBlast keeps it
   * for the device for the rest of the process. 0: leave it. */
  int gemm_indirect_min;
  vaecl_build_log_fn build_log; /* OpenCL: NULL, or called with the build log */
  void *build_log_ctx;
} vaecl_backend_options;

vaecl_backend_options vaecl_backend_defaults(void);

/* "opencl" or "cpu"; NULL means "opencl". NULL with a message that lists the
 * backends when the name is unknown. */
vb_backend *vaecl_backend_create(const char *name, const vaecl_backend_options *);

/* The names of the registered backends, NULL-terminated. */
const char *const *vaecl_backend_names(void);

/* Every device of every backend, in one list (free() it): OpenCL devices first with
 * their flat index, then the CPU backend's single device (index 0). A backend that
 * cannot list its devices (no OpenCL driver installed, say) is left out rather than
 * failing the call: when `unavailable` is not NULL it gets one line per such
 * backend, "opencl: <why>" (the empty string when every backend listed its
 * devices). Fails only when the host is out of memory. */
int vaecl_backend_list_devices(vaecl_device_info **out, size_t *count, char *unavailable,
                               size_t unavailable_size);

/* Per-op wall times, gathered when the backend was created with options.profile.
 * Each row is one op (kernel, or "gemm (CLBlast)") that ran at least once. */
typedef struct {
  const char *op; /* static string */
  long calls;
  double seconds; /* summed wall time, the op running alone on the device */
} vaecl_op_profile;

/* Fills *rows with a malloc'd array (free() it) of *n rows; *n is 0 (and *rows NULL)
 * when profiling was off, nothing ran, or the backend does not profile (cpu). */
int vaecl_backend_profile(vb_backend *, vaecl_op_profile **rows, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
