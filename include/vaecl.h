/* vaecl: train variational autoencoders on any OpenCL 1.2+ device.
 * Public entry points of the library; the command-line tool is built on these. */
#ifndef VAECL_H
#define VAECL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VAECL_VERSION "0.2.0"

/* The library's version (VAECL_VERSION of the build that made it). */
const char *vaecl_version(void);

/* Every function that can fail returns 0 on success and -1 on failure; the
 * message (what failed, on which file or device, and what to do) is then
 * available from vaecl_last_error() in the same thread. */
const char *vaecl_last_error(void);

/* One device, as listed by `vaecl devices`. For OpenCL devices index is the flat
 * index over all platforms; the CPU backend has the single device 0. */
typedef struct vaecl_device_info {
  char backend[16]; /* the backend that runs it: "opencl" or "cpu" */
  int index;        /* in its backend's device list (vaecl_backend_options.device) */
  char platform[128];
  char name[128];
  char vendor[128];
  char version[128]; /* CL_DEVICE_VERSION */
  char driver[64];   /* CL_DRIVER_VERSION */
  uint64_t global_mem_bytes;
  uint64_t max_alloc_bytes; /* the largest single buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE) */
  unsigned compute_units;
  int is_gpu;
  char type[8];       /* "CPU", "GPU" or "other" (OpenCL); "host" (cpu backend) */
  int is_default;     /* the device its backend picks when none is named */
  int usable;         /* 0: the backend refuses it; `unusable` says why */
  char unusable[128]; /* e.g. "OpenCL 1.1; vaecl needs 1.2 or later" */
  int same_as;        /* the index of the same hardware on another platform, or -1 */
} vaecl_device_info;

/* Fills *out with a malloc'd array (free() it) of every OpenCL device on every
 * platform. vaecl_backend_list_devices (vaecl/backend_registry.h) lists the devices
 * of every backend. */
int vaecl_list_devices(vaecl_device_info **out, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
