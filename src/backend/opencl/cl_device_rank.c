/* See cl_device_rank.h. */
#include "backend/opencl/cl_device_rank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vaecl_cl_parse_version(const char *text, int *major, int *minor) {
  if (sscanf(text, "OpenCL %d.%d", major, minor) != 2)
    return -1;
  return 0;
}

int vaecl_cl_usable(const vaecl_cl_props *p, char *why, size_t why_size) {
  int major = 0, minor = 0;
  if (!p->available)
    snprintf(why, why_size, "not available (CL_DEVICE_AVAILABLE is false: busy or disabled)");
  else if (!p->compiler)
    snprintf(why, why_size, "its driver has no OpenCL C compiler");
  else if (vaecl_cl_parse_version(p->version, &major, &minor) != 0)
    snprintf(why, why_size, "unrecognised OpenCL version '%s'", p->version);
  else if (major < 1 || (major == 1 && minor < 2))
    snprintf(why, why_size, "OpenCL %d.%d; vaecl needs 1.2 or later", major, minor);
  else {
    if (why_size)
      why[0] = '\0';
    return 1;
  }
  return 0;
}

static int same_hardware(const vaecl_cl_props *a, const vaecl_cl_props *b) {
  if (a->has_pci && b->has_pci)
    return memcmp(a->pci, b->pci, sizeof a->pci) == 0;
  return a->vendor_id == b->vendor_id && a->compute_units == b->compute_units &&
         strcmp(a->name, b->name) == 0;
}

int vaecl_cl_same_as(const vaecl_cl_props *all, int i) {
  for (int j = 0; j < i; j++)
    if (strcmp(all[j].platform, all[i].platform) != 0 && same_hardware(&all[j], &all[i]))
      return j;
  return -1;
}

/* Mesa's OpenCL platforms: another view of a GPU that a vendor driver may also show. */
static int is_mesa(const vaecl_cl_props *p) {
  return strstr(p->platform, "Clover") || strstr(p->platform, "rusticl");
}

/* > 0 when a ranks before b (the rules of vaecl_cl_best, but the index). */
static int better(const vaecl_cl_props *a, const vaecl_cl_props *b) {
  char why[128];
  const int ua = vaecl_cl_usable(a, why, sizeof why), ub = vaecl_cl_usable(b, why, sizeof why);
  if (ua != ub)
    return ua - ub;
  const int ga = a->kind == VAECL_CL_KIND_GPU, gb = b->kind == VAECL_CL_KIND_GPU;
  if (ga != gb)
    return ga - gb;
  const int da = ga && !a->unified_memory, db = gb && !b->unified_memory;
  if (da != db)
    return da - db;
  if (same_hardware(a, b) && is_mesa(a) != is_mesa(b))
    return is_mesa(b) ? 1 : -1;
  if (a->global_mem != b->global_mem)
    return a->global_mem > b->global_mem ? 1 : -1;
  if (a->compute_units != b->compute_units)
    return a->compute_units > b->compute_units ? 1 : -1;
  return 0;
}

int vaecl_cl_best(const vaecl_cl_props *all, int n) {
  int best = -1;
  char why[128];
  for (int i = 0; i < n; i++)
    if (vaecl_cl_usable(&all[i], why, sizeof why) && (best < 0 || better(&all[i], &all[best]) > 0))
      best = i;
  return best;
}
