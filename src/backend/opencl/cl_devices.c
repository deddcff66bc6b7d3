/* The flat OpenCL device index (vaecl_backend_options.device): platforms in ICD order,
 * devices in each platform's order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_util.h"
#include "util/error.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES_PER_PLATFORM 64

typedef struct {
  cl_platform_id platform;
  cl_device_id device;
} device_ref;

static const char *no_platform_fix =
    "no OpenCL platform found. Install an OpenCL driver (ICD): on Debian, `apt-get install "
    "pocl-opencl-icd` runs on the CPU; for a GPU install its vendor's OpenCL ICD. "
    "`clinfo -l` (Debian package clinfo) lists what the ICD loader sees.";

/* Fills refs (up to max) with every device; returns how many, or -1. */
static int enumerate(device_ref *refs, int max) {
  cl_platform_id platforms[MAX_PLATFORMS];
  cl_uint nplat = 0;
  cl_int err = clGetPlatformIDs(MAX_PLATFORMS, platforms, &nplat);
  if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && nplat == 0))
    return vaecl_fail("%s", no_platform_fix);
  if (err != CL_SUCCESS)
    return vaecl_cl_fail(err, "the OpenCL ICD loader", "clGetPlatformIDs");
  int n = 0;
  for (cl_uint p = 0; p < nplat && p < MAX_PLATFORMS; p++) {
    cl_device_id devs[MAX_DEVICES_PER_PLATFORM];
    cl_uint ndev = 0;
    err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES_PER_PLATFORM, devs, &ndev);
    if (err == CL_DEVICE_NOT_FOUND)
      continue; /* a platform with no devices is not an error */
    if (err != CL_SUCCESS)
      return vaecl_cl_fail(err, "an OpenCL platform", "clGetDeviceIDs");
    for (cl_uint d = 0; d < ndev && d < MAX_DEVICES_PER_PLATFORM && n < max; d++)
      refs[n++] = (device_ref){platforms[p], devs[d]};
  }
  if (n == 0)
    return vaecl_fail("%s", no_platform_fix);
  return n;
}

void vaecl_cl_device_string(cl_device_id dev, cl_device_info what, char *buf, size_t size) {
  if (clGetDeviceInfo(dev, what, size, buf, NULL) != CL_SUCCESS)
    buf[0] = '\0';
  buf[size - 1] = '\0';
}

static int is_gpu(cl_device_id dev) {
  cl_device_type type = 0;
  return clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS &&
         (type & CL_DEVICE_TYPE_GPU);
}

int vaecl_cl_find_device(int index, cl_platform_id *platform, cl_device_id *device) {
  device_ref refs[MAX_PLATFORMS * 4];
  const int n = enumerate(refs, (int)(sizeof refs / sizeof refs[0]));
  if (n < 0)
    return -1;
  if (index < 0) {
    index = 0;
    for (int i = 0; i < n; i++)
      if (is_gpu(refs[i].device)) {
        index = i;
        break;
      }
  }
  if (index >= n)
    return vaecl_fail("there is no OpenCL device %d: this machine has %d (0..%d)", index, n, n - 1);
  *platform = refs[index].platform;
  *device = refs[index].device;
  return 0;
}

int vaecl_list_devices(vaecl_device_info **out, size_t *count) {
  device_ref refs[MAX_PLATFORMS * 4];
  const int n = enumerate(refs, (int)(sizeof refs / sizeof refs[0]));
  if (n < 0)
    return -1;
  vaecl_device_info *info = calloc((size_t)n, sizeof *info);
  if (!info)
    return vaecl_fail("out of memory listing %d OpenCL devices", n);
  for (int i = 0; i < n; i++) {
    vaecl_device_info *d = &info[i];
    cl_device_id dev = refs[i].device;
    snprintf(d->backend, sizeof d->backend, "opencl");
    d->index = i;
    if (clGetPlatformInfo(refs[i].platform, CL_PLATFORM_NAME, sizeof d->platform, d->platform,
                          NULL) != CL_SUCCESS)
      d->platform[0] = '\0';
    d->platform[sizeof d->platform - 1] = '\0';
    vaecl_cl_device_string(dev, CL_DEVICE_NAME, d->name, sizeof d->name);
    vaecl_cl_device_string(dev, CL_DEVICE_VENDOR, d->vendor, sizeof d->vendor);
    vaecl_cl_device_string(dev, CL_DEVICE_VERSION, d->version, sizeof d->version);
    vaecl_cl_device_string(dev, CL_DRIVER_VERSION, d->driver, sizeof d->driver);
    cl_ulong mem = 0;
    cl_uint cus = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL) == CL_SUCCESS)
      d->global_mem_bytes = mem;
    if (clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL) == CL_SUCCESS)
      d->compute_units = cus;
    d->is_gpu = is_gpu(dev);
  }
  *out = info;
  *count = (size_t)n;
  return 0;
}
