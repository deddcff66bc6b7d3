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

#include <clblast_c.h>

#include "backend/opencl/cl_util.h"

static const char *const xgemm_names[] = {"GEMMK", "KREG",  "KWG",   "KWI", "MDIMA", "MDIMC",
                                          "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                          "STRM",  "STRN",  "VWM",   "VWN"};
static const size_t xgemm_cpu[] = {0, 1, 32, 2, 4, 4, 64, 4, 4, 64, 0, 0, 0, 0, 8, 8};

/* GEMMs of at least 64^3 multiply-adds take the indirect Xgemm path. */
static const char *const routine_names[] = {"XGEMM_MIN_INDIRECT_SIZE"};
static const size_t routine_cpu[] = {64};

int vaecl_cl_tune_gemm(cl_device_id dev, int enabled, char *note, size_t note_size) {
  cl_device_type type = 0;
  note[0] = '\0';
  if (!enabled) {
    snprintf(note, note_size, "CLBlast defaults (vaecl's GEMM tuning off)");
    return 0;
  }
  if (clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS ||
      !(type & CL_DEVICE_TYPE_CPU)) {
    snprintf(note, note_size, "CLBlast's tuning database");
    return 0;
  }
  const size_t nx = sizeof xgemm_cpu / sizeof xgemm_cpu[0];
  const size_t nr = sizeof routine_cpu / sizeof routine_cpu[0];
  CLBlastStatusCode s = CLBlastOverrideParameters(dev, "Xgemm", CLBlastPrecisionSingle, nx,
                                                  (const char **)xgemm_names, xgemm_cpu);
  if (s == CLBlastSuccess)
    s = CLBlastOverrideParameters(dev, "GemmRoutine", CLBlastPrecisionSingle, nr,
                                  (const char **)routine_names, routine_cpu);
  if (s != CLBlastSuccess) /* not fatal: CLBlast's defaults are correct, only slower */
    snprintf(note, note_size, "CLBlast defaults (overriding CPU parameters failed: %d)", (int)s);
  else
    snprintf(note, note_size, "vaecl's CPU parameters");
  return 0;
}
