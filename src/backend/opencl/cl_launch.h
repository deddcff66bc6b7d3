/* Launch geometry that every device accepts: each local size clamped to the
 * kernel's and the device's limits, each global size rounded up to a multiple of
 * it (vaecl's kernels check their bounds). Pure arithmetic, so it is tested
 * without a device. */
#ifndef VAECL_CL_LAUNCH_H
#define VAECL_CL_LAUNCH_H

#include <stddef.h>

/* The work-items of a group when the caller does not care (preferred 0): enough
 * for a GPU's SIMD width (32 or 64), small enough for every driver. */
#define VAECL_CL_DEFAULT_LOCAL 64

/* Computes global_out and local_out for a `dims`-dimensional range (1 or 2).
 * preferred[0] == 0 asks for the default: up to VAECL_CL_DEFAULT_LOCAL work-items,
 * dimension 0 first (no more than it needs), then dimension 1. Otherwise preferred
 * gives each local size. Either way local[d] <= max_item[d]
 * (CL_DEVICE_MAX_WORK_ITEM_SIZES) and the product <= kernel_max
 * (CL_KERNEL_WORK_GROUP_SIZE), halving the largest local size until it fits. A zero
 * global size is left zero (nothing to run). */
void vaecl_cl_launch_geometry(unsigned dims, const size_t global[], const size_t preferred[],
                              size_t kernel_max, const size_t max_item[], size_t global_out[],
                              size_t local_out[]);

#endif
