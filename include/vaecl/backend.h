/* The compute backend interface: everything the layer graph needs from a device.
 *
 * The graph (src/nn) only sees this header, never OpenCL. A backend owns its
 * buffers (vb_buf) and runs each op asynchronously in submission order; results
 * become visible to the host through read(), which waits. All matrices are
 * row-major and packed; image tensors are NHWC, as in Keras.
 *
 * Units: the memory functions (alloc, write, read) count bytes, because buffers
 * hold bytes (images), uint32 (indices) and floats; every compute op counts
 * elements of its operands (floats unless it says otherwise).
 *
 * A backend is a vb_ops table (its interface) plus a vb_backend (its context):
 * src/backend/<name>/ implements one, and src/backend/registry.c creates them by
 * name. Adding an op means one entry here, one in each backend and one test case
 * in tests/test_backend_ops.c. */
#ifndef VAECL_BACKEND_H
#define VAECL_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vb_buf vb_buf;         /* device buffer, opaque */
typedef struct vb_backend vb_backend; /* one device + queue */
typedef struct vb_mark vb_mark;       /* a point in the device's queue, opaque */

/* The version of this interface; a backend built for another one is refused. */
#define VB_OPS_VERSION 4

/* Activations. The backward pass is computed from the activation's output y:
 * relu: y > 0; leaky_relu: y > 0 ? 1 : alpha; sigmoid: y(1-y); tanh: 1-y^2. */
typedef enum {
  VB_ACT_NONE = 0,
  VB_ACT_RELU = 1,
  VB_ACT_LEAKY_RELU = 2,
  VB_ACT_SIGMOID = 3,
  VB_ACT_TANH = 4
} vb_act;

/* Geometry shared by im2col and col2im. The "image" is the spatial grid with
 * `c` channels (the conv input, or the conv-transpose output); the "grid" is the
 * patch grid (the conv output, or the conv-transpose input). Patch (gy,gx), tap
 * (ky,kx) reads image pixel (gy*stride + ky - pad, gx*stride + kx - pad); pixels
 * outside the image are zero. A column row is laid out (ky, kx, c). */
typedef struct {
  int img_h, img_w, c;
  int grid_h, grid_w;
  int k, stride, pad;
} vb_patch_geom;

/* Adam step constants; alpha already folds in the bias corrections for step t. */
typedef struct {
  float alpha, beta1, beta2, epsilon;
} vb_adam_step;

