/* The steps every verb on a trained model shares: its checkpoint, its data, its device. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/error.h"

int cli_session_model(cli_session *s, const char *path) {
  if (!path)
    return vaecl_fail("--model CHECKPOINT is required (a file written by vaecl train)");
  struct stat st;
  if (stat(path, &st) != 0)
    return vaecl_fail("--model %s: %s; give a checkpoint written by vaecl train --out", path,
                      strerror(errno));
  if (cli_load_model(path, &s->spec, &s->ck) != 0)
    return -1;
  s->model_path = path;
  s->have_model = 1;
  if (!s->ck.model_text)
    return vaecl_fail("%s is a model file without weights; give a checkpoint written by vaecl "
                      "train --out",
                      path);
  return 0;
}

int cli_session_data(cli_session *s, const char *path, long limit) {
  int rc;
  if (path) {
    s->data_name = path;
    rc = vaecl_dataset_load(path, &s->data);
  } else {
    s->data_name = VAECL_DEFAULT_DATA_DIR " (t10k)";
    rc = vaecl_idx_load_split(VAECL_DEFAULT_DATA_DIR, "t10k", &s->data);
  }
  if (rc != 0)
    return -1;
  if (limit > 0 && (size_t)limit < s->data.count)
    vaecl_dataset_truncate(&s->data, (size_t)limit);
  const vaecl_shape *in = &s->spec.input;
  if (vaecl_dataset_check_fits(&s->data, in->h, in->w, in->c) != 0) {
    char why[1024];
    snprintf(why, sizeof why, "%s", vaecl_last_error());
    return vaecl_fail("%s: %s (%s); pass --data with images the model was trained on", s->data_name,
                      why, s->model_path);
  }
  if (s->data.count == 0)
    return vaecl_fail("%s holds no images", s->data_name);
  return 0;
}

int cli_session_device(cli_session *s, const cli_globals *g, int batch) {
  if (!(s->be = cli_backend_open(g)))
    return -1;
  if (!(s->m = vaecl_model_create(s->be, &s->spec, batch, s->ck.seed)))
    return -1;
  if (vaecl_model_from_checkpoint(s->m, &s->ck) != 0)
    return vaecl_fail_context("%s: ", s->model_path);
  return 0;
}

void cli_session_close(cli_session *s) {
  vaecl_model_destroy(s->m);
  cli_backend_close(s->be);
  if (s->have_model) {
    vaecl_checkpoint_free(&s->ck);
    vaecl_model_spec_free(&s->spec);
  }
  vaecl_dataset_free(&s->data);
  memset(s, 0, sizeof *s);
}

int cli_session_fail(const cli_session *s, int code) {
  fprintf(stderr, "vaecl %s: %s\n", s->verb, vaecl_last_error());
  return code;
}

void cli_progress_init(cli_progress *p, const char *verb, double *interval) {
  p->verb = verb;
  p->tty = isatty(STDERR_FILENO);
  *interval = p->tty ? 1.0 : 30.0;
}

void cli_progress_images(void *user, size_t done, size_t total) {
  const cli_progress *p = user;
  fprintf(stderr, "%s%s: %zu/%zu images%s", p->tty ? "\r" : "  ", p->verb, done, total,
          p->tty ? "" : "\n");
  fflush(stderr);
}

void cli_progress_end(const cli_progress *p) {
  if (p->tty) {
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
  }
}

int cli_session_evaluate(cli_session *s, long samples, long seed, vaecl_image_score *scores,
                         vaecl_eval_summary *summary) {
  cli_progress p;
  vaecl_eval_options o = vaecl_eval_defaults();
  o.samples = (int)samples;
  o.seed = (uint64_t)seed;
  o.user = &p;
  o.on_progress = cli_progress_images;
  cli_progress_init(&p, s->verb, &o.progress_interval);
  const int rc = vaecl_evaluate(s->m, s->be, &s->data, &o, scores, summary);
  cli_progress_end(&p);
  return rc;
}
