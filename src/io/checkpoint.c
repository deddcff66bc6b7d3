#include <vaecl/checkpoint.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/error.h"

/* Byte layout; see checkpoint.h. */
#define CKPT_MAGIC "VAECLCKP"
#define CKPT_MAGIC_BYTES 8
#define CKPT_PREFIX_BYTES 16 /* magic, u32 version, u32 header bytes */
#define CKPT_NAME_BYTES 32
#define CKPT_ENTRY_BYTES (CKPT_NAME_BYTES + 8)
#define CKPT_CRC_BYTES 4

/* The config is stored field by field as i32, in declared order. */
static const size_t config_fields[] = {
    offsetof(vaecl_model_config, image_h),  offsetof(vaecl_model_config, image_w),
    offsetof(vaecl_model_config, channels), offsetof(vaecl_model_config, enc_c1),
    offsetof(vaecl_model_config, enc_c2),   offsetof(vaecl_model_config, hidden),
    offsetof(vaecl_model_config, latent),   offsetof(vaecl_model_config, dec_c0),
    offsetof(vaecl_model_config, dec_c1),   offsetof(vaecl_model_config, dec_c2),
    offsetof(vaecl_model_config, kernel)};
#define CKPT_CONFIG_FIELDS (sizeof config_fields / sizeof config_fields[0])
/* A new config field must be added to config_fields (and bump the version). */
_Static_assert(sizeof(vaecl_model_config) == 11 * sizeof(int), "update config_fields");

/* config, u64 seed, u32 epochs_done, u64 adam_steps, u32 tensor_count */
#define CKPT_HEADER_FIXED_BYTES (CKPT_CONFIG_FIELDS * 4 + 8 + 4 + 8 + 4)

