/* See cl_launch.h. Drivers reject a local size above CL_KERNEL_WORK_GROUP_SIZE or
 * CL_DEVICE_MAX_WORK_ITEM_SIZES (CL_INVALID_WORK_GROUP_SIZE / _ITEM_SIZE), and a
 * NULL local size lets some drivers pick one-item groups: every launch gets an
 * explicit size that fits. */
#include "backend/opencl/cl_launch.h"

static size_t pow2_at_least(size_t n) {
  size_t p = 1;
  while (p < n && p < ((size_t)1 << 30))
    p *= 2;
  return p;
}

void vaecl_cl_launch_geometry(unsigned dims, const size_t global[], const size_t preferred[],
                              size_t kernel_max, const size_t max_item[], size_t global_out[],
                              size_t local_out[]) {
  size_t local[2] = {1, 1};
  if (preferred[0] == 0) {
    local[0] = pow2_at_least(global[0]);
    if (local[0] > VAECL_CL_DEFAULT_LOCAL)
      local[0] = VAECL_CL_DEFAULT_LOCAL;
    if (dims == 2) {
      local[1] = pow2_at_least(global[1]);
      if (local[1] > VAECL_CL_DEFAULT_LOCAL / local[0])
        local[1] = VAECL_CL_DEFAULT_LOCAL / local[0];
    }
  } else {
    for (unsigned d = 0; d < dims; d++)
      local[d] = preferred[d] ? preferred[d] : 1;
  }
  for (unsigned d = 0; d < dims; d++)
    if (max_item[d] && local[d] > max_item[d])
      local[d] = max_item[d];
  if (kernel_max == 0)
    kernel_max = 1;
  while (local[0] * local[1] > kernel_max) {
    const unsigned big = local[1] > local[0] ? 1 : 0;
    local[big] = (local[big] + 1) / 2;
  }
  for (unsigned d = 0; d < dims; d++) {
    local_out[d] = local[d];
    global_out[d] = (global[d] + local[d] - 1) / local[d] * local[d];
  }
}
