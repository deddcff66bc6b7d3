/* GEMM parameters for CPU devices.
 *
 * CLBlast 1.5.3 ships tuned kernel parameters for many GPUs but none for PoCL, whose
 * generic CPU defaults run our convolution GEMMs at ~15 GFLOP/s on 2 Zen 4 cores.
 * A sweep of Xgemm configurations on PoCL 3.1 (2 cores, AVX-512) found the values
 * below at 65-180 GFLOP/s on the same shapes: small 4x4 work-groups whose
 * work-items each own a 16x16 tile vectorised 8 wide, no local memory (PoCL emulates
 * it), and the indirect kernel from moderate sizes on, since CLBlast's direct kernel
 * is the slow one on CPUs. GPUs keep CLBlast's own database. */
#include <stdio.h>
#include <string.h>

#include <clblast_c.h>

#include "backend/opencl/cl_util.h"
#include "util/error.h"

static const char *const xgemm_names[] = {"GEMMK", "KREG",  "KWG",   "KWI", "MDIMA", "MDIMC",
                                          "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                          "STRM",  "STRN",  "VWM",   "VWN"};
static const size_t xgemm_cpu[] = {0, 1, 32, 2, 4, 4, 64, 4, 4, 64, 0, 0, 0, 0, 8, 8};

/* GEMMs of at least 64^3 multiply-adds take the indirect Xgemm path. */
static const char *const routine_names[] = {"XGEMM_MIN_INDIRECT_SIZE"};
static const size_t routine_cpu[] = {64};

/* Sets XGEMM_MIN_INDIRECT_SIZE alone (GemmRoutine has no other parameter). */
static CLBlastStatusCode set_min_indirect(cl_device_id dev, size_t size) {
  return CLBlastOverrideParameters(dev, "GemmRoutine", CLBlastPrecisionSingle, 1,
                                   (const char **)routine_names, &size);
}

int vaecl_cl_tune_gemm(cl_device_id dev, int enabled, int indirect_min, char *note,
                       size_t note_size) {
  note[0] = '\0';
  if (!enabled)
    snprintf(note, note_size, "CLBlast defaults (vaecl's GEMM tuning off)");
  else if (vaecl_cl_device_kind(dev) != VAECL_CL_KIND_CPU)
    snprintf(note, note_size, "CLBlast's tuning database");
  else {
    const size_t nx = sizeof xgemm_cpu / sizeof xgemm_cpu[0];
    CLBlastStatusCode s = CLBlastOverrideParameters(dev, "Xgemm", CLBlastPrecisionSingle, nx,
                                                    (const char **)xgemm_names, xgemm_cpu);
    if (s == CLBlastSuccess)
      s = set_min_indirect(dev, routine_cpu[0]);
    if (s != CLBlastSuccess) /* not fatal: CLBlast's defaults are correct, only slower */
      snprintf(note, note_size, "CLBlast defaults (overriding CPU parameters failed: %d)", (int)s);
    else
      snprintf(note, note_size, "vaecl's CPU parameters");
  }
  if (indirect_min <= 0)
    return 0;
  const CLBlastStatusCode s = set_min_indirect(dev, (size_t)indirect_min);
  if (s != CLBlastSuccess)
    return vaecl_clblast_fail(s, NULL, "setting CLBlast's XGEMM_MIN_INDIRECT_SIZE");
  const size_t used = strlen(note);
  snprintf(note + used, note_size - used, "; indirect GEMM from %d^3 multiply-adds", indirect_min);
  return 0;
}
