/* TEMPORARY until the backend registry lands: opens the OpenCL backend. */
#include <vaecl/backend_opencl.h>

#include "cli/cli.h"

vb_backend *cli_backend_open(const char *backend_name, int device) {
  (void)backend_name;
  return vb_opencl_create(device);
}
