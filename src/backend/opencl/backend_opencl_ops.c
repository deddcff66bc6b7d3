/* The ops of the OpenCL backend other than GEMM (cl_gemm.c): kernels from cl/.
 * Each enqueues work and returns; nothing here waits for the device. */
#include <stdio.h>

#include "backend/opencl/cl_backend.h"
#include "backend/opencl/cl_util.h"
#include "util/clock.h"
#include "util/error.h"

int clb_fill(vb_backend *base, vb_buf *dst, float value, size_t count) {
  int n;
  if (clb_check_range(dst, 0, count * sizeof(float), "fill") != 0 || clb_to_int(count, &n) != 0)
    return -1;
  return clb_launch(clb_as(base), K_FILL, count, 0, 3,
                    (karg[]){KARG(dst->mem), KARG(value), KARG(n)});
}

/* ---- convolution patches --------------------------------------------------------- */

/* im2col and col2im share their arguments; `rows` is the size of dimension 1 (patch
 * taps, or image pixels), dimension 0 the channels. col2im also adds the bias and
 * applies the activation when act >= 0 (vb_act); -1 leaves the sums (bias unread). */
static int patch_op(cl_backend *b, int id, const vb_patch_geom *g, cl_mem in, cl_mem out,
                    size_t rows, cl_mem bias, int act, float alpha) {
  int r;
  if (clb_to_int(rows * (size_t)g->c, &r) != 0 || clb_to_int(rows, &r) != 0)
    return -1;
  /* CPUs: one work-item per row copies all channels, alone in its group: PoCL
   * vectorises a group across its work-items, which turns the per-row copy loop into
   * gathers and scatters (measured 20x slower on PoCL 3.1); with only a few channels
   * there is no loop to speak of and 64 rows share a group. GPUs: one work-item per
   * channel, so neighbouring work-items touch neighbouring floats. */
  const int span = b->rows_layout ? g->c : 1;
  const size_t global[2] = {(size_t)(g->c + span - 1) / (size_t)span, rows};
  const size_t local[2] = {b->rows_layout ? 1 : 0, span >= 16 ? 1 : 64}; /* few channels: rows */
  const double adds = id == K_COL2IM ? (double)g->grid_h * g->grid_w * g->k * g->k * g->c *
                                           ((double)rows / ((double)g->img_h * g->img_w))
                                     : 0;
  clb_profile_shape(b, adds, "image %dx%dx%d grid %dx%d k%d s%d%s", g->img_h, g->img_w, g->c,
                    g->grid_h, g->grid_w, g->k, g->stride, act >= 0 ? " +bias,act" : "");
  const karg args[] = {KARG(in),        KARG(out),       KARG(g->img_h),  KARG(g->img_w),
                       KARG(g->c),      KARG(g->grid_h), KARG(g->grid_w), KARG(g->k),
                       KARG(g->stride), KARG(g->pad),    KARG(r),         KARG(span),
                       KARG(bias),      KARG(act),       KARG(alpha)};
  return clb_launch_nd(b, id, global, local, id == K_COL2IM ? 15 : 12, args);
}

int clb_im2col(vb_backend *base, const vb_patch_geom *g, int batch, const vb_buf *img,
               vb_buf *col) {
  const size_t patches = (size_t)batch * g->grid_h * g->grid_w * g->k * g->k;
  const size_t pixels = (size_t)batch * g->img_h * g->img_w;
  if (clb_check_range(col, 0, patches * g->c * sizeof(float), "im2col col") != 0 ||
      clb_check_range(img, 0, pixels * g->c * sizeof(float), "im2col img") != 0)
    return -1;
  cl_backend *b = clb_as(base);
  if (b->rows_layout && g->c < 16) { /* whole rows per work-item: see cl/im2col.cl */
    const size_t rows = (size_t)batch * g->grid_h * g->grid_w;
    int r;
    if (clb_to_int(patches * g->c, &r) != 0 || clb_to_int(rows, &r) != 0)
      return -1;
    clb_profile_shape(b, 0, "image %dx%dx%d grid %dx%d k%d s%d", g->img_h, g->img_w, g->c,
                      g->grid_h, g->grid_w, g->k, g->stride);
    const karg args[] = {KARG(img->mem),  KARG(col->mem),  KARG(g->img_h),  KARG(g->img_w),
                         KARG(g->c),      KARG(g->grid_h), KARG(g->grid_w), KARG(g->k),
                         KARG(g->stride), KARG(g->pad),    KARG(r)};
    return clb_launch(b, K_IM2COL_ROWS, rows, 0, 11, args);
  }
  return patch_op(b, K_IM2COL, g, img->mem, col->mem, patches, NULL, -1, 0.0f);
}

