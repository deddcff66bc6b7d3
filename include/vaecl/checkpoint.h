/* Model checkpoints: safetensors files that numpy and PyTorch read as they are.
 *
 * Layout (https://github.com/huggingface/safetensors): u64 little-endian header
 * length N, N bytes of JSON (padded with spaces to a multiple of 8), then the tensor
 * data, little-endian float32, in the order of their offsets. Each tensor has
 * its Keras shape: conv kernels [k,k,in,out], conv-transpose [k,k,out,in], dense
 * [in,out], biases [out]. Adam's moments are tensors named "adam.m.<name>" and
 * "adam.v.<name>". The JSON's "__metadata__" holds strings only:
 *   "format": "vaecl-checkpoint", "format_version": "3",
 *   "model": the model file's text, "seed", "epochs_done", "adam_steps", "batch",
 *   "checksum": CRC-32 (8 hex digits) of everything vaecl reads: the metadata keys
 *   above in byte order as "key\0value\0" (keys other tools add are neither read
 *   nor covered), each tensor in data order as
 *   "name\0F32\0d0,d1,...\0" (an empty shape for a scalar), then the data bytes.
 *   "validation" only when training validated: what it held out (see vaecl train),
 *   covered by the checksum like the keys above.
 *   Format 2 (vaecl 0.2 development builds) checked only the model text and the data;
 *   it still loads.
 * Written to a temporary file, flushed, fsync'd and renamed, so a crash never
 * leaves a half-written checkpoint. Format-1 files (vaecl 0.1's "VAECLCKP" binary
 * format) still load: their model is rebuilt as model-file text. */
#ifndef VAECL_CHECKPOINT_H
#define VAECL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VAECL_CHECKPOINT_VERSION 3u
#define VAECL_CKPT_NAME_MAX 64
#define VAECL_CKPT_MAX_RANK 4

typedef struct {
  char name[VAECL_CKPT_NAME_MAX]; /* "enc.conv1.w", "adam.m.enc.conv1.w", ... */
  int rank;
  size_t shape[VAECL_CKPT_MAX_RANK];
  size_t count; /* product of the shape */
  float *data;  /* owned by the checkpoint after load; borrowed when saving */
} vaecl_ckpt_tensor;

typedef struct {
  char *model_text;        /* the model file (owned after load; borrowed when saving) */
  uint64_t seed;           /* weights, shuffling and sampling noise */
  uint32_t epochs_done;    /* completed epochs */
  uint64_t adam_steps;     /* optimizer steps taken, for Adam's bias correction */
  uint32_t batch;          /* the batch size training used; 0 when unknown (format 1) */
  uint32_t format_version; /* of the file loaded: 1, 2 or 3 */
  char *validation;        /* the run's validation choice, or NULL (owned after load) */
  size_t tensor_count;
  vaecl_ckpt_tensor *tensors; /* tensor_count entries (owned after load) */
} vaecl_checkpoint;

/* Refuses (naming path, writing nothing) what load would refuse: no model text, a name
 * not 1..VAECL_CKPT_NAME_MAX-1 bytes of UTF-8 or "__metadata__", a name twice, rank
 * outside 0..VAECL_CKPT_MAX_RANK, count not the shape's product (1 for rank 0) or 0,
 * no data; and an empty path, a directory or a path ending in '/'. */
int vaecl_checkpoint_save(const char *path, const vaecl_checkpoint *);
/* Fails, naming the path, when a save there could not create its temporary file
 * (or path is a directory): lets training refuse a bad output path before its
 * first epoch rather than after. */
int vaecl_checkpoint_check_writable(const char *path);
/* Reads formats 3 and 2 (safetensors) or format 1. Fails with a message naming the file on
 * a bad header, a checksum mismatch, a truncated file or an unknown format. Tensors
 * come in data order; metadata keys it does not know are ignored. Only regular files
 * are read (a FIFO is refused without blocking). Format 1's tensors are renamed and
 * shaped as src/io/checkpoint_v1.c describes (enc.heads becomes "latent", one dense
 * [hidden, 2*latent] kernel: the mean's columns, then the log-variance's). */
int vaecl_checkpoint_load(const char *path, vaecl_checkpoint *out);
/* Frees what vaecl_checkpoint_load allocated. */
void vaecl_checkpoint_free(vaecl_checkpoint *);
/* The tensor called name, or NULL. */
const vaecl_ckpt_tensor *vaecl_checkpoint_find(const vaecl_checkpoint *, const char *name);

#ifdef __cplusplus
}
#endif
#endif
