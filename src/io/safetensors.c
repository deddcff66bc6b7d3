/* Format-2 checkpoints: the safetensors layout, JSON header via jansson. */
#include "io/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util/error.h"
#include "util/fuzzing.h"

#define META "__metadata__"
#define FORMAT_NAME "vaecl-checkpoint"

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static int host_is_little_endian(void) {
  const uint32_t one = 1;
  uint8_t b[4];
  memcpy(b, &one, sizeof b);
  return b[0] == 1;
}

/* crc32_z takes a size_t length (zlib >= 1.2.9). */
static uLong crc_update(uLong crc, const void *bytes, size_t n) {
  return crc32_z(crc, bytes, n);
}

/* Visits a tensor's data as little-endian bytes, a chunk at a time. */
typedef int (*bytes_fn)(void *ctx, const uint8_t *bytes, size_t n);

static int for_each_le_chunk(const float *x, size_t n, bytes_fn fn, void *ctx) {
  uint8_t b[4096];
  while (n > 0) {
    const size_t chunk = n < sizeof b / 4 ? n : sizeof b / 4;
    for (size_t i = 0; i < chunk; i++) {
      uint32_t bits;
      memcpy(&bits, &x[i], sizeof bits); /* keeps NaN payloads and -0 bit-exact */
      put_u32(b + 4 * i, bits);
    }
    const int rc = fn(ctx, b, 4 * chunk);
    if (rc)
      return rc;
    x += chunk;
    n -= chunk;
  }
  return 0;
}

/* ---- saving ---- */

static int check_shape(const char *path, const vaecl_ckpt_tensor *t) {
  if (t->rank < 0 || t->rank > VAECL_CKPT_MAX_RANK)
    return vaecl_fail("%s: tensor %s: rank %d is outside 0..%d", path, t->name, t->rank,
                      VAECL_CKPT_MAX_RANK);
  size_t product = 1;
  for (int d = 0; d < t->rank; d++) {
    if (t->shape[d] != 0 && product > SIZE_MAX / t->shape[d])
      return vaecl_fail("%s: tensor %s: shape too large", path, t->name);
    product *= t->shape[d];
  }
  if (product != t->count)
    return vaecl_fail("%s: tensor %s: count %zu is not the product of its shape (%zu)", path,
                      t->name, t->count, product);
  return 0;
}

int vaecl_safetensors_check(const char *path, const vaecl_checkpoint *c) {
  if (!c->model_text || !c->model_text[0])
    return vaecl_fail("%s: not saving a checkpoint without model text", path);
  if (c->tensor_count > 0 && !c->tensors)
    return vaecl_fail("%s: %zu tensors but no tensor table", path, c->tensor_count);
  uint64_t total = 0;
  for (size_t i = 0; i < c->tensor_count; i++) {
    const vaecl_ckpt_tensor *t = &c->tensors[i];
    const size_t len = strnlen(t->name, VAECL_CKPT_NAME_MAX);
    if (len == 0 || len == VAECL_CKPT_NAME_MAX)
      return vaecl_fail("%s: tensor %zu: name must be 1..%d characters", path, i,
                        VAECL_CKPT_NAME_MAX - 1);
    if (strcmp(t->name, META) == 0)
      return vaecl_fail("%s: tensor %zu: the name %s is reserved by safetensors", path, i, META);
    if (check_shape(path, t))
      return -1;
    if (t->count == 0 || !t->data || t->count > SIZE_MAX / 4)
      return vaecl_fail("%s: tensor %s: needs data and a count of at least 1", path, t->name);
    if ((uint64_t)t->count > (UINT64_MAX - total) / 4 || total + 4 * (uint64_t)t->count > LLONG_MAX)
      return vaecl_fail("%s: tensor %s: the tensors are too large for one file", path, t->name);
    total += 4 * (uint64_t)t->count;
    for (size_t j = 0; j < i; j++)
      if (strcmp(c->tensors[j].name, t->name) == 0)
        return vaecl_fail("%s: tensor name %s appears twice", path, t->name);
  }
  return 0;
}

