/* Checkpoints: exact round trips, and every damaged file refused with its name. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <vaecl/checkpoint.h>
#include "testutil.h"
#include <vaecl.h>

static char *dir;
static char file[4096];
static float w1[6], w2[1000], m1[6];

#define ck_assert_error_has(text)                                                                  \
  ck_assert_msg(strstr(vaecl_last_error(), (text)) != NULL, "error \"%s\" lacks \"%s\"",           \
                vaecl_last_error(), (text))

static void setup(void) {
  dir = test_make_temp_dir("ckpt");
  ck_assert_ptr_nonnull(dir);
  snprintf(file, sizeof file, "%s/model.vck", dir);
}

static void teardown(void) {
  test_remove_tree(dir);
  free(dir);
  dir = NULL;
}

/* A small config, a few tensors with awkward values (NaN payload, -0, denormal). */
static vaecl_checkpoint sample(void) {
  vaecl_checkpoint c;
  memset(&c, 0, sizeof c);
  c.config = vaecl_model_config_default();
  c.config.enc_c1 = 8;
  c.config.latent = 3;
  c.seed = 0x0123456789abcdefull;
  c.epochs_done = 7;
  c.adam_steps = 5000000000ull; /* needs more than 32 bits */
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
  const struct {
    const char *name;
    float *data;
    size_t count;
  } t[] = {
      {"enc.conv1.w", w1, 6}, {"dec.dense.b", w2, 1000}, {"adam.m.enc.conv1.w_is_31_chars", m1, 6}};
  for (size_t i = 0; i < 3; i++) {
    snprintf(c.tensors[i].name, sizeof c.tensors[i].name, "%s", t[i].name);
    c.tensors[i].data = t[i].data;
    c.tensors[i].count = t[i].count;
  }
  c.tensor_count = 3;
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

static void spit(const char *p, const uint8_t *b, size_t n) {
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the trailing CRC so a deliberate edit reaches the later checks. */
static void fix_crc(uint8_t *b, size_t n) {
  set_le32(b + n - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4)));
}

static void expect_load_error(const char *problem) {
  vaecl_checkpoint c;
  ck_assert_int_eq(vaecl_checkpoint_load(file, &c), -1);
  ck_assert_uint_eq(c.tensor_count, 0);
  ck_assert_error_has(file);
  ck_assert_error_has(problem);
}

START_TEST(round_trip) {
  save_sample();
  const vaecl_checkpoint want = sample();
  vaecl_checkpoint got;
  ck_assert_msg(vaecl_checkpoint_load(file, &got) == 0, "%s", vaecl_last_error());
  ck_assert_mem_eq(&got.config, &want.config, sizeof want.config);
  ck_assert_uint_eq(got.seed, want.seed);
  ck_assert_uint_eq(got.epochs_done, 7);
  ck_assert_uint_eq(got.adam_steps, 5000000000ull);
  ck_assert_uint_eq(got.tensor_count, 3);
  for (size_t i = 0; i < 3; i++) {
    ck_assert_str_eq(got.tensors[i].name, want.tensors[i].name);
    ck_assert_uint_eq(got.tensors[i].count, want.tensors[i].count);
    ck_assert_mem_eq(got.tensors[i].data, want.tensors[i].data, want.tensors[i].count * 4);
  }
  const vaecl_ckpt_tensor *t = vaecl_checkpoint_find(&got, "dec.dense.b");
  ck_assert_ptr_eq(t, &got.tensors[1]);
  ck_assert_ptr_null(vaecl_checkpoint_find(&got, "dec.dense"));
  ck_assert_ptr_null(vaecl_checkpoint_find(&got, "nope"));
  vaecl_checkpoint_free(&got);
  ck_assert_uint_eq(got.tensor_count, 0);
}
END_TEST

/* The layout in checkpoint.h, checked byte by byte so format drift is caught. */
START_TEST(layout_is_as_documented) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  const size_t header = 11 * 4 + 8 + 4 + 8 + 4 + 3 * 40;
  ck_assert_uint_eq(n, 16 + header + (6 + 1000 + 6) * 4 + 4);
  ck_assert_mem_eq(b, "VAECLCKP", 8);
  ck_assert_uint_eq(le32(b + 8), VAECL_CHECKPOINT_VERSION);
  ck_assert_uint_eq(le32(b + 12), header);
  ck_assert_uint_eq(le32(b + 16), 28);               /* image_h */
  ck_assert_uint_eq(le32(b + 16 + 3 * 4), 8);        /* enc_c1 */
  ck_assert_uint_eq(le32(b + 16 + 44), 0x89abcdefu); /* seed, low half first */
  ck_assert_uint_eq(le32(b + 16 + 48), 0x01234567u); /* seed, high half */
  ck_assert_uint_eq(le32(b + 16 + 52), 7);           /* epochs_done */
  ck_assert_uint_eq(le32(b + 16 + 64), 3);           /* tensor_count */
  ck_assert_str_eq((const char *)b + 16 + 68, "enc.conv1.w");
  ck_assert_uint_eq(le32(b + 16 + 68 + 32), 6);          /* its count */
  ck_assert_uint_eq(le32(b + 16 + header), 0x7fc12345u); /* first float: the NaN */
  ck_assert_uint_eq(le32(b + n - 4), (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4)));
  free(b);
}
END_TEST

