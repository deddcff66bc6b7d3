/* Format 1: vaecl 0.1's "VAECLCKP" checkpoints, read and converted to today's form.
 *
 * Byte layout (little-endian): magic "VAECLCKP", u32 format version (1), u32 header
 * bytes, the header (the 11 config fields as i32 in vaecl_ckpt_v1_config's order, u64
 * seed, u32 epochs_done, u64 adam_steps, u32 tensor_count, then per tensor a 32-byte
 * NUL-padded name and a u64 count), the tensors as float32, and a CRC-32 (zlib) of
 * everything before it.
 *
 * Conversion: the model text is the reference model (data/models/fashion-mnist-vae.vae)
 * with the config's sizes. Tensors keep their order and are renamed after the model
 * file's layers: enc.dense -> enc.dense1, enc.heads -> latent, dec.dense -> dec.dense1
 * (enc.conv1, enc.conv2, dec.convt1..3 unchanged), with their ".w"/".b" suffix and
 * "adam.m."/"adam.v." prefix. Shapes are Keras': conv w [k,k,in,out], conv-transpose w
 * [k,k,out,in], dense w [in,out], bias [out]; the latent heads are one dense
 * [hidden, 2*latent] (mean's columns first, then log-variance's), bias [2*latent].
 * vaecl 0.1 already stored every tensor in that element order. */
#include "io/checkpoint_v1.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/error.h"
#include "util/fuzzing.h"

#define V1_VERSION 1u
#define V1_MAGIC_BYTES 8
#define V1_PREFIX_BYTES 16 /* magic, u32 version, u32 header bytes */
#define V1_NAME_BYTES 32
#define V1_ENTRY_BYTES (V1_NAME_BYTES + 8)
#define V1_CRC_BYTES 4
#define V1_CONFIG_FIELDS 11
/* config, u64 seed, u32 epochs_done, u64 adam_steps, u32 tensor_count */
#define V1_HEADER_FIXED_BYTES (V1_CONFIG_FIELDS * 4 + 8 + 4 + 8 + 4)
_Static_assert(sizeof(vaecl_ckpt_v1_config) == V1_CONFIG_FIELDS * sizeof(int),
               "format 1 stores exactly these fields");

