/* GEMM on the OpenCL backend, C = alpha op(A) op(B) + beta C with vaecl's row-major
 * matrices, and which implementation computes it:
 *  - CPU devices (b->own_gemm): vaecl's kernels. Products with at least 16 columns and
 *    a sum longer than 16 go to cl/gemm_block.cl when they have more than 16 rows too,
 *    or a sum 64 times longer than their columns (weight gradients of a 1-channel
 *    convolution, whose work-groups then share each part of the sum in cache); the
 *    rest, thin products, to cl/gemm_thin.cl. CLBlast pads and copies operands for
 *    these on CPUs and runs at half their speed on PoCL. The same block products with
 *    a patch matrix as one operand (gemm_patches) or followed by col2im (gemm_col2im)
 *    run in cl/gemm_patches.cl, which reads the patches from the image, or adds the
 *    taps up, where the product needs them: no column matrix in memory.
 *  - other devices: CLBlast, asked for the column-major product; a product with a
 *    long sum and a small output is split along k (b->split_k). The fused ops decline
 *    there, and the layers run im2col, gemm and col2im.
 * Every path but the split one sums each output over k in order from zero, one
 * multiply-add at a time, so they agree bit for bit (test_reference_pin). */
#include <clblast_c.h>
#include <stdio.h>

#include "backend/backends.h"
#include "backend/opencl/cl_backend.h"
#include "backend/opencl/cl_util.h"
#include "util/clock.h"
#include "util/error.h"

/* Products with a side or a sum of at most this length are thin, except those with at
 * least this many columns and a longer sum (see clb_gemm). */
#define THIN_GEMM_MAX 16

/* The sizes as the kernels' ints, with every index they form in range. */
static int int_sizes(size_t m, size_t n, size_t k, int *M, int *N, int *K) {
  return clb_to_int(m * k, M) || clb_to_int(k * n, N) || clb_to_int(m * n, K) || clb_to_int(m, M) ||
                 clb_to_int(n, N) || clb_to_int(k, K)
             ? -1
             : 0;
}

/* ---- vaecl's kernels (CPU devices) ------------------------------------------------ */

/* B (n x k, row-major) transposed into the GEMM temporary (k x n), for the kernels
 * that read B's rows as lanes; *out is that buffer. Profiled as "B of <shape>". */
static int transpose_b(cl_backend *b, cl_mem bm, size_t n, size_t k, const char *shape,
                       cl_mem *out) {
  int N, K;
  if (clb_to_int(n, &N) != 0 || clb_to_int(k, &K) != 0 ||
      clb_reserve(b, &b->gemm_temp, k * n * sizeof(float)) != 0)
    return -1;
  *out = b->gemm_temp->mem;
  const size_t global[2] = {k, n}, local[2] = {16, 4};
  const karg args[] = {KARG(bm), KARG(*out), KARG(N), KARG(K)};
  clb_profile_shape(b, 0, "B of %s", shape);
  return clb_launch_nd(b, K_TRANSPOSE, global, local, 4, args);
}

/* cl/gemm_thin.cl. A(i,kk) is a[i*k + kk] (ta: a[kk*m + i]), B(kk,j) is b[kk*n + j]
 * (tb: b[j*k + kk]). Lanes run along C's columns j unless C has fewer than 8 of them
 * and more rows. */