/* Format 3's checksum covers everything a reader uses, independent of how the JSON is
 * formatted: the metadata keys vaecl reads, in byte order, as "key\0value\0" (other keys,
 * which safetensors tools may add, are ignored on load and not covered), then each tensor
 * in data order as "name\0F32\0d0,d1,...\0", then the data bytes. Offsets are implied:
 * the reader checks that the tensors tile the data in that order. */
static const char *const covered_keys[] = {"adam_steps", "batch",          "epochs_done",
                                           "format",     "format_version", "model",
                                           "seed",       "validation"}; /* sorted */

static uLong crc_string(uLong crc, const char *s) {
  return crc_update(crc, s, strlen(s) + 1); /* with its NUL, so "ab","c" != "a","bc" */
}

/* The covered keys that meta has (a missing one is refused by the parser anyway). */
static uLong crc_metadata(json_t *meta, uLong crc) {
  for (size_t i = 0; i < sizeof covered_keys / sizeof *covered_keys; i++) {
    const char *value = json_string_value(json_object_get(meta, covered_keys[i]));
    if (value) {
      crc = crc_string(crc, covered_keys[i]);
      crc = crc_string(crc, value);
    }
  }
  return crc;
}

static uLong crc_tensor_entry(uLong crc, const char *name, int rank, const uint64_t *shape) {
  char dims[VAECL_CKPT_MAX_RANK * 21 + 1] = "";
  size_t len = 0;
  for (int d = 0; d < rank; d++)
    len += (size_t)snprintf(dims + len, sizeof dims - len, d ? ",%" PRIu64 : "%" PRIu64, shape[d]);
  crc = crc_string(crc, name);
  crc = crc_string(crc, "F32");
  return crc_string(crc, dims);
}

static int crc_fn(void *ctx, const uint8_t *bytes, size_t n) {
  uLong *crc = ctx;
  *crc = crc_update(*crc, bytes, n);
  return 0;
}

/* The checksum of metadata m and c's tensors. */
static uint32_t checksum(json_t *m, const vaecl_checkpoint *c) {
  uLong crc = crc_metadata(m, crc32(0L, Z_NULL, 0));
  for (size_t i = 0; i < c->tensor_count; i++) {
    uint64_t shape[VAECL_CKPT_MAX_RANK];
    for (int d = 0; d < c->tensors[i].rank; d++)
      shape[d] = c->tensors[i].shape[d];
    crc = crc_tensor_entry(crc, c->tensors[i].name, c->tensors[i].rank, shape);
  }
  for (size_t i = 0; i < c->tensor_count; i++)
    (void)for_each_le_chunk(c->tensors[i].data, c->tensors[i].count, crc_fn, &crc);
  return (uint32_t)crc;
}

/* Sets key to a new JSON value; -1 (value freed) when either is NULL or on failure. */
static int set(json_t *obj, const char *key, json_t *value) {
  return value ? json_object_set_new(obj, key, value) : -1;
}

static json_t *build_metadata(const vaecl_checkpoint *c) {
  char seed[24], epochs[16], steps[24], batch[16], version[16], crc[16];
  snprintf(seed, sizeof seed, "%" PRIu64, c->seed);
  snprintf(epochs, sizeof epochs, "%" PRIu32, c->epochs_done);
  snprintf(steps, sizeof steps, "%" PRIu64, c->adam_steps);
  snprintf(batch, sizeof batch, "%" PRIu32, c->batch);
  snprintf(version, sizeof version, "%u", VAECL_CHECKPOINT_VERSION);
  json_t *m = json_object();
  if (!m || set(m, "format", json_string(FORMAT_NAME)) ||
      set(m, "format_version", json_string(version)) ||
      set(m, "model", json_string(c->model_text)) || set(m, "seed", json_string(seed)) ||
      set(m, "epochs_done", json_string(epochs)) || set(m, "adam_steps", json_string(steps)) ||
      set(m, "batch", json_string(batch)) ||
      (c->validation && set(m, "validation", json_string(c->validation)))) {
    json_decref(m);
    return NULL;
  }
  snprintf(crc, sizeof crc, "%08" PRIx32, checksum(m, c));
  if (set(m, "checksum", json_string(crc))) {
    json_decref(m);
    return NULL;
  }
  return m;
}

