/* Which OpenCL device to use: what makes one unusable, which is best, and which
 * are the same hardware seen through two platforms. Pure functions over the
 * properties read by cl_devices.c, so the rules are tested with made-up devices. */
#ifndef VAECL_CL_DEVICE_RANK_H
#define VAECL_CL_DEVICE_RANK_H

#include <stddef.h>
#include <stdint.h>

#include "backend/opencl/cl_util.h"

typedef struct {
  vaecl_cl_kind kind;
  int available;      /* CL_DEVICE_AVAILABLE */
  int compiler;       /* CL_DEVICE_COMPILER_AVAILABLE */
  char version[128];  /* CL_DEVICE_VERSION: "OpenCL <major>.<minor> ..." */
  int unified_memory; /* CL_DEVICE_HOST_UNIFIED_MEMORY: an integrated GPU shares the host's */
  uint64_t global_mem, max_alloc;
  unsigned compute_units;
  unsigned vendor_id;
  char name[128];
  char platform[128];
  int has_pci;     /* pci holds the PCI address (cl_khr_pci_bus_info or a vendor query) */
  uint32_t pci[4]; /* domain, bus, device, function */
} vaecl_cl_props;

/* "OpenCL 1.2 pocl" -> 1, 2; -1 when the text does not start that way. */
int vaecl_cl_parse_version(const char *text, int *major, int *minor);

/* 1 when vaecl can run on the device; else 0 with the reason in why. */
int vaecl_cl_usable(const vaecl_cl_props *, char *why, size_t why_size);

/* The first device before i that is the same hardware on another platform, or -1:
 * the same PCI address when both report one, else the same vendor id, name and
 * compute units. */
int vaecl_cl_same_as(const vaecl_cl_props *all, int i);

/* The default device: the best usable one by, in order, usable; GPU; discrete GPU
 * (no unified memory); between two views of the same GPU, a vendor's platform over
 * Mesa's (Clover, rusticl); more memory; more compute units; the lower index. -1
 * when none is usable. */
int vaecl_cl_best(const vaecl_cl_props *all, int n);

#endif
