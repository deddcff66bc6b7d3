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

/* Unset or empty: the default. Anything but the listed values is refused, so a typo
 * (VAECL_WORK_LAYOUT=row) cannot silently measure the wrong configuration. */
static int check_choice(const char *name, const char *const *allowed, const char *list) {
  const char *v = getenv(name);
  if (!v || !*v)
    return 0;
  for (; *allowed; allowed++)
    if (!strcmp(v, *allowed))
      return 0;
  fprintf(stderr, "vaecl: %s='%s' is not one of %s; fix or unset it\n", name, v, list);
  return -1;
}

int cli_check_environment(void) {
  static const char *const on_off[] = {"on", "off", NULL}, *const zero_one[] = {"0", "1", NULL},
                           *const layouts[] = {"rows", "channels", NULL},
                           *const auto_on_off[] = {"auto", "on", "off", NULL};
  return check_choice("VAECL_GEMM_TUNING", on_off, "on, off") ||
                 check_choice("VAECL_WORK_LAYOUT", layouts, "rows, channels") ||
                 check_choice("VAECL_PROFILE", zero_one, "0, 1") ||
                 check_choice("VAECL_BUILD_LOG", zero_one, "0, 1") ||
                 check_choice("VAECL_GEMM_SPLIT", auto_on_off, "auto, on, off")
             ? -1
             : 0;
}

/* VAECL_BUILD_LOG=1: the driver's messages about vaecl's kernels, for reports. */
static void print_build_log(void *ctx, const char *device, const char *log, int from_cache) {
  (void)ctx;
  fprintf(stderr, "vaecl: build log of the kernels on %s%s:\n%s\n", device,
          from_cache ? " (loaded from the kernel cache)" : "", *log ? log : "(empty)");
}

vb_backend *cli_backend_open(const cli_globals *g) {
  return cli_backend_open_gemm(g, NULL);
}

const char *cli_cache_dir(char *buf, size_t size) {
  return cache_dir(buf, size);
}

vb_backend *cli_backend_open_gemm(const cli_globals *g, const vaecl_gemm_params *gemm) {
  char dir[4096];
  vaecl_backend_options o = vaecl_backend_defaults();
  if (gemm) {
    o.gemm_chunk = gemm->chunk;
    o.gemm_group = gemm->group;
  }
  o.device = g->device;
  o.device_match = g->device_match;
  o.cache_dir = cache_dir(dir, sizeof dir);
  const char *tuning = getenv("VAECL_GEMM_TUNING");
  o.gemm_tuning = !(tuning && strcmp(tuning, "off") == 0);
  const char *split = getenv("VAECL_GEMM_SPLIT");
  if (split && strcmp(split, "auto") != 0)
    o.gemm_split_k = strcmp(split, "on") == 0;
  const char *layout = getenv("VAECL_WORK_LAYOUT");
  if (layout && strcmp(layout, "rows") == 0)
    o.work_layout = VAECL_LAYOUT_ROWS;
  else if (layout && strcmp(layout, "channels") == 0)
    o.work_layout = VAECL_LAYOUT_CHANNELS;
  const char *profile = getenv("VAECL_PROFILE");
  o.profile = profile && strcmp(profile, "1") == 0;
  const char *build_log = getenv("VAECL_BUILD_LOG");
  if (build_log && strcmp(build_log, "1") == 0)
    o.build_log = print_build_log;
  vb_backend *b = vaecl_backend_create(g->backend, &o);
  if (!b) {
    /* the library's message names no option: add how to choose another device */
    char why[1024];
    snprintf(why, sizeof why, "%s", vaecl_last_error());
    vaecl_fail("%s\n`vaecl devices` lists every backend's devices; choose one with --backend "
               "NAME and --device N (an index, or part of the name).",
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

int cli_pick_rank_device(cli_globals *g) {
  const cli_dist *d = g->dist;
  if (g->device_map_len > 1 && d->ranks < 2) {
    fprintf(stderr, "vaecl: --device with a list gives each MPI rank on a machine its device; "
                    "start vaecl with mpirun, or give one device\n");
    return -1;
  }
  if (d->ranks < 2 || g->device_map_len == 1 || g->device_match)
    return 0; /* one process, or every rank on the same device (by index or name) */
  if (g->device_map_len == 0) {
    /* the cpu backend has one device, which every rank shares */
    g->device = g->backend && strcmp(g->backend, "cpu") == 0 ? -1 : d->local_rank;
    return 0;
  }
  if (d->local_rank >= g->device_map_len) {
    fprintf(stderr,
            "vaecl: rank %d is rank %d on its machine, but --device lists %d devices; list "
            "one device per rank started on each machine\n",
            d->rank, d->local_rank, g->device_map_len);
    return -1;
  }
  g->device = g->device_map[d->local_rank];
  return 0;
}
