/* train's --val-split and --val-data: the held-out images, and the note a checkpoint keeps so
 * that --resume validates on the same images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/error.h"

/* The note's two forms: "split F N" (F exact with %.17g, N the images it was drawn from) and
 * "data PATH". */
static void make_note(const cli_validation *v, size_t count, char *note, size_t size) {
  if (v->split > 0)
    snprintf(note, size, "split %.17g %zu", v->split, count);
  else
    snprintf(note, size, "data %s", v->data);
}

/* The choice a checkpoint's note records; -1 (usage) when it is not one vaecl writes. */
static int parse_note(const char *ckpt, const char *note, cli_validation *v, size_t *count) {
  memset(v, 0, sizeof *v);
  *count = 0;
  char tail;
  if (!strncmp(note, "data ", 5) && note[5]) {
    v->data = note + 5;
    return 0;
  }
  if (sscanf(note, "split %lf %zu%c", &v->split, count, &tail) == 2 && v->split > 0 && v->split < 1)
    return 0;
  fprintf(stderr,
          "vaecl train: %s: unknown validation note '%.60s'; resume with a vaecl that "
          "wrote it, or start a new run\n",
          ckpt, note);
  return -1;
}

static void describe(const cli_validation *v, char *buf, size_t size) {
  if (v->split > 0)
    snprintf(buf, size, "--val-split %g", v->split);
  else if (v->data)
    snprintf(buf, size, "--val-data %s", v->data);
  else
    snprintf(buf, size, "no validation");
}

int cli_validation_resolve(cli_validation *asked, const char *resume, const char *ckpt_note,
                           size_t data_count) {
  cli_validation had = {0};
  size_t had_count = 0;
  if (!resume)
    return 0;
  if (ckpt_note && parse_note(resume, ckpt_note, &had, &had_count) != 0)
    return -1;
  const int given = asked->split > 0 || asked->data;
  const int same = had.split > 0   ? asked->split == had.split
                   : had.data != 0 ? asked->data && !strcmp(asked->data, had.data)
                                   : !given;
  if (given && !same) {
    char a[4200], b[4200];
    describe(asked, a, sizeof a);
    describe(&had, b, sizeof b);
    fprintf(stderr,
            "vaecl train: %s was trained with %s, not %s; drop the option to continue as it "
            "began, or start a new run\n",
            resume, b, a);
    return -1;
  }
  if (had.split > 0 && had_count != data_count) {
    fprintf(stderr,
            "vaecl train: %s held out %g of %zu images, but the data has %zu now; pass the "
            "same --data and --limit as the run it continues\n",
            resume, had.split, had_count, data_count);
    return -1;
  }
  *asked = had;
  return 0;
}

int cli_validation_prepare(const cli_validation *v, uint64_t seed, vaecl_dataset *data,
                           vaecl_dataset *val, char *note, size_t note_size) {
  memset(val, 0, sizeof *val);
  note[0] = '\0';
  if (v->split > 0) {
    vaecl_dataset train;
    make_note(v, data->count, note, note_size);
    if (vaecl_dataset_split(data, v->split, seed, &train, val) != 0)
      return vaecl_fail_context("--val-split %g: ", v->split);
    printf("validation: %zu of %zu images held out (--val-split %g, seed %llu)\n", val->count,
           data->count, v->split, (unsigned long long)seed);
    vaecl_dataset_free(data);
    *data = train;
    return 0;
  }
  if (!v->data)
    return 0;
  make_note(v, 0, note, note_size);
  if (vaecl_dataset_load(v->data, val) != 0)
    return vaecl_fail_context("--val-data: ");
  printf("validation: %zu images from %s\n", val->count, v->data);
  return 0;
}
