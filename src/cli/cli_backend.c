/* The command line's side of backend options: the VAECL_* environment variables
 * the library itself no longer reads, mapped onto vaecl_backend_options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/error.h"
#include <vaecl.h>
#include <vaecl/backend_registry.h>

/* $VAECL_CACHE_DIR, else $XDG_CACHE_HOME/vaecl, else $HOME/.cache/vaecl; NULL (no
 * cache) when none is set or the path does not fit. */
static const char *cache_dir(char *buf, size_t size) {
  const char *env = getenv("VAECL_CACHE_DIR");
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int n;
  if (env && *env)
    n = snprintf(buf, size, "%s", env);
  else if (xdg && *xdg)
    n = snprintf(buf, size, "%s/vaecl", xdg);
  else if (home && *home)
    n = snprintf(buf, size, "%s/.cache/vaecl", home);
  else
    return NULL;
  return n > 0 && (size_t)n < size ? buf : NULL;
}

vb_backend *cli_backend_open(const char *backend_name, int device) {
  char dir[4096];
  vaecl_backend_options o = vaecl_backend_defaults();
  o.device = device;
  o.cache_dir = cache_dir(dir, sizeof dir);
  const char *tuning = getenv("VAECL_GEMM_TUNING");
  o.gemm_tuning = !(tuning && strcmp(tuning, "off") == 0);
  const char *split = getenv("VAECL_GEMM_SPLIT");
  o.gemm_split_k = !(split && strcmp(split, "off") == 0);
  const char *layout = getenv("VAECL_WORK_LAYOUT");
  if (layout && strcmp(layout, "rows") == 0)
    o.work_layout = VAECL_LAYOUT_ROWS;
  else if (layout && strcmp(layout, "channels") == 0)
    o.work_layout = VAECL_LAYOUT_CHANNELS;
  const char *profile = getenv("VAECL_PROFILE");
  o.profile = profile && *profile && strcmp(profile, "0") != 0;
  vb_backend *b = vaecl_backend_create(backend_name, &o);
  if (!b) {
    /* the library's message names no option: add how to choose another device */
    char why[1024];
    snprintf(why, sizeof why, "%s", vaecl_last_error());
    vaecl_fail("%s\n`vaecl devices` lists every backend's devices; choose one with --backend "
               "NAME and --device N.",
               why);
    return NULL;
  }
  return b;
}

void cli_backend_close(vb_backend *b) {
  if (!b)
    return;
  vaecl_op_profile *rows = NULL;
  size_t n = 0;
  if (vaecl_backend_profile(b, &rows, &n) == 0 && n) {
    double total = 0;
    for (size_t i = 0; i < n; i++)
      total += rows[i].seconds;
    /* one line per op, over its shapes and layers (vaecl bench --profile has those) */
    fprintf(stderr, "vaecl profile on %s (ops run one at a time):\n", b->device_name);
    for (size_t i = 0; i < n; i++) {
      int seen = 0;
      for (size_t j = 0; j < i; j++)
        seen |= rows[j].op == rows[i].op;
      if (seen)
        continue;
      long calls = 0;
      double seconds = 0;
      for (size_t j = i; j < n; j++)
        if (rows[j].op == rows[i].op) {
          calls += rows[j].calls;
          seconds += rows[j].seconds;
        }
      fprintf(stderr, "  %-20s %7ld calls %9.3f s %5.1f%%\n", rows[i].op, calls, seconds,
              total > 0 ? 100.0 * seconds / total : 0.0);
    }
  }
  free(rows);
  b->ops->destroy(b);
}
