/* Private to the OpenCL backend (backend_opencl.c: setup, buffers, launching;
 * backend_opencl_ops.c: the ops). */
#ifndef VAECL_CL_BACKEND_H
#define VAECL_CL_BACKEND_H

#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include <stdbool.h>
#include <stddef.h>

#include <vaecl/backend.h>

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
  K_GAUSSIAN_NLL,
  K_ACCUMULATE,
  K_SAMPLE,
  K_SAMPLE_KL_BACKWARD,
  K_ADAM,
  K_GATHER_IMAGES,
  K_GEMM_THIN_UNIT_LANES, /* the four layouts of cl/gemm_thin.cl, in this order */
  K_GEMM_THIN_STRIDED_LANES,
  K_GEMM_THIN_UNIT_LANES_ROWS,
  K_GEMM_THIN_STRIDED_LANES_ROWS,
  K_GEMM_BLOCK,
  K_TRANSPOSE,
  K_GEMM_SUM_PARTS,
  K_IM2COL_ROWS,
  K_GEMM_PATCHES_NN, /* cl/gemm_patches.cl */
  K_GEMM_PATCHES_TN,
  K_GEMM_COL2IM,
  K_COUNT
};
extern const char *const vaecl_cl_kernel_names[K_COUNT];

/* One row of the profile: an op on one shape within one layer's pass. */
typedef struct {
  char layer[48];
  const char *op; /* static */
  char shape[64];
  long calls;
  double seconds, flops;
} clb_prof_row;

typedef struct {
  vb_backend base;
  cl_context ctx;
  cl_device_id dev;
  cl_command_queue queue;
  cl_program program;
  cl_kernel kernels[K_COUNT];
  size_t reduce_local; /* work-group size for the tree reductions, a power of two */
  /* Launch limits: CL_KERNEL_WORK_GROUP_SIZE per kernel, and the device's
   * CL_DEVICE_MAX_WORK_ITEM_SIZES (dimensions 0 and 1). */
  size_t kernel_wg[K_COUNT];
  size_t max_item[2];
  size_t compute_units; /* CL_DEVICE_MAX_COMPUTE_UNITS: threads, on CPU devices */
  /* im2col/col2im work layout: a work-item per row of channels (CPUs) or per
   * channel (GPUs); vaecl_backend_options.work_layout overrides, so the tests on a
   * CPU exercise both. */
  int rows_layout;
  vb_buf *scratch; /* partial sums of bias_grad_rows, grown on demand */
  /* GEMM (cl_gemm.c): CLBlast's padded and transposed matrices, or the block
   * kernel's transposed operand; and the partial products of split GEMMs */
  vb_buf *gemm_temp, *gemm_parts;
  vb_buf *zeros; /* all zeros: cl/gemm_patches.cl's taps past an image's edge read them */
  int own_gemm;  /* GEMMs in vaecl's kernels (cl/gemm_thin.cl, gemm_block.cl, gemm_patches.cl) */
  int block_chunk, block_group; /* cl/gemm_block.cl's k-chunk and largest group side */
  int split_k;                  /* CLBlast GEMMs with a long sum and a small output split along k */
  /* vaecl_backend_options.profile (or vb_opencl_profile_reset): wait after every op
   * and add its wall time to its row (cl_profile.c; slows the run). The ops name
   * their shape and FLOPs before launching, the graph the layer (clb_label). */
  int profile;
  clb_prof_row *prof;
  size_t prof_n, prof_cap;
  char prof_label[48], prof_shape[64];
  double prof_flops;
  long launches, syncs; /* kernel launches and CLBlast calls; host waits */
} cl_backend;

struct vb_buf {
  cl_mem mem;
  size_t bytes;
};

cl_backend *clb_as(vb_backend *b);
/* Profiling (cl_profile.c): the time since start (vaecl_seconds, after draining the
 * queue) added to op's row when profiling is on; op K_COUNT is GEMM. Ops call
 * clb_profile_shape first (a no-op unless profiling) to name the shape and FLOPs. */
