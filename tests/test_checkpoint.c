/* Checkpoints: exact safetensors round trips, every damaged file refused with its name,
 * and format-1 (vaecl 0.1) files still loading. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "io/checkpoint_v1.h"
#include "testutil.h"
#include <vaecl.h>
#include <vaecl/checkpoint.h>

static char *dir;
static char file[4096];
static float w1[6], w2[1000], m1[6], s1[1];

static char long_name[VAECL_CKPT_NAME_MAX]; /* 63 characters */

static const char model_text[] = "# a model\nvaecl-model 1\ninput 8 8 1\n\"quoted\" \\ tab\t é\n";

#define ck_assert_error_has(text)                                                                  \
  ck_assert_msg(strstr(vaecl_last_error(), (text)) != NULL, "error \"%s\" lacks \"%s\"",           \
                vaecl_last_error(), (text))

static void setup(void) {
  dir = test_make_temp_dir("ckpt");
  ck_assert_ptr_nonnull(dir);
  snprintf(file, sizeof file, "%s/model.ckpt", dir);
  memset(long_name, 'x', VAECL_CKPT_NAME_MAX - 1);
  memcpy(long_name, "adam.m.", 7);
  long_name[VAECL_CKPT_NAME_MAX - 1] = '\0';
}

static void teardown(void) {
  test_remove_tree(dir);
  free(dir);
  dir = NULL;
}

/* Tensors with awkward values (NaN payload, -0, denormal, inf) and every rank 0..4. */
static vaecl_ckpt_tensor tensors[4];

static vaecl_checkpoint sample(void) {
  vaecl_checkpoint c;
  memset(&c, 0, sizeof c);
  c.model_text = (char *)model_text;
  c.seed = 0x0123456789abcdefull;
  c.epochs_done = 7;
  c.adam_steps = 5000000000ull; /* needs more than 32 bits */
  c.batch = 64;
  test_rng r = test_rng_new(42);
  for (size_t i = 0; i < 1000; i++)
    w2[i] = (float)test_rng_uniform(&r, -3, 3);
  const uint32_t nan_bits = 0x7fc12345u;
  memcpy(&w1[0], &nan_bits, sizeof nan_bits);
  w1[1] = -0.0f;
  w1[2] = 1e-45f;
  w1[3] = INFINITY;
  w1[4] = -1.5f;
  w1[5] = 3.4e38f;
  for (size_t i = 0; i < 6; i++)
    m1[i] = (float)i * 0.25f;
  const uint32_t snan_bits = 0xff800001u; /* a negative signalling NaN */
  memcpy(&s1[0], &snan_bits, sizeof snan_bits);
  memset(tensors, 0, sizeof tensors);
  vaecl_ckpt_tensor *t = tensors;
  snprintf(t[0].name, sizeof t[0].name, "enc.conv1.w");
  t[0].rank = 4;
  t[0].shape[0] = 1;
  t[0].shape[1] = 1;
  t[0].shape[2] = 2;
  t[0].shape[3] = 3;
  t[0].count = 6;
  t[0].data = w1;
  snprintf(t[1].name, sizeof t[1].name, "dec.dense1.b");
  t[1].rank = 1;
  t[1].shape[0] = 1000;
  t[1].count = 1000;
  t[1].data = w2;
  memcpy(t[2].name, long_name, sizeof long_name);
  t[2].rank = 2;
  t[2].shape[0] = 2;
  t[2].shape[1] = 3;
  t[2].count = 6;
  t[2].data = m1;
  snprintf(t[3].name, sizeof t[3].name, "out.log_var");
  t[3].rank = 0; /* a scalar */
  t[3].count = 1;
  t[3].data = s1;
  c.tensors = t;
  c.tensor_count = 4;
  return c;
}

static void save_sample(void) {
  vaecl_checkpoint c = sample();
  ck_assert_msg(vaecl_checkpoint_save(file, &c) == 0, "%s", vaecl_last_error());
}

static uint8_t *slurp(const char *p, size_t *n) {
  FILE *f = fopen(p, "rb");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  const long len = ftell(f);
  ck_assert_int_ge(len, 0);
  rewind(f);
  uint8_t *b = malloc((size_t)len + 1);
  ck_assert_ptr_nonnull(b);
  ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return b;
}

static void spit(const char *p, const void *b, size_t n) {
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) {
  return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void set_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void expect_load_error(const char *problem) {
  vaecl_checkpoint c;
  ck_assert_int_eq(vaecl_checkpoint_load(file, &c), -1);
  ck_assert_uint_eq(c.tensor_count, 0);
  ck_assert_ptr_null(c.tensors);
  ck_assert_ptr_null(c.model_text);
  ck_assert_error_has(file);
  ck_assert_error_has(problem);
}

/* ---- safetensors files edited through their JSON header ---- */

/* The sample's header JSON (padding included) and data, split. */
typedef struct {
  char *json;
  uint8_t *data;
  size_t data_bytes;
} split_file;

static split_file split_sample(void) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  const uint64_t hl = le64(b);
  ck_assert_uint_le(8 + hl, n);
  split_file s = {malloc(hl + 1), malloc(n - 8 - hl + 1), n - 8 - hl};
  ck_assert_ptr_nonnull(s.json);
  ck_assert_ptr_nonnull(s.data);
  memcpy(s.json, b + 8, hl);
  s.json[hl] = '\0';
  memcpy(s.data, b + 8 + hl, s.data_bytes);
  free(b);
  return s;
}

static void free_split(split_file *s) {
  free(s->json);
  free(s->data);
}

/* Writes a file with this JSON header (padded to 8 bytes unless pad is 0) and data. */
static void write_with_header(const char *json, const uint8_t *data, size_t data_bytes, int pad) {
  size_t len = strlen(json);
  while (len > 0 && json[len - 1] == ' ')
    len--;
  const size_t padded = pad ? (len + 7) / 8 * 8 : len;
  uint8_t *b = malloc(8 + padded + data_bytes + 1);
  ck_assert_ptr_nonnull(b);
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)((uint64_t)padded >> (8 * i));
  memcpy(b + 8, json, len);
  memset(b + 8 + len, ' ', padded - len);
  if (data_bytes)
    memcpy(b + 8 + padded, data, data_bytes);
  spit(file, b, 8 + padded + data_bytes);
  free(b);
}

