/* The OpenCL implementation of vb_ops (src/backend.h).
 *
 * One in-order queue: ops are enqueued without waiting, and only read() and
 * finish() block, so a training step costs no host round trip. GEMM goes to
 * CLBlast; everything else is a kernel from cl/, built once per process. */
#include "backend_opencl.h"

#include <clblast_c.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cl_util.h"
#include "error.h"
#include "kernels_embedded.h"

enum {
  K_FILL,
  K_IM2COL,
  K_COL2IM,
  K_BIAS_ACT,
  K_ACT_BACKWARD,
  K_BIAS_GRAD,
  K_BIAS_GRAD_ROWS,
  K_BIAS_GRAD_PARTIALS,
  K_BCE_LOGITS,
  K_ACCUMULATE,
  K_SAMPLE,
  K_SAMPLE_KL_BACKWARD,
  K_ADAM,
  K_GATHER_IMAGES,
  K_COUNT
};
static const char *const kernel_names[K_COUNT] = {
    "fill",         "im2col",       "col2im",         "bias_act",
    "act_backward", "bias_grad",    "bias_grad_rows", "bias_grad_partials",
    "bce_logits",   "accumulate",   "sample",         "sample_kl_backward",
    "adam",         "gather_images"};

typedef struct {
  vb_backend base;
  cl_context ctx;
  cl_device_id dev;
  cl_command_queue queue;
  cl_program program;
  cl_kernel kernels[K_COUNT];
  size_t reduce_local; /* work-group size for the tree reductions, a power of two */
  /* im2col/col2im work layout: a work-item per row of channels (CPUs) or per
   * channel (GPUs); VAECL_WORK_LAYOUT=rows|channels overrides, so the tests on a
   * CPU exercise both. */
  int rows_layout;
  vb_buf *scratch; /* partial sums of bias_grad_rows, grown on demand */
  /* VAECL_PROFILE=1: wait after every op and add its wall time here (slows the run;
   * for finding hot spots, printed at exit). Slot K_COUNT is GEMM. */
  int profile;
  double op_seconds[K_COUNT + 1];
  long op_calls[K_COUNT + 1];
} cl_backend;

struct vb_buf {
  cl_mem mem;
  size_t bytes;
};

