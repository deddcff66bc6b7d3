/* The OpenCL implementation of vb_ops (src/backend.h).
 *
 * One in-order queue: ops are enqueued without waiting, and only read() and
 * finish() block, so a training step costs no host round trip. GEMM goes to
 * CLBlast; everything else is a kernel from cl/, built once per process. */
#include <clblast_c.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backends.h"
#include "backend/opencl/cl_backend.h"
#include "backend/opencl/cl_launch.h"
#include "backend/opencl/cl_util.h"
#include "backend/opencl/kernels_embedded.h"
#include "util/clock.h"
#include "util/error.h"

const char *const vaecl_cl_kernel_names[K_COUNT] = {"fill",
                                                    "im2col",
                                                    "col2im",
                                                    "bias_act",
                                                    "act_backward",
                                                    "bias_grad",
                                                    "bias_grad_rows",
                                                    "bias_grad_partials",
                                                    "bce_logits",
                                                    "gaussian_nll",
                                                    "accumulate",
                                                    "sample",
                                                    "sample_kl_backward",
                                                    "adam",
                                                    "gather_images",
                                                    "gemm_thin_unit_lanes",
                                                    "gemm_thin_strided_lanes",
                                                    "gemm_thin_unit_lanes_rows",
                                                    "gemm_thin_strided_lanes_rows",
                                                    "gemm_block",
                                                    "transpose",
                                                    "gemm_sum_parts",
                                                    "im2col_rows",
                                                    "gemm_patches_nn",
                                                    "gemm_patches_tn",
                                                    "gemm_col2im"};

cl_backend *clb_as(vb_backend *b) {
  return (cl_backend *)b;
}

int clb_fail(cl_backend *b, cl_int err, const char *what) {
  return vaecl_cl_fail(err, b->base.device_name, what);
}

/* ---- kernel launching ---------------------------------------------------------- */

/* Sets the arguments and enqueues a 1-D (global[1] == 0) or 2-D range, with local
 * sizes from vaecl_cl_launch_geometry (local[0] == 0: the default size): clamped to
 * the kernel's and the device's limits, global sizes rounded up to multiples (the
 * kernels check their bounds). */
int clb_launch_nd(cl_backend *b, int id, const size_t global_in[2], const size_t local_in[2],
                  int nargs, const karg *args) {
  cl_kernel k = b->kernels[id];
  for (int i = 0; i < nargs; i++) {
    const cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
    if (err != CL_SUCCESS) {
      char what[128];
      snprintf(what, sizeof what, "setting argument %d of kernel %s", i, vaecl_cl_kernel_names[id]);
      return clb_fail(b, err, what);
    }
  }
  const unsigned dims = global_in[1] ? 2 : 1;
  if (global_in[0] == 0 || (dims == 2 && global_in[1] == 0))
    return 0;
  size_t global[2], local[2];
  vaecl_cl_launch_geometry(dims, global_in, local_in, b->kernel_wg[id], b->max_item, global, local);
  if (b->profile && !b->prof_shape[0])
    clb_profile_shape(b, 0, "%zu", global_in[1] ? global_in[0] * global_in[1] : global_in[0]);
  const double start = b->profile ? vaecl_seconds() : 0;
  const cl_int err = clEnqueueNDRangeKernel(b->queue, k, dims, NULL, global, local, 0, NULL, NULL);
  b->launches++;
  clb_profile_op(b, id, start);
  if (err != CL_SUCCESS) {
    char what[160];
    snprintf(what, sizeof what, "running kernel %s (global %zux%zu, local %zux%zu)",
             vaecl_cl_kernel_names[id], global[0], dims == 2 ? global[1] : 1, local[0],
             dims == 2 ? local[1] : 1);
    return clb_fail(b, err, what);
  }
  return 0;
}

int clb_launch(cl_backend *b, int id, size_t global, size_t local, int nargs, const karg *args) {
  const size_t g[2] = {global, 0}, l[2] = {local, 1};
  return clb_launch_nd(b, id, g, l, nargs, args);
}

/* Kernels index with int: larger tensors would need a smaller batch. */
int clb_to_int(size_t n, int *out) {
  if (n > (size_t)INT_MAX)
    return vaecl_fail("tensor of %zu elements is too large for vaecl's kernels (at most %d); a "
                      "smaller batch would fit",
                      n, INT_MAX);
  *out = (int)n;
  return 0;
}

/* ---- buffers -------------------------------------------------------------------- */