/* The sample with the first `from` in its header replaced by `to`. */
static void save_edited(const char *from, const char *to) {
  split_file s = split_sample();
  char *at = strstr(s.json, from);
  ck_assert_msg(at != NULL, "header lacks %s", from);
  const size_t len = strlen(s.json), fl = strlen(from), tl = strlen(to);
  char *edited = malloc(len - fl + tl + 1);
  ck_assert_ptr_nonnull(edited);
  memcpy(edited, s.json, (size_t)(at - s.json));
  memcpy(edited + (at - s.json), to, tl);
  strcpy(edited + (at - s.json) + tl, at + fl);
  write_with_header(edited, s.data, s.data_bytes, 1);
  free(edited);
  free_split(&s);
}

static void expect_edit_error(const char *from, const char *to, const char *problem) {
  save_edited(from, to);
  expect_load_error(problem);
}

/* ---- round trips and layout ---- */

START_TEST(round_trip) {
  save_sample();
  const vaecl_checkpoint want = sample();
  vaecl_checkpoint got;
  ck_assert_msg(vaecl_checkpoint_load(file, &got) == 0, "%s", vaecl_last_error());
  ck_assert_str_eq(got.model_text, model_text);
  ck_assert_uint_eq(got.seed, want.seed);
  ck_assert_uint_eq(got.epochs_done, 7);
  ck_assert_uint_eq(got.adam_steps, 5000000000ull);
  ck_assert_uint_eq(got.batch, 64);
  ck_assert_uint_eq(got.format_version, 3);
  ck_assert_uint_eq(got.tensor_count, 4);
  for (size_t i = 0; i < 4; i++) {
    const vaecl_ckpt_tensor *g = &got.tensors[i], *w = &want.tensors[i];
    ck_assert_str_eq(g->name, w->name);
    ck_assert_int_eq(g->rank, w->rank);
    for (int d = 0; d < w->rank; d++)
      ck_assert_uint_eq(g->shape[d], w->shape[d]);
    ck_assert_uint_eq(g->count, w->count);
    ck_assert_mem_eq(g->data, w->data, w->count * 4); /* bits: NaN payloads, -0 */
  }
  ck_assert_ptr_eq(vaecl_checkpoint_find(&got, "dec.dense1.b"), &got.tensors[1]);
  ck_assert_ptr_eq(vaecl_checkpoint_find(&got, long_name), &got.tensors[2]);
  ck_assert_ptr_null(vaecl_checkpoint_find(&got, "dec.dense1"));
  ck_assert_ptr_null(vaecl_checkpoint_find(&got, "nope"));
  vaecl_checkpoint_free(&got);
  ck_assert_uint_eq(got.tensor_count, 0);
  ck_assert_ptr_null(got.tensors);
}
END_TEST

START_TEST(metadata_extremes_round_trip) {
  vaecl_checkpoint c = sample();
  c.seed = UINT64_MAX;
  c.adam_steps = 0;
  c.epochs_done = UINT32_MAX;
  c.batch = 0;
  c.tensor_count = 0; /* no tensors at all is a valid (if useless) checkpoint */
  ck_assert_msg(vaecl_checkpoint_save(file, &c) == 0, "%s", vaecl_last_error());
  vaecl_checkpoint got;
  ck_assert_msg(vaecl_checkpoint_load(file, &got) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(got.seed, UINT64_MAX);
  ck_assert_uint_eq(got.adam_steps, 0);
  ck_assert_uint_eq(got.epochs_done, UINT32_MAX);
  ck_assert_uint_eq(got.batch, 0);
  ck_assert_uint_eq(got.tensor_count, 0);
  ck_assert_str_eq(got.model_text, model_text);
  vaecl_checkpoint_free(&got);
}
END_TEST

/* The layout in checkpoint.h, checked byte by byte so format drift is caught. */
START_TEST(layout_is_as_documented) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  const uint64_t hl = le64(b);
  ck_assert_uint_eq((8 + hl) % 8, 0);
  ck_assert_uint_eq(n, 8 + hl + (6 + 1000 + 6 + 1) * 4);
  char *json = malloc(hl + 1);
  ck_assert_ptr_nonnull(json);
  memcpy(json, b + 8, hl);
  json[hl] = '\0';
  const char *want_start = "{\"__metadata__\":{\"format\":\"vaecl-checkpoint\",\"format_version\":"
                           "\"3\",\"model\":\"# a model\\nvaecl-model 1\\ninput 8 8 1\\n\\\"quoted"
                           "\\\" \\\\ tab\\t é\\n\",\"seed\":\"81985529216486895\",\"epochs_done\":"
                           "\"7\",\"adam_steps\":\"5000000000\",\"batch\":\"64\",\"checksum\":\"";
  ck_assert_msg(strncmp(json, want_start, strlen(want_start)) == 0, "header is %s", json);
  char want_tensors[512];
  snprintf(want_tensors, sizeof want_tensors,
           "\"},\"enc.conv1.w\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]},"
           "\"dec.dense1.b\":{\"dtype\":\"F32\",\"shape\":[1000],\"data_offsets\":[24,4024]},"
           "\"%s\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4024,4048]},"
           "\"out.log_var\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4048,4052]}}",
           long_name);
  const char *rest = json + strlen(want_start) + 8; /* after the checksum's 8 hex digits */
  ck_assert_msg(strncmp(rest, want_tensors, strlen(want_tensors)) == 0, "header is %s", json);
  for (const char *p = rest + strlen(want_tensors); *p; p++)
    ck_assert_int_eq(*p, ' '); /* padding */
  ck_assert_uint_lt(strlen(rest + strlen(want_tensors)), 8);
  /* The checksum (format 3): the other metadata in key order, the tensor table in data
   * order, then the data bytes; each string with its NUL. */
  const char *parts[] = {"adam_steps",
                         "5000000000",
                         "batch",
                         "64",
                         "epochs_done",
                         "7",
                         "format",
                         "vaecl-checkpoint",
                         "format_version",
                         "3",
                         "model",
                         model_text,
                         "seed",
                         "81985529216486895",
                         "enc.conv1.w",
                         "F32",
                         "1,1,2,3",
                         "dec.dense1.b",
                         "F32",
                         "1000",
                         long_name,
                         "F32",
                         "2,3",
                         "out.log_var",
                         "F32",
                         ""};
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
    crc = crc32(crc, (const Bytef *)parts[i], (uInt)strlen(parts[i]) + 1);
  crc = crc32(crc, b + 8 + hl, (uInt)(n - 8 - hl));
  char hex[9];
  snprintf(hex, sizeof hex, "%08" PRIx32, (uint32_t)crc);
  ck_assert_mem_eq(json + strlen(want_start), hex, 8);
  ck_assert_uint_eq(le32(b + 8 + hl), 0x7fc12345u);     /* first float: the NaN */
  ck_assert_uint_eq(le32(b + 8 + hl + 4), 0x80000000u); /* -0 */
  ck_assert_uint_eq(le32(b + n - 4), 0xff800001u);      /* the scalar, last */
  free(json);
  free(b);
}
END_TEST

