/* Versioned, checksummed model checkpoints.
 *
 * File layout (little-endian): magic "VAECLCKP", u32 format version, u32 header
 * bytes, the header (model config, training position, tensor table), the tensor data
 * as float32, and a CRC-32 (zlib) of everything before it. Written to a temporary
 * file, flushed and renamed, so a crash never leaves a half-written checkpoint. */
#ifndef VAECL_CHECKPOINT_H
#define VAECL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <vaecl/model_config.h>

#define VAECL_CHECKPOINT_VERSION 1u
#define VAECL_CHECKPOINT_MAX_TENSORS 64

typedef struct {
  char name[32]; /* "enc.conv1.w", "adam.m.enc.conv1.w", ... */
  size_t count;
  float *data; /* owned by the checkpoint after load; borrowed when saving */
} vaecl_ckpt_tensor;

typedef struct {
  vaecl_model_config config;
  uint64_t seed;
  uint32_t epochs_done; /* completed epochs */
  uint64_t adam_steps;  /* optimizer steps taken, for Adam's bias correction */
  size_t tensor_count;
  vaecl_ckpt_tensor tensors[VAECL_CHECKPOINT_MAX_TENSORS];
} vaecl_checkpoint;

int vaecl_checkpoint_save(const char *path, const vaecl_checkpoint *);
/* Fails, naming the path, when a save there could not create its temporary file:
 * lets training refuse a bad --out before its first epoch rather than after. */
int vaecl_checkpoint_check_writable(const char *path);
/* Fails with a message naming the file on a bad magic, a newer version, a checksum
 * mismatch, a truncated file or an invalid config. */
int vaecl_checkpoint_load(const char *path, vaecl_checkpoint *out);
/* Frees tensors loaded by vaecl_checkpoint_load. */
void vaecl_checkpoint_free(vaecl_checkpoint *);
/* The tensor called name, or NULL. */
const vaecl_ckpt_tensor *vaecl_checkpoint_find(const vaecl_checkpoint *, const char *name);

#endif