START_TEST(flipped_byte_is_checksum_error) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  b[n / 2] ^= 0x10; /* inside the tensor data */
  spit(file, b, n);
  expect_load_error("corrupt: checksum mismatch");
  b[n / 2] ^= 0x10;
  b[n - 1] ^= 0x01; /* the stored checksum itself */
  spit(file, b, n);
  expect_load_error("corrupt: checksum mismatch");
  free(b);
}
END_TEST

START_TEST(truncated) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  spit(file, b, n - 1);
  char want[128];
  snprintf(want, sizeof want, "truncated: %zu bytes, but its header describes %zu", n - 1, n);
  expect_load_error(want);
  spit(file, b, 60); /* inside the header */
  expect_load_error("truncated: 60 bytes");
  spit(file, b, 12);
  expect_load_error("truncated: only 12 bytes");
  free(b);
}
END_TEST

START_TEST(bad_magic) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  b[0] = 'X';
  spit(file, b, n);
  expect_load_error("not a vaecl checkpoint");
  spit(file, b, 0); /* empty */
  expect_load_error("not a vaecl checkpoint");
  free(b);
}
END_TEST

START_TEST(future_version) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  set_le32(b + 8, VAECL_CHECKPOINT_VERSION + 1);
  spit(file, b, n); /* checksum now stale: the version must be reported first */
  expect_load_error("format version 2 was written by a newer vaecl");
  free(b);
}
END_TEST

START_TEST(too_many_tensors) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  set_le32(b + 16 + 64, VAECL_CHECKPOINT_MAX_TENSORS + 1);
  fix_crc(b, n);
  spit(file, b, n);
  expect_load_error("65 tensors, more than the 64");
  free(b);
}
END_TEST

START_TEST(count_disagrees_with_size) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  set_le32(b + 16 + 68 + 32, 5); /* first tensor: 5 floats instead of 6 */
  fix_crc(b, n);
  spit(file, b, n);
  char want[128];
  snprintf(want, sizeof want, "corrupt: file is %zu bytes but its tensor table describes %zu", n,
           n - 4);
  expect_load_error(want);
  free(b);
}
END_TEST

START_TEST(invalid_config) {
  save_sample();
  size_t n;
  uint8_t *b = slurp(file, &n);
  set_le32(b + 16 + 6 * 4, 0); /* latent = 0 */
  fix_crc(b, n);
  spit(file, b, n);
  expect_load_error("invalid model config: model latent = 0 is out of range");
  free(b);
}
END_TEST

START_TEST(save_refuses_bad_input) {
  vaecl_checkpoint c = sample();
  c.config.image_h = 30;
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has(file);
  ck_assert_error_has("multiples of 4");
  c = sample();
  snprintf(c.tensors[2].name, sizeof c.tensors[2].name, "enc.conv1.w");
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("tensor name enc.conv1.w appears twice");
  c = sample();
  memset(c.tensors[0].name, 'a', sizeof c.tensors[0].name); /* no terminator */
  ck_assert_int_eq(vaecl_checkpoint_save(file, &c), -1);
  ck_assert_error_has("tensor 0: name must be 1..31 characters");
  FILE *f = fopen(file, "rb");
  ck_assert_ptr_null(f); /* nothing was written */
}
END_TEST

/* Only model.vck remains after saves: the temporary file is renamed or removed. */
START_TEST(atomic_save_leaves_no_tmp) {
  save_sample();
  save_sample(); /* overwrite */
  vaecl_checkpoint c = sample();
  char bad[4200];
  snprintf(bad, sizeof bad, "%s/no-such-dir/model.vck", dir);
  ck_assert_int_eq(vaecl_checkpoint_save(bad, &c), -1);
  ck_assert_error_has("no-such-dir/model.vck");
  /* rename fails onto a directory: the written tmp file must be removed */
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/adir", dir);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  ck_assert_int_eq(vaecl_checkpoint_save(sub, &c), -1);
  ck_assert_error_has("cannot rename");
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int entries = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    entries++;
    ck_assert_msg(strcmp(e->d_name, "model.vck") == 0 || strcmp(e->d_name, "adir") == 0,
                  "unexpected file %s left behind", e->d_name);
  }
  closedir(d);
  ck_assert_int_eq(entries, 2);
}
END_TEST

START_TEST(missing_file_is_named) {
  expect_load_error("cannot open checkpoint: No such file or directory");
}
END_TEST

static Suite *checkpoint_suite(void) {
  Suite *s = suite_create("checkpoint");
  TCase *tc = tcase_create("checkpoint");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, round_trip);
  tcase_add_test(tc, layout_is_as_documented);
  tcase_add_test(tc, flipped_byte_is_checksum_error);
  tcase_add_test(tc, truncated);
  tcase_add_test(tc, bad_magic);
  tcase_add_test(tc, future_version);
  tcase_add_test(tc, too_many_tensors);
  tcase_add_test(tc, count_disagrees_with_size);
  tcase_add_test(tc, invalid_config);
  tcase_add_test(tc, save_refuses_bad_input);
  tcase_add_test(tc, atomic_save_leaves_no_tmp);
  tcase_add_test(tc, missing_file_is_named);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return vaecl_test_run(checkpoint_suite());
}