/* ---- saving ---- */

START_TEST(save_refuses_bad_input) {
  vaecl_checkpoint c = sample();
  snprintf(tensors[2].name, sizeof tensors[2].name, "enc.conv1.w");
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has(file);
  ck_assert_error_has("tensor name enc.conv1.w appears twice");
  c = sample();
  memset(tensors[0].name, 'a', sizeof tensors[0].name); /* no terminator */
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("tensor 0: name must be 1..63 characters");
  c = sample();
  tensors[0].name[0] = '\0';
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("tensor 0: name must be 1..63 characters");
  c = sample();
  snprintf(tensors[3].name, sizeof tensors[3].name, "__metadata__");
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("reserved");
  c = sample();
  tensors[1].rank = 5;
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("tensor dec.dense1.b: rank 5 is outside 0..4");
  c = sample();
  tensors[0].shape[3] = 4;
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("tensor enc.conv1.w: count 6 is not the product of its shape (8)");
  c = sample();
  tensors[1].data = NULL;
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("tensor dec.dense1.b: needs data");
  c = sample();
  c.model_text = NULL;
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("without model text");
  c = sample();
  char bad_utf8[] = "input 8 8 1 \xff\n";
  c.model_text = bad_utf8;
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("not valid UTF-8");
  c = sample();
  snprintf(tensors[3].name, sizeof tensors[3].name, "bad\xc3");
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("tensor 3: its name is not valid UTF-8");
  FILE *f = fopen(file, "rb");
  ck_assert_ptr_null(f); /* nothing was written */
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  for (struct dirent *e; (e = readdir(d));)
    ck_assert_msg(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0, "left %s",
                  e->d_name);
  closedir(d);
}
END_TEST

static int count_entries(const char *only_allowed_a, const char *only_allowed_b) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int entries = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    entries++;
    ck_assert_msg(strcmp(e->d_name, only_allowed_a) == 0 || strcmp(e->d_name, only_allowed_b) == 0,
                  "unexpected file %s left behind", e->d_name);
  }
  closedir(d);
  return entries;
}

/* Only the checkpoint remains after saves: the temporary file is renamed or removed. */
START_TEST(atomic_save_leaves_no_tmp) {
  save_sample();
  save_sample(); /* overwrite */
  vaecl_checkpoint c = sample();
  char bad[4200];
  snprintf(bad, sizeof bad, "%s/no-such-dir/model.ckpt", dir);
  ck_assert_int_eq(vaecl_checkpoint_save(bad, &c), -1);
  ck_assert_error_has("no-such-dir/model.ckpt");
  ck_assert_error_has("No such file or directory");
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/adir", dir);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  ck_assert_int_eq(vaecl_checkpoint_save(sub, &c), -1);
  ck_assert_error_has(sub);
  ck_assert_error_has("cannot write a checkpoint there: it is a directory");
  ck_assert_int_eq(count_entries("model.ckpt", "adir"), 2);
  /* A read-only directory: the temporary file cannot be created (skipped as root, who
   * may write anywhere). */
  if (geteuid() != 0) {
    ck_assert_int_eq(chmod(sub, 0500), 0);
    char in_ro[4300];
    snprintf(in_ro, sizeof in_ro, "%s/model.ckpt", sub);
    ck_assert_int_eq(vaecl_checkpoint_save(in_ro, &c), -1);
    ck_assert_error_has("cannot create temporary file");
    ck_assert_int_eq(chmod(sub, 0700), 0);
  }
}
END_TEST

/* kill -9 between writing and renaming leaves model.ckpt.tmp.PID behind; the next
 * save removes those of processes that are gone, and only those. */
START_TEST(stale_temporaries_are_removed) {
  const pid_t child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0)
    _exit(0);
  ck_assert_int_eq(waitpid(child, NULL, 0), child); /* reaped: the PID names no process */
  char dead[4200], live[4200], other[4200], name_live[64];
  snprintf(dead, sizeof dead, "%s.tmp.%ld", file, (long)child);
  snprintf(live, sizeof live, "%s.tmp.%ld", file, (long)getppid());
  snprintf(other, sizeof other, "%s/other.ckpt.tmp.%ld", dir, (long)child);
  snprintf(name_live, sizeof name_live, "model.ckpt.tmp.%ld", (long)getppid());
  const char *made[] = {dead, live, other};
  for (int i = 0; i < 3; i++) {
    FILE *f = fopen(made[i], "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs("half a checkpoint", f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
  }
  save_sample();
  ck_assert_int_ne(access(dead, F_OK), 0);
  ck_assert_int_eq(access(live, F_OK), 0);  /* a running writer's file stays */
  ck_assert_int_eq(access(other, F_OK), 0); /* another checkpoint's temporaries are not ours */
  ck_assert_int_eq(remove(other), 0);
  ck_assert_int_eq(count_entries("model.ckpt", name_live), 2);
}
END_TEST