static cl_backend *as_cl(vb_backend *b) {
  return (cl_backend *)b;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* With profiling on, the time since `start` (after draining the queue) goes to op. */
static void profile_op(cl_backend *b, int op, double start) {
  if (!b->profile || clFinish(b->queue) != CL_SUCCESS)
    return;
  b->op_seconds[op] += now_seconds() - start;
  b->op_calls[op]++;
}

static void print_profile(const cl_backend *b) {
  double total = 0;
  for (int i = 0; i <= K_COUNT; i++)
    total += b->op_seconds[i];
  fprintf(stderr, "vaecl profile on %s (ops run one at a time):\n", b->base.device_name);
  for (int i = 0; i <= K_COUNT; i++)
    if (b->op_calls[i])
      fprintf(stderr, "  %-20s %7ld calls %9.3f s %5.1f%%\n",
              i < K_COUNT ? kernel_names[i] : "gemm (CLBlast)", b->op_calls[i], b->op_seconds[i],
              100.0 * b->op_seconds[i] / total);
}

static int fail(cl_backend *b, cl_int err, const char *what) {
  return vaecl_cl_fail(err, b->base.device_name, what);
}

/* ---- kernel launching ---------------------------------------------------------- */

typedef struct {
  size_t size;
  const void *value; /* NULL: local memory of `size` bytes */
} karg;
#define KARG(v) ((karg){sizeof(v), &(v)})

/* Sets the arguments and enqueues a 1-D (global[1] == 0) or 2-D range. local[0] == 0
 * lets the driver choose; otherwise each global size is rounded up to a multiple of
 * the local one (kernels check their bounds). */
static int launch_nd(cl_backend *b, int id, const size_t global_in[2], const size_t local[2],
                     int nargs, const karg *args) {
  cl_kernel k = b->kernels[id];
  for (int i = 0; i < nargs; i++) {
    const cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
    if (err != CL_SUCCESS) {
      char what[128];
      snprintf(what, sizeof what, "setting argument %d of kernel %s", i, kernel_names[id]);
      return fail(b, err, what);
    }
  }
  size_t global[2] = {global_in[0], global_in[1]};
  const cl_uint dims = global[1] ? 2 : 1;
  if (global[0] == 0 || (dims == 2 && global[1] == 0))
    return 0;
  const int sized = local[0] != 0;
  for (cl_uint d = 0; sized && d < dims; d++)
    global[d] = (global[d] + local[d] - 1) / local[d] * local[d];
  const double start = b->profile ? now_seconds() : 0;
  const cl_int err =
      clEnqueueNDRangeKernel(b->queue, k, dims, NULL, global, sized ? local : NULL, 0, NULL, NULL);
  profile_op(b, id, start);
  if (err != CL_SUCCESS) {
    char what[128];
    snprintf(what, sizeof what, "running kernel %s", kernel_names[id]);
    return fail(b, err, what);
  }
  return 0;
}

static int launch(cl_backend *b, int id, size_t global, size_t local, int nargs, const karg *args) {
  const size_t g[2] = {global, 0}, l[2] = {local, 1};
  return launch_nd(b, id, g, l, nargs, args);
}

/* Kernels index with int: larger tensors would need a smaller batch. */
static int to_int(size_t n, int *out) {
  if (n > (size_t)INT_MAX)
    return vaecl_fail("tensor of %zu elements is too large for vaecl's kernels; use a smaller "
                      "--batch",
                      n);
  *out = (int)n;
  return 0;
}

/* ---- buffers -------------------------------------------------------------------- */

static vb_buf *cl_alloc(vb_backend *base, size_t bytes) {
  cl_backend *b = as_cl(base);
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
    fail(b, err, what);
    free(buf);
    return NULL;
  }
  buf->bytes = bytes;
  return buf;
}

static void cl_release(vb_backend *base, vb_buf *buf) {
  (void)base;
  if (!buf)
    return;
  clReleaseMemObject(buf->mem);
  free(buf);
}

static int check_range(const vb_buf *buf, size_t offset, size_t bytes, const char *what) {
  if (offset > buf->bytes || bytes > buf->bytes - offset)
    return vaecl_fail("internal error: %s of %zu bytes at %zu overruns a %zu-byte buffer", what,
                      bytes, offset, buf->bytes);
  return 0;
}

