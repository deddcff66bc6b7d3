/* A VAE described by a model file: the parsed, shape-checked description that the
 * graph is built from. No device is involved here.
 *
 * The format (README.md, "Writing a model file"), one statement per line, '#'
 * starts a comment:
 *   vaecl-model 1                      optional format version
 *   input H W C                        image height, width, channels
 *   encoder                            the encoder's layers follow
 *   conv2d filters=F kernel=K [stride=S] [padding=same|valid] [activation=A]
 *   conv2d_transpose filters=F kernel=K [stride=S] [padding=same|valid] [activation=A]
 *   dense units=N [activation=A]
 *   flatten
 *   reshape H W C
 *   latent N                           the latent size; ends the encoder
 *   decoder                            the decoder's layers follow
 *   output bernoulli | gaussian [sigma=X | variance=learned]
 *   kl_weight B                        beta of a beta-VAE (default 1)
 * Activations: none (default), relu, leaky_relu [alpha=X, default 0.2], sigmoid, tanh.
 * Defaults follow Keras: stride 1, padding valid. The encoder's output feeds two
 * Dense(latent) heads (mean, log-variance); the decoder's output must have the
 * input's size. With `output bernoulli` the last layer's activation must be sigmoid
 * (fused with the loss); with gaussian its output is the mean. */
#ifndef VAECL_MODEL_SPEC_H
#define VAECL_MODEL_SPEC_H

#include <stddef.h>

#include <vaecl/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VAECL_MAX_LAYERS 64 /* per chain */

/* A tensor's per-image shape: rank 1 (c values; h = w = 1) or rank 3 (h x w x c). */
typedef struct {
  int rank;
  int h, w, c;
} vaecl_shape;

typedef enum {
  VAECL_LAYER_CONV2D,
  VAECL_LAYER_CONV2D_TRANSPOSE,
  VAECL_LAYER_DENSE,
  VAECL_LAYER_FLATTEN,
  VAECL_LAYER_RESHAPE
} vaecl_layer_type;

typedef enum { VAECL_PADDING_VALID, VAECL_PADDING_SAME } vaecl_padding;

typedef enum { VAECL_OUTPUT_BERNOULLI, VAECL_OUTPUT_GAUSSIAN } vaecl_output;

typedef struct {
  vaecl_layer_type type;
  int line;                    /* in the model file, for messages */
  int filters, kernel, stride; /* conv2d, conv2d_transpose */
  vaecl_padding padding;
  int units;          /* dense */
  vaecl_shape target; /* reshape */
  vb_act activation;
  float alpha;         /* leaky_relu's slope */
  vaecl_shape in, out; /* inferred */
  int pad;             /* inferred: padding before the first row/column (TensorFlow's) */
  char name[32];       /* parameter prefix: "enc.conv1", "dec.dense1", ... ("" when none) */
} vaecl_layer_spec;

typedef struct {
  char source[256]; /* file name (or "<text>") for messages */
  char *text;       /* the whole file, as read (owned) */
  vaecl_shape input;
  int latent;
  int encoder_count, decoder_count;
  vaecl_layer_spec encoder[VAECL_MAX_LAYERS], decoder[VAECL_MAX_LAYERS];
  vaecl_output output;
  int learned_variance; /* gaussian: one trained log-variance */
  float sigma;          /* gaussian with a fixed variance: its standard deviation (1) */
  float kl_weight;      /* beta (1) */
} vaecl_model_spec;

/* Parses and shape-checks `text`; source names it in messages. On any problem
 * returns -1 with one message "SOURCE: line N: what was expected". */
int vaecl_model_spec_parse(const char *text, const char *source, vaecl_model_spec *out);
/* Reads and parses a model file. */
int vaecl_model_spec_load(const char *path, vaecl_model_spec *out);
/* The reference model (data/models/fashion-mnist-vae.vae, built into the library). */
int vaecl_model_spec_default(vaecl_model_spec *out);
/* The reference model's text. */
const char *vaecl_model_spec_default_text(void);
void vaecl_model_spec_free(vaecl_model_spec *);
/* A deep copy (the text is duplicated). */
int vaecl_model_spec_copy(const vaecl_model_spec *, vaecl_model_spec *out);

/* Elements per image of a shape. */
size_t vaecl_shape_size(const vaecl_shape *);
/* Trainable parameters of one layer (weights and biases), and of the whole model
 * (both chains, the two latent heads and a learned output variance). */
size_t vaecl_layer_param_count(const vaecl_layer_spec *);
size_t vaecl_model_spec_param_count(const vaecl_model_spec *);
/* "Conv2D", "Conv2DTranspose", "Dense", "Flatten", "Reshape" (Keras' names). */
const char *vaecl_layer_type_name(vaecl_layer_type);
const char *vaecl_activation_name(vb_act);

#ifdef __cplusplus
}
#endif
#endif