static json_t *build_tensor(const vaecl_ckpt_tensor *t, uint64_t begin) {
  json_t *o = json_object(), *shape = json_array(), *offsets = json_array();
  int bad = !o || !shape || !offsets;
  for (int d = 0; d < t->rank && !bad; d++)
    bad = json_array_append_new(shape, json_integer((json_int_t)t->shape[d])) != 0;
  if (!bad)
    bad = json_array_append_new(offsets, json_integer((json_int_t)begin)) ||
          json_array_append_new(offsets, json_integer((json_int_t)(begin + 4 * t->count)));
  if (!bad) {
    bad = set(o, "dtype", json_string("F32")) || json_object_set(o, "shape", shape) ||
          json_object_set(o, "data_offsets", offsets);
  }
  json_decref(shape);
  json_decref(offsets);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

int vaecl_safetensors_encode_header(const char *path, const vaecl_checkpoint *c, uint8_t **out,
                                    size_t *size) {
  json_t *root = json_object();
  if (!root)
    return vaecl_fail("%s: out of memory for the checkpoint header", path);
  /* jansson keeps insertion order: metadata first, then the tensors in order. */
  if (set(root, META, build_metadata(c))) {
    json_decref(root);
    return vaecl_fail("%s: cannot encode the metadata: the model text is not valid UTF-8 (or out "
                      "of memory)",
                      path);
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < c->tensor_count; i++) {
    const vaecl_ckpt_tensor *t = &c->tensors[i];
    if (set(root, t->name, build_tensor(t, offset))) {
      json_decref(root);
      return vaecl_fail("%s: cannot encode tensor %zu: its name is not valid UTF-8 (or out of "
                        "memory)",
                        path, i);
    }
    offset += 4 * (uint64_t)t->count;
  }
  char *json = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  if (!json)
    return vaecl_fail("%s: out of memory encoding the checkpoint header", path);
  const size_t len = strlen(json);
  const size_t padded = (len + 7) / 8 * 8; /* 8 + padded is a multiple of 8 */
  uint8_t *b = padded <= SIZE_MAX - 8 ? malloc(8 + padded) : NULL;
  if (!b) {
    free(json);
    return vaecl_fail("%s: out of memory for a %zu-byte checkpoint header", path, len);
  }
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)((uint64_t)padded >> (8 * i));
  memcpy(b + 8, json, len);
  memset(b + 8 + len, ' ', padded - len);
  free(json);
  *out = b;
  *size = 8 + padded;
  return 0;
}

static int write_fn(void *ctx, const uint8_t *bytes, size_t n) {
  errno = 0;
  if (fwrite(bytes, 1, n, (FILE *)ctx) != n)
    return errno ? errno : EIO;
  return 0;
}

int vaecl_safetensors_write_data(FILE *f, const vaecl_checkpoint *c) {
  for (size_t i = 0; i < c->tensor_count; i++) {
    const int err = for_each_le_chunk(c->tensors[i].data, c->tensors[i].count, write_fn, f);
    if (err)
      return err;
  }
  return 0;
}

/* ---- loading ---- */

int vaecl_ckpt_read_exact(const char *path, int fd, void *buf, size_t n, const char *what) {
  uint8_t *p = buf;
  size_t got = 0;
  while (got < n) {
    const size_t want = n - got < (1u << 30) ? n - got : (1u << 30);
    const ssize_t r = read(fd, p + got, want);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return vaecl_fail("%s: read error in %s: %s", path, what, strerror(errno));
    }
    if (r == 0)
      return vaecl_fail("%s: truncated: the file ended while reading %s (it shrank while being "
                        "read?)",
                        path, what);
    got += (size_t)r;
  }
  return 0;
}