static int col2im_op(vb_backend *base, const vb_patch_geom *g, int batch, const vb_buf *col,
                     const vb_buf *bias, int act, float alpha, vb_buf *img) {
  const size_t pixels = (size_t)batch * g->img_h * g->img_w;
  const size_t patches = (size_t)batch * g->grid_h * g->grid_w * g->k * g->k;
  if (clb_check_range(img, 0, pixels * g->c * sizeof(float), "col2im img") != 0 ||
      clb_check_range(col, 0, patches * g->c * sizeof(float), "col2im col") != 0 ||
      (bias && clb_check_range(bias, 0, (size_t)g->c * sizeof(float), "col2im bias") != 0))
    return -1;
  return patch_op(clb_as(base), K_COL2IM, g, col->mem, img->mem, pixels,
                  bias ? bias->mem : col->mem, act, alpha);
}

int clb_col2im(vb_backend *base, const vb_patch_geom *g, int batch, const vb_buf *col,
               vb_buf *img) {
  return col2im_op(base, g, batch, col, NULL, -1, 0.0f, img);
}

int clb_col2im_bias_act(vb_backend *base, const vb_patch_geom *g, int batch, const vb_buf *col,
                        const vb_buf *bias, vb_act act, float alpha, vb_buf *img) {
  if ((int)act < VB_ACT_NONE || act > VB_ACT_TANH)
    return vaecl_fail("internal error: col2im_bias_act: unknown activation %d", (int)act);
  return col2im_op(base, g, batch, col, bias, (int)act, alpha, img);
}

/* ---- elementwise and reductions ------------------------------------------------- */

int clb_bias_act(vb_backend *base, vb_buf *y, const vb_buf *bias, size_t rows, size_t cols,
                 vb_act act, float alpha) {
  int r, c, total, a = (int)act;
  if (clb_to_int(rows * cols, &total) != 0 || clb_to_int(rows, &r) != 0 ||
      clb_to_int(cols, &c) != 0 ||
      clb_check_range(y, 0, rows * cols * sizeof(float), "bias_act y") != 0 ||
      clb_check_range(bias, 0, cols * sizeof(float), "bias_act bias") != 0)
    return -1;
  clb_profile_shape(clb_as(base), 0, "%zux%zu", rows, cols);
  const size_t global[2] = {cols, rows}, local[2] = {0, 0};
  return clb_launch_nd(
      clb_as(base), K_BIAS_ACT, global, local, 6,
      (karg[]){KARG(y->mem), KARG(bias->mem), KARG(r), KARG(c), KARG(a), KARG(alpha)});
}

int clb_act_backward(vb_backend *base, vb_buf *dy, const vb_buf *y, size_t count, vb_act act,
                     float alpha) {
  int n, a = (int)act;
  if (act == VB_ACT_NONE)
    return 0;
  if (clb_to_int(count, &n) != 0 ||
      clb_check_range(dy, 0, count * sizeof(float), "act_backward dy") != 0 ||
      clb_check_range(y, 0, count * sizeof(float), "act_backward y") != 0)
    return -1;
  return clb_launch(clb_as(base), K_ACT_BACKWARD, count, 0, 5,
                    (karg[]){KARG(dy->mem), KARG(y->mem), KARG(n), KARG(a), KARG(alpha)});
}