vb_buf *clb_alloc(vb_backend *base, size_t bytes) {
  cl_backend *b = clb_as(base);
  vb_buf *buf = calloc(1, sizeof *buf);
  if (!buf) {
    vaecl_fail("out of host memory");
    return NULL;
  }
  cl_int err;
  buf->mem = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &err);
  if (err != CL_SUCCESS) {
    char what[96];
    snprintf(what, sizeof what, "allocating %.1f MiB", (double)bytes / 1048576.0);
    clb_fail(b, err, what);
    free(buf);
    return NULL;
  }
  buf->bytes = bytes;
  return buf;
}

void clb_release(vb_backend *base, vb_buf *buf) {
  (void)base;
  if (!buf)
    return;
  clReleaseMemObject(buf->mem);
  free(buf);
}

int clb_reserve(cl_backend *b, vb_buf **buf, size_t bytes) {
  if (*buf && (*buf)->bytes >= bytes)
    return 0;
  clb_release(&b->base, *buf);
  *buf = clb_alloc(&b->base, bytes);
  return *buf ? 0 : -1;
}

int clb_check_range(const vb_buf *buf, size_t offset, size_t bytes, const char *what) {
  if (offset > buf->bytes || bytes > buf->bytes - offset)
    return vaecl_fail("internal error: %s of %zu bytes at %zu overruns a %zu-byte buffer", what,
                      bytes, offset, buf->bytes);
  return 0;
}