/* A metadata value as a string, or NULL with a message. */
static const char *meta_string(const char *path, json_t *meta, const char *key) {
  json_t *v = json_object_get(meta, key);
  if (!v) {
    vaecl_fail("%s: corrupt header: the metadata lacks \"%s\"", path, key);
    return NULL;
  }
  return json_string_value(v); /* all values were checked to be strings */
}

/* A decimal metadata value: digits only, at most max. */
static int meta_number(const char *path, json_t *meta, const char *key, uint64_t max,
                       uint64_t *out) {
  const char *s = meta_string(path, meta, key);
  if (!s)
    return -1;
  uint64_t v = 0;
  size_t i = 0;
  for (; s[i]; i++) {
    const unsigned digit = (unsigned)(unsigned char)s[i] - '0';
    if (digit > 9 || v > (max - digit) / 10)
      break;
    v = v * 10 + digit;
  }
  if (i == 0 || s[i] || (i > 1 && s[0] == '0'))
    return vaecl_fail("%s: corrupt header: metadata %s \"%.40s\" is not a decimal number in "
                      "0..%" PRIu64,
                      path, key, s, max);
  *out = v;
  return 0;
}

/* What the header says about one tensor, before it is accepted. */
typedef struct {
  const char *name; /* in the JSON */
  int rank;
  uint64_t shape[VAECL_CKPT_MAX_RANK];
  uint64_t count, begin, end;
} st_entry;