static size_t header_bytes(size_t tensor_count) {
  return V1_HEADER_FIXED_BYTES + tensor_count * V1_ENTRY_BYTES;
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p) {
  return get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* vaecl 0.1's vaecl_model_config_check, unchanged. */
int vaecl_ckpt_v1_config_check(const vaecl_ckpt_v1_config *c) {
  const struct {
    const char *name;
    int value, max;
  } fields[] = {
      {"image_h", c->image_h, 4096}, {"image_w", c->image_w, 4096}, {"channels", c->channels, 64},
      {"enc_c1", c->enc_c1, 4096},   {"enc_c2", c->enc_c2, 4096},   {"hidden", c->hidden, 65536},
      {"latent", c->latent, 4096},   {"dec_c0", c->dec_c0, 4096},   {"dec_c1", c->dec_c1, 4096},
      {"dec_c2", c->dec_c2, 4096},   {"kernel", c->kernel, 15}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (fields[i].value < 1 || fields[i].value > fields[i].max)
      return vaecl_fail("model %s = %d is out of range (1..%d)", fields[i].name, fields[i].value,
                        fields[i].max);
  if (c->image_h % 4 || c->image_w % 4)
    return vaecl_fail("image size %dx%d: both sides must be multiples of 4 (two stride-2 convs)",
                      c->image_h, c->image_w);
  if (c->kernel % 2 == 0)
    return vaecl_fail("kernel size %d must be odd", c->kernel);
  return 0;
}

char *vaecl_ckpt_v1_model_text(const vaecl_ckpt_v1_config *c) {
  static const char fmt[] =
      "# Converted from a format-1 (vaecl 0.1) checkpoint: the reference model with its sizes.\n"
      "vaecl-model 1\n"
      "\n"
      "input %d %d %d\n"
      "\n"
      "encoder\n"
      "conv2d filters=%d kernel=%d stride=2 padding=same activation=relu\n"
      "conv2d filters=%d kernel=%d stride=2 padding=same activation=relu\n"
      "flatten\n"
      "dense units=%d activation=relu\n"
      "\n"
      "latent %d\n"
      "\n"
      "decoder\n"
      "dense units=%lld activation=relu\n"
      "reshape %d %d %d\n"
      "conv2d_transpose filters=%d kernel=%d stride=2 padding=same activation=relu\n"
      "conv2d_transpose filters=%d kernel=%d stride=2 padding=same activation=relu\n"
      "conv2d_transpose filters=%d kernel=%d stride=1 padding=same activation=sigmoid\n"
      "\n"
      "output bernoulli\n"
      "kl_weight 1\n";
  const int h4 = c->image_h / 4, w4 = c->image_w / 4, k = c->kernel;
  const long long units = (long long)h4 * w4 * c->dec_c0; /* up to 2^32: 64 bits */
#define V1_TEXT_ARGS                                                                               \
  c->image_h, c->image_w, c->channels, c->enc_c1, k, c->enc_c2, k, c->hidden, c->latent, units,    \
      h4, w4, c->dec_c0, c->dec_c1, k, c->dec_c2, k, c->channels, k
  const int n = snprintf(NULL, 0, fmt, V1_TEXT_ARGS);
  char *text = n < 0 ? NULL : malloc((size_t)n + 1);
  if (!text || snprintf(text, (size_t)n + 1, fmt, V1_TEXT_ARGS) != n) {
    free(text);
    vaecl_fail("out of memory for a model text");
    return NULL;
  }
#undef V1_TEXT_ARGS
  return text;
}

/* The file size the header implies, read leniently (no validation), to tell a
 * truncated file from a corrupt one when the checksum fails. */
static uint64_t implied_size(const uint8_t *b, size_t size) {
  const uint64_t hb = get_u32(b + 12);
  uint64_t total = V1_PREFIX_BYTES + hb + V1_CRC_BYTES;
  if (V1_PREFIX_BYTES + hb > size || hb < V1_HEADER_FIXED_BYTES)
    return total;
  const uint8_t *h = b + V1_PREFIX_BYTES;
  const uint64_t tc = get_u32(h + V1_HEADER_FIXED_BYTES - 4);
  if (tc > VAECL_CKPT_V1_MAX_TENSORS || header_bytes((size_t)tc) > hb)
    return total;
  for (uint64_t i = 0; i < tc; i++) {
    const uint64_t count = get_u64(h + V1_HEADER_FIXED_BYTES + i * V1_ENTRY_BYTES + 32);
    if (count > (UINT64_MAX - total) / 4)
      return UINT64_MAX;
    total += 4 * count;
  }
  return total;
}

/* Checks header size, tensor count and data size against an intact file. */
static int check_layout(const char *path, const uint8_t *b, size_t size) {
  const uint64_t hb = get_u32(b + 12);
  if (hb < V1_HEADER_FIXED_BYTES || V1_PREFIX_BYTES + hb + V1_CRC_BYTES > size)
    return vaecl_fail("%s: corrupt: header size %" PRIu64 " does not fit a %zu-byte file", path, hb,
                      size);
  const uint64_t tc = get_u32(b + V1_PREFIX_BYTES + V1_HEADER_FIXED_BYTES - 4);
  if (tc > VAECL_CKPT_V1_MAX_TENSORS)
    return vaecl_fail("%s: %" PRIu64 " tensors, more than the %d a checkpoint may hold", path, tc,
                      VAECL_CKPT_V1_MAX_TENSORS);
  if (hb != header_bytes((size_t)tc))
    return vaecl_fail("%s: corrupt: header is %" PRIu64 " bytes but %" PRIu64 " tensors need %zu",
                      path, hb, tc, header_bytes((size_t)tc));
  const uint64_t want = implied_size(b, size);
  if (want != size)
    return vaecl_fail("%s: corrupt: file is %zu bytes but its tensor table describes %" PRIu64,
                      path, size, want);
  return 0;
}

/* Magic, version, checksum and layout: is this an intact file we can read? */
static int check_envelope(const char *path, const uint8_t *b, size_t size) {
  if (size < V1_MAGIC_BYTES || memcmp(b, VAECL_CKPT_V1_MAGIC, V1_MAGIC_BYTES) != 0)
    return vaecl_fail("%s: not a vaecl checkpoint (bad magic)", path);
  if (size < V1_PREFIX_BYTES + V1_CRC_BYTES)
    return vaecl_fail("%s: truncated: only %zu bytes", path, size);
  const uint32_t version = get_u32(b + 8);
  if (version > V1_VERSION)
    return vaecl_fail("%s: VAECLCKP format version %u is unknown (vaecl 0.1 wrote version 1; "
                      "later versions are safetensors files)",
                      path, version);
  if (version == 0)
    return vaecl_fail("%s: corrupt: format version 0", path);
  /* The checksum comes first: a file that passes it is complete as written. */
  const uLong crc = crc32_z(crc32(0L, Z_NULL, 0), b, size - V1_CRC_BYTES);
  if (VAECL_CHECKSUMS_ENFORCED && (uint32_t)crc != get_u32(b + size - V1_CRC_BYTES)) {
    const uint64_t want = implied_size(b, size);
    if (want > size)
      return vaecl_fail("%s: truncated: %zu bytes, but its header describes %" PRIu64, path, size,
                        want);
    return vaecl_fail("%s: corrupt: checksum mismatch", path);
  }
  return check_layout(path, b, size);
}

/* Today's name and Keras shape for a vaecl 0.1 tensor name; -1 if it is not one. */
static int convert_name(const vaecl_ckpt_v1_config *c, const char *old, vaecl_ckpt_tensor *t) {
  /* size_t: the config check allows grids of 1024 x 1024 x 4096 values. */
  const size_t h4 = (size_t)c->image_h / 4, w4 = (size_t)c->image_w / 4, k = (size_t)c->kernel;
  const size_t ch = (size_t)c->channels, e1 = (size_t)c->enc_c1, e2 = (size_t)c->enc_c2;
  const size_t hid = (size_t)c->hidden, lat = (size_t)c->latent, d0 = (size_t)c->dec_c0;
  const size_t d1 = (size_t)c->dec_c1, d2 = (size_t)c->dec_c2;
  const struct {
    const char *old, *new;
    int rank;
    size_t w[4]; /* weight shape */
    size_t b;    /* bias size */
  } layers[] = {{"enc.conv1", "enc.conv1", 4, {k, k, ch, e1}, e1},
                {"enc.conv2", "enc.conv2", 4, {k, k, e1, e2}, e2},
                {"enc.dense", "enc.dense1", 2, {h4 * w4 * e2, hid}, hid},
                {"enc.heads", "latent", 2, {hid, 2 * lat}, 2 * lat},
                {"dec.dense", "dec.dense1", 2, {lat, h4 * w4 * d0}, h4 * w4 * d0},
                {"dec.convt1", "dec.convt1", 4, {k, k, d1, d0}, d1},
                {"dec.convt2", "dec.convt2", 4, {k, k, d2, d1}, d2},
                {"dec.convt3", "dec.convt3", 4, {k, k, ch, d2}, ch}};
  static const char *const kinds[] = {"adam.m.", "adam.v."};
  const char *kind = "";
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strncmp(old, kinds[i], strlen(kinds[i])) == 0) {
      kind = kinds[i];
      old += strlen(kinds[i]);
      break;
    }
  for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
    const size_t len = strlen(layers[l].old);
    if (strncmp(old, layers[l].old, len) != 0 || old[len] != '.' ||
        (strcmp(old + len + 1, "w") != 0 && strcmp(old + len + 1, "b") != 0))
      continue;
    const int weights = old[len + 1] == 'w';
    snprintf(t->name, sizeof t->name, "%s%s.%c", kind, layers[l].new, weights ? 'w' : 'b');
    t->rank = weights ? layers[l].rank : 1;
    size_t count = 1;
    for (int d = 0; d < t->rank; d++) {
      t->shape[d] = weights ? layers[l].w[d] : layers[l].b;
      count *= t->shape[d]; /* the config check bounds the product well below 2^64 */
    }
    t->count = count;
    return 0;
  }
  return -1;
}