static int cl_write(vb_backend *base, vb_buf *dst, size_t offset, const void *src, size_t bytes) {
  cl_backend *b = as_cl(base);
  if (check_range(dst, offset, bytes, "write") != 0)
    return -1;
  /* Blocking: the caller may reuse src as soon as we return. */
  const cl_int err =
      clEnqueueWriteBuffer(b->queue, dst->mem, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
  return err == CL_SUCCESS ? 0 : fail(b, err, "copying data to the device");
}

static int cl_read(vb_backend *base, const vb_buf *src, size_t offset, void *dst, size_t bytes) {
  cl_backend *b = as_cl(base);
  if (check_range(src, offset, bytes, "read") != 0)
    return -1;
  const cl_int err =
      clEnqueueReadBuffer(b->queue, src->mem, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
  return err == CL_SUCCESS ? 0 : fail(b, err, "reading results from the device");
}

static int cl_fill(vb_backend *base, vb_buf *dst, float value, size_t count) {
  int n;
  if (check_range(dst, 0, count * sizeof(float), "fill") != 0 || to_int(count, &n) != 0)
    return -1;
  return launch(as_cl(base), K_FILL, count, 0, 3, (karg[]){KARG(dst->mem), KARG(value), KARG(n)});
}

/* ---- GEMM ----------------------------------------------------------------------- */

static const char *clblast_status_text(CLBlastStatusCode s) {
  switch (s) {
  case CLBlastNotImplemented:
    return "the routine is not implemented for this device";
  case CLBlastInvalidLocalMemUsage:
    return "CLBlast's kernel needs more local memory than the device has";
  case CLBlastNoHalfPrecision:
  case CLBlastNoDoublePrecision:
    return "the device lacks a precision CLBlast needs";
  case CLBlastInsufficientMemoryA:
  case CLBlastInsufficientMemoryB:
  case CLBlastInsufficientMemoryC:
    return "a matrix buffer is smaller than its dimensions (internal error)";
  default:
    return (int)s > -1000 ? vaecl_cl_error_name((cl_int)s) : "CLBlast error";
  }
}

static int cl_gemm(vb_backend *base, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                   const vb_buf *a, const vb_buf *bm, float beta, vb_buf *c) {
  cl_backend *b = as_cl(base);
  const size_t lda = ta ? m : k, ldb = tb ? k : n;
  const double start = b->profile ? now_seconds() : 0;
  const CLBlastStatusCode s =
      CLBlastSgemm(CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                   tb ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a->mem, 0, lda,
                   bm->mem, 0, ldb, beta, c->mem, 0, n, &b->queue, NULL);
  profile_op(b, K_COUNT, start);
  if (s != CLBlastSuccess)
    return vaecl_fail("CLBlast SGEMM (%zux%zux%zu) failed on %s: %s (%d)", m, n, k,
                      b->base.device_name, clblast_status_text(s), (int)s);
  return 0;
}

/* ---- convolution patches --------------------------------------------------------- */

/* im2col and col2im share their arguments; `rows` is the size of dimension 1 (patch
 * taps, or image pixels), dimension 0 the channels. */
static int patch_op(cl_backend *b, int id, const vb_patch_geom *g, cl_mem in, cl_mem out,
                    size_t rows) {
  int r;
  if (to_int(rows * (size_t)g->c, &r) != 0 || to_int(rows, &r) != 0)
    return -1;
  /* CPUs: one work-item per row copies all channels, alone in its group: PoCL
   * vectorises a group across its work-items, which turns the per-row copy loop into
   * gathers and scatters (measured 20x slower on PoCL 3.1); with only a few channels
   * there is no loop to speak of and 64 rows share a group. GPUs: one work-item per
   * channel, so neighbouring work-items touch neighbouring floats. */
  const int span = b->rows_layout ? g->c : 1;
  const size_t global[2] = {(size_t)(g->c + span - 1) / (size_t)span, rows};
  const size_t local[2] = {b->rows_layout ? 1 : 0, span >= 16 ? 1 : 64}; /* few channels: rows */
  return launch_nd(b, id, global, local, 12,
                   (karg[]){KARG(in), KARG(out), KARG(g->img_h), KARG(g->img_w), KARG(g->c),
                            KARG(g->grid_h), KARG(g->grid_w), KARG(g->k), KARG(g->stride),
                            KARG(g->pad), KARG(r), KARG(span)});
}

static int cl_im2col(vb_backend *base, const vb_patch_geom *g, int batch, const vb_buf *img,
                     vb_buf *col) {
  const size_t patches = (size_t)batch * g->grid_h * g->grid_w * g->k * g->k;
  if (check_range(col, 0, patches * g->c * sizeof(float), "im2col") != 0)
    return -1;
  return patch_op(as_cl(base), K_IM2COL, g, img->mem, col->mem, patches);
}

static int cl_col2im(vb_backend *base, const vb_patch_geom *g, int batch, const vb_buf *col,
                     vb_buf *img) {
  const size_t pixels = (size_t)batch * g->img_h * g->img_w;
  if (check_range(img, 0, pixels * g->c * sizeof(float), "col2im") != 0)
    return -1;
  return patch_op(as_cl(base), K_COL2IM, g, col->mem, img->mem, pixels);
}

/* ---- elementwise and reductions ------------------------------------------------- */

static int cl_bias_act(vb_backend *base, vb_buf *y, const vb_buf *bias, size_t rows, size_t cols,
                       vb_act act) {
  int r, c, total, a = (int)act;
  if (to_int(rows * cols, &total) != 0 || to_int(rows, &r) != 0 || to_int(cols, &c) != 0)
    return -1;
  return launch(as_cl(base), K_BIAS_ACT, rows * cols, 0, 5,
                (karg[]){KARG(y->mem), KARG(bias->mem), KARG(r), KARG(c), KARG(a)});
}

static int cl_act_backward(vb_backend *base, vb_buf *dy, const vb_buf *y, size_t count,
                           vb_act act) {
  int n, a = (int)act;
  if (act == VB_ACT_NONE)
    return 0;
  if (to_int(count, &n) != 0)
    return -1;
  return launch(as_cl(base), K_ACT_BACKWARD, count, 0, 4,
                (karg[]){KARG(dy->mem), KARG(y->mem), KARG(n), KARG(a)});
}

/* Rows per work-item of bias_grad_rows: enough work-items for the cores, few enough
 * partial rows that the second pass is short. */
enum { BIAS_GRAD_CHUNKS = 64 };

static int bias_grad_two_pass(cl_backend *b, vb_buf *db, const vb_buf *dy, int rows, int cols) {
  const int chunk = (rows + BIAS_GRAD_CHUNKS - 1) / BIAS_GRAD_CHUNKS;
  const int chunks = (rows + chunk - 1) / chunk;
  const size_t need = (size_t)chunks * cols * sizeof(float);
  if (!b->scratch || b->scratch->bytes < need) {
    cl_release(&b->base, b->scratch);
    if (!(b->scratch = cl_alloc(&b->base, need)))
      return -1;
  }
  const size_t one[2] = {1, 1};
  const size_t g1[2] = {(size_t)chunks, 0}, g2[2] = {(size_t)cols, 0};
  if (launch_nd(
          b, K_BIAS_GRAD_ROWS, g1, one, 5,
          (karg[]){KARG(b->scratch->mem), KARG(dy->mem), KARG(rows), KARG(cols), KARG(chunk)}) != 0)
    return -1;
  return launch_nd(b, K_BIAS_GRAD_PARTIALS, g2, one, 4,
                   (karg[]){KARG(db->mem), KARG(b->scratch->mem), KARG(chunks), KARG(cols)});
}

static int cl_bias_grad(vb_backend *base, vb_buf *db, const vb_buf *dy, size_t rows, size_t cols) {
  cl_backend *b = as_cl(base);
  int r, c, total;
  if (to_int(rows * cols, &total) != 0 || to_int(rows, &r) != 0 || to_int(cols, &c) != 0)
    return -1;
  if (b->rows_layout)
    return bias_grad_two_pass(b, db, dy, r, c);
  const size_t local = b->reduce_local;
  return launch(
      b, K_BIAS_GRAD, cols * local, local, 5,
      (karg[]){KARG(db->mem), KARG(dy->mem), KARG(r), KARG(c), {local * sizeof(float), NULL}});
}

static int cl_bce_logits(vb_backend *base, const vb_buf *logits, const vb_buf *target,
                         vb_buf *dlogits, vb_buf *loss, size_t count, float grad_scale) {
  int n;
  if (to_int(count, &n) != 0)
    return -1;
  return launch(as_cl(base), K_BCE_LOGITS, count, 0, 6,
                (karg[]){KARG(logits->mem), KARG(target->mem), KARG(dlogits->mem), KARG(loss->mem),
                         KARG(n), KARG(grad_scale)});
}

static int cl_accumulate(vb_backend *base, vb_buf *acc, int slot, const vb_buf *x, size_t count,
                         float scale) {
  cl_backend *b = as_cl(base);
  int n;
  if (to_int(count, &n) != 0)
    return -1;
  const size_t local = b->reduce_local;
  return launch(b, K_ACCUMULATE, local, local, 6,
                (karg[]){KARG(acc->mem),
                         KARG(slot),
                         KARG(x->mem),
                         KARG(n),
                         KARG(scale),
                         {local * sizeof(float), NULL}});
}

static int cl_sample(vb_backend *base, const vb_buf *stats, vb_buf *eps, vb_buf *z, int batch,
                     int latent, uint64_t seed, uint64_t step) {
  const cl_uint seed_lo = (cl_uint)seed, seed_hi = (cl_uint)(seed >> 32);
  const cl_uint step_lo = (cl_uint)step, step_hi = (cl_uint)(step >> 32);
  return launch(as_cl(base), K_SAMPLE, (size_t)batch * latent, 0, 9,
                (karg[]){KARG(stats->mem), KARG(eps->mem), KARG(z->mem), KARG(batch), KARG(latent),
                         KARG(seed_lo), KARG(seed_hi), KARG(step_lo), KARG(step_hi)});
}

static int cl_sample_kl_backward(vb_backend *base, const vb_buf *stats, const vb_buf *eps,
                                 const vb_buf *dz, vb_buf *dstats, vb_buf *kl, int batch,
                                 int latent, float kl_scale) {
  return launch(as_cl(base), K_SAMPLE_KL_BACKWARD, (size_t)batch * latent, 0, 8,
                (karg[]){KARG(stats->mem), KARG(eps->mem), KARG(dz->mem), KARG(dstats->mem),
                         KARG(kl->mem), KARG(batch), KARG(latent), KARG(kl_scale)});
}

static int cl_adam(vb_backend *base, vb_buf *param, const vb_buf *grad, vb_buf *m, vb_buf *v,
                   size_t count, const vb_adam_step *s) {
  int n;
  if (to_int(count, &n) != 0)
    return -1;
  return launch(as_cl(base), K_ADAM, count, 0, 9,
                (karg[]){KARG(param->mem), KARG(grad->mem), KARG(m->mem), KARG(v->mem), KARG(n),
                         KARG(s->alpha), KARG(s->beta1), KARG(s->beta2), KARG(s->epsilon)});
}

static int cl_gather_images(vb_backend *base, const vb_buf *pixels, const vb_buf *index,
                            size_t first, size_t count, size_t pixels_per_image, vb_buf *out) {
  int f, c, p, total;
  if (to_int(first, &f) != 0 || to_int(count, &c) != 0 || to_int(pixels_per_image, &p) != 0 ||
      to_int(count * pixels_per_image, &total) != 0)
    return -1;
  return launch(
      as_cl(base), K_GATHER_IMAGES, count * pixels_per_image, 0, 6,
      (karg[]){KARG(pixels->mem), KARG(index->mem), KARG(f), KARG(c), KARG(p), KARG(out->mem)});
}

static int cl_finish(vb_backend *base) {
  cl_backend *b = as_cl(base);
  const cl_int err = clFinish(b->queue);
  return err == CL_SUCCESS ? 0 : fail(b, err, "waiting for the device");
}

static void cl_destroy(vb_backend *base) {
  cl_backend *b = as_cl(base);
  if (!b)
    return;
  if (b->queue)
    clFinish(b->queue);
  if (b->profile)
    print_profile(b);
  cl_release(base, b->scratch);
  for (int i = 0; i < K_COUNT; i++)
    if (b->kernels[i])
      clReleaseKernel(b->kernels[i]);
  if (b->program)
    clReleaseProgram(b->program);
  if (b->queue)
    clReleaseCommandQueue(b->queue);
  if (b->ctx)
    clReleaseContext(b->ctx);
  free(b);
}

static const vb_ops cl_ops = {
    .alloc = cl_alloc,
    .release = cl_release,
    .write = cl_write,
    .read = cl_read,
    .fill = cl_fill,
    .gemm = cl_gemm,
    .im2col = cl_im2col,
    .col2im = cl_col2im,
    .bias_act = cl_bias_act,
    .act_backward = cl_act_backward,
    .bias_grad = cl_bias_grad,
    .bce_logits = cl_bce_logits,
    .accumulate = cl_accumulate,
    .sample = cl_sample,
    .sample_kl_backward = cl_sample_kl_backward,
    .adam = cl_adam,
    .gather_images = cl_gather_images,
    .finish = cl_finish,
    .destroy = cl_destroy,
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

static int build_kernels(cl_backend *b) {
  char *source = join_sources();
  if (!source)
    return vaecl_fail("out of host memory");
  /* No fast-math: the tests compare against a double-precision reference. */
  const int rc = vaecl_cl_build_program(b->ctx, b->dev, source, "-cl-std=CL1.2", &b->program);
  free(source);
  if (rc != 0)
    return -1;
  size_t max_local = 1;
  for (int i = 0; i < K_COUNT; i++) {
    cl_int err;
    b->kernels[i] = clCreateKernel(b->program, kernel_names[i], &err);
    if (err != CL_SUCCESS) {
      char what[96];
      snprintf(what, sizeof what, "creating kernel %s", kernel_names[i]);
      return fail(b, err, what);
    }
  }
  /* The reductions want a power-of-two group that both kernels accept. */
  size_t limit = 256;
  const int reducers[] = {K_BIAS_GRAD, K_ACCUMULATE};
  for (int i = 0; i < 2; i++) {
    size_t wg = 0;
    const cl_int err = clGetKernelWorkGroupInfo(b->kernels[reducers[i]], b->dev,
                                                CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    if (err != CL_SUCCESS)
      return fail(b, err, "querying the kernel work-group size");
    if (wg < limit)
      limit = wg;
  }
  while (max_local * 2 <= limit)
    max_local *= 2;
  b->reduce_local = max_local;
  return 0;
}

vb_backend *vb_opencl_create(int device_index) {
  cl_backend *b = calloc(1, sizeof *b);
  if (!b) {
    vaecl_fail("out of host memory");
    return NULL;
  }
  b->base.ops = &cl_ops;
  const char *profile = getenv("VAECL_PROFILE");
  b->profile = profile && *profile && strcmp(profile, "0") != 0;
  cl_platform_id platform;
  if (vaecl_cl_find_device(device_index, &platform, &b->dev) != 0) {
    free(b);
    return NULL;
  }
  vaecl_cl_device_string(b->dev, CL_DEVICE_NAME, b->base.device_name, sizeof b->base.device_name);
  cl_device_type type = 0;
  const char *layout = getenv("VAECL_WORK_LAYOUT");
  b->rows_layout = layout && *layout ? strcmp(layout, "rows") == 0
                                     : clGetDeviceInfo(b->dev, CL_DEVICE_TYPE, sizeof type, &type,
                                                       NULL) == CL_SUCCESS &&
                                           (type & CL_DEVICE_TYPE_CPU);
  cl_int err;
  const cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
  b->ctx = clCreateContext(props, 1, &b->dev, NULL, NULL, &err);
  if (err != CL_SUCCESS) {
    fail(b, err, "creating an OpenCL context");
    cl_destroy(&b->base);
    return NULL;
  }
  b->queue = clCreateCommandQueue(b->ctx, b->dev, 0, &err);
  if (err != CL_SUCCESS) {
    fail(b, err, "creating a command queue");
    cl_destroy(&b->base);
    return NULL;
  }
  vaecl_cl_tune_gemm(b->dev, b->base.gemm_note, sizeof b->base.gemm_note);
  if (build_kernels(b) != 0) {
    cl_destroy(&b->base);
    return NULL;
  }
  return &b->base;
}