static int thin(cl_backend *b, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                cl_mem a, cl_mem bm, float beta, cl_mem c, const char *shape) {
  int M, N, K;
  if (int_sizes(m, n, k, &M, &N, &K) != 0)
    return -1;
  const bool along_columns = n >= 8 || n >= m;
  int lk, lp, P, tq, tk, Q, cq, cp;
  cl_mem lanes, tiles;
  if (along_columns && tb && k * n <= 65536) {
    /* a small transposed B (a convolution's weights) is transposed back first, so the
     * lanes are one vector load rather than 8 strided ones */
    if (transpose_b(b, bm, n, k, shape, &bm) != 0)
      return -1;
    tb = false;
  }
  clb_profile_shape(b, 2.0 * (double)m * (double)n * (double)k, "%s", shape);
  if (along_columns) { /* lanes B(kk, j), tiles A(i, kk) */
    lanes = bm, lk = tb ? 1 : N, lp = tb ? K : 1, P = N;
    tiles = a, tq = ta ? 1 : K, tk = ta ? M : 1, Q = M;
    cq = N, cp = 1;
  } else { /* lanes A(i, kk), tiles B(kk, j) */
    lanes = a, lk = ta ? M : 1, lp = ta ? 1 : K, P = M;
    tiles = bm, tq = tb ? K : 1, tk = tb ? 1 : N, Q = N;
    cq = 1, cp = N;
  }
  const int id = K_GEMM_THIN_UNIT_LANES + (lp != 1) + 2 * (cp != 1);
  /* Groups of one column of work-items, as tall as keeps 16 or more groups: PoCL
   * gives each group to one thread, and the thinnest products have few work-items. */
  const size_t global[2] = {((size_t)P + 7) / 8, ((size_t)Q + 7) / 8};
  size_t tall = 1;
  while (tall < 16 && global[0] * (global[1] / (2 * tall)) >= 16)
    tall *= 2;
  const size_t local[2] = {1, tall};
  const karg args[] = {KARG(lanes), KARG(lk), KARG(lp),    KARG(P),   KARG(tiles),
                       KARG(tq),    KARG(tk), KARG(Q),     KARG(c),   KARG(cq),
                       KARG(cp),    KARG(K),  KARG(alpha), KARG(beta)};
  return clb_launch_nd(b, id, global, local, 14, args);
}

/* Work-groups for cl/gemm_block.cl's global range (32 lanes x 8 rows per work-item)
 * of an m x n x k product. Each group reads both operands' rows of a chunk of k once
 * and shares them among its work-items.
 *  - A sum at least 4 times longer than the output's rows is tall (weight
 *    gradients): its groups span up to 8 work-items of lanes and as many rows as
 *    leaves one group per compute unit, so that each chunk of the lane operand is read
 *    once per compute unit (576x128x25088: 30 -> 21 ms on PoCL, 2 cores, against 9
 *    groups of 4x8). With fewer rows than lanes, the rows' chunk is the smaller one
 *    to read again: groups span every row and split the lanes (9x64x100352, Cout = 1:
 *    4.8 -> 3.3 ms). The compute units size these groups, not block_group (tune).
 *  - Otherwise, up to block_group work-items a side (default 8, chosen on PoCL 3.1,
 *    2 cores); of the sizes from half that up, the one that wastes the fewest
 *    work-items past the product's edges (they still compute), halved while that
 *    leaves fewer than 4 groups to share between the cores. */
static void block_local(const cl_backend *b, size_t m, size_t n, size_t k, const size_t global[2],
                        size_t local[2]) {
  const size_t cus = b->compute_units;
  if (k >= 4 * m && m < n) { /* fewer rows than lanes: all rows, the lanes split */
    local[1] = global[1];
    local[0] = (global[0] + cus - 1) / cus;
    return;
  }
  if (k >= 4 * m) {
    local[0] = global[0] < 8 ? global[0] : 8;
    const size_t across = (global[0] + local[0] - 1) / local[0];
    const size_t down = cus > across ? (cus + across - 1) / across : 1;
    local[1] = (global[1] + down - 1) / down;
    return;
  }
  const size_t side = (size_t)b->block_group;
  for (int d = 0; d < 2; d++) {
    local[d] = global[d] < side ? global[d] : side;
    for (size_t l = local[d]; l >= (side + 1) / 2 && l > 0; l--)
      if ((global[d] + l - 1) / l * l - global[d] <
          (global[d] + local[d] - 1) / local[d] * local[d] - global[d])
        local[d] = l;
  }
  for (int d = 0; d < 2; d++)
    while (local[d] > 1 &&
           ((global[0] + local[0] - 1) / local[0]) * ((global[1] + local[1] - 1) / local[1]) < 4)
      local[d] = (local[d] + 1) / 2;
}

/* cl/gemm_block.cl: lanes along C's columns, read from B's rows; a transposed B is
 * transposed back first, into the GEMM temporary (k*n floats, against m*n*k
 * multiply-adds). */
