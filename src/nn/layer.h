/* One layer of the graph, y = act(op(x; w) + b), on the backend interface:
 * op is a dense product, a convolution or a transposed convolution (Keras 'same'
 * padding, NHWC, Keras weight layouts). */
#ifndef VAECL_LAYER_H
#define VAECL_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include <vaecl/backend.h>

typedef enum { LAYER_DENSE, LAYER_CONV, LAYER_CONVT } layer_kind;

/* A trainable tensor with its gradient and Adam moments, all on the device. */
typedef struct {
  char name[32];
  size_t count;
  vb_buf *value, *grad, *m, *v;
} param;

/* One layer: y = act(op(x; w) + b). Sizes are per image. */
typedef struct {
  layer_kind kind;
  vb_act act;
  size_t in_size, out_size;
  size_t rows_per_image; /* rows of the GEMM output per image: 1, or the pixels of y */
  int in_c, out_c;
  int init_fan_out;   /* Glorot's fan-out: out_c, or one head's width for the heads */
  vb_patch_geom geom; /* conv: image = input; convT: image = output */
  param w, b;
  vb_buf *col; /* patch matrix scratch (conv, convT) */
  vb_buf *y;   /* output, [max_batch, out_size] */
  vb_buf *dy;  /* gradient w.r.t. y */
} layer;

/* Shapes (per image). conv: an h x w x cin image to an (h/s) x (w/s) x cout grid;
 * convt: an h x w x cin grid to an (h*s) x (w*s) x cout image. */
void layer_init_dense(layer *, int in, int out, vb_act act);
void layer_init_conv(layer *, int h, int w, int cin, int cout, int k, int s);
void layer_init_convt(layer *, int h, int w, int cin, int cout, int k, int s, vb_act act);

/* Device buffers for batches of up to max_batch, zero biases and Glorot-uniform
 * weights drawn from (seed, stream); parameters are named "<name>.w", "<name>.b". */
int layer_alloc(vb_backend *, layer *, const char *name, int max_batch, uint64_t seed,
                uint64_t stream);
void layer_release(vb_backend *, layer *);

/* y = act(op(x) + b) for batch images. */
int layer_forward(vb_backend *, layer *, const vb_buf *x, int batch);
/* From dy (w.r.t. y; consumed) to the parameter gradients and, when dx is not NULL,
 * the input gradient. x is the forward pass's input. */
int layer_backward(vb_backend *, layer *, const vb_buf *x, vb_buf *dx, int batch);

vb_buf *layer_alloc_floats(vb_backend *, size_t count);
int layer_zero(vb_backend *, vb_buf *, size_t count);

#endif