START_TEST(check_writable_refuses_bad_paths) {
  ck_assert_msg(vaecl_checkpoint_check_writable(file) == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(count_entries("", ""), 0); /* its probe is gone */
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/adir", dir);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  ck_assert_int_eq(vaecl_checkpoint_check_writable(sub), -1);
  ck_assert_error_has(sub);
  ck_assert_error_has("cannot write a checkpoint there: it is a directory");
  ck_assert_ptr_null(strstr(vaecl_last_error(), "--")); /* no CLI flags in the library */
  char slash[4200];
  snprintf(slash, sizeof slash, "%s/new/", dir);
  ck_assert_int_eq(vaecl_checkpoint_check_writable(slash), -1);
  ck_assert_error_has(slash);
  ck_assert_error_has("it names a directory");
  ck_assert_int_eq(vaecl_checkpoint_check_writable(""), -1);
  ck_assert_error_has("empty path");
  ck_assert_int_eq(vaecl_checkpoint_save("", NULL), -1);
  ck_assert_error_has("empty path");
  char missing[4200];
  snprintf(missing, sizeof missing, "%s/no-such-dir/x.ckpt", dir);
  ck_assert_int_eq(vaecl_checkpoint_check_writable(missing), -1);
  ck_assert_error_has(missing);
  ck_assert_error_has("cannot write a checkpoint there");
  ck_assert_error_has("No such file or directory");
  ck_assert_ptr_null(strstr(vaecl_last_error(), "--"));
  ck_assert_int_eq(count_entries("adir", "adir"), 1);
}
END_TEST

/* ---- refusing what is not a regular file ---- */

START_TEST(missing_file_is_named) {
  expect_load_error("cannot open checkpoint: No such file or directory");
}
END_TEST

START_TEST(fifo_refused_without_blocking) {
  ck_assert_int_eq(mkfifo(file, 0600), 0);
  alarm(20); /* a blocking open would hang here: fail loudly instead */
  expect_load_error("not a regular file (a FIFO)");
  alarm(0);
  ck_assert_int_eq(unlink(file), 0);
  ck_assert_int_eq(mkdir(file, 0700), 0);
  expect_load_error("not a regular file (a directory)");
}
END_TEST

/* ---- damaged safetensors files ---- */

START_TEST(flipped_byte_is_checksum_error) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  b[n - 2000] ^= 0x10; /* inside the tensor data */
  spit(file, b, n);
  expect_load_error("corrupt: checksum mismatch");
  free(b);
  expect_edit_error("input 8 8 1", "input 8 8 2", "corrupt: checksum mismatch"); /* model text */
  split_file s = split_sample();
  char *crc = strstr(s.json, "\"checksum\":\"") + strlen("\"checksum\":\"");
  crc[0] = crc[0] == '0' ? '1' : '0';
  write_with_header(s.json, s.data, s.data_bytes, 1);
  expect_load_error("corrupt: checksum mismatch (the header says");
  free_split(&s);
  /* The training position and the tensor table are covered too. */
  expect_edit_error("\"epochs_done\":\"7\"", "\"epochs_done\":\"8\"", "checksum mismatch");
  expect_edit_error("\"seed\":\"8", "\"seed\":\"9", "checksum mismatch");
  expect_edit_error("\"shape\":[1,1,2,3]", "\"shape\":[1,1,3,2]", "checksum mismatch");
}
END_TEST

/* Format 2 (0.2 development builds) checked the model text and the data only. */
START_TEST(format2_still_loads) {
  split_file s = split_sample();
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, (const Bytef *)model_text, (uInt)strlen(model_text));
  crc = crc32(crc, s.data, (uInt)s.data_bytes);
  char *v = strstr(s.json, "\"format_version\":\"3\"");
  ck_assert_ptr_nonnull(v);
  v[strlen("\"format_version\":\"")] = '2';
  char *sum = strstr(s.json, "\"checksum\":\"");
  ck_assert_ptr_nonnull(sum);
  char hex[9];
  snprintf(hex, sizeof hex, "%08" PRIx32, (uint32_t)crc);
  memcpy(sum + strlen("\"checksum\":\""), hex, 8);
  write_with_header(s.json, s.data, s.data_bytes, 1);
  vaecl_checkpoint got;
  ck_assert_msg(vaecl_checkpoint_load(file, &got) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(got.format_version, 2);
  ck_assert_uint_eq(got.epochs_done, 7);
  vaecl_checkpoint_free(&got);
  s.data[0] ^= 1; /* its data is still checked */
  write_with_header(s.json, s.data, s.data_bytes, 1);
  expect_load_error("checksum mismatch");
  free_split(&s);
}
END_TEST

START_TEST(truncated) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  const uint64_t hl = le64(b);
  char want[200];
  spit(file, b, n - 1);
  snprintf(want, sizeof want, "truncated: %zu bytes, but its header describes %zu", n - 1, n);
  expect_load_error(want);
  spit(file, b, 8 + hl + 5); /* inside the first tensor */
  snprintf(want, sizeof want, "truncated: %zu bytes, but its header describes %zu",
           (size_t)(8 + hl + 5), n);
  expect_load_error(want);
  spit(file, b, 8 + hl); /* header only */
  snprintf(want, sizeof want, "truncated: %zu bytes, but its header describes %zu",
           (size_t)(8 + hl), n);
  expect_load_error(want);
  spit(file, b, 60); /* inside the header */
  snprintf(want, sizeof want, "truncated: 60 bytes, but its header alone needs %zu",
           (size_t)(8 + hl));
  expect_load_error(want);
  spit(file, b, 9);
  expect_load_error("truncated: 9 bytes, but its header alone needs");
  spit(file, b, 8); /* the length only */
  expect_load_error("not a vaecl checkpoint (neither format 1 nor safetensors)");
  spit(file, b, 5);
  expect_load_error("not a vaecl checkpoint: only 5 bytes (truncated?)");
  spit(file, b, 0);
  expect_load_error("not a vaecl checkpoint: only 0 bytes (truncated?)");
  free(b);
}
END_TEST

