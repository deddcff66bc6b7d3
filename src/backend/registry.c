/* The table of backends (vaecl/backend_registry.h): the one place that names them. */
#include <vaecl/backend_registry.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backends.h"
#include "util/error.h"

typedef struct {
  const char *name;
  vb_backend *(*create)(const vaecl_backend_options *);
  int (*list_devices)(vaecl_device_info **out, size_t *count);
  /* NULL: the backend does not profile */
  int (*profile)(vb_backend *, vaecl_op_profile **rows, size_t *n);
  int (*profile_reset)(vb_backend *, int on);
  int (*counts)(vb_backend *, vaecl_backend_counts *);
  /* NULL: no tunable GEMM kernel */
  int (*gemm_params)(vb_backend *, vaecl_gemm_params *, int *tunable);
  int (*save_gemm_params)(vb_backend *, const char *, const vaecl_gemm_params *, char *, size_t);
} backend_entry;

static const backend_entry backends[] = {
    {"opencl", vb_opencl_create, vaecl_list_devices, vb_opencl_profile, vb_opencl_profile_reset,
     vb_opencl_counts, vb_opencl_gemm_params, vb_opencl_save_gemm_params},
    {"cpu", vb_cpu_create, vb_cpu_list_devices, NULL, NULL, NULL, NULL, NULL},
};
enum { BACKEND_COUNT = sizeof backends / sizeof backends[0] };

static const char *const names[BACKEND_COUNT + 1] = {"opencl", "cpu", NULL};

const char *const *vaecl_backend_names(void) {
  return names;
}

vaecl_backend_options vaecl_backend_defaults(void) {
  return (vaecl_backend_options){.device = -1,
                                 .device_match = NULL,
                                 .cache_dir = NULL,
                                 .gemm_tuning = 1,
                                 .work_layout = VAECL_LAYOUT_AUTO,
                                 .profile = 0,
                                 .gemm_indirect_min = 0,
                                 .gemm_split_k = VAECL_GEMM_SPLIT_AUTO,
                                 .gemm_chunk = 0,
                                 .gemm_group = 0,
                                 .build_log = NULL,
                                 .build_log_ctx = NULL};
}

static const backend_entry *find(const char *name) {
  for (size_t i = 0; i < BACKEND_COUNT; i++)
    if (strcmp(backends[i].name, name) == 0)
      return &backends[i];
  return NULL;
}

vb_backend *vaecl_backend_create(const char *name, const vaecl_backend_options *opts) {
  const vaecl_backend_options defaults = vaecl_backend_defaults();
  if (!opts)
    opts = &defaults;
  if (!name)
    name = backends[0].name;
  const backend_entry *e = find(name);
  if (!e) {
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < BACKEND_COUNT && used < sizeof list; i++) {
      const int n =
          snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", backends[i].name);
      if (n < 0)
        break;
      used += (size_t)n;
    }
    vaecl_fail("unknown backend '%s'; the backends are: %s", name, list);
    return NULL;
  }
  vb_backend *b = e->create(opts);
  if (!b)
    return NULL;
  if (!b->ops || b->ops->version != VB_OPS_VERSION || !b->ops->name ||
      strcmp(b->ops->name, e->name) != 0) {
    vaecl_fail("internal error: backend '%s' implements version %d of the op table, not %d",
               e->name, b->ops ? b->ops->version : -1, VB_OPS_VERSION);
    if (b->ops && b->ops->destroy)
      b->ops->destroy(b);
    return NULL;
  }
  return b;
}

int vaecl_backend_list_devices(vaecl_device_info **out, size_t *count, char *unavailable,
                               size_t unavailable_size) {
  vaecl_device_info *all = NULL;
  size_t total = 0, used = 0;
  *out = NULL;
  *count = 0;
  if (unavailable && unavailable_size)
    unavailable[0] = '\0';
  for (size_t i = 0; i < BACKEND_COUNT; i++) {
    vaecl_device_info *devs = NULL;
    size_t n = 0;
    if (backends[i].list_devices(&devs, &n) != 0) {
      if (unavailable && used < unavailable_size) {
        const int w = snprintf(unavailable + used, unavailable_size - used, "%s%s: %s",
                               used ? "\n" : "", backends[i].name, vaecl_last_error());
        if (w > 0)
          used += (size_t)w;
      }
      continue;
    }
    vaecl_device_info *grown = n ? realloc(all, (total + n) * sizeof *all) : all;
    if (n && !grown) {
      free(devs);
      free(all);
      return vaecl_fail("out of host memory listing devices");
    }
    all = grown;
    for (size_t d = 0; d < n; d++) {
      all[total + d] = devs[d];
      snprintf(all[total + d].backend, sizeof all[total + d].backend, "%s", backends[i].name);
    }
    total += n;
    free(devs);
  }
  *out = all;
  *count = total;
  return 0;
}

int vaecl_backend_profile(vb_backend *b, vaecl_op_profile **rows, size_t *n) {
  *rows = NULL;
  *n = 0;
  if (!b || !b->ops || !b->ops->name)
    return vaecl_fail("internal error: vaecl_backend_profile without a backend");
  const backend_entry *e = find(b->ops->name);
  return e && e->profile ? e->profile(b, rows, n) : 0;
}

int vaecl_backend_profile_reset(vb_backend *b, int on) {
  if (!b || !b->ops || !b->ops->name)
    return vaecl_fail("internal error: vaecl_backend_profile_reset without a backend");
  const backend_entry *e = find(b->ops->name);
  return e && e->profile_reset ? e->profile_reset(b, on) : 0;
}

int vaecl_backend_counts_get(vb_backend *b, vaecl_backend_counts *out) {
  *out = (vaecl_backend_counts){-1, -1};
  if (!b || !b->ops || !b->ops->name)
    return vaecl_fail("internal error: vaecl_backend_counts_get without a backend");
  const backend_entry *e = find(b->ops->name);
  return e && e->counts ? e->counts(b, out) : 0;
}

int vaecl_backend_gemm_params(vb_backend *b, vaecl_gemm_params *used, int *tunable) {
  *used = (vaecl_gemm_params){0, 0};
  *tunable = 0;
  if (!b || !b->ops || !b->ops->name)
    return vaecl_fail("internal error: vaecl_backend_gemm_params without a backend");
  const backend_entry *e = find(b->ops->name);
  return e && e->gemm_params ? e->gemm_params(b, used, tunable) : 0;
}

int vaecl_backend_save_gemm_params(vb_backend *b, const char *cache_dir, const vaecl_gemm_params *p,
                                   char *path, size_t path_size) {
  if (!b || !b->ops || !b->ops->name)
    return vaecl_fail("internal error: vaecl_backend_save_gemm_params without a backend");
  const backend_entry *e = find(b->ops->name);
  if (!e || !e->save_gemm_params)
    return vaecl_fail("the %s backend has no tunable GEMM kernel", b->ops->name);
  return e->save_gemm_params(b, cache_dir, p, path, path_size);
}