static int clb_write(vb_backend *base, vb_buf *dst, size_t offset, const void *src, size_t bytes) {
  cl_backend *b = clb_as(base);
  if (clb_check_range(dst, offset, bytes, "write") != 0)
    return -1;
  /* Blocking: the caller may reuse src as soon as we return. */
  b->syncs++;
  const cl_int err =
      clEnqueueWriteBuffer(b->queue, dst->mem, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
  return err == CL_SUCCESS ? 0 : clb_fail(b, err, "copying data to the device");
}

static int clb_read(vb_backend *base, const vb_buf *src, size_t offset, void *dst, size_t bytes) {
  cl_backend *b = clb_as(base);
  if (clb_check_range(src, offset, bytes, "read") != 0)
    return -1;
  b->syncs++;
  const cl_int err =
      clEnqueueReadBuffer(b->queue, src->mem, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
  return err == CL_SUCCESS ? 0 : clb_fail(b, err, "reading results from the device");
}

/* A vb_mark is a cl_event from a marker command. */
static int clb_mark(vb_backend *base, vb_mark **out) {
  cl_backend *b = clb_as(base);
  cl_event ev;
  const cl_int err = clEnqueueMarkerWithWaitList(b->queue, 0, NULL, &ev);
  if (err != CL_SUCCESS)
    return clb_fail(b, err, "enqueueing a marker");
  *out = (vb_mark *)ev;
  return 0;
}

static int clb_wait_mark(vb_backend *base, vb_mark *mark) {
  cl_backend *b = clb_as(base);
  cl_event ev = (cl_event)mark;
  b->syncs++;
  const cl_int err = clWaitForEvents(1, &ev);
  clReleaseEvent(ev);
  return err == CL_SUCCESS ? 0 : clb_fail(b, err, "waiting for the device");
}

static int clb_finish(vb_backend *base) {
  cl_backend *b = clb_as(base);
  b->syncs++;
  const cl_int err = clFinish(b->queue);
  return err == CL_SUCCESS ? 0 : clb_fail(b, err, "waiting for the device");
}

static void clb_destroy(vb_backend *base) {
  cl_backend *b = clb_as(base);
  if (!b)
    return;
  if (b->queue)
    clFinish(b->queue);
  clb_release(base, b->scratch);
  clb_release(base, b->gemm_temp);
  clb_release(base, b->gemm_parts);
  clb_release(base, b->zeros);
  free(b->prof);
  for (int i = 0; i < K_COUNT; i++)
    if (b->kernels[i])
      clReleaseKernel(b->kernels[i]);
  if (b->program)
    clReleaseProgram(b->program);
  if (b->queue)
    clReleaseCommandQueue(b->queue);
  if (b->ctx)
    clReleaseContext(b->ctx);
  /* CLBlast caches its programs per context, which keeps every released context
   * alive; clearing also drops its in-memory binaries, so a later backend in this
   * process compiles CLBlast's kernels again. Its status is of no use here. */
  (void)CLBlastClearCache();
  free(b);
}

static const vb_ops clb_ops = {
    .name = "opencl",
    .version = VB_OPS_VERSION,
    .alloc = clb_alloc,
    .release = clb_release,
    .write = clb_write,
    .read = clb_read,
    .fill = clb_fill,
    .gemm = clb_gemm,
    .gemm_patches = clb_gemm_patches,
    .gemm_col2im = clb_gemm_col2im,
    .im2col = clb_im2col,
    .col2im = clb_col2im,
    .col2im_bias_act = clb_col2im_bias_act,
    .bias_act = clb_bias_act,
    .act_backward = clb_act_backward,
    .bias_grad = clb_bias_grad,
    .bce_logits = clb_bce_logits,
    .gaussian_nll = clb_gaussian_nll,
    .accumulate = clb_accumulate,
    .sample = clb_sample,
    .sample_kl_backward = clb_sample_kl_backward,
    .adam = clb_adam,
    .gather_images = clb_gather_images,
    .finish = clb_finish,
    .mark = clb_mark,
    .wait_mark = clb_wait_mark,
    .destroy = clb_destroy,
    .label = clb_label,
};

/* ---- setup ---------------------------------------------------------------------- */

static char *join_sources(void) {
  size_t total = 1;
  for (size_t i = 0; i < vaecl_kernel_source_count; i++)
    total += strlen(vaecl_kernel_sources[i].text) + 1;
  char *s = malloc(total), *p = s;
  if (!s)
    return NULL;
  for (size_t i = 0; i < vaecl_kernel_source_count; i++) {
    const size_t n = strlen(vaecl_kernel_sources[i].text);
    memcpy(p, vaecl_kernel_sources[i].text, n);
    p += n;
    *p++ = '\n';
  }
  *p = '\0';
  return s;
}

/* The limits every launch is clamped to (cl_launch.h), and the tree reductions'
 * group size: a power of two that both reducing kernels, the device's first
 * dimension and half its local memory accept, at most 256. */
static int query_launch_limits(cl_backend *b) {
  size_t items[16] = {0}, items_bytes = 0; /* one per dimension: 3 on most devices */
  cl_ulong local_mem = 0;
  cl_int err = clGetDeviceInfo(b->dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, 0, NULL, &items_bytes);
  if (err == CL_SUCCESS && (items_bytes < 2 * sizeof(size_t) || items_bytes > sizeof items))
    err = CL_INVALID_VALUE;
  if (err == CL_SUCCESS)
    err = clGetDeviceInfo(b->dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, items_bytes, items, NULL);
  if (err == CL_SUCCESS)
    err = clGetDeviceInfo(b->dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
  cl_uint cus = 0;
  if (err == CL_SUCCESS)
    err = clGetDeviceInfo(b->dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
  if (err != CL_SUCCESS)
    return clb_fail(b, err,
                    "querying the device's work-item, local memory and compute unit limits");
  b->compute_units = cus > 0 ? cus : 1;
  b->max_item[0] = items[0];
  b->max_item[1] = items[1];
  for (int i = 0; i < K_COUNT; i++) {
    err = clGetKernelWorkGroupInfo(b->kernels[i], b->dev, CL_KERNEL_WORK_GROUP_SIZE,
                                   sizeof b->kernel_wg[i], &b->kernel_wg[i], NULL);
    if (err != CL_SUCCESS) {
      char what[96];
      snprintf(what, sizeof what, "querying the work-group size of kernel %s",
               vaecl_cl_kernel_names[i]);
      return clb_fail(b, err, what);
    }
  }
  size_t limit = 256;
  const size_t caps[] = {b->kernel_wg[K_BIAS_GRAD], b->kernel_wg[K_ACCUMULATE], items[0],
                         (size_t)(local_mem / 2 / sizeof(float))};
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
    if (caps[i] < limit)
      limit = caps[i];
  if (limit < 1)
    return vaecl_fail("%s allows no work-group for vaecl's reductions (work-group size %zu, "
                      "local memory %llu bytes): pick another device",
                      b->base.device_name, limit, (unsigned long long)local_mem);
  b->reduce_local = 1;
  while (b->reduce_local * 2 <= limit)
    b->reduce_local *= 2;
  return 0;
}

static int build_kernels(cl_backend *b, const vaecl_backend_options *opts) {
  char *source = join_sources();
  if (!source)
    return vaecl_fail("out of host memory");
  /* No fast-math: the tests compare against a double-precision reference. */
  const int rc = vaecl_cl_build_program(b->ctx, b->dev, source, "-cl-std=CL1.2", opts->cache_dir,
                                        opts->build_log, opts->build_log_ctx, &b->program);
  free(source);
  if (rc != 0)
    return -1;
  for (int i = 0; i < K_COUNT; i++) {
    cl_int err;
    b->kernels[i] = clCreateKernel(b->program, vaecl_cl_kernel_names[i], &err);
    if (err != CL_SUCCESS) {
      char what[96];
      snprintf(what, sizeof what, "creating kernel %s", vaecl_cl_kernel_names[i]);
      return clb_fail(b, err, what);
    }
  }
  return query_launch_limits(b);
}

vb_backend *vb_opencl_create(const vaecl_backend_options *opts) {
  const vaecl_backend_options defaults = vaecl_backend_defaults();
  if (!opts)
    opts = &defaults;
  cl_backend *b = calloc(1, sizeof *b);
  if (!b) {
    vaecl_fail("out of host memory");
    return NULL;
  }
  b->base.ops = &clb_ops;
  b->profile = opts->profile != 0;
  cl_platform_id platform;
  if (vaecl_cl_find_device(opts->device, opts->device_match, &platform, &b->dev) != 0) {
    free(b);
    return NULL;
  }
  vaecl_cl_device_string(b->dev, CL_DEVICE_NAME, b->base.device_name, sizeof b->base.device_name);
  cl_ulong mem = 0, alloc = 0;
  cl_int qerr = clGetDeviceInfo(b->dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
  if (qerr == CL_SUCCESS)
    qerr = clGetDeviceInfo(b->dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL);
  if (qerr != CL_SUCCESS) {
    clb_fail(b, qerr, "querying the device's memory size");
    free(b);
    return NULL;
  }
  b->base.global_mem_bytes = mem;
  b->base.max_alloc_bytes = alloc;
  const int cpu = vaecl_cl_device_kind(b->dev) == VAECL_CL_KIND_CPU;
  b->rows_layout = opts->work_layout == VAECL_LAYOUT_ROWS       ? 1
                   : opts->work_layout == VAECL_LAYOUT_CHANNELS ? 0
                                                                : cpu;
  /* CPUs: vaecl's GEMM kernels, 2x CLBlast's speed on PoCL with the same bits (gemm
   * tuning off stands for a GPU: CLBlast). Elsewhere CLBlast, split along long sums
   * unless told otherwise: a GPU would run those on a handful of work-groups. */
  b->own_gemm = cpu && opts->gemm_tuning;
  /* the block kernel's chunk and group side: given, tuned for the device, or defaults */
  b->block_chunk = 64, b->block_group = 8;
  const int tuned =
      vaecl_cl_load_gemm_params(b->dev, opts->cache_dir, &b->block_chunk, &b->block_group);
  /* 0: not given */
  if (!vaecl_cl_gemm_params_valid(opts->gemm_chunk ? opts->gemm_chunk : 1,
                                  opts->gemm_group ? opts->gemm_group : 1)) {
    vaecl_fail("GEMM kernel parameters out of range: gemm_chunk %d (0, or 1 to %d), "
               "gemm_group %d (0, or 1 to %d)",
               opts->gemm_chunk, GEMM_CHUNK_MAX, opts->gemm_group, GEMM_GROUP_MAX);
    free(b);
    return NULL;
  }
  if (opts->gemm_chunk > 0)
    b->block_chunk = opts->gemm_chunk;
  if (opts->gemm_group > 0)
    b->block_group = opts->gemm_group;
  const int given = (opts->gemm_chunk > 0) + (opts->gemm_group > 0);
  b->split_k = opts->gemm_split_k == VAECL_GEMM_SPLIT_AUTO ? !cpu : opts->gemm_split_k != 0;
  cl_int err;
  const cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
  b->ctx = clCreateContext(props, 1, &b->dev, NULL, NULL, &err);
  if (err != CL_SUCCESS) {
    clb_fail(b, err, "creating an OpenCL context");
    clb_destroy(&b->base);
    return NULL;
  }
  b->queue = clCreateCommandQueue(b->ctx, b->dev, 0, &err);
  if (err != CL_SUCCESS) {
    clb_fail(b, err, "creating a command queue");
    clb_destroy(&b->base);
    return NULL;
  }
  if (vaecl_cl_gemm_setup(b->dev, opts->gemm_tuning, b->split_k, opts->gemm_indirect_min,
                          b->base.gemm_note, sizeof b->base.gemm_note) != 0) {
    clb_destroy(&b->base);
    return NULL;
  }
  if (b->own_gemm) {
    const size_t used = strlen(b->base.gemm_note);
    snprintf(b->base.gemm_note + used, sizeof b->base.gemm_note - used,
             " (k-chunks of %d, groups up to %dx%d, %s)", b->block_chunk, b->block_group,
             b->block_group,
             given == 2 ? "given"
             : given    ? (tuned ? "given and tuned by vaecl tune" : "given and defaults")
             : tuned    ? "tuned by vaecl tune"
                        : "defaults");
  }

  if (build_kernels(b, opts) != 0) {
    clb_destroy(&b->base);
    return NULL;
  }
  return &b->base;
}
