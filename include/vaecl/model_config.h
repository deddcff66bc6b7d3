/* The shape of a VAE: the Keras reference by default, smaller for tests. */
#ifndef VAECL_MODEL_CONFIG_H
#define VAECL_MODEL_CONFIG_H

#include <stddef.h>

/* Encoder: conv(enc_c1, 3x3, s2) -> conv(enc_c2, 3x3, s2) -> dense(hidden) -> mean|log_var.
 * Decoder: dense(dec_h0 x dec_w0 x dec_c0) -> convT(dec_c1, s2) -> convT(dec_c2, s2)
 *          -> convT(channels, s1) -> sigmoid. All ReLU but the heads and the output. */
typedef struct {
  int image_h, image_w, channels; /* 28, 28, 1 */
  int enc_c1, enc_c2;             /* 64, 128 */
  int hidden;                     /* 16 */
  int latent;                     /* 2 */
  int dec_c0;                     /* 64 (on an image_h/4 x image_w/4 grid) */
  int dec_c1, dec_c2;             /* 128, 64 */
  int kernel;                     /* 3 */
} vaecl_model_config;

/* The Keras Fashion-MNIST VAE. */
vaecl_model_config vaecl_model_config_default(void);

/* 0 when the shape is usable (sizes positive, image sides divisible by 4);
 * else -1 with a message that names the bad field. */
int vaecl_model_config_check(const vaecl_model_config *);

#endif
