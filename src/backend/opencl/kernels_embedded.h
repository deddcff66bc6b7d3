/* The .cl sources under cl/, embedded at build time (cmake/EmbedKernels.cmake). */
#ifndef VAECL_KERNELS_EMBEDDED_H
#define VAECL_KERNELS_EMBEDDED_H
#include <stddef.h>

typedef struct {
  const char *name; /* file name, for build logs */
  const char *text;
} vaecl_kernel_source;

extern const vaecl_kernel_source vaecl_kernel_sources[];
extern const size_t vaecl_kernel_source_count;
#endif
