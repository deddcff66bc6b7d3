/* The flat OpenCL device index (vaecl_backend_options.device): platforms in ICD order,
 * devices in each platform's order; the default device and name matching. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_device_rank.h"
#include "backend/opencl/cl_util.h"
#include "util/error.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES_PER_PLATFORM 64
#define MAX_DEVICES (MAX_PLATFORMS * 4)

/* Vendor queries for a device's PCI address (the Khronos one first). */
#define CL_DEVICE_PCI_BUS_INFO_KHR 0x410F
#define CL_DEVICE_TOPOLOGY_AMD 0x4037
#define CL_DEVICE_PCI_BUS_ID_NV 0x4008
#define CL_DEVICE_PCI_SLOT_ID_NV 0x4009

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

vaecl_cl_kind vaecl_cl_classify(cl_device_type type) {
  if (type & CL_DEVICE_TYPE_CPU)
    return VAECL_CL_KIND_CPU;
  if (type & CL_DEVICE_TYPE_GPU)
    return VAECL_CL_KIND_GPU;
  return VAECL_CL_KIND_OTHER;
}

vaecl_cl_kind vaecl_cl_device_kind(cl_device_id dev) {
  cl_device_type type = 0;
  if (clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
    return VAECL_CL_KIND_OTHER;
  return vaecl_cl_classify(type);
}

const char *vaecl_cl_kind_name(vaecl_cl_kind k) {
  return k == VAECL_CL_KIND_CPU ? "CPU" : k == VAECL_CL_KIND_GPU ? "GPU" : "other";
}

static cl_bool device_bool(cl_device_id dev, cl_device_info what) {
  cl_bool v = CL_FALSE;
  return clGetDeviceInfo(dev, what, sizeof v, &v, NULL) == CL_SUCCESS && v;
}

/* The PCI address, from whichever extension the driver has (asking a driver without
 * it is an invalid call). */
static int read_pci(cl_device_id dev, uint32_t pci[4]) {
  char ext[4096];
  vaecl_cl_device_string(dev, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
  cl_uint khr[4];
  if (strstr(ext, "cl_khr_pci_bus_info") &&
      clGetDeviceInfo(dev, CL_DEVICE_PCI_BUS_INFO_KHR, sizeof khr, khr, NULL) == CL_SUCCESS) {
    memcpy(pci, khr, sizeof khr);
    return 1;
  }
  unsigned char amd[24]; /* cl_device_topology_amd: type, 17 bytes, bus, device, function */
  cl_uint amd_type;
  if (strstr(ext, "cl_amd_device_attribute_query") &&
      clGetDeviceInfo(dev, CL_DEVICE_TOPOLOGY_AMD, sizeof amd, amd, NULL) == CL_SUCCESS) {
    memcpy(&amd_type, amd, sizeof amd_type);
    if (amd_type == 1) { /* CL_DEVICE_TOPOLOGY_TYPE_PCIE_AMD */
      pci[0] = 0, pci[1] = amd[21], pci[2] = amd[22], pci[3] = amd[23];
      return 1;
    }
  }
  cl_uint bus, slot;
  if (strstr(ext, "cl_nv_device_attribute_query") &&
      clGetDeviceInfo(dev, CL_DEVICE_PCI_BUS_ID_NV, sizeof bus, &bus, NULL) == CL_SUCCESS &&
      clGetDeviceInfo(dev, CL_DEVICE_PCI_SLOT_ID_NV, sizeof slot, &slot, NULL) == CL_SUCCESS) {
    pci[0] = 0, pci[1] = bus, pci[2] = slot >> 3, pci[3] = slot & 7;
    return 1;
  }
  return 0;
}

static void read_props(const device_ref *r, vaecl_cl_props *p) {
  memset(p, 0, sizeof *p);
  cl_device_id dev = r->device;
  p->kind = vaecl_cl_device_kind(dev);
  p->available = device_bool(dev, CL_DEVICE_AVAILABLE);
  p->compiler = device_bool(dev, CL_DEVICE_COMPILER_AVAILABLE);
  p->unified_memory = device_bool(dev, CL_DEVICE_HOST_UNIFIED_MEMORY);
  vaecl_cl_device_string(dev, CL_DEVICE_VERSION, p->version, sizeof p->version);
  vaecl_cl_device_string(dev, CL_DEVICE_NAME, p->name, sizeof p->name);
  cl_ulong mem = 0, alloc = 0;
  cl_uint cus = 0, vendor = 0;
  if (clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL) == CL_SUCCESS)
    p->global_mem = mem;
  if (clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL) == CL_SUCCESS)
    p->max_alloc = alloc;
  if (clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL) == CL_SUCCESS)
    p->compute_units = cus;
  if (clGetDeviceInfo(dev, CL_DEVICE_VENDOR_ID, sizeof vendor, &vendor, NULL) == CL_SUCCESS)
    p->vendor_id = vendor;
  if (clGetPlatformInfo(r->platform, CL_PLATFORM_NAME, sizeof p->platform, p->platform, NULL) !=
      CL_SUCCESS)
    p->platform[0] = '\0';
  p->platform[sizeof p->platform - 1] = '\0';
  p->has_pci = read_pci(dev, p->pci);
}