START_TEST(not_a_checkpoint) {
  const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D'};
  spit(file, png, sizeof png); /* length 0x0a1a0a0d474e5089: absurd */
  expect_load_error("not a vaecl checkpoint (neither format 1 nor safetensors: header length");
  const uint8_t text[] = "\x10\0\0\0\0\0\0\0not json at all.";
  spit(file, text, sizeof text - 1);
  expect_load_error("not a vaecl checkpoint (neither format 1 nor safetensors)");
  /* A valid safetensors file without vaecl's metadata. */
  const float one = 1.0f;
  write_with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                    (const uint8_t *)&one, 4, 1);
  expect_load_error("a safetensors file but not a vaecl checkpoint (no __metadata__)");
  write_with_header("{\"__metadata__\":{\"format\":\"pt\"},\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
                    "\"data_offsets\":[0,4]}}",
                    (const uint8_t *)&one, 4, 1);
  expect_load_error("a safetensors file but not a vaecl checkpoint (its metadata has no format "
                    "\"vaecl-checkpoint\")");
  expect_edit_error("\"format\":\"vaecl-checkpoint\"", "\"format\":\"vaecl-checkpoinT\"",
                    "but not a vaecl checkpoint");
  expect_edit_error("{\"__metadata__\":{", "[{\"__metadata__\":{", "neither format 1 nor");
}
END_TEST

START_TEST(bad_json) {
  expect_edit_error("\"format\":", "\"format\" ", "corrupt header: JSON error at line 1, column");
  expect_edit_error("\"dec.dense1.b\"", "\"enc.conv1.w\"", "duplicate object key");
  expect_edit_error("\"data_offsets\":[0,24]", "\"data_offsets\":[0,99999999999999999999]",
                    "JSON error");
  expect_edit_error("\"format_version\":\"3\"", "\"format_version\":\"3\\u0000\"", "JSON error");
  expect_edit_error("\"format\":", "\"\xff\":", "JSON error"); /* not UTF-8 */
}
END_TEST

START_TEST(bad_tensor_entries) {
  expect_edit_error("\"dtype\":\"F32\"", "\"dtype\":\"F16\"",
                    "tensor enc.conv1.w has dtype F16; vaecl checkpoints hold only F32");
  expect_edit_error("\"dtype\":\"F32\"", "\"dtype\":32", "tensor enc.conv1.w has no dtype string");
  expect_edit_error("\"shape\":[1,1,2,3]", "\"shape\":[1,1,2,4]",
                    "tensor enc.conv1.w: its shape holds 8 floats but data_offsets [0, 24] span "
                    "24 bytes");
  expect_edit_error("\"shape\":[1,1,2,3]", "\"shape\":[1,1,1,2,3]",
                    "tensor enc.conv1.w has rank 5; vaecl checkpoints allow at most 4");
  expect_edit_error("\"shape\":[1,1,2,3]", "\"shape\":[4294967296,4294967296,4294967296,3]",
                    "tensor enc.conv1.w: shape is absurdly large");
  expect_edit_error("\"shape\":[1,1,2,3]", "\"shape\":[1,-1,2,3]",
                    "shape must hold non-negative integers");
  expect_edit_error("\"shape\":[1,1,2,3]", "\"shape\":[1,1.0,2,3]",
                    "shape must hold non-negative integers");
  expect_edit_error("\"shape\":[1,1,2,3]", "\"shape\":[0,1,2,3]",
                    "tensor enc.conv1.w has no elements");
  expect_edit_error("\"data_offsets\":[0,24]", "\"data_offsets\":[0,24,48]",
                    "data_offsets must be [begin, end]");
  expect_edit_error("\"data_offsets\":[0,24]", "\"data_offsets\":[-24,0]",
                    "data_offsets must be [begin, end]");
  expect_edit_error("\"data_offsets\":[0,24]", "\"data_offsets\":[24,0]",
                    "tensor enc.conv1.w: data_offsets [24, 0] end before they begin");
  expect_edit_error("\"data_offsets\":[0,24]}", "\"data_offsets\":[0,24],\"extra\":1}",
                    "tensor enc.conv1.w has an unknown field \"extra\"");
  expect_edit_error("\"enc.conv1.w\":{", "\"enc.conv1.w\":[],\"x\":{", "is not a JSON object");
  char longer[128];
  snprintf(longer, sizeof longer, "\"%sx\"", long_name);
  char orig[128];
  snprintf(orig, sizeof orig, "\"%s\"", long_name);
  expect_edit_error(orig, longer, "is 64 bytes, longer than 63");
  expect_edit_error("\"enc.conv1.w\"", "\"\"", "a tensor has an empty name");
}
END_TEST

START_TEST(bad_offsets) {
  /* Overlap: dec.dense1.b starts inside enc.conv1.w (and its end stays consistent). */
  expect_edit_error("\"data_offsets\":[24,4024]", "\"data_offsets\":[20,4020]",
                    "corrupt header: tensors enc.conv1.w and dec.dense1.b overlap");
  expect_edit_error("\"data_offsets\":[24,4024]", "\"data_offsets\":[28,4028]",
                    "corrupt header: 4 unused bytes between tensors enc.conv1.w and dec.dense1.b");
  expect_edit_error("\"data_offsets\":[0,24]", "\"data_offsets\":[8,32]",
                    "corrupt header: 8 unused bytes before tensor enc.conv1.w");
  /* The same offsets twice: the second one overlaps. */
  expect_edit_error("\"data_offsets\":[4024,4048]", "\"data_offsets\":[0,24]", "overlap");
  /* Out of range: a far-away last tensor leaves a gap; contiguous but past the end of
   * the file reads as truncation. */
  expect_edit_error("\"data_offsets\":[4048,4052]",
                    "\"data_offsets\":[1000000000000,1000000000004]",
                    "unused bytes between tensors");
  split_file s = split_sample();
  write_with_header(s.json, s.data, s.data_bytes - 4, 1); /* the scalar's bytes missing */
  expect_load_error("truncated:");
  uint8_t *more = malloc(s.data_bytes + 3);
  ck_assert_ptr_nonnull(more);
  memcpy(more, s.data, s.data_bytes);
  memset(more + s.data_bytes, 0, 3);
  write_with_header(s.json, more, s.data_bytes + 3, 1);
  expect_load_error("corrupt: 3 bytes after the last tensor");
  free(more);
  /* The tensors in the JSON in another order than their data still load by offset. */
  free_split(&s);
}
END_TEST