/* Rows per work-item of bias_grad_rows: enough work-items for the cores, few enough
 * partial rows that the second pass is short. */
enum { BIAS_GRAD_CHUNKS = 64 };

/* Work-group per column (GPUs): with fewer than 64 columns, the rows are cut into
 * chunks of at least 4 passes of a group, for up to 64 groups, and summed again. */
static int bias_grad_groups(cl_backend *b, vb_buf *db, const vb_buf *dy, int rows, int cols) {
  const size_t local = b->reduce_local;
  int chunks = cols >= 64 ? 1 : (64 + cols - 1) / cols;
  const int most = (int)(((size_t)rows + 4 * local - 1) / (4 * local));
  if (chunks > most)
    chunks = most;
  const int chunk = (rows + chunks - 1) / chunks;
  chunks = (rows + chunk - 1) / chunk;
  if (chunks > 1 && clb_reserve(b, &b->scratch, (size_t)chunks * cols * sizeof(float)) != 0)
    return -1;
  cl_mem out = chunks > 1 ? b->scratch->mem : db->mem;
  const size_t global[2] = {(size_t)cols * local, (size_t)chunks}, group[2] = {local, 1};
  if (clb_launch_nd(b, K_BIAS_GRAD, global, group, 6,
                    (karg[]){KARG(out),
                             KARG(dy->mem),
                             KARG(rows),
                             KARG(cols),
                             KARG(chunk),
                             {local * sizeof(float), NULL}}) != 0)
    return -1;
  const size_t g2[2] = {(size_t)cols, 0}, one[2] = {1, 1};
  return chunks == 1 ? 0
                     : clb_launch_nd(b, K_BIAS_GRAD_PARTIALS, g2, one, 4,
                                     (karg[]){KARG(db->mem), KARG(out), KARG(chunks), KARG(cols)});
}

static int bias_grad_two_pass(cl_backend *b, vb_buf *db, const vb_buf *dy, int rows, int cols) {
  const int chunk = (rows + BIAS_GRAD_CHUNKS - 1) / BIAS_GRAD_CHUNKS;
  const int chunks = (rows + chunk - 1) / chunk;
  if (clb_reserve(b, &b->scratch, (size_t)chunks * cols * sizeof(float)) != 0)
    return -1;
  const size_t one[2] = {1, 1};
  const size_t g1[2] = {(size_t)chunks, 0}, g2[2] = {(size_t)cols, 0};
  if (clb_launch_nd(
          b, K_BIAS_GRAD_ROWS, g1, one, 5,
          (karg[]){KARG(b->scratch->mem), KARG(dy->mem), KARG(rows), KARG(cols), KARG(chunk)}) != 0)
    return -1;
  return clb_launch_nd(b, K_BIAS_GRAD_PARTIALS, g2, one, 4,
                       (karg[]){KARG(db->mem), KARG(b->scratch->mem), KARG(chunks), KARG(cols)});
}

int clb_bias_grad(vb_backend *base, vb_buf *db, const vb_buf *dy, size_t rows, size_t cols) {
  cl_backend *b = clb_as(base);
  int r, c, total;
  if (clb_to_int(rows * cols, &total) != 0 || clb_to_int(rows, &r) != 0 ||
      clb_to_int(cols, &c) != 0 || clb_check_range(db, 0, cols * sizeof(float), "bias_grad db") ||
      clb_check_range(dy, 0, rows * cols * sizeof(float), "bias_grad dy"))
    return -1;
  if (rows == 0 || cols == 0) /* nothing to sum (and no zero-sized chunks below) */
    return rows == 0 && cols > 0 ? clb_fill(base, db, 0.0f, cols) : 0;
  clb_profile_shape(b, 0, "%zux%zu", rows, cols);
  return b->rows_layout ? bias_grad_two_pass(b, db, dy, r, c) : bias_grad_groups(b, db, dy, r, c);
}

