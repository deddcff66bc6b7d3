/* Which GEMM implementation a device gets, in words (vb_backend.gemm_note), and the
 * one CLBlast parameter vaecl sets.
 *
 * CPU devices get vaecl's own kernels (cl_gemm.c): CLBlast 1.5.3 has no tuned
 * parameters for PoCL, and even the best of a sweep of its Xgemm configurations
 * (65-180 GFLOP/s on 2 cores) lost to them on the convolutions' thin and
 * transposed products, where it pads and copies operands. GPUs keep CLBlast's own
 * tuning database. */
#include <stdio.h>
#include <string.h>

#include <clblast_c.h>

#include "backend/opencl/cl_util.h"
#include "util/error.h"

int vaecl_cl_tune_gemm(cl_device_id dev, int enabled, int split, int indirect_min, char *note,
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
