/* The OpenCL backend: kernels from cl/ (compiled at run time, binaries cached on
 * disk), GEMM through CLBlast. */
#ifndef VAECL_BACKEND_OPENCL_H
#define VAECL_BACKEND_OPENCL_H

#include <vaecl/backend.h>

/* Opens device `index` of the flat list printed by `vaecl devices`; -1 picks the
 * first GPU, else the first device. NULL with a message on failure. */
vb_backend *vb_opencl_create(int device_index);

#endif