static int nonneg_int(json_t *v, uint64_t *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return -1;
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static int parse_entry(const char *path, const char *name, json_t *v, st_entry *e) {
  memset(e, 0, sizeof *e);
  e->name = name;
  const size_t len = strlen(name);
  if (len == 0)
    return vaecl_fail("%s: corrupt header: a tensor has an empty name", path);
  if (len >= VAECL_CKPT_NAME_MAX)
    return vaecl_fail("%s: corrupt header: tensor name \"%.40s...\" is %zu bytes, longer than %d",
                      path, name, len, VAECL_CKPT_NAME_MAX - 1);
  if (!json_is_object(v))
    return vaecl_fail("%s: corrupt header: tensor %s is not a JSON object", path, name);
  const char *key;
  json_t *field;
  json_object_foreach(v, key, field) {
    if (strcmp(key, "dtype") != 0 && strcmp(key, "shape") != 0 && strcmp(key, "data_offsets") != 0)
      return vaecl_fail("%s: corrupt header: tensor %s has an unknown field \"%.40s\"", path, name,
                        key);
  }
  json_t *dtype = json_object_get(v, "dtype");
  if (!json_is_string(dtype))
    return vaecl_fail("%s: corrupt header: tensor %s has no dtype string", path, name);
  if (strcmp(json_string_value(dtype), "F32") != 0)
    return vaecl_fail("%s: tensor %s has dtype %.20s; vaecl checkpoints hold only F32", path, name,
                      json_string_value(dtype));
  json_t *shape = json_object_get(v, "shape");
  if (!json_is_array(shape))
    return vaecl_fail("%s: corrupt header: tensor %s has no shape array", path, name);
  if (json_array_size(shape) > VAECL_CKPT_MAX_RANK)
    return vaecl_fail("%s: tensor %s has rank %zu; vaecl checkpoints allow at most %d", path, name,
                      json_array_size(shape), VAECL_CKPT_MAX_RANK);
  e->rank = (int)json_array_size(shape);
  e->count = 1;
  for (int d = 0; d < e->rank; d++) {
    if (nonneg_int(json_array_get(shape, (size_t)d), &e->shape[d]))
      return vaecl_fail("%s: corrupt header: tensor %s: shape must hold non-negative integers",
                        path, name);
    if (e->shape[d] != 0 && e->count > UINT64_MAX / e->shape[d])
      return vaecl_fail("%s: corrupt header: tensor %s: shape is absurdly large", path, name);
    e->count *= e->shape[d];
  }
  if (e->count == 0)
    return vaecl_fail("%s: corrupt header: tensor %s has no elements", path, name);
  json_t *off = json_object_get(v, "data_offsets");
  if (!json_is_array(off) || json_array_size(off) != 2 ||
      nonneg_int(json_array_get(off, 0), &e->begin) || nonneg_int(json_array_get(off, 1), &e->end))
    return vaecl_fail("%s: corrupt header: tensor %s: data_offsets must be [begin, end], two "
                      "non-negative integers",
                      path, name);
  if (e->end < e->begin)
    return vaecl_fail("%s: corrupt header: tensor %s: data_offsets [%" PRIu64 ", %" PRIu64
                      "] end before they begin",
                      path, name, e->begin, e->end);
  if (e->count > UINT64_MAX / 4 || e->end - e->begin != 4 * e->count)
    return vaecl_fail("%s: corrupt header: tensor %s: its shape holds %" PRIu64
                      " floats but data_offsets [%" PRIu64 ", %" PRIu64 "] span %" PRIu64 " bytes",
                      path, name, e->count, e->begin, e->end, e->end - e->begin);
  if (e->count > SIZE_MAX / 4)
    return vaecl_fail("%s: corrupt header: tensor %s is absurdly large", path, name);
  return 0;
}

static int by_begin(const void *a, const void *b) {
  const st_entry *x = a, *y = b;
  return (x->begin > y->begin) - (x->begin < y->begin);
}

/* The metadata: a vaecl checkpoint of a version this reader knows, all fields valid. */
static int parse_metadata(const char *path, json_t *root, vaecl_checkpoint *out,
                          uint32_t *stored_crc) {
  json_t *meta = json_object_get(root, META);
  if (!meta)
    return vaecl_fail("%s: a safetensors file but not a vaecl checkpoint (no %s)", path, META);
  if (!json_is_object(meta))
    return vaecl_fail("%s: corrupt header: %s is not a JSON object", path, META);
  const char *key;
  json_t *v;
  json_object_foreach(meta, key, v) {
    if (!json_is_string(v)) /* safetensors requires string -> string */
      return vaecl_fail("%s: corrupt header: metadata \"%.40s\" is not a string", path, key);
  }
  json_t *format = json_object_get(meta, "format");
  if (!format || strcmp(json_string_value(format), FORMAT_NAME) != 0)
    return vaecl_fail("%s: a safetensors file but not a vaecl checkpoint (its metadata has no "
                      "format \"%s\")",
                      path, FORMAT_NAME);
  uint64_t version, n;
  if (meta_number(path, meta, "format_version", UINT32_MAX, &version))
    return -1;
  if (version > VAECL_CHECKPOINT_VERSION)
    return vaecl_fail("%s: format version %" PRIu64 " was written by a newer vaecl (this one "
                      "reads up to %u); upgrade vaecl",
                      path, version, VAECL_CHECKPOINT_VERSION);
  if (version < 2)
    return vaecl_fail("%s: corrupt header: format version %" PRIu64 " is not safetensors", path,
                      version);
  out->format_version = (uint32_t)version;
  if (meta_number(path, meta, "seed", UINT64_MAX, &out->seed) ||
      meta_number(path, meta, "adam_steps", UINT64_MAX, &out->adam_steps) ||
      meta_number(path, meta, "epochs_done", UINT32_MAX, &n))
    return -1;
  out->epochs_done = (uint32_t)n;
  if (meta_number(path, meta, "batch", UINT32_MAX, &n))
    return -1;
  out->batch = (uint32_t)n;
  const char *crc = meta_string(path, meta, "checksum");
  if (!crc)
    return -1;
  uint32_t stored = 0;
  size_t i = 0;
  for (; crc[i] && i < 8; i++) {
    const char ch = crc[i];
    const int digit = ch >= '0' && ch <= '9'   ? ch - '0'
                      : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                      : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                               : -1;
    if (digit < 0)
      break;
    stored = stored << 4 | (uint32_t)digit;
  }
  if (i != 8 || crc[i])
    return vaecl_fail("%s: corrupt header: metadata checksum \"%.40s\" is not 8 hex digits", path,
                      crc);
  *stored_crc = stored;
  const char *model = meta_string(path, meta, "model");
  if (!model)
    return -1;
  if (!model[0])
    return vaecl_fail("%s: corrupt header: the metadata's model text is empty", path);
  if (!(out->model_text = strdup(model)))
    return vaecl_fail("%s: out of memory for the model text", path);
  json_t *validation = json_object_get(meta, "validation"); /* optional */
  if (validation && !(out->validation = strdup(json_string_value(validation))))
    return vaecl_fail("%s: out of memory for the metadata", path);
  return 0;
}

/* The tensor table: entries sorted by offset, contiguous from 0; *data_bytes is their
 * total. */
static int parse_tensors(const char *path, json_t *root, st_entry **entries, size_t *count,
                         uint64_t *data_bytes) {
  const size_t n = json_object_size(root) - (json_object_get(root, META) ? 1 : 0);
  st_entry *e = calloc(n ? n : 1, sizeof *e);
  if (!e)
    return vaecl_fail("%s: out of memory for %zu tensor entries", path, n);
  size_t i = 0;
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (strcmp(key, META) == 0)
      continue;
    if (parse_entry(path, key, v, &e[i])) {
      free(e);
      return -1;
    }
    i++;
  }
  qsort(e, n, sizeof *e, by_begin);
  uint64_t end = 0;
  for (i = 0; i < n; i++) {
    if (e[i].begin < end) {
      const int rc = vaecl_fail("%s: corrupt header: tensors %s and %s overlap", path,
                                e[i - 1].name, e[i].name);
      free(e);
      return rc;
    }
    if (e[i].begin > end) {
      const int rc =
          i == 0
              ? vaecl_fail("%s: corrupt header: %" PRIu64 " unused bytes before tensor %s", path,
                           e[i].begin, e[i].name)
              : vaecl_fail("%s: corrupt header: %" PRIu64 " unused bytes between tensors %s and %s",
                           path, e[i].begin - end, e[i - 1].name, e[i].name);
      free(e);
      return rc;
    }
    end = e[i].end;
  }
  *entries = e;
  *count = n;
  *data_bytes = end;
  return 0;
}