/* Fills out from an envelope-checked buffer. */
static int parse(const char *path, const uint8_t *b, vaecl_checkpoint *out) {
  const uint8_t *p = b + V1_PREFIX_BYTES;
  int fields[V1_CONFIG_FIELDS];
  for (size_t i = 0; i < V1_CONFIG_FIELDS; i++, p += 4)
    fields[i] = (int)(int32_t)get_u32(p);
  vaecl_ckpt_v1_config cfg;
  memcpy(&cfg, fields, sizeof cfg);
  out->format_version = 1;
  out->batch = 0;
  out->seed = get_u64(p);
  out->epochs_done = get_u32(p + 8);
  out->adam_steps = get_u64(p + 12);
  const size_t n = get_u32(p + 20);
  p += 24;
  if (vaecl_ckpt_v1_config_check(&cfg))
    return vaecl_fail_context("%s: invalid model config: ", path);
  if (!(out->model_text = vaecl_ckpt_v1_model_text(&cfg)))
    return vaecl_fail_context("%s: ", path);
  if (n > 0 && !(out->tensors = calloc(n, sizeof *out->tensors)))
    return vaecl_fail("%s: out of memory for %zu tensors", path, n);
  out->tensor_count = n;
  const uint8_t *data = b + V1_PREFIX_BYTES + header_bytes(n);
  for (size_t i = 0; i < n; i++, p += V1_ENTRY_BYTES) {
    char old[V1_NAME_BYTES];
    memcpy(old, p, V1_NAME_BYTES);
    const size_t len = strnlen(old, V1_NAME_BYTES);
    if (len == 0 || len == V1_NAME_BYTES)
      return vaecl_fail("%s: tensor %zu: name must be 1..%d characters", path, i,
                        V1_NAME_BYTES - 1);
    const uint64_t count = get_u64(p + V1_NAME_BYTES);
    if (count == 0)
      return vaecl_fail("%s: corrupt: tensor %s has no elements", path, old);
    for (size_t j = 0; j < i; j++)
      if (strncmp((const char *)b + V1_PREFIX_BYTES + header_bytes(0) + j * V1_ENTRY_BYTES, old,
                  V1_NAME_BYTES) == 0)
        return vaecl_fail("%s: corrupt: tensor name %s appears twice", path, old);
    vaecl_ckpt_tensor *t = &out->tensors[i];
    if (convert_name(&cfg, old, t))
      return vaecl_fail("%s: corrupt: tensor %s is not one of vaecl 0.1's model", path, old);
    if (t->count != count)
      return vaecl_fail("%s: corrupt: tensor %s has %" PRIu64
                        " values, but its model config gives it %zu",
                        path, old, count, t->count);
    /* check_layout matched the counts to the file size, so this is in bounds. */
    if (!(t->data = malloc(t->count * sizeof(float))))
      return vaecl_fail("%s: out of memory for tensor %s (%zu floats)", path, t->name, t->count);
    for (size_t j = 0; j < t->count; j++, data += 4) {
      const uint32_t bits = get_u32(data);
      memcpy(&t->data[j], &bits, sizeof bits);
    }
  }
  return 0;
}

int vaecl_ckpt_v1_parse(const char *path, const uint8_t *b, size_t size, vaecl_checkpoint *out) {
  memset(out, 0, sizeof *out);
  int rc = check_envelope(path, b, size);
  if (rc == 0)
    rc = parse(path, b, out);
  if (rc)
    vaecl_checkpoint_free(out);
  return rc;
}
