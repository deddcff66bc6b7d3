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

#define VAECL_GEMM_SPLIT_AUTO (-1) /* vaecl_backend_options.gemm_split_k */

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
  int gemm_tuning;               /* OpenCL: 1 (default) vaecl's GEMM kernels on CPU devices
                                    (cl/gemm_thin.cl, cl/gemm_block.cl), CLBlast's tuning
                                    database elsewhere; 0 CLBlast with its defaults */
  vaecl_work_layout work_layout; /* OpenCL: im2col/col2im work layout */
  int profile; /* OpenCL: time every op (waits after each; slow); see vaecl_backend_profile */
  /* OpenCL, for tests: > 0 sets CLBlast's XGEMM_MIN_INDIRECT_SIZE for the device, so
   * GEMMs of at least that size cubed (m*n*k) take CLBlast's indirect kernel, as large
   * ones do on GPUs (768-1984 on NVIDIA, 128-448 on AMD and Intel). CLBlast keeps it
   * for the device for the rest of the process. 0: leave it. */
  int gemm_indirect_min;
  vaecl_build_log_fn build_log; /* OpenCL: NULL, or called with the build log */
  void *build_log_ctx;
  /* OpenCL, where CLBlast computes GEMMs: a product whose sum is much longer than its
   * output is large (a weight gradient: k = batch x pixels) is computed as partial
   * products side by side (CLBlast's strided batched GEMM), summed in a fixed order.
   * VAECL_GEMM_SPLIT_AUTO (default): on devices other than CPUs; 0 never; 1 always. */
  int gemm_split_k;
  /* OpenCL on CPU devices: vaecl's block GEMM kernel walks each sum in chunks of
   * gemm_chunk terms, in work-groups of up to gemm_group x gemm_group work-items. 0
   * (default): the values `vaecl tune` stored for the device and driver in cache_dir,
   * else 64 and 8; values outside 1-65536 and 1-16 are refused. Only the speed
   * depends on them: every value gives the same bits. */
  int gemm_chunk, gemm_group;
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

/* Per-op wall times, gathered when the backend was created with options.profile
 * (or since vaecl_backend_profile_reset turned it on). Each row is one op (kernel,
 * or "gemm (CLBlast)") on one shape within one layer's pass, in first-run order. */
typedef struct {
  char layer[48]; /* "dec.convt3 fwd" (vb_ops.label), or "" */
  const char *op; /* static string */
  char shape[64]; /* gemm "MxNxK" with "^T" on transposed operands, im2col/col2im
                     "image HxWxC grid HxW kK sS", else the element count */
  long calls;
  double seconds; /* summed wall time, the op running alone on the device */
  double flops;   /* summed floating-point operations (0 where not counted) */
} vaecl_op_profile;

/* Fills *rows with a malloc'd array (free() it) of *n rows; *n is 0 (and *rows NULL)
 * when profiling was off, nothing ran, or the backend does not profile (cpu). */
int vaecl_backend_profile(vb_backend *, vaecl_op_profile **rows, size_t *n);
/* Waits for the device, clears the profile rows and the counts, and turns
 * profiling on (on != 0: every op then waits for the device) or off. A no-op on a
 * backend that does not profile. */
int vaecl_backend_profile_reset(vb_backend *, int on);

/* Work submitted since the backend was created (or the last profile reset):
 * launches are kernels enqueued plus CLBlast calls (one each, though CLBlast may
 * run several kernels); host_syncs are the waits for the device (reads, writes,
 * finish, wait_mark). -1 where the backend does not count (cpu). */
typedef struct {
  long launches, host_syncs;
} vaecl_backend_counts;
int vaecl_backend_counts_get(vb_backend *, vaecl_backend_counts *);

/* The parameters of vaecl's block GEMM kernel (see gemm_chunk) in a backend. */
typedef struct {
  int chunk, group;
} vaecl_gemm_params;
/* Those b uses; *tunable is 1 when its GEMMs run in that kernel (OpenCL on a CPU
 * device with gemm_tuning on), 0 otherwise (the values then do nothing). */
int vaecl_backend_gemm_params(vb_backend *b, vaecl_gemm_params *used, int *tunable);
/* Stores p as the tuned parameters of b's device (and driver) in cache_dir, where
 * backends created with that cache_dir and no explicit gemm_chunk/gemm_group then
 * find them; path gets the file's name. Fails (with a message) when b's GEMMs do not
 * run in that kernel, or p is out of range (chunk 1-65536, group 1-16). */
int vaecl_backend_save_gemm_params(vb_backend *b, const char *cache_dir, const vaecl_gemm_params *p,
                                   char *path, size_t path_size);

#ifdef __cplusplus
}
#endif
#endif