static int block(cl_backend *b, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                 cl_mem a, cl_mem bm, float beta, cl_mem c, const char *shape) {
  int M, N, K;
  if (int_sizes(m, n, k, &M, &N, &K) != 0)
    return -1;
  cl_mem lanes = bm;
  if (tb && transpose_b(b, bm, n, k, shape, &lanes) != 0)
    return -1;
  clb_profile_shape(b, 2.0 * (double)m * (double)n * (double)k, "%s", shape);
  const int lk = N, tq = ta ? 1 : K, tk = ta ? M : 1;
  const size_t global[2] = {((size_t)N + 31) / 32, ((size_t)M + 7) / 8};
  size_t local[2];
  block_local(b, m, n, k, global, local);
  const karg args[] = {KARG(lanes), KARG(lk),    KARG(N),    KARG(a),
                       KARG(tq),    KARG(tk),    KARG(M),    KARG(c),
                       KARG(K),     KARG(alpha), KARG(beta), KARG(b->block_chunk)};
  return clb_launch_nd(b, K_GEMM_BLOCK, global, local, 12, args);
}

/* Which of vaecl's kernels computes an m x n x k product (see the file's comment). */
static bool is_block_product(size_t m, size_t n, size_t k) {
  return n >= THIN_GEMM_MAX && k > THIN_GEMM_MAX && (m > THIN_GEMM_MAX || k > 64 * n);
}

/* At least `count` zeros in b->zeros, for cl/gemm_patches.cl's taps past an edge. */
static int reserve_zeros(cl_backend *b, size_t count) {
  if (b->zeros && b->zeros->bytes >= count * sizeof(float))
    return 0; /* filled whole when it was allocated */
  return clb_reserve(b, &b->zeros, count * sizeof(float)) != 0
             ? -1
             : clb_fill(&b->base, b->zeros, 0.0f, count);
}

/* cl/gemm_patches.cl, for the products that would otherwise go to the block kernel
 * after an im2col; with ta, only for channel counts that are a multiple of its 8 rows
 * per work-item. Returns 1 for the others. */
int clb_gemm_patches(vb_backend *base, bool ta, const vb_patch_geom *g, int batch,
                     const vb_buf *img, size_t n, float alpha, const vb_buf *bm, float beta,
                     vb_buf *c) {
  cl_backend *b = clb_as(base);
  const size_t rows = (size_t)batch * g->grid_h * g->grid_w;
  const size_t width = (size_t)g->k * g->k * g->c;
  const size_t m = ta ? width : rows, k = ta ? rows : width;
  if (!b->own_gemm || !is_block_product(m, n, k) || (ta && g->c % 8 != 0))
    return 1;
  const size_t img_n = (size_t)batch * g->img_h * g->img_w * g->c;
  int M, N, K, size;
  if (clb_check_range(img, 0, img_n * sizeof(float), "gemm_patches image") != 0 ||
      clb_check_range(bm, 0, k * n * sizeof(float), "gemm_patches B") != 0 ||
      clb_check_range(c, 0, m * n * sizeof(float), "gemm_patches C") != 0 ||
      int_sizes(m, n, k, &M, &N, &K) != 0 || clb_to_int(img_n, &size) != 0 ||
      reserve_zeros(b, g->c > 8 ? (size_t)g->c : 8) != 0)
    return -1;
  clb_profile_shape(b, 2.0 * (double)m * (double)n * (double)k, "%zux%zux%zu%s of image %dx%dx%d",
                    m, n, k, ta ? " P^T" : " P", g->img_h, g->img_w, g->c);
  const size_t global[2] = {(n + 31) / 32, (m + 7) / 8};
  size_t local[2];
  block_local(b, m, n, k, global, local);
  const int rows_or_k = ta ? K : M;
  const karg args[] = {KARG(bm->mem),       KARG(N),         KARG(img->mem),  KARG(g->img_h),
                       KARG(g->img_w),      KARG(g->c),      KARG(g->grid_h), KARG(g->grid_w),
                       KARG(g->k),          KARG(g->stride), KARG(g->pad),    KARG(rows_or_k),
                       KARG(b->zeros->mem), KARG(c->mem),    KARG(alpha),     KARG(beta),
                       KARG(b->block_chunk)};
  return clb_launch_nd(b, ta ? K_GEMM_PATCHES_TN : K_GEMM_PATCHES_NN, global, local, 17, args);
}