/* Every device with its properties; returns how many, or -1. */
static int survey(device_ref *refs, vaecl_cl_props *props) {
  const int n = enumerate(refs, MAX_DEVICES);
  for (int i = 0; i < n; i++)
    read_props(&refs[i], &props[i]);
  return n;
}

static int contains_nocase(const char *text, const char *part) {
  const size_t n = strlen(part);
  for (; *text; text++) {
    size_t i = 0;
    while (i < n && text[i] && tolower((unsigned char)text[i]) == tolower((unsigned char)part[i]))
      i++;
    if (i == n)
      return 1;
  }
  return n == 0;
}

/* The one device whose name contains match; -1 with a message listing the names. */
static int find_by_name(const vaecl_cl_props *props, int n, const char *match) {
  int found = -1, count = 0;
  char names[1024] = "";
  size_t used = 0;
  for (int i = 0; i < n; i++) {
    const int hit = contains_nocase(props[i].name, match);
    if (hit) {
      found = i;
      count++;
    }
    if ((hit || !*match) && used < sizeof names) {
      const int w = snprintf(names + used, sizeof names - used, "%s%d: %s", used ? "; " : "", i,
                             props[i].name);
      used += w > 0 ? (size_t)w : 0;
    }
  }
  if (count == 1)
    return found;
  if (count == 0) {
    for (int i = 0; i < n && used < sizeof names; i++) {
      const int w = snprintf(names + used, sizeof names - used, "%s%d: %s", used ? "; " : "", i,
                             props[i].name);
      used += w > 0 ? (size_t)w : 0;
    }
    return vaecl_fail("no OpenCL device name contains '%s'; the devices are %s", match, names);
  }
  return vaecl_fail("'%s' matches %d OpenCL devices (%s): give more of the name, or the index",
                    match, count, names);
}

int vaecl_cl_find_device(int index, const char *match, cl_platform_id *platform,
                         cl_device_id *device) {
  device_ref refs[MAX_DEVICES];
  vaecl_cl_props props[MAX_DEVICES];
  const int n = survey(refs, props);
  if (n < 0)
    return -1;
  char why[128];
  if (index < 0 && match) {
    if ((index = find_by_name(props, n, match)) < 0)
      return -1;
  } else if (index < 0) {
    if ((index = vaecl_cl_best(props, n)) < 0) {
      vaecl_cl_usable(&props[0], why, sizeof why);
      return vaecl_fail("no OpenCL device can run vaecl (device 0, %s: %s; `vaecl devices` "
                        "says why for each): install an OpenCL 1.2+ driver, e.g. Debian's "
                        "pocl-opencl-icd for the CPU",
                        props[0].name, why);
    }
  }
  if (index >= n)
    return vaecl_fail("there is no OpenCL device %d: this machine has %d (0..%d)", index, n, n - 1);
  if (!vaecl_cl_usable(&props[index], why, sizeof why))
    return vaecl_fail("OpenCL device %d (%s, %s) cannot run vaecl: %s. Pick another with --device "
                      "(`vaecl devices` lists them)",
                      index, props[index].name, props[index].platform, why);
  *platform = refs[index].platform;
  *device = refs[index].device;
  return 0;
}

int vaecl_list_devices(vaecl_device_info **out, size_t *count) {
  device_ref refs[MAX_DEVICES];
  vaecl_cl_props props[MAX_DEVICES];
  const int n = survey(refs, props);
  if (n < 0)
    return -1;
  vaecl_device_info *info = calloc((size_t)n, sizeof *info);
  if (!info)
    return vaecl_fail("out of memory listing %d OpenCL devices", n);
  const int best = vaecl_cl_best(props, n);
  for (int i = 0; i < n; i++) {
    vaecl_device_info *d = &info[i];
    const vaecl_cl_props *p = &props[i];
    cl_device_id dev = refs[i].device;
    snprintf(d->backend, sizeof d->backend, "opencl");
    d->index = i;
    snprintf(d->platform, sizeof d->platform, "%s", p->platform);
    snprintf(d->name, sizeof d->name, "%s", p->name);
    snprintf(d->version, sizeof d->version, "%s", p->version);
    vaecl_cl_device_string(dev, CL_DEVICE_VENDOR, d->vendor, sizeof d->vendor);
    vaecl_cl_device_string(dev, CL_DRIVER_VERSION, d->driver, sizeof d->driver);
    d->global_mem_bytes = p->global_mem;
    d->max_alloc_bytes = p->max_alloc;
    d->compute_units = p->compute_units;
    d->is_gpu = p->kind == VAECL_CL_KIND_GPU;
    snprintf(d->type, sizeof d->type, "%s", vaecl_cl_kind_name(p->kind));
    d->is_default = i == best;
    d->usable = vaecl_cl_usable(p, d->unusable, sizeof d->unusable);
    d->same_as = vaecl_cl_same_as(props, i);
  }
  *out = info;
  *count = (size_t)n;
  return 0;
}
