#include <stdio.h>

#include "backend/opencl/cl_util.h"
#include "util/error.h"

const char *vaecl_cl_error_name(cl_int err) {
  switch (err) {
#define NAME(x)                                                                                    \
  case x:                                                                                          \
    return #x;
    NAME(CL_SUCCESS)
    NAME(CL_DEVICE_NOT_FOUND)
    NAME(CL_DEVICE_NOT_AVAILABLE)
    NAME(CL_COMPILER_NOT_AVAILABLE)
    NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    NAME(CL_OUT_OF_RESOURCES)
    NAME(CL_OUT_OF_HOST_MEMORY)
    NAME(CL_PROFILING_INFO_NOT_AVAILABLE)
    NAME(CL_MEM_COPY_OVERLAP)
    NAME(CL_IMAGE_FORMAT_MISMATCH)
    NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    NAME(CL_BUILD_PROGRAM_FAILURE)
    NAME(CL_MAP_FAILURE)
    NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    NAME(CL_COMPILE_PROGRAM_FAILURE)
    NAME(CL_LINKER_NOT_AVAILABLE)
    NAME(CL_LINK_PROGRAM_FAILURE)
    NAME(CL_DEVICE_PARTITION_FAILED)
    NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    NAME(CL_INVALID_VALUE)
    NAME(CL_INVALID_DEVICE_TYPE)
    NAME(CL_INVALID_PLATFORM)
    NAME(CL_INVALID_DEVICE)
    NAME(CL_INVALID_CONTEXT)
    NAME(CL_INVALID_QUEUE_PROPERTIES)
    NAME(CL_INVALID_COMMAND_QUEUE)
    NAME(CL_INVALID_HOST_PTR)
    NAME(CL_INVALID_MEM_OBJECT)
    NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    NAME(CL_INVALID_IMAGE_SIZE)
    NAME(CL_INVALID_SAMPLER)
    NAME(CL_INVALID_BINARY)
    NAME(CL_INVALID_BUILD_OPTIONS)
    NAME(CL_INVALID_PROGRAM)
    NAME(CL_INVALID_PROGRAM_EXECUTABLE)
    NAME(CL_INVALID_KERNEL_NAME)
    NAME(CL_INVALID_KERNEL_DEFINITION)
    NAME(CL_INVALID_KERNEL)
    NAME(CL_INVALID_ARG_INDEX)
    NAME(CL_INVALID_ARG_VALUE)
    NAME(CL_INVALID_ARG_SIZE)
    NAME(CL_INVALID_KERNEL_ARGS)
    NAME(CL_INVALID_WORK_DIMENSION)
    NAME(CL_INVALID_WORK_GROUP_SIZE)
    NAME(CL_INVALID_WORK_ITEM_SIZE)
    NAME(CL_INVALID_GLOBAL_OFFSET)
    NAME(CL_INVALID_EVENT_WAIT_LIST)
    NAME(CL_INVALID_EVENT)
    NAME(CL_INVALID_OPERATION)
    NAME(CL_INVALID_GL_OBJECT)
    NAME(CL_INVALID_BUFFER_SIZE)
    NAME(CL_INVALID_MIP_LEVEL)
    NAME(CL_INVALID_GLOBAL_WORK_SIZE)
    NAME(CL_INVALID_PROPERTY)
    NAME(CL_INVALID_IMAGE_DESCRIPTOR)
    NAME(CL_INVALID_COMPILER_OPTIONS)
    NAME(CL_INVALID_LINKER_OPTIONS)
    NAME(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef NAME
  case -1001:
    return "CL_PLATFORM_NOT_FOUND_KHR";
  default:
    return "unknown OpenCL error";
  }
}

const char *vaecl_cl_error_hint(cl_int err) {
  switch (err) {
  case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    return "The device ran out of memory: try a smaller batch, close other programs using the "
           "device, or pick another device.";
  case CL_OUT_OF_RESOURCES:
    return "The device ran out of memory or resources, or a kernel faulted (NVIDIA's driver "
           "reports an out-of-bounds access this way): try a smaller batch or another device; "
           "if a small batch fails too, please report it with the output of `vaecl devices`.";
  case CL_OUT_OF_HOST_MEMORY:
    return "The host ran out of memory: try a smaller batch or data set.";
  case CL_INVALID_BUFFER_SIZE:
    return "A buffer is larger than the device allows (CL_DEVICE_MAX_MEM_ALLOC_SIZE): try a "
           "smaller batch.";
  case CL_BUILD_PROGRAM_FAILURE:
  case CL_COMPILER_NOT_AVAILABLE:
    return "The driver could not compile vaecl's kernels; the build log is above. Update the "
           "driver or pick another device.";
  case CL_INVALID_BUILD_OPTIONS:
    return "The driver rejected the build options (-cl-std=CL1.2): the device supports only an "
           "older OpenCL than 1.2. Pick another device (`vaecl devices`) or update the driver.";
  case CL_INVALID_WORK_GROUP_SIZE:
  case CL_INVALID_WORK_ITEM_SIZE:
  case CL_INVALID_GLOBAL_WORK_SIZE:
    return "The device refused a launch size, which vaecl should have fitted to its limits: "
           "please report it with the output of `vaecl devices`; another device may work.";
  case CL_DEVICE_NOT_AVAILABLE:
    return "The device is busy or disabled: pick another device.";
  case -1001:
    return "No OpenCL platform is installed: install a driver's ICD (on Debian: apt-get install "
           "pocl-opencl-icd for the CPU, or your GPU vendor's OpenCL ICD).";
  default:
    return "";
  }
}

int vaecl_cl_fail(cl_int err, const char *device, const char *what) {
  const char *hint = vaecl_cl_error_hint(err);
  return vaecl_fail("%s failed on %s: %s (%d).%s%s", what,
                    device && *device ? device : "the device", vaecl_cl_error_name(err), (int)err,
                    *hint ? " " : "", hint);
}

/* CLBlast's own codes (-1024 and below); its others are OpenCL's. */
static const char *clblast_status_text(CLBlastStatusCode s) {
  switch (s) {
  case CLBlastNotImplemented:
    return "CLBlast does not implement the routine for this device";
  case CLBlastInvalidLocalMemUsage:
    return "CLBlast's kernel needs more local memory than the device has; pick another device";
  case CLBlastNoHalfPrecision:
  case CLBlastNoDoublePrecision:
    return "the device lacks a precision CLBlast needs";
  case CLBlastInsufficientMemoryA:
  case CLBlastInsufficientMemoryB:
  case CLBlastInsufficientMemoryC:
  case CLBlastInsufficientMemoryTemp:
    return "a matrix buffer is smaller than its dimensions (a vaecl bug: please report it)";
  case CLBlastInvalidDimension:
  case CLBlastInvalidLeadDimA:
  case CLBlastInvalidLeadDimB:
  case CLBlastInvalidLeadDimC:
    return "invalid matrix dimensions (a vaecl bug: please report it)";
  case CLBlastInvalidOverrideKernel:
  case CLBlastMissingOverrideParameter:
    return "CLBlast refused vaecl's parameter override (a vaecl bug: please report it)";
  case CLBlastDatabaseError:
    return "CLBlast has no parameters for this device; try VAECL_GEMM_TUNING=off or another "
           "device";
  default:
    return "CLBlast failed; running with CLBlast's defaults (VAECL_GEMM_TUNING=off) or another "
           "device may help";
  }
}

int vaecl_clblast_fail(CLBlastStatusCode s, const char *device, const char *what) {
  if ((int)s > -1000) /* an OpenCL code */
    return vaecl_cl_fail((cl_int)s, device, what);
  return vaecl_fail("%s failed on %s: CLBlast status %d: %s.", what,
                    device && *device ? device : "the device", (int)s, clblast_status_text(s));
}