/* cl/gemm_patches.cl's gemm_col2im, for products that would otherwise go to the block
 * kernel with at least 16 image channels (its lanes); one launch per class of output
 * pixels modulo the stride. Returns 1 for the others. */
int clb_gemm_col2im(vb_backend *base, const vb_patch_geom *g, int batch, const vb_buf *x,
                    size_t cin, const vb_buf *w, const vb_buf *bias, vb_act act, float alpha,
                    vb_buf *img) {
  cl_backend *b = clb_as(base);
  const size_t grid_rows = (size_t)batch * g->grid_h * g->grid_w;
  const size_t width = (size_t)g->k * g->k * g->c;
  if (bias && ((int)act < VB_ACT_NONE || act > VB_ACT_TANH)) /* as col2im_bias_act */
    return vaecl_fail("internal error: gemm_col2im: unknown activation %d", (int)act);
  if (!b->own_gemm || g->c < THIN_GEMM_MAX || !is_block_product(grid_rows, width, cin))
    return 1;
  const size_t img_n = (size_t)batch * g->img_h * g->img_w * g->c;
  int W, CIN, rows, size;
  if (clb_check_range(x, 0, grid_rows * cin * sizeof(float), "gemm_col2im X") != 0 ||
      clb_check_range(w, 0, width * cin * sizeof(float), "gemm_col2im W") != 0 ||
      (bias && clb_check_range(bias, 0, (size_t)g->c * sizeof(float), "gemm_col2im bias") != 0) ||
      clb_check_range(img, 0, img_n * sizeof(float), "gemm_col2im image") != 0 ||
      int_sizes(grid_rows, width, cin, &rows, &W, &CIN) != 0 || clb_to_int(img_n, &size) != 0 ||
      reserve_zeros(b, cin > 8 ? cin : 8) != 0)
    return -1;
  char shape[96];
  snprintf(shape, sizeof shape, "%zux%zux%zu B^T to image %dx%dx%d%s", grid_rows, width, cin,
           g->img_h, g->img_w, g->c, bias ? " +bias,act" : "");
  cl_mem lanes;
  if (transpose_b(b, w->mem, width, cin, shape, &lanes) != 0)
    return -1;
  const int with_act = bias ? (int)act : -1;
  const cl_mem bias_mem = bias ? bias->mem : b->zeros->mem;
  for (int py = 0; py < g->stride; py++)
    for (int px = 0; px < g->stride; px++) {
      const int class_h = (g->img_h - py + g->stride - 1) / g->stride;
      const int class_w = (g->img_w - px + g->stride - 1) / g->stride;
      const size_t q =
          (size_t)batch * (size_t)(class_h > 0 ? class_h : 0) * (size_t)(class_w > 0 ? class_w : 0);
      int Q;
      if (q == 0)
        continue;
      if (clb_to_int(q, &Q) != 0)
        return -1;
      /* FLOPs: the class's share of the product */
      clb_profile_shape(b,
                        2.0 * (double)grid_rows * (double)width * (double)cin * (double)q /
                            ((double)batch * g->img_h * g->img_w),
                        "%s", shape);
      const size_t global[2] = {((size_t)g->c + 31) / 32, (q + 7) / 8};
      size_t local[2];
      block_local(b, q, (size_t)g->c, cin, global, local);
      const karg args[] = {KARG(lanes),
                           KARG(g->c),
                           KARG(x->mem),
                           KARG(CIN),
                           KARG(g->img_h),
                           KARG(g->img_w),
                           KARG(g->grid_h),
                           KARG(g->grid_w),
                           KARG(g->k),
                           KARG(g->stride),
                           KARG(g->pad),
                           KARG(py),
                           KARG(px),
                           KARG(class_h),
                           KARG(class_w),
                           KARG(Q),
                           KARG(b->zeros->mem),
                           KARG(bias_mem),
                           KARG(with_act),
                           KARG(alpha),
                           KARG(img->mem),
                           KARG(b->block_chunk)};
      if (clb_launch_nd(b, K_GEMM_COL2IM, global, local, 22, args) != 0)
        return -1;
    }
  return 0;
}

