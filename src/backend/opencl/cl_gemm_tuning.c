/* Which GEMM implementation a device gets, in words (vb_backend.gemm_note), and the
 * one CLBlast parameter vaecl sets.
 *
 * CPU devices get vaecl's own kernels (cl_gemm.c): CLBlast 1.5.3 has no tuned
 * parameters for PoCL, and even the best of a sweep of its Xgemm configurations
 * (65-180 GFLOP/s on 2 cores) lost to them on the convolutions' thin and
 * transposed products, where it pads and copies operands. GPUs keep CLBlast's own
 * tuning database. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clblast_c.h>

#include "backend/opencl/cl_util.h"
#include "util/atomic_file.h"
#include "util/error.h"

int vaecl_cl_gemm_setup(cl_device_id dev, int enabled, int split, int indirect_min, char *note,
                        size_t note_size) {
  if (!enabled)
    snprintf(note, note_size, "CLBlast defaults (vaecl's GEMM tuning off)");
  else if (vaecl_cl_device_kind(dev) == VAECL_CL_KIND_CPU)
    snprintf(note, note_size, "vaecl's CPU kernels");
  else
    snprintf(note, note_size, "CLBlast's tuning database");
  size_t used = strlen(note);
  if (split && (!enabled || vaecl_cl_device_kind(dev) != VAECL_CL_KIND_CPU))
    snprintf(note + used, note_size - used, "; long sums split");
  if (indirect_min <= 0)
    return 0;
  /* GemmRoutine's only parameter: GEMMs of at least this size cubed (m*n*k) take
   * CLBlast's indirect kernel */
  const char *const names[] = {"XGEMM_MIN_INDIRECT_SIZE"};
  const size_t size = (size_t)indirect_min;
  const CLBlastStatusCode s = CLBlastOverrideParameters(dev, "GemmRoutine", CLBlastPrecisionSingle,
                                                        1, (const char **)names, &size);
  if (s != CLBlastSuccess)
    return vaecl_clblast_fail(s, NULL, "setting CLBlast's XGEMM_MIN_INDIRECT_SIZE");
  used = strlen(note);
  snprintf(note + used, note_size - used, "; indirect GEMM from %d^3 multiply-adds", indirect_min);
  return 0;
}

/* ---- the block kernel's tuned parameters (vaecl tune) ---------------------------- */

/* One small text file per device and driver in the cache directory:
 * "vaecl gemm tuning 1\nchunk N\ngroup N\n". */
#define TUNING_MAGIC "vaecl gemm tuning 1"

int vaecl_cl_gemm_params_valid(int chunk, int group) {
  return chunk >= 1 && chunk <= GEMM_CHUNK_MAX && group >= 1 && group <= GEMM_GROUP_MAX;
}

/* "KEY N\n" with N in [1, most]; strtol, not scanf, whose overflow is undefined. */
static int read_value(FILE *f, const char *key, long most, int *out) {
  char line[64];
  const size_t n = strlen(key);
  if (!fgets(line, sizeof line, f) || strncmp(line, key, n) != 0 || line[n] != ' ')
    return 0;
  char *end;
  errno = 0;
  const long v = strtol(line + n + 1, &end, 10);
  if (errno || end == line + n + 1 || strcmp(end, "\n") != 0 || v < 1 || v > most)
    return 0;
  *out = (int)v;
  return 1;
}

int vaecl_cl_load_gemm_params(cl_device_id dev, const char *dir, int *chunk, int *group) {
  char path[4096];
  if (vaecl_cl_cache_file(dev, dir, "gemm-tuning", "", path, sizeof path) != 0)
    return 0;
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char magic[32] = "";
  int c = 0, g = 0;
  const int ok = fgets(magic, sizeof magic, f) && strcmp(magic, TUNING_MAGIC "\n") == 0 &&
                 read_value(f, "chunk", GEMM_CHUNK_MAX, &c) &&
                 read_value(f, "group", GEMM_GROUP_MAX, &g);
  fclose(f);
  if (!ok) /* damaged or from another vaecl: the defaults are right, only maybe slower */
    return 0;
  *chunk = c;
  *group = g;
  return 1;
}

int vaecl_cl_save_gemm_params(cl_device_id dev, const char *device_name, const char *dir, int chunk,
                              int group, char *path, size_t path_size) {
  if (!vaecl_cl_gemm_params_valid(chunk, group))
    return vaecl_fail("GEMM parameters out of range: chunk %d (1 to %d), group %d (1 to %d)", chunk,
                      GEMM_CHUNK_MAX, group, GEMM_GROUP_MAX);
  if (vaecl_cl_cache_file(dev, dir, "gemm-tuning", "", path, path_size) != 0)
    return vaecl_fail("no cache directory to keep the tuned GEMM parameters of %s in (%s)",
                      device_name, dir && *dir ? dir : "none given");
  vaecl_atomic_file out;
  if (vaecl_atomic_open(&out, path) != 0)
    return -1;
  errno = 0;
  const int err = fprintf(out.f, TUNING_MAGIC "\nchunk %d\ngroup %d\n", chunk, group) < 0
                      ? (errno ? errno : EIO)
                      : 0;
  return vaecl_atomic_commit(&out, err);
}