int clb_bce_logits(vb_backend *base, const vb_buf *logits, const vb_buf *target, vb_buf *dlogits,
                   vb_buf *loss, size_t count, float grad_scale) {
  const size_t bytes = count * sizeof(float);
  int n;
  if (clb_to_int(count, &n) != 0 || clb_check_range(logits, 0, bytes, "bce_logits logits") != 0 ||
      clb_check_range(target, 0, bytes, "bce_logits target") != 0 ||
      clb_check_range(dlogits, 0, bytes, "bce_logits dlogits") != 0 ||
      clb_check_range(loss, 0, bytes, "bce_logits loss") != 0)
    return -1;
  return clb_launch(clb_as(base), K_BCE_LOGITS, count, 0, 6,
                    (karg[]){KARG(logits->mem), KARG(target->mem), KARG(dlogits->mem),
                             KARG(loss->mem), KARG(n), KARG(grad_scale)});
}

int clb_gaussian_nll(vb_backend *base, const vb_buf *mean, const vb_buf *target,
                     const vb_buf *log_var, vb_buf *dmean, vb_buf *loss, vb_buf *dlog_var,
                     size_t count, float grad_scale) {
  const size_t bytes = count * sizeof(float);
  int n;
  if (clb_to_int(count, &n) != 0 || clb_check_range(mean, 0, bytes, "gaussian_nll mean") != 0 ||
      clb_check_range(target, 0, bytes, "gaussian_nll target") != 0 ||
      clb_check_range(log_var, 0, sizeof(float), "gaussian_nll log_var") != 0 ||
      clb_check_range(dmean, 0, bytes, "gaussian_nll dmean") != 0 ||
      clb_check_range(loss, 0, bytes, "gaussian_nll loss") != 0 ||
      (dlog_var && clb_check_range(dlog_var, 0, bytes, "gaussian_nll dlog_var") != 0))
    return -1;
  /* Without dlog_var the kernel still needs a buffer argument; it never writes it. */
  const int has_dlog_var = dlog_var != NULL;
  const cl_mem dlv = dlog_var ? dlog_var->mem : loss->mem;
  return clb_launch(clb_as(base), K_GAUSSIAN_NLL, count, 0, 9,
                    (karg[]){KARG(mean->mem), KARG(target->mem), KARG(log_var->mem),
                             KARG(dmean->mem), KARG(loss->mem), KARG(dlv), KARG(has_dlog_var),
                             KARG(n), KARG(grad_scale)});
}

int clb_accumulate(vb_backend *base, vb_buf *acc, int slot, const vb_buf *x, size_t count,
                   float scale) {
  cl_backend *b = clb_as(base);
  int n;
  if (slot < 0)
    return vaecl_fail("internal error: accumulate into slot %d", slot);
  if (clb_to_int(count, &n) != 0 ||
      clb_check_range(acc, (size_t)slot * sizeof(float), sizeof(float), "accumulate acc") != 0 ||
      clb_check_range(x, 0, count * sizeof(float), "accumulate x") != 0)
    return -1;
  const size_t local = b->reduce_local;
  return clb_launch(b, K_ACCUMULATE, local, local, 6,
                    (karg[]){KARG(acc->mem),
                             KARG(slot),
                             KARG(x->mem),
                             KARG(n),
                             KARG(scale),
                             {local * sizeof(float), NULL}});
}

