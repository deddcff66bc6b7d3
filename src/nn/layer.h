/* One layer of the graph, y = act(op(x; w) + b), on the backend interface:
 * op is a dense product, a convolution or a transposed convolution (TensorFlow's
 * padding arithmetic, NHWC, Keras weight layouts). */
#ifndef VAECL_LAYER_H
#define VAECL_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vaecl/backend.h>
#include <vaecl/model_spec.h>

typedef enum { LAYER_DENSE, LAYER_CONV, LAYER_CONVT } layer_kind;

/* A trainable tensor with its gradient and Adam moments, all on the device. */
typedef struct {
  char name[48];
  int rank;
  size_t shape[4]; /* Keras' layout */
  size_t count;
  vb_buf *value, *grad, *m, *v;
} param;

/* One layer: y = act(op(x; w) + b). Sizes are per image. */
typedef struct {
  char name[32]; /* parameter prefix: "enc.conv1", "latent", ... */
  layer_kind kind;
  vb_act act;
  float alpha; /* leaky_relu's slope */
  size_t in_size, out_size;
  size_t rows_per_image; /* rows of the GEMM output per image: 1, or the pixels of y */
  int in_c, out_c;
  int init_fan_out;   /* Glorot's fan-out: out_c, or one head's width for the heads */
  vb_patch_geom geom; /* conv: image = input; convT: image = output */
  param w, b;
  vb_buf *col;    /* patch matrix scratch (conv, convT) */
  bool col_has_x; /* conv: col holds im2col of the last forward pass's input */
  vb_buf *y;      /* output, [max_batch, out_size] */
  vb_buf *dy;     /* gradient w.r.t. y */
} layer;

/* Shapes (per image) from a model file's layer (dense, conv2d or conv2d_transpose,
 * with its inferred input and output shapes), or a plain dense layer. */
void layer_init_from_spec(layer *, const vaecl_layer_spec *);
void layer_init_dense(layer *, int in, int out, vb_act act, float alpha);

/* Device buffers for batches of up to max_batch, zero biases and Glorot-uniform
 * weights drawn from (seed, stream); parameters are named "<name>.w", "<name>.b". */
int layer_alloc(vb_backend *, layer *, const char *name, int max_batch, uint64_t seed,
                uint64_t stream);
void layer_release(vb_backend *, layer *);
/* Releases a parameter's value, gradient and Adam moments (NULL ones are skipped). */
void layer_release_param(vb_backend *, param *);

/* y = act(op(x) + b) for batch images. */
int layer_forward(vb_backend *, layer *, const vb_buf *x, int batch);
/* From dy (w.r.t. y; consumed) to the parameter gradients and, when dx is not NULL,
 * the input gradient. x is the forward pass's input. */
int layer_backward(vb_backend *, layer *, const vb_buf *x, vb_buf *dx, int batch);

/* a * b, or SIZE_MAX when that overflows (which layer_alloc_floats refuses). */
size_t layer_mul(size_t a, size_t b);
/* count floats on the device; NULL with a message when count is too large. */
vb_buf *layer_alloc_floats(vb_backend *, size_t count);
int layer_zero(vb_backend *, vb_buf *, size_t count);

#endif