START_TEST(bad_metadata) {
  expect_edit_error("\"batch\":\"64\",", "", "corrupt header: the metadata lacks \"batch\"");
  expect_edit_error("\"seed\":\"81985529216486895\",", "",
                    "corrupt header: the metadata lacks \"seed\"");
  expect_edit_error("\"batch\":\"64\"", "\"batch\":64",
                    "corrupt header: metadata \"batch\" is not a string");
  expect_edit_error("\"seed\":\"81985529216486895\"", "\"seed\":\"0x1234\"",
                    "metadata seed \"0x1234\" is not a decimal number");
  expect_edit_error("\"seed\":\"81985529216486895\"", "\"seed\":\"-1\"",
                    "metadata seed \"-1\" is not a decimal number");
  expect_edit_error("\"seed\":\"81985529216486895\"", "\"seed\":\"18446744073709551616\"",
                    "metadata seed \"18446744073709551616\" is not a decimal number in "
                    "0..18446744073709551615");
  expect_edit_error("\"epochs_done\":\"7\"", "\"epochs_done\":\"4294967296\"",
                    "metadata epochs_done \"4294967296\" is not a decimal number in 0..4294967295");
  expect_edit_error("\"batch\":\"64\"", "\"batch\":\"\"", "metadata batch \"\" is not a decimal");
  expect_edit_error("\"batch\":\"64\"", "\"batch\":\"064\"", "metadata batch \"064\"");
  expect_edit_error("\"batch\":\"64\"", "\"batch\":\" 64\"", "metadata batch \" 64\"");
  expect_edit_error("\"format_version\":\"3\"", "\"format_version\":\"4\"",
                    "format version 4 was written by a newer vaecl (this one reads up to 3)");
  expect_edit_error("\"format_version\":\"3\"", "\"format_version\":\"1\"",
                    "corrupt header: format version 1 is not safetensors");
  expect_edit_error("\"format_version\":\"3\",", "", "the metadata lacks \"format_version\"");
  expect_edit_error("\"checksum\":\"", "\"checksum\":\"x", "is not 8 hex digits");
  expect_edit_error("\"model\":\"", "\"model\":\"\",\"x\":\"",
                    "the metadata's model text is empty");
  expect_edit_error("{\"__metadata__\":{", "{\"__metadata__\":[],\"x\":{",
                    "corrupt header: __metadata__ is not a JSON object");
  /* Extra metadata is allowed (safetensors tools may add some). */
  save_edited("\"batch\":\"64\"", "\"batch\":\"64\",\"note\":\"hello\"");
  vaecl_checkpoint c;
  ck_assert_msg(vaecl_checkpoint_load(file, &c) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(c.batch, 64);
  vaecl_checkpoint_free(&c);
}
END_TEST

START_TEST(unaligned_header) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  const uint64_t hl = le64(b);
  /* One more space of padding: valid JSON, but the data starts misaligned. */
  uint8_t *e = malloc(n + 1);
  ck_assert_ptr_nonnull(e);
  for (int i = 0; i < 8; i++)
    e[i] = (uint8_t)((hl + 1) >> (8 * i));
  memcpy(e + 8, b + 8, hl);
  e[8 + hl] = ' ';
  memcpy(e + 9 + hl, b + 8 + hl, n - 8 - hl);
  spit(file, e, n + 1);
  char want[128];
  snprintf(want, sizeof want,
           "corrupt header: its length %" PRIu64 " does not leave the data 8-byte aligned", hl + 1);
  expect_load_error(want);
  free(e);
  free(b);
}
END_TEST

/* The JSON's key order does not matter: tensors come back in data order. */
START_TEST(tensor_order_follows_offsets) {
  save_edited("\"enc.conv1.w\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]},"
              "\"dec.dense1.b\":",
              "\"dec.dense1.b\":");
  expect_load_error("corrupt header: 24 unused bytes before tensor dec.dense1.b");
  save_edited("\"out.log_var\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4048,4052]}}",
              "\"out.log_var\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4048,4052]},"
              "\"enc.conv1.w\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}");
  expect_load_error("duplicate object key"); /* it is still there once */
  split_file s = split_sample();
  char *a = strstr(s.json, ",\"enc.conv1.w\":");
  char *b = strstr(s.json, ",\"dec.dense1.b\":");
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  char *end = strrchr(s.json, '}');
  char moved[4096];
  const int n = snprintf(moved, sizeof moved, "%.*s%.*s%.*s}", (int)(a - s.json), s.json,
                         (int)(end - b), b, (int)(b - a), a);
  ck_assert_int_lt(n, (int)sizeof moved);
  write_with_header(moved, s.data, s.data_bytes, 1);
  vaecl_checkpoint c;
  ck_assert_msg(vaecl_checkpoint_load(file, &c) == 0, "%s (%s)", vaecl_last_error(), moved);
  ck_assert_str_eq(c.tensors[0].name, "enc.conv1.w");
  ck_assert_str_eq(c.tensors[1].name, "dec.dense1.b");
  ck_assert_str_eq(c.tensors[3].name, "out.log_var");
  vaecl_checkpoint_free(&c);
  free_split(&s);
}
END_TEST

/* ---- format 1 ---- */

static char fixture[4096];

