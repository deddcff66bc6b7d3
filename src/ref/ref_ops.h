/* Plain-C reference implementations of every op, in double precision.
 *
 * Written from the definitions (direct convolution loops, no im2col, no GEMM
 * tricks), so the OpenCL backend can be checked against something independent, and
 * the backward passes here are themselves checked against finite differences.
 * Layouts match the device: NHWC images, Keras weight layouts, row-major matrices. */
#ifndef VAECL_REF_OPS_H
#define VAECL_REF_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vaecl/backend.h>

/* Keras/TensorFlow 'same' padding: the padding before (top/left) for a stride-s,
 * size-k window sliding over `in` pixels to give `out` = ceil(in/s) outputs. */
int ref_same_pad(int in, int out, int k, int stride);

typedef struct {
  int batch;
  int in_h, in_w, in_c;
  int out_h, out_w, out_c;
  int k, stride, pad;
} ref_conv_shape;

/* Conv2D: y[n,oy,ox,co] = b[co] + sum x[n, oy*s+ky-pad, ox*s+kx-pad, ci] * w[ky,kx,ci,co]
 * (w is Keras [k,k,in_c,out_c]); no activation. */
void ref_conv2d_forward(const ref_conv_shape *, const double *x, const double *w, const double *b,
                        double *y);
/* Given dy, writes dw, db and (when dx is not NULL) dx; overwrites them. */
void ref_conv2d_backward(const ref_conv_shape *, const double *x, const double *w, const double *dy,
                         double *dx, double *dw, double *db);

/* Conv2DTranspose: y[n, iy*s+ky-pad, ix*s+kx-pad, co] += x[n,iy,ix,ci] * w[ky,kx,co,ci]
 * (w is Keras [k,k,out_c,in_c]) over all in-range outputs, plus b[co]. */
void ref_conv2d_transpose_forward(const ref_conv_shape *, const double *x, const double *w,
                                  const double *b, double *y);
void ref_conv2d_transpose_backward(const ref_conv_shape *, const double *x, const double *w,
                                   const double *dy, double *dx, double *dw, double *db);

/* Dense: y[n, o] = b[o] + sum_i x[n, i] * w[i, o]. */
void ref_dense_forward(int batch, int in, int out, const double *x, const double *w,
                       const double *b, double *y);
void ref_dense_backward(int batch, int in, int out, const double *x, const double *w,
                        const double *dy, double *dx, double *dw, double *db);

/* In place: y = max(y, 0); and dy *= (y > 0). */
void ref_relu_forward(size_t n, double *y);
void ref_relu_backward(size_t n, const double *y, double *dy);

/* Any vb_act, in place: y = act(y); alpha is leaky_relu's slope. */
void ref_act_forward(size_t n, vb_act act, double alpha, double *y);
/* dy *= act'(y), with y the activation's output (see vb_act). */
void ref_act_backward(size_t n, vb_act act, double alpha, const double *y, double *dy);

/* Row-major packed GEMM, C = alpha op(A) op(B) + beta C. */
void ref_gemm(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha, const double *a,
              const double *b, double beta, double *c);
void ref_im2col(const vb_patch_geom *, int batch, const double *img, double *col);
void ref_col2im(const vb_patch_geom *, int batch, const double *col, double *img);

/* Sum over n of softplus(z) - x*z (BCE of sigmoid(z) against x); dlogits (may be
 * NULL) gets (sigmoid(z) - x) * grad_scale. */
double ref_bce_logits(size_t n, const double *logits, const double *target, double *dlogits,
                      double grad_scale);

/* Gaussian NLL with one shared log-variance (vb_ops.gaussian_nll): returns the sum
 * over n of 0.5 ((x - mu)^2 exp(-lv) + lv + log(2 pi)). loss (per element), dmean
 * ((mu - x) exp(-lv) grad_scale) and dlog_var (0.5 (1 - (x - mu)^2 exp(-lv)),
 * unscaled) may each be NULL. */
double ref_gaussian_nll(size_t n, const double *mean, const double *target, double log_var,
                        double *dmean, double *loss, double *dlog_var, double grad_scale);

/* Reparameterisation with the same RNG stream as the device (src/philox.h); rows
 * start at row `first` of the whole batch. */
void ref_sample(int batch, int latent, int first, const double *stats, uint64_t seed, uint64_t step,
                double *eps, double *z);
/* dstats = d(z)/d(stats)^T dz + kl_scale * dKL/dstats; returns sum of KL terms. */
double ref_sample_kl_backward(int batch, int latent, const double *stats, const double *eps,
                              const double *dz, double *dstats, double kl_scale);
/* KL only (the loss value): sum over batch and latent of -0.5(1 + lv - m^2 - e^lv). */
double ref_kl(int batch, int latent, const double *stats);

/* One Keras Adam step on n parameters. */
void ref_adam(size_t n, double *param, const double *grad, double *m, double *v,
              const vb_adam_step *);

#endif