/* ---- CLBlast (other devices) ------------------------------------------------------ */

static int clblast_fail(cl_backend *b, CLBlastStatusCode s, size_t m, size_t n, size_t k) {
  char what[96];
  snprintf(what, sizeof what, "CLBlast SGEMM (%zux%zux%zu)", m, n, k);
  return vaecl_clblast_fail(s, b->base.device_name, what);
}

/* vaecl's matrices are row-major, and CLBlast is asked for the same product in
 * column-major, C^T = op(B)^T op(A)^T, because a row-major call makes CLBlast
 * transpose A, B and C through extra copies. Each element is still the same sum over
 * k in the same order. The operands start at a_off and b_off (elements), with rows
 * lda and ldb long (row-major); C at c_off. CLBlast's padded copies go to one temporary buffer that
 * lives as long as the backend. */
static int clblast(cl_backend *b, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                   cl_mem a, size_t a_off, size_t lda, cl_mem bm, size_t b_off, size_t ldb,
                   float beta, cl_mem c, size_t c_off) {
  const CLBlastTranspose op_a = ta ? CLBlastTransposeYes : CLBlastTransposeNo;
  const CLBlastTranspose op_b = tb ? CLBlastTransposeYes : CLBlastTransposeNo;
  size_t temp = 0;
  CLBlastStatusCode s =
      CLBlastSGemmTempBufferSize(CLBlastLayoutColMajor, op_b, op_a, n, m, k, b_off, ldb, a_off, lda,
                                 c_off, n, &b->queue, &temp);
  if (s == CLBlastSuccess && clb_reserve(b, &b->gemm_temp, temp) != 0)
    return -1;
  if (s == CLBlastSuccess)
    s = CLBlastSgemmWithTempBuffer(CLBlastLayoutColMajor, op_b, op_a, n, m, k, alpha, bm, b_off,
                                   ldb, a, a_off, lda, beta, c, c_off, n, &b->queue, NULL,
                                   b->gemm_temp->mem);
  b->launches++;
  return s == CLBlastSuccess ? 0 : clblast_fail(b, s, m, n, k);
}

/* Split along k: `parts` partial products of `chunk` terms computed side by side by
 * one strided batched CLBlast call (a GPU runs a long sum with a small output on a
 * few work-groups otherwise), the rest of the sum as one more part, then
 * gemm_sum_parts (cl/gemm_split.cl) adds the parts in order. Sums in another order
 * than one call: opt-in where bits are pinned (CPUs). */
static int clblast_split(cl_backend *b, bool ta, bool tb, size_t m, size_t n, size_t k,
                         size_t chunk, float alpha, cl_mem a, cl_mem bm, float beta, cl_mem c,
                         const char *shape) {
  const double start = b->profile ? vaecl_seconds() : 0;
  const size_t parts = k / chunk, rest = k - parts * chunk, mn = m * n;
  const size_t all = parts + (rest > 0);
  int count, n_parts;
  if (clb_to_int(mn, &count) != 0 || clb_to_int(all * mn, &n_parts) != 0 ||
      clb_reserve(b, &b->gemm_parts, all * mn * sizeof(float)) != 0)
    return -1;
  n_parts = (int)all;
  cl_mem out = b->gemm_parts->mem;
  /* chunk s: columns s*chunk.. of a row-major m x k A (ta: rows of a k x m one), rows
   * of a k x n B (tb: columns of an n x k one) */
  const size_t lda = ta ? m : k, ldb = tb ? k : n;
  const size_t a_step = ta ? chunk * m : chunk, b_step = tb ? chunk : chunk * n;
  const CLBlastStatusCode s = CLBlastSgemmStridedBatched(
      CLBlastLayoutColMajor, tb ? CLBlastTransposeYes : CLBlastTransposeNo,
      ta ? CLBlastTransposeYes : CLBlastTransposeNo, n, m, chunk, 1.0f, bm, 0, ldb, b_step, a, 0,
      lda, a_step, 0.0f, out, 0, n, mn, parts, &b->queue, NULL);
  b->launches++;
  if (s != CLBlastSuccess)
    return clblast_fail(b, s, m, n, k);
  if (rest > 0 && clblast(b, ta, tb, m, n, rest, 1.0f, a, parts * a_step, lda, bm, parts * b_step,
                          ldb, 0.0f, out, parts * mn) != 0)
    return -1;
  clb_profile_op(b, K_COUNT, start); /* the partial products, under the GEMM's shape */
  clb_profile_shape(b, 0, "parts of %s", shape);
  const karg args[] = {KARG(out), KARG(n_parts), KARG(count), KARG(alpha), KARG(beta), KARG(c)};
  return clb_launch(b, K_GEMM_SUM_PARTS, mn, 0, 6, args);
}