static void find_fixture(void) {
  const char *data = getenv("VAECL_TEST_DATA");
  ck_assert_msg(data != NULL, "VAECL_TEST_DATA is not set");
  snprintf(fixture, sizeof fixture, "%s/fixtures/format1-small.ckpt", data);
}

/* data/make_format1_fixture.c's model and values. */
static const vaecl_ckpt_v1_config fixture_cfg = {.image_h = 8,
                                                 .image_w = 8,
                                                 .channels = 1,
                                                 .enc_c1 = 2,
                                                 .enc_c2 = 3,
                                                 .hidden = 4,
                                                 .latent = 2,
                                                 .dec_c0 = 2,
                                                 .dec_c1 = 3,
                                                 .dec_c2 = 2,
                                                 .kernel = 3};

static const char fixture_text[] =
    "# Converted from a format-1 (vaecl 0.1) checkpoint: the reference model with its sizes.\n"
    "vaecl-model 1\n"
    "\n"
    "input 8 8 1\n"
    "\n"
    "encoder\n"
    "conv2d filters=2 kernel=3 stride=2 padding=same activation=relu\n"
    "conv2d filters=3 kernel=3 stride=2 padding=same activation=relu\n"
    "flatten\n"
    "dense units=4 activation=relu\n"
    "\n"
    "latent 2\n"
    "\n"
    "decoder\n"
    "dense units=8 activation=relu\n"
    "reshape 2 2 2\n"
    "conv2d_transpose filters=3 kernel=3 stride=2 padding=same activation=relu\n"
    "conv2d_transpose filters=2 kernel=3 stride=2 padding=same activation=relu\n"
    "conv2d_transpose filters=1 kernel=3 stride=1 padding=same activation=sigmoid\n"
    "\n"
    "output bernoulli\n"
    "kl_weight 1\n";

START_TEST(format1_fixture_loads) {
  find_fixture();
  vaecl_checkpoint c;
  ck_assert_msg(vaecl_checkpoint_load(fixture, &c) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(c.format_version, 1);
  ck_assert_uint_eq(c.batch, 0);
  ck_assert_uint_eq(c.seed, 0x0123456789abcdefull);
  ck_assert_uint_eq(c.epochs_done, 3);
  ck_assert_uint_eq(c.adam_steps, 5000000001ull);
  ck_assert_str_eq(c.model_text, fixture_text);
  char *text = vaecl_ckpt_v1_model_text(&fixture_cfg);
  ck_assert_ptr_nonnull(text);
  ck_assert_str_eq(text, fixture_text);
  free(text);
  /* Keras shapes: conv [k,k,in,out], dense [in,out], conv-transpose [k,k,out,in]. */
  const struct {
    const char *name;
    int rank;
    size_t shape[4], bias;
  } layers[] = {{"enc.conv1", 4, {3, 3, 1, 2}, 2},  {"enc.conv2", 4, {3, 3, 2, 3}, 3},
                {"enc.dense1", 2, {12, 4}, 4},      {"latent", 2, {4, 4}, 4},
                {"dec.dense1", 2, {2, 8}, 8},       {"dec.convt1", 4, {3, 3, 3, 2}, 3},
                {"dec.convt2", 4, {3, 3, 2, 3}, 2}, {"dec.convt3", 4, {3, 3, 1, 2}, 1}};
  static const char *const kinds[3] = {"", "adam.m.", "adam.v."};
  ck_assert_uint_eq(c.tensor_count, 48);
  size_t t = 0;
  for (size_t l = 0; l < 8; l++)
    for (int wb = 0; wb < 2; wb++)
      for (int kind = 0; kind < 3; kind++, t++) {
        const vaecl_ckpt_tensor *x = &c.tensors[t];
        char name[64];
        snprintf(name, sizeof name, "%s%s.%s", kinds[kind], layers[l].name, wb ? "b" : "w");
        ck_assert_str_eq(x->name, name);
        const int rank = wb ? 1 : layers[l].rank;
        ck_assert_int_eq(x->rank, rank);
        size_t count = 1;
        for (int d = 0; d < rank; d++) {
          const size_t want = wb ? layers[l].bias : layers[l].shape[d];
          ck_assert_uint_eq(x->shape[d], want);
          count *= want;
        }
        ck_assert_uint_eq(x->count, count);
        for (size_t j = 0; j < x->count; j++) {
          const float want = (j % 2 ? -1.0f : 1.0f) * ((float)(t + 1) + (float)j / 128.0f);
          ck_assert_msg(x->data[j] == want, "%s[%zu] = %g, want %g", name, j, x->data[j], want);
        }
      }
  /* A converted checkpoint saves as format 2 and loads back the same. */
  ck_assert_msg(vaecl_checkpoint_save(file, &c) == 0, "%s", vaecl_last_error());
  vaecl_checkpoint again;
  ck_assert_msg(vaecl_checkpoint_load(file, &again) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(again.format_version, 3);
  ck_assert_str_eq(again.model_text, fixture_text);
  ck_assert_uint_eq(again.tensor_count, 48);
  for (size_t i = 0; i < 48; i++) {
    ck_assert_str_eq(again.tensors[i].name, c.tensors[i].name);
    ck_assert_mem_eq(again.tensors[i].shape, c.tensors[i].shape, sizeof c.tensors[i].shape);
    ck_assert_mem_eq(again.tensors[i].data, c.tensors[i].data, c.tensors[i].count * 4);
  }
  vaecl_checkpoint_free(&again);
  vaecl_checkpoint_free(&c);
}
END_TEST

/* With vaecl 0.1's default config the text is the reference model file's, comments
 * aside. */
START_TEST(format1_default_config_is_reference_model) {
  const vaecl_ckpt_v1_config def = {28, 28, 1, 64, 128, 16, 2, 64, 128, 64, 3};
  ck_assert_int_eq(vaecl_ckpt_v1_config_check(&def), 0);
  char *text = vaecl_ckpt_v1_model_text(&def);
  ck_assert_ptr_nonnull(text);
  const char *data = getenv("VAECL_TEST_DATA");
  ck_assert_ptr_nonnull(data);
  char path[4096];
  snprintf(path, sizeof path, "%s/models/fashion-mnist-vae.vae", data);
  size_t n;
  uint8_t *ref = slurp(path, &n);
  ref[n] = '\0';
  const char *a = text, *b = (const char *)ref;
  while (*a == '#')
    a = strchr(a, '\n') + 1;
  while (*b == '#')
    b = strchr(b, '\n') + 1;
  ck_assert_str_eq(a, b);
  free(ref);
  free(text);
  vaecl_ckpt_v1_config bad = def;
  bad.latent = 0;
  ck_assert_int_eq(vaecl_ckpt_v1_config_check(&bad), -1);
  ck_assert_error_has("model latent = 0 is out of range (1..4096)");
}
END_TEST

/* Recomputes the trailing CRC so a deliberate edit reaches the later checks. */
static void fix_crc(uint8_t *b, size_t n) {
  set_le32(b + n - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4)));
}