/* The checksum over what precedes the data: format 3 covers the metadata and the tensor
 * table; format 2 (vaecl 0.2 before the header was covered) only the model text. */
static uLong header_crc(json_t *root, const st_entry *e, size_t n, const vaecl_checkpoint *out) {
  uLong crc = crc32(0L, Z_NULL, 0);
  if (out->format_version == 2)
    return crc_update(crc, out->model_text, strlen(out->model_text));
  crc = crc_metadata(json_object_get(root, META), crc);
  for (size_t i = 0; i < n; i++)
    crc = crc_tensor_entry(crc, e[i].name, e[i].rank, e[i].shape);
  return crc;
}

/* Reads the tensors' data in file order, checking the checksum that crc has begun. */
static int read_data(const char *path, int fd, const st_entry *e, vaecl_checkpoint *out, uLong crc,
                     uint32_t stored_crc) {
  for (size_t i = 0; i < out->tensor_count; i++) {
    vaecl_ckpt_tensor *t = &out->tensors[i];
    memcpy(t->name, e[i].name, strlen(e[i].name) + 1);
    t->rank = e[i].rank;
    for (int d = 0; d < t->rank; d++)
      t->shape[d] = (size_t)e[i].shape[d];
    t->count = (size_t)e[i].count;
    if (!(t->data = malloc(t->count * sizeof(float))))
      return vaecl_fail("%s: out of memory for tensor %s (%zu floats)", path, t->name, t->count);
    if (vaecl_ckpt_read_exact(path, fd, t->data, t->count * sizeof(float), t->name))
      return -1;
    crc = crc_update(crc, t->data, t->count * sizeof(float));
    if (!host_is_little_endian()) {
      uint8_t *b = (uint8_t *)t->data;
      for (size_t j = 0; j < t->count; j++, b += 4) {
        uint8_t x = b[0];
        b[0] = b[3];
        b[3] = x;
        x = b[1];
        b[1] = b[2];
        b[2] = x;
      }
    }
  }
  if (VAECL_CHECKSUMS_ENFORCED && (uint32_t)crc != stored_crc)
    return vaecl_fail("%s: corrupt: checksum mismatch (the header says %08" PRIx32
                      ", the header and data give %08" PRIx32 ")",
                      path, stored_crc, (uint32_t)crc);
  return 0;
}

