/* vaecl devices: every backend's devices, and how to select each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include <vaecl.h>
#include <vaecl/backend_registry.h>

static void print_device(const vaecl_device_info *d) {
  if (strcmp(d->backend, "opencl") == 0) {
    printf("  %d: %s%s\n", d->index, d->name,
           d->is_default ? "   <- the default (no --device)" : "");
    printf("     platform: %s | vendor: %s | type: %s\n", d->platform, d->vendor, d->type);
    printf("     version: %s | driver: %s\n", d->version, d->driver);
    printf("     memory: %.1f GiB (largest buffer %.1f GiB) | compute units: %u\n",
           (double)d->global_mem_bytes / (1024.0 * 1024.0 * 1024.0),
           (double)d->max_alloc_bytes / (1024.0 * 1024.0 * 1024.0), d->compute_units);
    if (d->same_as >= 0)
      printf("     the same hardware as device %d, through another platform\n", d->same_as);
    if (d->usable)
      printf("     select: --device %d\n", d->index);
    else
      printf("     unusable: %s\n", d->unusable);
  } else {
    printf("  %d: %s\n", d->index, d->name);
    printf("     host memory, one thread; exact float32 ops for checking results\n");
    printf("     select: --backend %s\n", d->backend);
  }
}

int cli_devices(const cli_globals *g, int argc, char **argv) {
  (void)g;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("usage: vaecl devices\n\nLists the devices of every backend: OpenCL devices with "
             "the index N that `vaecl --device N` takes (--device also takes part of a name), "
             "the one used without --device marked, and why a device cannot be used; then the "
             "plain-C CPU backend that `vaecl --backend cpu` selects.\n");
      return 0;
    }
    cli_unknown_option("devices", argv[i]);
    return 2;
  }
  vaecl_device_info *devs;
  size_t n;
  char unavailable[2048];
  if (vaecl_backend_list_devices(&devs, &n, unavailable, sizeof unavailable) != 0) {
    fprintf(stderr, "vaecl devices: %s\n", vaecl_last_error());
    return 1;
  }
  for (const char *const *name = vaecl_backend_names(); *name; name++) {
    printf("backend %s%s:\n", *name, strcmp(*name, "opencl") == 0 ? " (the default)" : "");
    size_t shown = 0;
    for (size_t i = 0; i < n; i++)
      if (strcmp(devs[i].backend, *name) == 0) {
        print_device(&devs[i]);
        shown++;
      }
    if (shown == 0)
      printf("  (no devices)\n");
  }
  if (unavailable[0])
    fprintf(stderr, "vaecl devices: some backends are unavailable:\n%s\n", unavailable);
  free(devs);
  return 0;
}