static uint8_t *fixture_bytes(size_t *n) {
  find_fixture();
  return slurp(fixture, n);
}

#define V1_HEADER 16                          /* magic, version, header bytes */
#define V1_COUNT (V1_HEADER + 64)             /* tensor_count */
#define V1_ENTRY(i) (V1_HEADER + 68 + (i)*40) /* name, then u64 count */

START_TEST(format1_damage) {
  size_t n;
  uint8_t *b = fixture_bytes(&n);
  ck_assert_uint_eq(n, 5668);
  ck_assert_uint_eq(le32(b + V1_COUNT), 48);
  b[n / 2] ^= 0x10;
  spit(file, b, n);
  expect_load_error("corrupt: checksum mismatch");
  b[n / 2] ^= 0x10;
  char want[160];
  spit(file, b, n - 1);
  snprintf(want, sizeof want, "truncated: %zu bytes, but its header describes %zu", n - 1, n);
  expect_load_error(want);
  spit(file, b, 60); /* inside the header */
  expect_load_error("truncated: 60 bytes");
  spit(file, b, 12);
  expect_load_error("truncated: only 12 bytes");
  spit(file, b, 8); /* the magic alone */
  expect_load_error("truncated: only 8 bytes");
  uint8_t *e = malloc(n);
  ck_assert_ptr_nonnull(e);
#define EDIT(stmt)                                                                                 \
  do {                                                                                             \
    memcpy(e, b, n);                                                                               \
    stmt;                                                                                          \
    fix_crc(e, n);                                                                                 \
    spit(file, e, n);                                                                              \
  } while (0)
  EDIT(set_le32(e + 8, 2));
  expect_load_error("VAECLCKP format version 2 is unknown");
  EDIT(set_le32(e + 8, 0));
  expect_load_error("corrupt: format version 0");
  EDIT(set_le32(e + V1_COUNT, 65));
  expect_load_error("65 tensors, more than the 64");
  EDIT(set_le32(e + V1_ENTRY(0) + 32, 17));
  snprintf(want, sizeof want, "corrupt: file is %zu bytes but its tensor table describes %zu", n,
           n - 4);
  expect_load_error(want);
  EDIT(set_le32(e + V1_HEADER + 6 * 4, 0)); /* latent = 0 */
  expect_load_error("invalid model config: model latent = 0 is out of range");
  EDIT(set_le32(e + V1_HEADER, 6)); /* image_h = 6 */
  expect_load_error("both sides must be multiples of 4");
  EDIT(memcpy(e + V1_ENTRY(1), "enc.bogus.w", 12));
  expect_load_error("corrupt: tensor enc.bogus.w is not one of vaecl 0.1's model");
  EDIT(memcpy(e + V1_ENTRY(1), "enc.conv1.w", 12));
  expect_load_error("corrupt: tensor name enc.conv1.w appears twice");
  EDIT(memset(e + V1_ENTRY(1), 'a', 32));
  expect_load_error("tensor 1: name must be 1..31 characters");
  /* enc_c1 3 instead of 2: enc.conv1.w (first tensor) should have 27 values. */
  EDIT(set_le32(e + V1_HEADER + 3 * 4, 3));
  expect_load_error("corrupt: tensor enc.conv1.w has 18 values, but its model config gives it 27");
  /* A stale version-1 checksum still reads as corruption, not a crash. */
  memcpy(e, b, n);
  e[V1_ENTRY(0)] = 'X';
  spit(file, e, n);
  expect_load_error("corrupt: checksum mismatch");
#undef EDIT
  free(e);
  free(b);
}
END_TEST

static Suite *checkpoint_suite(void) {
  Suite *s = suite_create("checkpoint");
  TCase *tc = tcase_create("checkpoint");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, round_trip);
  tcase_add_test(tc, metadata_extremes_round_trip);
  tcase_add_test(tc, layout_is_as_documented);
  tcase_add_test(tc, save_refuses_bad_input);
  tcase_add_test(tc, atomic_save_leaves_no_tmp);
  tcase_add_test(tc, stale_temporaries_are_removed);
  tcase_add_test(tc, check_writable_refuses_bad_paths);
  tcase_add_test(tc, missing_file_is_named);
  tcase_add_test(tc, fifo_refused_without_blocking);
  tcase_add_test(tc, flipped_byte_is_checksum_error);
  tcase_add_test(tc, format2_still_loads);
  tcase_add_test(tc, truncated);
  tcase_add_test(tc, not_a_checkpoint);
  tcase_add_test(tc, bad_json);
  tcase_add_test(tc, bad_tensor_entries);
  tcase_add_test(tc, bad_offsets);
  tcase_add_test(tc, bad_metadata);
  tcase_add_test(tc, unaligned_header);
  tcase_add_test(tc, tensor_order_follows_offsets);
  tcase_add_test(tc, format1_fixture_loads);
  tcase_add_test(tc, format1_default_config_is_reference_model);
  tcase_add_test(tc, format1_damage);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return vaecl_test_run(checkpoint_suite());
}
