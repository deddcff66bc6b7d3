/* Writes checkpoints for tests/safetensors_read.py, the independent Python reader:
 *   checkpoint_sample OUT_DIR FORMAT1_FIXTURE
 * OUT_DIR/sample.safetensors: tensors of every rank 0..4 with awkward values (NaN
 * payloads, -0, denormals, infinities) and extreme metadata;
 * OUT_DIR/converted.safetensors: data/fixtures/format1-small.ckpt loaded (format 1)
 * and saved again. Each comes with NAME.expected.json: the metadata (checksum aside)
 * and every tensor's name, shape and float32 bit patterns, in order. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vaecl.h>
#include <vaecl/checkpoint.h>

static int fail(const char *what) {
  fprintf(stderr, "checkpoint_sample: %s: %s\n", what, vaecl_last_error());
  return 1;
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    const unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

static int write_expected(const char *path, const vaecl_checkpoint *c) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  fprintf(f, "{\"metadata\": {\"format\": \"vaecl-checkpoint\", \"format_version\": \"3\", ");
  fprintf(f, "\"model\": ");
  json_string(f, c->model_text);
  fprintf(f,
          ", \"seed\": \"%" PRIu64 "\", \"epochs_done\": \"%" PRIu32
          "\", \"adam_steps\": \"%" PRIu64 "\", \"batch\": \"%" PRIu32 "\"},\n \"tensors\": [",
          c->seed, c->epochs_done, c->adam_steps, c->batch);
  for (size_t i = 0; i < c->tensor_count; i++) {
    const vaecl_ckpt_tensor *t = &c->tensors[i];
    fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
    json_string(f, t->name);
    fprintf(f, ", \"shape\": [");
    for (int d = 0; d < t->rank; d++)
      fprintf(f, "%s%zu", d ? ", " : "", t->shape[d]);
    fprintf(f, "], \"bits\": [");
    for (size_t j = 0; j < t->count; j++) {
      uint32_t bits;
      memcpy(&bits, &t->data[j], sizeof bits);
      fprintf(f, "%s%" PRIu32, j ? ", " : "", bits);
    }
    fprintf(f, "]}");
  }
  fprintf(f, "]}\n");
  return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s OUT_DIR FORMAT1_FIXTURE\n", argv[0]);
    return 2;
  }
  char path[4096], expected[4096];
  /* The sample. */
  static float a[2 * 3 * 4 * 5], b[7], s[1], d[3 * 4], e[2 * 1 * 3];
  const uint32_t specials[] = {0x7fc12345u, 0x80000000u, 0x00000001u, 0x7f800000u,
                               0xff800000u, 0xff800001u, 0x7f7fffffu, 0x3f800000u};
  for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
    a[i] = (float)i * 0.5f - 17.25f;
  for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
    memcpy(&b[i], &specials[i], sizeof b[i]);
  memcpy(&s[0], &specials[7], sizeof s[0]);
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
    d[i] = 1.0f / (float)(i + 3);
  for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
    e[i] = -(float)i;
  vaecl_ckpt_tensor t[5] = {{"enc.conv1.w", 4, {2, 3, 4, 5}, 120, a},
                            {"enc.conv1.b", 1, {7}, 7, b},
                            {"out.log_var", 0, {0}, 1, s},
                            {"adam.m.dec.dense1.w", 2, {3, 4}, 12, d},
                            {"adam.v.enc.conv2.w", 3, {2, 1, 3}, 6, e}};
  vaecl_checkpoint c = {.model_text = "# \"quoted\", a tab\t and \xc3\xa9\nlatent 2\n",
                        .seed = UINT64_MAX,
                        .epochs_done = 4000000000u,
                        .adam_steps = 123456789012345ull,
                        .batch = 128,
                        .tensor_count = 5,
                        .tensors = t};
  snprintf(path, sizeof path, "%s/sample.safetensors", argv[1]);
  snprintf(expected, sizeof expected, "%s/sample.expected.json", argv[1]);
  if (vaecl_checkpoint_save(path, &c) != 0)
    return fail("saving the sample");
  if (write_expected(expected, &c) != 0)
    return fail("writing sample.expected.json");
  /* The format-1 fixture, converted. */
  vaecl_checkpoint v1;
  if (vaecl_checkpoint_load(argv[2], &v1) != 0)
    return fail("loading the format-1 fixture");
  snprintf(path, sizeof path, "%s/converted.safetensors", argv[1]);
  snprintf(expected, sizeof expected, "%s/converted.expected.json", argv[1]);
  int rc = 0;
  if (vaecl_checkpoint_save(path, &v1) != 0)
    rc = fail("saving the converted fixture");
  else if (write_expected(expected, &v1) != 0)
    rc = fail("writing converted.expected.json");
  vaecl_checkpoint_free(&v1);
  return rc;
}