/* The chunk length of a split product, or 0 to keep it whole: sums at least 8 times
 * longer than both sides of the output and 2048 terms, in up to 32 parts of at least
 * 512 terms (parameters chosen without a GPU at hand; see issue 9). */
static size_t split_chunk(const cl_backend *b, size_t m, size_t n, size_t k) {
  if (!b->split_k || k < 2048 || k < 8 * m || k < 8 * n)
    return 0;
  const size_t parts = k / 512 < 32 ? k / 512 : 32;
  return k / parts;
}

int clb_gemm(vb_backend *base, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
             const vb_buf *a, const vb_buf *bm, float beta, vb_buf *c) {
  cl_backend *b = clb_as(base);
  if (clb_check_range(a, 0, m * k * sizeof(float), "gemm A") != 0 ||
      clb_check_range(bm, 0, k * n * sizeof(float), "gemm B") != 0 ||
      clb_check_range(c, 0, m * n * sizeof(float), "gemm C") != 0)
    return -1;
  char shape[64];
  snprintf(shape, sizeof shape, "%zux%zux%zu%s%s", m, n, k, ta ? " A^T" : "", tb ? " B^T" : "");
  const double flops = 2.0 * (double)m * (double)n * (double)k;
  if (b->own_gemm) { /* their kernel launches are profiled */
    if (is_block_product(m, n, k))
      return block(b, ta, tb, m, n, k, alpha, a->mem, bm->mem, beta, c->mem, shape);
    return thin(b, ta, tb, m, n, k, alpha, a->mem, bm->mem, beta, c->mem, shape);
  }
  clb_profile_shape(b, flops, "%s", shape);
  const size_t chunk = split_chunk(b, m, n, k);
  if (chunk) /* profiles its two parts itself */
    return clblast_split(b, ta, tb, m, n, k, chunk, alpha, a->mem, bm->mem, beta, c->mem, shape);
  const double start = b->profile ? vaecl_seconds() : 0;
  const int rc = clblast(b, ta, tb, m, n, k, alpha, a->mem, 0, ta ? m : k, bm->mem, 0, tb ? k : n,
                         beta, c->mem, 0);
  clb_profile_op(b, K_COUNT, start);
  return rc;
}

int vb_opencl_gemm_params(vb_backend *base, vaecl_gemm_params *used, int *tunable) {
  const cl_backend *b = clb_as(base);
  *used = (vaecl_gemm_params){b->block_chunk, b->block_group};
  *tunable = b->own_gemm;
  return 0;
}

int vb_opencl_save_gemm_params(vb_backend *base, const char *cache_dir, const vaecl_gemm_params *p,
                               char *path, size_t path_size) {
  const cl_backend *b = clb_as(base);
  if (!b->own_gemm)
    return vaecl_fail("%s runs its GEMMs in %s, not in vaecl's block kernel: nothing to store",
                      b->base.device_name, b->base.gemm_note);
  return vaecl_cl_save_gemm_params(b->dev, b->base.device_name, cache_dir, p->chunk, p->group, path,
                                   path_size);
}
