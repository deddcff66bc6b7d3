/* Private: reading format-1 checkpoints (vaecl 0.1's "VAECLCKP" binary files) into
 * today's vaecl_checkpoint. */
#ifndef VAECL_IO_CHECKPOINT_V1_H
#define VAECL_IO_CHECKPOINT_V1_H

#include <stddef.h>
#include <stdint.h>

#include <vaecl/checkpoint.h>

#define VAECL_CKPT_V1_MAGIC "VAECLCKP"
#define VAECL_CKPT_V1_MAX_TENSORS 64

/* vaecl 0.1's model shape (its vaecl_model_config), as stored in format 1. */
typedef struct {
  int image_h, image_w, channels; /* 28, 28, 1 */
  int enc_c1, enc_c2;             /* 64, 128 */
  int hidden;                     /* 16 */
  int latent;                     /* 2 */
  int dec_c0;                     /* 64 (on an image_h/4 x image_w/4 grid) */
  int dec_c1, dec_c2;             /* 128, 64 */
  int kernel;                     /* 3 */
} vaecl_ckpt_v1_config;

/* 0 when vaecl 0.1 would have accepted the shape, else -1 naming the bad field. */
int vaecl_ckpt_v1_config_check(const vaecl_ckpt_v1_config *);

/* The model-file text of the reference model with cfg's sizes (malloc'd), or NULL
 * with a message. */
char *vaecl_ckpt_v1_model_text(const vaecl_ckpt_v1_config *cfg);

/* Parses a whole format-1 file (b, size bytes, starting with the magic) into out:
 * model text from the config, tensors renamed and shaped (see checkpoint_v1.c),
 * format_version 1, batch 0. On failure -1 with a message naming path, *out empty. */
int vaecl_ckpt_v1_parse(const char *path, const uint8_t *b, size_t size, vaecl_checkpoint *out);

#endif
