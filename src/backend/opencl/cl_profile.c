/* Per-op profiling of the OpenCL backend: with profiling on, every op waits for the
 * device and its wall time goes to a row keyed by (layer, op, shape); launches and
 * host synchronisations are counted always (two increments per op). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backends.h"
#include "backend/opencl/cl_backend.h"
#include "util/clock.h"
#include "util/error.h"

static const char *op_name(int op) {
  if (op >= K_GEMM_THIN_UNIT_LANES && op <= K_GEMM_THIN_STRIDED_LANES_ROWS)
    return "gemm (thin)"; /* one row whichever layout */
  if (op == K_GEMM_BLOCK)
    return "gemm (block)";
  if (op == K_IM2COL_ROWS)
    return vaecl_cl_kernel_names[K_IM2COL]; /* one row per op whichever kernel */
  return op < K_COUNT ? vaecl_cl_kernel_names[op] : "gemm (CLBlast)";
}

void clb_label(vb_backend *base, const char *layer, const char *pass) {
  cl_backend *b = clb_as(base);
  if (b->profile)
    snprintf(b->prof_label, sizeof b->prof_label, "%s%s%s", layer, *pass ? " " : "", pass);
}

void clb_profile_shape(cl_backend *b, double flops, const char *fmt, ...) {
  if (!b->profile)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->prof_shape, sizeof b->prof_shape, fmt, ap);
  va_end(ap);
  b->prof_flops = flops;
}

static clb_prof_row *find_row(cl_backend *b, const char *op) {
  for (size_t i = 0; i < b->prof_n; i++) {
    clb_prof_row *r = &b->prof[i];
    if (r->op == op && !strcmp(r->layer, b->prof_label) && !strcmp(r->shape, b->prof_shape))
      return r;
  }
  if (b->prof_n == b->prof_cap) {
    const size_t cap = b->prof_cap ? 2 * b->prof_cap : 64;
    clb_prof_row *grown = realloc(b->prof, cap * sizeof *grown);
    if (!grown)
      return NULL; /* the row is lost, not the run */
    b->prof = grown;
    b->prof_cap = cap;
  }
  clb_prof_row *r = &b->prof[b->prof_n++];
  memset(r, 0, sizeof *r);
  r->op = op;
  memcpy(r->layer, b->prof_label, sizeof r->layer);
  memcpy(r->shape, b->prof_shape, sizeof r->shape);
  return r;
}

void clb_profile_op(cl_backend *b, int op, double start) {
  if (!b->profile)
    return;
  if (clFinish(b->queue) == CL_SUCCESS) {
    const double t = vaecl_seconds() - start;
    clb_prof_row *r = find_row(b, op_name(op));
    if (r) {
      r->seconds += t;
      r->flops += b->prof_flops;
      r->calls++;
    }
  }
  b->prof_shape[0] = '\0';
  b->prof_flops = 0;
}

int vb_opencl_profile(vb_backend *base, vaecl_op_profile **rows, size_t *n) {
  const cl_backend *b = clb_as(base);
  *rows = NULL;
  *n = 0;
  if (b->prof_n == 0)
    return 0;
  vaecl_op_profile *out = calloc(b->prof_n, sizeof *out);
  if (!out)
    return vaecl_fail("out of host memory");
  for (size_t i = 0; i < b->prof_n; i++) {
    const clb_prof_row *r = &b->prof[i];
    out[i].op = r->op;
    memcpy(out[i].layer, r->layer, sizeof out[i].layer);
    memcpy(out[i].shape, r->shape, sizeof out[i].shape);
    out[i].calls = r->calls;
    out[i].seconds = r->seconds;
    out[i].flops = r->flops;
  }
  *rows = out;
  *n = b->prof_n;
  return 0;
}

int vb_opencl_profile_reset(vb_backend *base, int on) {
  cl_backend *b = clb_as(base);
  const cl_int err = clFinish(b->queue); /* earlier work must not count */
  if (err != CL_SUCCESS)
    return clb_fail(b, err, "waiting for the device");
  b->profile = on != 0;
  b->prof_n = 0;
  b->prof_label[0] = b->prof_shape[0] = '\0';
  b->prof_flops = 0;
  b->launches = b->syncs = 0;
  return 0;
}

int vb_opencl_counts(vb_backend *base, vaecl_backend_counts *out) {
  const cl_backend *b = clb_as(base);
  out->launches = b->launches;
  out->host_syncs = b->syncs;
  return 0;
}
