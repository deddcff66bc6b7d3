/* vaecl devices: the flat device list that --device N indexes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include <vaecl.h>

int cli_devices(const cli_globals *g, int argc, char **argv) {
  (void)g;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("usage: vaecl devices\n\nLists every OpenCL device on every platform with the index "
             "N that `vaecl --device N` takes.\n");
      return 0;
    }
    fprintf(stderr, "vaecl devices: unknown option '%s'\n", argv[i]);
    return 2;
  }
  vaecl_device_info *devs;
  size_t n;
  if (vaecl_list_devices(&devs, &n) != 0) {
    fprintf(stderr, "vaecl devices: %s\n", vaecl_last_error());
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    const vaecl_device_info *d = &devs[i];
    printf("%d: %s\n", d->index, d->name);
    printf("   platform: %s | vendor: %s | type: %s\n", d->platform, d->vendor,
           d->is_gpu ? "GPU" : "other");
    printf("   version: %s | driver: %s | memory: %.1f GiB | compute units: %u\n", d->version,
           d->driver, (double)d->global_mem_bytes / (1024.0 * 1024.0 * 1024.0), d->compute_units);
  }
  free(devs);
  return 0;
}