static size_t header_bytes(size_t tensor_count) {
  return CKPT_HEADER_FIXED_BYTES + tensor_count * CKPT_ENTRY_BYTES;
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p) {
  return get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* ---- saving ---- */

/* Streams bytes to a file while accumulating their CRC; remembers the first error. */
typedef struct {
  FILE *f;
  uLong crc;
  int err; /* errno of the first failed write, or 0 */
} ckpt_writer;

static void put(ckpt_writer *w, const void *bytes, size_t n) {
  if (w->err)
    return;
  errno = 0;
  if (fwrite(bytes, 1, n, w->f) != n) {
    w->err = errno ? errno : EIO;
    return;
  }
  w->crc = crc32(w->crc, bytes, (uInt)n); /* n is at most a few KiB here */
}

static int check_name(const char *path, const char *name, size_t index) {
  const size_t len = strnlen(name, CKPT_NAME_BYTES);
  if (len == 0 || len == CKPT_NAME_BYTES)
    return vaecl_fail("%s: tensor %zu: name must be 1..%d characters", path, index,
                      CKPT_NAME_BYTES - 1);
  return 0;
}

/* Checks what save is given, so it never writes a file load would refuse. */
static int check_for_save(const char *path, const vaecl_checkpoint *c) {
  if (vaecl_model_config_check(&c->config))
    return vaecl_fail_context("%s: not saving an invalid model config: ", path);
  if (c->tensor_count > VAECL_CHECKPOINT_MAX_TENSORS)
    return vaecl_fail("%s: %zu tensors, more than the %d a checkpoint holds", path, c->tensor_count,
                      VAECL_CHECKPOINT_MAX_TENSORS);
  for (size_t i = 0; i < c->tensor_count; i++) {
    const vaecl_ckpt_tensor *t = &c->tensors[i];
    if (check_name(path, t->name, i))
      return -1;
    if (t->count == 0 || !t->data || t->count > SIZE_MAX / 4)
      return vaecl_fail("%s: tensor %.32s: needs data and a count of at least 1", path, t->name);
    for (size_t j = 0; j < i; j++)
      if (strncmp(c->tensors[j].name, t->name, CKPT_NAME_BYTES) == 0)
        return vaecl_fail("%s: tensor name %.32s appears twice", path, t->name);
  }
  return 0;
}

static void write_header(ckpt_writer *w, const vaecl_checkpoint *c) {
  uint8_t b[CKPT_HEADER_FIXED_BYTES];
  uint8_t *p = b;
  for (size_t i = 0; i < CKPT_CONFIG_FIELDS; i++, p += 4) {
    int v;
    memcpy(&v, (const char *)&c->config + config_fields[i], sizeof v);
    put_u32(p, (uint32_t)v);
  }
  put_u64(p, c->seed);
  put_u32(p + 8, c->epochs_done);
  put_u64(p + 12, c->adam_steps);
  put_u32(p + 20, (uint32_t)c->tensor_count);
  put(w, b, sizeof b);
  for (size_t i = 0; i < c->tensor_count; i++) {
    uint8_t e[CKPT_ENTRY_BYTES] = {0};
    memcpy(e, c->tensors[i].name, strnlen(c->tensors[i].name, CKPT_NAME_BYTES));
    put_u64(e + CKPT_NAME_BYTES, c->tensors[i].count);
    put(w, e, sizeof e);
  }
}

static void write_floats(ckpt_writer *w, const float *x, size_t n) {
  uint8_t b[4096];
  while (n > 0) {
    const size_t chunk = n < sizeof b / 4 ? n : sizeof b / 4;
    for (size_t i = 0; i < chunk; i++) {
      uint32_t bits;
      memcpy(&bits, &x[i], sizeof bits); /* keeps NaN payloads and -0 bit-exact */
      put_u32(b + 4 * i, bits);
    }
    put(w, b, 4 * chunk);
    x += chunk;
    n -= chunk;
  }
}

static void write_all(ckpt_writer *w, const vaecl_checkpoint *c) {
  uint8_t prefix[CKPT_PREFIX_BYTES];
  memcpy(prefix, CKPT_MAGIC, CKPT_MAGIC_BYTES);
  put_u32(prefix + 8, VAECL_CHECKPOINT_VERSION);
  put_u32(prefix + 12, (uint32_t)header_bytes(c->tensor_count));
  put(w, prefix, sizeof prefix);
  write_header(w, c);
  for (size_t i = 0; i < c->tensor_count; i++)
    write_floats(w, c->tensors[i].data, c->tensors[i].count);
  uint8_t crc[CKPT_CRC_BYTES];
  put_u32(crc, (uint32_t)w->crc);
  put(w, crc, sizeof crc);
}

/* The temporary name a save writes to before renaming it over path. */
static int temp_path(const char *path, char *tmp, size_t size) {
  const int n = snprintf(tmp, size, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= size)
    return vaecl_fail("%s: path too long", path);
  return 0;
}

int vaecl_checkpoint_check_writable(const char *path) {
  char tmp[4096];
  if (temp_path(path, tmp, sizeof tmp) != 0)
    return -1;
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return vaecl_fail("%s: cannot write a checkpoint there (%s: %s); pick another --out", path, tmp,
                      strerror(errno));
  fclose(f);
  (void)remove(tmp);
  return 0;
}

int vaecl_checkpoint_save(const char *path, const vaecl_checkpoint *c) {
  if (check_for_save(path, c))
    return -1;
  char tmp[4096];
  if (temp_path(path, tmp, sizeof tmp) != 0)
    return -1;
  ckpt_writer w = {.f = fopen(tmp, "wb"), .crc = crc32(0L, Z_NULL, 0)};
  if (!w.f)
    return vaecl_fail("%s: cannot create temporary file %s: %s", path, tmp, strerror(errno));
  write_all(&w, c);
  /* Data must be on disk before the rename makes it the checkpoint. */
  if (!w.err && (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0))
    w.err = errno ? errno : EIO;
  if (fclose(w.f) != 0 && !w.err)
    w.err = errno ? errno : EIO;
  if (w.err) {
    (void)remove(tmp); /* best effort: the write error is what matters */
    return vaecl_fail("%s: writing %s failed: %s", path, tmp, strerror(w.err));
  }
  if (rename(tmp, path) != 0) {
    const int e = errno;
    (void)remove(tmp);
    return vaecl_fail("%s: cannot rename %s over it: %s", path, tmp, strerror(e));
  }
  return 0;
}

/* ---- loading ---- */

static int read_file(const char *path, uint8_t **buf, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return vaecl_fail("%s: cannot open checkpoint: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    const int e = errno;
    (void)fclose(f);
    return vaecl_fail("%s: cannot stat checkpoint: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    (void)fclose(f);
    return vaecl_fail("%s: not a regular file", path);
  }
  const size_t n = (size_t)st.st_size;
  uint8_t *b = malloc(n ? n : 1);
  if (!b) {
    (void)fclose(f);
    return vaecl_fail("%s: out of memory for %zu bytes", path, n);
  }
  const size_t got = fread(b, 1, n, f);
  const int read_err = ferror(f);
  (void)fclose(f); /* read-only: nothing to lose if close fails */
  if (read_err || got != n) {
    free(b);
    return vaecl_fail("%s: read error (got %zu of %zu bytes)", path, got, n);
  }
  *buf = b;
  *size = n;
  return 0;
}

/* The file size the header implies, read leniently (no validation), to tell a
 * truncated file from a corrupt one when the checksum fails. */
static uint64_t implied_size(const uint8_t *b, size_t size) {
  const uint64_t hb = get_u32(b + 12);
  uint64_t total = CKPT_PREFIX_BYTES + hb + CKPT_CRC_BYTES;
  if (CKPT_PREFIX_BYTES + hb > size || hb < CKPT_HEADER_FIXED_BYTES)
    return total;
  const uint8_t *h = b + CKPT_PREFIX_BYTES;
  const uint64_t tc = get_u32(h + CKPT_HEADER_FIXED_BYTES - 4);
  if (tc > VAECL_CHECKPOINT_MAX_TENSORS || header_bytes((size_t)tc) > hb)
    return total;
  for (uint64_t i = 0; i < tc; i++) {
    const uint64_t count = get_u64(h + CKPT_HEADER_FIXED_BYTES + i * CKPT_ENTRY_BYTES + 32);
    if (count > (UINT64_MAX - total) / 4)
      return UINT64_MAX;
    total += 4 * count;
  }
  return total;
}

/* Checks header size, tensor count and data size against an intact file. */
static int check_layout(const char *path, const uint8_t *b, size_t size) {
  const uint64_t hb = get_u32(b + 12);
  if (hb < CKPT_HEADER_FIXED_BYTES || CKPT_PREFIX_BYTES + hb + CKPT_CRC_BYTES > size)
    return vaecl_fail("%s: corrupt: header size %llu does not fit a %zu-byte file", path,
                      (unsigned long long)hb, size);
  const uint64_t tc = get_u32(b + CKPT_PREFIX_BYTES + CKPT_HEADER_FIXED_BYTES - 4);
  if (tc > VAECL_CHECKPOINT_MAX_TENSORS)
    return vaecl_fail("%s: %llu tensors, more than the %d a checkpoint may hold", path,
                      (unsigned long long)tc, VAECL_CHECKPOINT_MAX_TENSORS);
  if (hb != header_bytes((size_t)tc))
    return vaecl_fail("%s: corrupt: header is %llu bytes but %llu tensors need %zu", path,
                      (unsigned long long)hb, (unsigned long long)tc, header_bytes((size_t)tc));
  const uint64_t want = implied_size(b, size);
  if (want != size)
    return vaecl_fail("%s: corrupt: file is %zu bytes but its tensor table describes %llu", path,
                      size, (unsigned long long)want);
  return 0;
}

/* Magic, version, checksum and layout: is this an intact file we can read? */
static int check_envelope(const char *path, const uint8_t *b, size_t size) {
  if (size < CKPT_MAGIC_BYTES || memcmp(b, CKPT_MAGIC, CKPT_MAGIC_BYTES) != 0)
    return vaecl_fail("%s: not a vaecl checkpoint (bad magic)", path);
  if (size < CKPT_PREFIX_BYTES + CKPT_CRC_BYTES)
    return vaecl_fail("%s: truncated: only %zu bytes", path, size);
  const uint32_t version = get_u32(b + 8);
  if (version > VAECL_CHECKPOINT_VERSION)
    return vaecl_fail("%s: format version %u was written by a newer vaecl (this one reads up to "
                      "%u); upgrade vaecl",
                      path, version, VAECL_CHECKPOINT_VERSION);
  if (version == 0)
    return vaecl_fail("%s: corrupt: format version 0", path);
  /* The checksum comes first: a file that passes it is complete as written. */
  const uLong crc = crc32_z(crc32(0L, Z_NULL, 0), b, size - CKPT_CRC_BYTES);
  if ((uint32_t)crc != get_u32(b + size - CKPT_CRC_BYTES)) {
    const uint64_t want = implied_size(b, size);
    if (want > size)
      return vaecl_fail("%s: truncated: %zu bytes, but its header describes %llu", path, size,
                        (unsigned long long)want);
    return vaecl_fail("%s: corrupt: checksum mismatch", path);
  }
  return check_layout(path, b, size);
}

/* Fills out's metadata and tensor table from an envelope-checked buffer. */
static int parse_header(const char *path, const uint8_t *b, vaecl_checkpoint *out) {
  const uint8_t *p = b + CKPT_PREFIX_BYTES;
  for (size_t i = 0; i < CKPT_CONFIG_FIELDS; i++, p += 4) {
    const int v = (int)(int32_t)get_u32(p);
    memcpy((char *)&out->config + config_fields[i], &v, sizeof v);
  }
  out->seed = get_u64(p);
  out->epochs_done = get_u32(p + 8);
  out->adam_steps = get_u64(p + 12);
  out->tensor_count = get_u32(p + 20);
  p += 24;
  if (vaecl_model_config_check(&out->config))
    return vaecl_fail_context("%s: invalid model config: ", path);
  for (size_t i = 0; i < out->tensor_count; i++, p += CKPT_ENTRY_BYTES) {
    vaecl_ckpt_tensor *t = &out->tensors[i];
    memcpy(t->name, p, CKPT_NAME_BYTES);
    if (check_name(path, t->name, i))
      return -1;
    t->count = (size_t)get_u64(p + CKPT_NAME_BYTES);
    if (t->count == 0)
      return vaecl_fail("%s: corrupt: tensor %s has no elements", path, t->name);
    for (size_t j = 0; j < i; j++)
      if (strcmp(out->tensors[j].name, t->name) == 0)
        return vaecl_fail("%s: corrupt: tensor name %s appears twice", path, t->name);
  }
  return 0;
}

static int read_tensors(const char *path, const uint8_t *data, vaecl_checkpoint *out) {
  for (size_t i = 0; i < out->tensor_count; i++) {
    vaecl_ckpt_tensor *t = &out->tensors[i];
    t->data = malloc(t->count * sizeof(float));
    if (!t->data)
      return vaecl_fail("%s: out of memory for tensor %s (%zu floats)", path, t->name, t->count);
    for (size_t j = 0; j < t->count; j++, data += 4) {
      const uint32_t bits = get_u32(data);
      memcpy(&t->data[j], &bits, sizeof bits);
    }
  }
  return 0;
}

int vaecl_checkpoint_load(const char *path, vaecl_checkpoint *out) {
  uint8_t *b = NULL;
  size_t size = 0;
  memset(out, 0, sizeof *out);
  if (read_file(path, &b, &size))
    return -1;
  int rc = check_envelope(path, b, size);
  if (rc == 0)
    rc = parse_header(path, b, out);
  if (rc == 0)
    rc = read_tensors(path, b + CKPT_PREFIX_BYTES + header_bytes(out->tensor_count), out);
  free(b);
  if (rc)
    vaecl_checkpoint_free(out);
  return rc;
}

void vaecl_checkpoint_free(vaecl_checkpoint *c) {
  for (size_t i = 0; i < c->tensor_count && i < VAECL_CHECKPOINT_MAX_TENSORS; i++)
    free(c->tensors[i].data);
  memset(c, 0, sizeof *c);
}

const vaecl_ckpt_tensor *vaecl_checkpoint_find(const vaecl_checkpoint *c, const char *name) {
  for (size_t i = 0; i < c->tensor_count; i++)
    if (strncmp(c->tensors[i].name, name, CKPT_NAME_BYTES) == 0)
      return &c->tensors[i];
  return NULL;
}