void clb_profile_op(cl_backend *b, int op, double start);
void clb_profile_shape(cl_backend *b, double flops, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void clb_label(vb_backend *, const char *layer, const char *pass);
/* Records "<what> failed on <device>: ..." and returns -1. */
int clb_fail(cl_backend *b, cl_int err, const char *what);

typedef struct {
  size_t size;
  const void *value; /* NULL: local memory of `size` bytes */
} karg;
#define KARG(v) ((karg){sizeof(v), &(v)})

/* Sets the arguments and enqueues a 1-D (global[1] == 0) or 2-D range. local gives
 * the preferred work-group size (local[0] == 0: a default of 64 work-items); it is
 * clamped to the kernel's and device's limits, and each global size is rounded up to
 * a multiple of it (kernels check their bounds). See cl_launch.h. */
int clb_launch_nd(cl_backend *b, int id, const size_t global[2], const size_t local[2], int nargs,
                  const karg *args);
/* 1-D launch; local 0: the default size. */
int clb_launch(cl_backend *b, int id, size_t global, size_t local, int nargs, const karg *args);
/* Kernels index with int: fails (with advice) on larger tensors. */
int clb_to_int(size_t n, int *out);
int clb_check_range(const vb_buf *buf, size_t offset, size_t bytes, const char *what);

vb_buf *clb_alloc(vb_backend *, size_t bytes);
void clb_release(vb_backend *, vb_buf *);
/* Grows one of the backend's scratch buffers to at least `bytes`. Work already queued
 * keeps the old buffer alive (OpenCL releases it when those commands are done). */
int clb_reserve(cl_backend *b, vb_buf **buf, size_t bytes);

/* The ops of vb_ops, in backend_opencl_ops.c. */
int clb_fill(vb_backend *, vb_buf *dst, float value, size_t count);
int clb_gemm(vb_backend *, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
             const vb_buf *a, const vb_buf *b, float beta, vb_buf *c);
int clb_gemm_patches(vb_backend *, bool ta, const vb_patch_geom *, int batch, const vb_buf *img,
                     size_t n, float alpha, const vb_buf *b, float beta, vb_buf *c);
int clb_gemm_col2im(vb_backend *, const vb_patch_geom *, int batch, const vb_buf *x, size_t cin,
                    const vb_buf *w, const vb_buf *bias, vb_act, float alpha, vb_buf *img);
int clb_im2col(vb_backend *, const vb_patch_geom *, int batch, const vb_buf *img, vb_buf *col);
int clb_col2im(vb_backend *, const vb_patch_geom *, int batch, const vb_buf *col, vb_buf *img);
int clb_col2im_bias_act(vb_backend *, const vb_patch_geom *, int batch, const vb_buf *col,
                        const vb_buf *bias, vb_act, float alpha, vb_buf *img);
int clb_bias_act(vb_backend *, vb_buf *y, const vb_buf *bias, size_t rows, size_t cols, vb_act,
                 float alpha);
int clb_act_backward(vb_backend *, vb_buf *dy, const vb_buf *y, size_t count, vb_act, float alpha);
int clb_bias_grad(vb_backend *, vb_buf *db, const vb_buf *dy, size_t rows, size_t cols);
int clb_bce_logits(vb_backend *, const vb_buf *logits, const vb_buf *target, vb_buf *dlogits,
                   vb_buf *loss, size_t count, float grad_scale);
int clb_gaussian_nll(vb_backend *, const vb_buf *mean, const vb_buf *target, const vb_buf *log_var,
                     vb_buf *dmean, vb_buf *loss, vb_buf *dlog_var, size_t count, float grad_scale);
int clb_accumulate(vb_backend *, vb_buf *acc, int slot, const vb_buf *x, size_t count, float scale);
int clb_sample(vb_backend *, const vb_buf *stats, vb_buf *eps, vb_buf *z, int batch, int latent,
               int first, uint64_t seed, uint64_t step);
int clb_sample_kl_backward(vb_backend *, const vb_buf *stats, const vb_buf *eps, const vb_buf *dz,
                           vb_buf *dstats, vb_buf *kl, int batch, int latent, float kl_scale);
int clb_adam(vb_backend *, vb_buf *param, const vb_buf *grad, vb_buf *m, vb_buf *v, size_t count,
             const vb_adam_step *);
int clb_gather_images(vb_backend *, const vb_buf *pixels, const vb_buf *index, size_t first,
                      size_t count, size_t pixels_per_image, vb_buf *out);

#endif