static int read_header(const char *path, int fd, uint64_t file_size, uint64_t header_len,
                       json_t **root) {
  const uint64_t available = file_size - 8;
  if (header_len > VAECL_SAFETENSORS_HEADER_MAX)
    return vaecl_fail("%s: not a vaecl checkpoint (neither format 1 nor safetensors: header "
                      "length %" PRIu64 " is implausible)",
                      path, header_len);
  /* Bounded by the file's real size, so a crafted length cannot force a huge malloc. */
  const size_t n = (size_t)(header_len < available ? header_len : available);
  char *h = malloc(n ? n : 1);
  if (!h)
    return vaecl_fail("%s: out of memory for a %zu-byte header", path, n);
  if (vaecl_ckpt_read_exact(path, fd, h, n, "the header")) {
    free(h);
    return -1;
  }
  if (n == 0 || h[0] != '{') {
    free(h);
    return vaecl_fail("%s: not a vaecl checkpoint (neither format 1 nor safetensors)", path);
  }
  if (header_len > available) {
    free(h);
    return vaecl_fail("%s: truncated: %" PRIu64 " bytes, but its header alone needs %" PRIu64, path,
                      file_size, 8 + header_len);
  }
  if (header_len % 8 != 0) {
    free(h);
    return vaecl_fail("%s: corrupt header: its length %" PRIu64
                      " does not leave the data 8-byte aligned",
                      path, header_len);
  }
  json_error_t err;
  *root = json_loadb(h, n, JSON_REJECT_DUPLICATES, &err);
  free(h);
  if (!*root)
    return vaecl_fail("%s: corrupt header: JSON error at line %d, column %d: %s", path, err.line,
                      err.column, err.text);
  if (!json_is_object(*root)) {
    json_decref(*root);
    *root = NULL;
    return vaecl_fail("%s: corrupt header: not a JSON object", path);
  }
  return 0;
}

int vaecl_safetensors_read(const char *path, int fd, uint64_t file_size, const uint8_t prefix[8],
                           vaecl_checkpoint *out) {
  memset(out, 0, sizeof *out);
  const uint64_t header_len = get_u64(prefix);
  json_t *root = NULL;
  if (read_header(path, fd, file_size, header_len, &root))
    return -1;
  uint32_t stored_crc = 0;
  st_entry *e = NULL;
  size_t n = 0;
  uint64_t data_bytes = 0;
  int rc = parse_metadata(path, root, out, &stored_crc);
  if (rc == 0)
    rc = parse_tensors(path, root, &e, &n, &data_bytes);
  if (rc == 0) {
    const uint64_t have = file_size - 8 - header_len;
    if (data_bytes > have)
      rc = vaecl_fail("%s: truncated: %" PRIu64 " bytes, but its header describes %" PRIu64, path,
                      file_size, file_size - have + data_bytes);
    else if (data_bytes < have)
      rc = vaecl_fail("%s: corrupt: %" PRIu64 " bytes after the last tensor", path,
                      have - data_bytes);
  }
  if (rc == 0 && n > 0 && !(out->tensors = calloc(n, sizeof *out->tensors)))
    rc = vaecl_fail("%s: out of memory for %zu tensors", path, n);
  if (rc == 0) {
    out->tensor_count = n;
    rc = read_data(path, fd, e, out, header_crc(root, e, n, out),
                   stored_crc); /* names point into root: free it after */
  }
  free(e);
  json_decref(root);
  if (rc)
    vaecl_checkpoint_free(out);
  return rc;
}