typedef struct vb_ops {
  const char *name; /* "opencl", "cpu" */
  int version;      /* VB_OPS_VERSION */

  /* ---- memory (bytes) ---- */
  vb_buf *(*alloc)(vb_backend *, size_t bytes);
  void (*release)(vb_backend *, vb_buf *);
  int (*write)(vb_backend *, vb_buf *dst, size_t offset, const void *src, size_t bytes);
  int (*read)(vb_backend *, const vb_buf *src, size_t offset, void *dst, size_t bytes);
  /* ---- generic primitives (element counts) ---- */
  int (*fill)(vb_backend *, vb_buf *dst, float value, size_t count);

  /* C[m,n] = alpha * op(A) * op(B) + beta * C; op(X) is X or X^T (ta/tb). Packed:
   * A is m x k (or k x m when ta), B is k x n (or n x k when tb). */
  int (*gemm)(vb_backend *, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
              const vb_buf *a, const vb_buf *b, float beta, vb_buf *c);

  /* col[batch*grid_h*grid_w, k*k*c] <- patches of img[batch, img_h, img_w, c]. */
  int (*im2col)(vb_backend *, const vb_patch_geom *, int batch, const vb_buf *img, vb_buf *col);
  /* img[batch, img_h, img_w, c] <- sum of every column entry that reads that pixel
   * (the adjoint of im2col); overwrites img. */
  int (*col2im)(vb_backend *, const vb_patch_geom *, int batch, const vb_buf *col, vb_buf *img);
  /* img = act(col2im(col) + bias[c]): a conv-transpose's output in one pass, the
   * same as col2im followed by bias_act on img. */
  int (*col2im_bias_act)(vb_backend *, const vb_patch_geom *, int batch, const vb_buf *col,
                         const vb_buf *bias, vb_act act, float alpha, vb_buf *img);

  /* y[rows, cols] = act(y + bias[cols]) in place; alpha is leaky_relu's slope. */
  int (*bias_act)(vb_backend *, vb_buf *y, const vb_buf *bias, size_t rows, size_t cols, vb_act act,
                  float alpha);
  /* dy *= act'(y), where y is the activation's output. */
  int (*act_backward)(vb_backend *, vb_buf *dy, const vb_buf *y, size_t count, vb_act act,
                      float alpha);
  /* db[cols] = sum over rows of dy[rows, cols]. */
  int (*bias_grad)(vb_backend *, vb_buf *db, const vb_buf *dy, size_t rows, size_t cols);

  /* acc[slot] += scale * sum(x[0..count)): a deterministic on-device reduction. */
  int (*accumulate)(vb_backend *, vb_buf *acc, int slot, const vb_buf *x, size_t count,
                    float scale);

  /* ---- losses (per element; the caller reduces with accumulate) ---- */
  /* Sigmoid + binary cross-entropy on logits, per element:
   * loss[i] = softplus(z) - x*z, dlogits[i] = (sigmoid(z) - x) * grad_scale. */
  int (*bce_logits)(vb_backend *, const vb_buf *logits, const vb_buf *target, vb_buf *dlogits,
                    vb_buf *loss, size_t count, float grad_scale);
  /* Gaussian negative log-likelihood with one log-variance lv = log_var[0] shared by
   * every element: loss[i] = 0.5 * ((x - mu)^2 * exp(-lv) + lv + log(2 pi)),
   * dmean[i] = (mu - x) * exp(-lv) * grad_scale, and, when dlog_var is not NULL,
   * dlog_var[i] = 0.5 * (1 - (x - mu)^2 * exp(-lv)) (unscaled: the caller sums it). */
  int (*gaussian_nll)(vb_backend *, const vb_buf *mean, const vb_buf *target, const vb_buf *log_var,
                      vb_buf *dmean, vb_buf *loss, vb_buf *dlog_var, size_t count,
                      float grad_scale);

  /* ---- the VAE's own ops ---- */
  /* Reparameterisation. stats[batch, 2*latent] holds mean | log_var per row.
   * eps[b,j] = N(0,1) from the counter-based RNG at (seed, step, (first+b)*latent+j);
   * z = mean + exp(0.5*log_var) * eps. `first` is the rows' position in the whole
   * batch, so that a shard of it (data-parallel training) draws the same noise. */
  int (*sample)(vb_backend *, const vb_buf *stats, vb_buf *eps, vb_buf *z, int batch, int latent,
                int first, uint64_t seed, uint64_t step);
  /* dstats from dz through the sampling, plus the KL term's gradient times kl_scale;
   * kl[b*latent+j] = -0.5*(1 + lv - mean^2 - exp(lv)) (unscaled, for the loss). */
  int (*sample_kl_backward)(vb_backend *, const vb_buf *stats, const vb_buf *eps, const vb_buf *dz,
                            vb_buf *dstats, vb_buf *kl, int batch, int latent, float kl_scale);

  /* ---- optimizer and data ---- */
  /* param -= alpha * m / (sqrt(v) + eps) after the moment updates (Keras Adam). */
  int (*adam)(vb_backend *, vb_buf *param, const vb_buf *grad, vb_buf *m, vb_buf *v, size_t count,
              const vb_adam_step *);

  /* out[i, :] = pixels[index[first + i], :] / 255 for i < count; pixels are bytes,
   * index is uint32. Lets a whole data set live on the device. */
  int (*gather_images)(vb_backend *, const vb_buf *pixels, const vb_buf *index, size_t first,
                       size_t count, size_t pixels_per_image, vb_buf *out);

  /* ---- synchronisation ---- */
  /* Waits for all submitted work. */
  int (*finish)(vb_backend *);
  /* A marker after all work submitted so far, and a wait for one (which also
   * releases it). Lets a caller bound how far it runs ahead of the device without
   * draining the queue: queued work holds memory (CLBlast's temporary matrices
   * among it), and unbounded, a training epoch would hold gigabytes. */
  int (*mark)(vb_backend *, vb_mark **out);
  int (*wait_mark)(vb_backend *, vb_mark *);
  void (*destroy)(vb_backend *);

  /* Optional (NULL: none): C = alpha op(P) B + beta C for the patch matrix
   * P = im2col(img) (rows = batch*grid_h*grid_w, k*k*c columns) without storing P:
   * C[rows, n] = P B[k*k*c, n], or with ta C[k*k*c, n] = P^T B[rows, n]. Gives the
   * bits of im2col followed by gemm. Returns 1, doing nothing, where the backend has
   * no faster way for these operands than those two ops: the caller runs them. */
  int (*gemm_patches)(vb_backend *, bool ta, const vb_patch_geom *, int batch, const vb_buf *img,
                      size_t n, float alpha, const vb_buf *b, float beta, vb_buf *c);

  /* Optional (NULL: none): img = act(col2im(x w^T) + bias) for x[batch*grid_h*grid_w,
   * cin] and w[k*k*c, cin] without storing the column matrix: a conv-transpose's
   * forward pass, or with bias NULL (no bias, no activation) a conv's input gradient.
   * Gives the bits of gemm (tb) followed by col2im_bias_act (or col2im). Returns 1,
   * doing nothing, where the backend has no faster way than those ops. */
  int (*gemm_col2im)(vb_backend *, const vb_patch_geom *, int batch, const vb_buf *x, size_t cin,
                     const vb_buf *w, const vb_buf *bias, vb_act act, float alpha, vb_buf *img);

  /* Optional (NULL: none): names the layer and pass whose ops follow, for the
   * backend's profile; the backend copies the strings when it needs them. */
  void (*label)(vb_backend *, const char *layer, const char *pass);
} vb_ops;

struct vb_backend {
  const vb_ops *ops;
  char device_name[256]; /* for messages */
  char gemm_note[128];   /* which GEMM parameters are in effect, for reports */
  /* The device's memory and its largest single buffer, checked before allocating
   * (lazy drivers fail only at first use); 0: no limit known. */
  uint64_t global_mem_bytes, max_alloc_bytes;
};

#ifdef __cplusplus
}
#endif
#endif
