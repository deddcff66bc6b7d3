/* train's history: PREFIX-history.csv (a row per epoch) and PREFIX-loss.png (the loss
 * curves), both rewritten after every epoch through a temporary file and a rename. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include <vaecl/plot.h>

static const char *const names[] = {"epoch",       "loss",     "reconstruction_loss",
                                    "kl_loss",     "val_loss", "val_reconstruction_loss",
                                    "val_kl_loss", "seconds"};

static int columns(const cli_history *h) {
  return h->has_val ? 8 : 5;
}

/* Column c of the table: the val columns exist only with validation. */
static const char *column_name(const cli_history *h, int c) {
  return names[!h->has_val && c == 4 ? 7 : c];
}

static void header(const cli_history *h, char *buf, size_t size) {
  size_t n = 0;
  for (int c = 0; c < columns(h) && n < size; c++)
    n += (size_t)snprintf(buf + n, size - n, "%s%s", c ? "," : "", column_name(h, c));
}

static int add_row(cli_history *h, const double *row) {
  if (h->rows == h->cap) {
    const size_t cap = h->cap ? 2 * h->cap : 16;
    double *d = realloc(h->data, cap * (size_t)columns(h) * sizeof *d);
    if (!d)
      return vaecl_fail("out of memory for the training history");
    h->data = d;
    h->cap = cap;
  }
  memcpy(h->data + h->rows++ * (size_t)columns(h), row, (size_t)columns(h) * sizeof *row);
  return 0;
}

/* One data line: columns(h) numbers, the first a whole epoch after the previous row's. */
static int parse_row(cli_history *h, const char *path, int line_no, char *line) {
  double row[8];
  char *p = line, *end;
  for (int c = 0; c < columns(h); c++) {
    errno = 0;
    row[c] = strtod(p, &end);
    if (end == p || errno || *end != (c + 1 < columns(h) ? ',' : '\0'))
      return vaecl_fail("%s: line %d is not %d comma-separated numbers", path, line_no, columns(h));
    p = end + 1;
  }
  const double last = h->rows ? h->data[(h->rows - 1) * (size_t)columns(h)] : 0;
  if (row[0] != floor(row[0]) || row[0] <= last)
    return vaecl_fail("%s: line %d: epoch %g does not follow epoch %g", path, line_no, row[0],
                      last);
  return add_row(h, row);
}

/* Whether line is the header of a run with the other validation choice. */
static int is_other_header(const cli_history *h, const char *line) {
  cli_history other = *h;
  char buf[512];
  other.has_val = !h->has_val;
  header(&other, buf, sizeof buf);
  return strcmp(line, buf) == 0;
}

/* The rows of an earlier run up to epoch `keep`; later ones (an epoch whose checkpoint was
 * never written) are dropped. A missing file is an empty history. */
static int load(cli_history *h, const char *path, uint32_t keep) {
  FILE *f = fopen(path, "r");
  if (!f)
    return errno == ENOENT ? 0 : vaecl_fail("%s: cannot read it: %s", path, strerror(errno));
  char line[1024], want[512];
  header(h, want, sizeof want);
  int rc = 0, line_no = 0;
  while (rc == 0 && fgets(line, sizeof line, f)) {
    line_no++;
    line[strcspn(line, "\r\n")] = '\0';
    if (line_no == 1 && strcmp(line, want) != 0)
      rc = vaecl_fail("%s: its columns are not %s%s", path, want,
                      is_other_header(h, line) ? (h->has_val ? " (a run without validation)"
                                                             : " (a run with validation)")
                                               : "");
    else if (line_no > 1 && (rc = parse_row(h, path, line_no, line)) == 0 &&
             h->data[(h->rows - 1) * (size_t)columns(h)] > keep)
      h->rows--; /* beyond the checkpoint */
  }
  if (rc == 0 && ferror(f))
    rc = vaecl_fail("%s: cannot read it: %s", path, strerror(errno));
  fclose(f);
  return rc;
}

int cli_history_open(cli_history *h, const char *out_prefix, const char *resume_prefix,
                     uint32_t epochs_done, int has_val, int plot) {
  memset(h, 0, sizeof *h);
  h->has_val = has_val;
  h->plot = plot;
  snprintf(h->csv, sizeof h->csv, "%s-history.csv", out_prefix);
  snprintf(h->png, sizeof h->png, "%s-loss.png", out_prefix);
  if (!resume_prefix || epochs_done == 0)
    return 0;
  char from[4200];
  snprintf(from, sizeof from, "%s-history.csv", resume_prefix);
  if (load(h, from, epochs_done) != 0)
    return vaecl_fail_context("resuming the history: ");
  return 0;
}

static int write_csv(const cli_history *h) {
  char line[512];
  vaecl_atomic_file out;
  if (vaecl_atomic_open(&out, h->csv) != 0)
    return -1;
  header(h, line, sizeof line);
  fprintf(out.f, "%s\n", line);
  for (size_t r = 0; r < h->rows; r++) {
    const double *row = h->data + r * (size_t)columns(h);
    fprintf(out.f, "%.0f", row[0]);
    for (int c = 1; c < columns(h); c++)
      fprintf(out.f, c + 1 < columns(h) ? ",%.9g" : ",%.3f", row[c]);
    fputc('\n', out.f);
  }
  return vaecl_atomic_commit(&out, 0);
}

static int draw(const cli_history *h) {
  const size_t n = h->rows, cols = (size_t)columns(h);
  double *x = malloc(n * sizeof *x), *loss = malloc(n * sizeof *loss),
         *val = malloc(n * sizeof *val);
  int rc = x && loss && val ? 0 : vaecl_fail("out of memory drawing %s", h->png);
  for (size_t r = 0; rc == 0 && r < n; r++) {
    x[r] = h->data[r * cols];
    loss[r] = h->data[r * cols + 1];
    val[r] = h->has_val ? h->data[r * cols + 4] : NAN;
  }
  const vaecl_plot_curve curves[2] = {{"loss", loss}, {"val_loss", val}};
  if (rc == 0)
    rc = vaecl_plot_curves(h->png, x, n, curves, h->has_val ? 2 : 1, "epoch", "loss");
  free(x);
  free(loss);
  free(val);
  return rc;
}

int cli_history_add(cli_history *h, const vaecl_epoch_metrics *e) {
  const double row[8] = {e->epoch,       e->loss,     e->reconstruction_loss,
                         e->kl_loss,     e->val_loss, e->val_reconstruction_loss,
                         e->val_kl_loss, e->seconds};
  double picked[8];
  for (int c = 0; c < columns(h); c++)
    picked[c] = row[!h->has_val && c == 4 ? 7 : c];
  /* a row for this epoch from a run that went past its checkpoint was dropped on load */
  if (add_row(h, picked) != 0 || write_csv(h) != 0)
    return -1;
  return h->plot ? draw(h) : 0;
}

void cli_history_free(cli_history *h) {
  free(h->data);
  h->data = NULL;
  h->rows = h->cap = 0;
}