int clb_sample(vb_backend *base, const vb_buf *stats, vb_buf *eps, vb_buf *z, int batch, int latent,
               int first, uint64_t seed, uint64_t step) {
  int n, end;
  /* the Philox counter is the element's 32-bit index in the whole batch */
  if (batch < 0 || latent < 0 || first < 0 ||
      clb_to_int((size_t)batch * (size_t)latent * 2, &n) != 0 ||
      clb_to_int(((size_t)first + (size_t)batch) * (size_t)latent, &end) != 0 ||
      clb_check_range(stats, 0, (size_t)n * sizeof(float), "sample stats") != 0 ||
      clb_check_range(eps, 0, (size_t)n / 2 * sizeof(float), "sample eps") != 0 ||
      clb_check_range(z, 0, (size_t)n / 2 * sizeof(float), "sample z") != 0)
    return -1;
  const cl_uint seed_lo = (cl_uint)seed, seed_hi = (cl_uint)(seed >> 32);
  const cl_uint step_lo = (cl_uint)step, step_hi = (cl_uint)(step >> 32);
  const cl_int first_index = first * latent;
  return clb_launch(clb_as(base), K_SAMPLE, (size_t)batch * latent, 0, 10,
                    (karg[]){KARG(stats->mem), KARG(eps->mem), KARG(z->mem), KARG(batch),
                             KARG(latent), KARG(first_index), KARG(seed_lo), KARG(seed_hi),
                             KARG(step_lo), KARG(step_hi)});
}

int clb_sample_kl_backward(vb_backend *base, const vb_buf *stats, const vb_buf *eps,
                           const vb_buf *dz, vb_buf *dstats, vb_buf *kl, int batch, int latent,
                           float kl_scale) {
  int n;
  if (batch < 0 || latent < 0 || clb_to_int((size_t)batch * (size_t)latent * 2, &n) != 0)
    return -1;
  const size_t half = (size_t)n / 2 * sizeof(float), full = (size_t)n * sizeof(float);
  if (clb_check_range(stats, 0, full, "sample_kl_backward stats") != 0 ||
      clb_check_range(eps, 0, half, "sample_kl_backward eps") != 0 ||
      clb_check_range(dz, 0, half, "sample_kl_backward dz") != 0 ||
      clb_check_range(dstats, 0, full, "sample_kl_backward dstats") != 0 ||
      clb_check_range(kl, 0, half, "sample_kl_backward kl") != 0)
    return -1;
  return clb_launch(clb_as(base), K_SAMPLE_KL_BACKWARD, (size_t)batch * latent, 0, 8,
                    (karg[]){KARG(stats->mem), KARG(eps->mem), KARG(dz->mem), KARG(dstats->mem),
                             KARG(kl->mem), KARG(batch), KARG(latent), KARG(kl_scale)});
}

int clb_adam(vb_backend *base, vb_buf *param, const vb_buf *grad, vb_buf *m, vb_buf *v,
             size_t count, const vb_adam_step *s) {
  const size_t bytes = count * sizeof(float);
  int n;
  if (clb_to_int(count, &n) != 0 || clb_check_range(param, 0, bytes, "adam param") != 0 ||
      clb_check_range(grad, 0, bytes, "adam grad") != 0 ||
      clb_check_range(m, 0, bytes, "adam m") != 0 || clb_check_range(v, 0, bytes, "adam v") != 0)
    return -1;
  return clb_launch(clb_as(base), K_ADAM, count, 0, 9,
                    (karg[]){KARG(param->mem), KARG(grad->mem), KARG(m->mem), KARG(v->mem), KARG(n),
                             KARG(s->alpha), KARG(s->beta1), KARG(s->beta2), KARG(s->epsilon)});
}

int clb_gather_images(vb_backend *base, const vb_buf *pixels, const vb_buf *index, size_t first,
                      size_t count, size_t pixels_per_image, vb_buf *out) {
  int f, c, p, total;
  if (clb_to_int(first, &f) != 0 || clb_to_int(count, &c) != 0 ||
      clb_to_int(pixels_per_image, &p) != 0 || clb_to_int(count * pixels_per_image, &total) != 0 ||
      clb_check_range(index, first * sizeof(uint32_t), count * sizeof(uint32_t),
                      "gather_images index") != 0 ||
      clb_check_range(out, 0, count * pixels_per_image * sizeof(float), "gather_images out") != 0)
    return -1;
  return clb_launch(
      clb_as(base), K_GATHER_IMAGES, count * pixels_per_image, 0, 6,
      (karg[]){KARG(pixels->mem), KARG(index->mem), KARG(f), KARG(c), KARG(p), KARG(out->mem)});
}
