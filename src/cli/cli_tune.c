/* vaecl tune: times training steps of a model with each candidate parameter set of
 * vaecl's block GEMM kernel (cl/gemm_block.cl: the k-chunk its work-groups walk and
 * their size) on the chosen device, and stores the fastest for that device and driver
 * in the kernel cache directory, where every verb then finds it. The parameters only
 * change the speed: every candidate trains the same bits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/clock.h"
#include "util/error.h"
#include <vaecl/backend_registry.h>
#include <vaecl/graph.h>
#include <vaecl/step_window.h>

typedef struct {
  long batch, steps, budget;
  const char *model;
} tune_args;

static int parse(int argc, char **argv, tune_args *a) {
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v;
    if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
      printf("usage: vaecl [--device N|NAME] tune [--model FILE] [--batch 128] [--steps 5] "
             "[--budget 120]\n\nOn CPU devices vaecl computes GEMMs in its own kernels. This "
             "times training steps of the model (default: the reference model) on synthetic "
             "images with each candidate of the block kernel's parameters (the k-chunk its "
             "work-groups walk together, and the largest work-group side), the defaults first, "
             "and stores the fastest for this device and driver in the kernel cache directory "
             "(VAECL_CACHE_DIR), where train, bench and the other commands then use it. The "
             "parameters change the speed only: every candidate computes the same bits.\n\n"
             "--steps: timed steps per candidate (after 2 warm-up steps)\n--budget: seconds "
             "after which no further candidate starts\n");
      exit(0);
    }
    if (!strcmp(opt, "--model")) {
      if (cli_option_value(argc, argv, &i, &a->model))
        return -1;
      continue;
    }
    long *dst = !strcmp(opt, "--batch")    ? &a->batch
                : !strcmp(opt, "--steps")  ? &a->steps
                : !strcmp(opt, "--budget") ? &a->budget
                                           : NULL;
    if (!dst)
      return cli_unknown_option("tune", opt);
    if (cli_option_value(argc, argv, &i, &v) ||
        cli_parse_int(opt, v, dst == &a->budget ? 0 : 1, 65536, dst))
      return -1;
  }
  return 0;
}

/* ms per training step of spec on be, after 2 warm-up steps; -1 with a message. */
static int time_steps(vb_backend *be, const vaecl_model_spec *spec, const tune_args *a,
                      double *ms) {
  vaecl_model *m = vaecl_model_create(be, spec, (int)a->batch, 1);
  if (!m)
    return -1;
  vb_buf *images = cli_synthetic_images(be, (size_t)a->batch * vaecl_shape_size(&spec->input));
  int rc = images ? 0 : -1;
  const vaecl_adam_config adam = vaecl_adam_default();
  vaecl_step_window window = vaecl_step_window_open(be);
  double start = 0;
  for (long s = 0; rc == 0 && s < 2 + a->steps; s++) {
    if (s == 2 && (rc = be->ops->finish(be)) == 0)
      start = vaecl_seconds();
    if (rc == 0 && (rc = vaecl_step_window_admit(&window)) == 0 &&
        (rc = vaecl_model_train_step(m, images, (int)a->batch, (uint64_t)s, &adam)) == 0)
      rc = vaecl_step_window_mark(&window);
  }
  if (vaecl_step_window_close(&window) != 0 && rc == 0)
    rc = -1;
  if (rc == 0 && (rc = be->ops->finish(be)) == 0)
    *ms = 1e3 * (vaecl_seconds() - start) / (double)a->steps;
  if (images)
    be->ops->release(be, images);
  vaecl_model_destroy(m);
  return rc;
}

/* The defaults first: with a small budget they are what the others are measured by. */
static const vaecl_gemm_params candidates[] = {{64, 8}, {32, 8},  {128, 8}, {256, 8},  {16, 8},
                                               {64, 4}, {128, 4}, {64, 12}, {128, 12}, {64, 16}};
enum { N_CANDIDATES = sizeof candidates / sizeof candidates[0] };

static int tune(const cli_globals *g, const vaecl_model_spec *spec, const tune_args *a) {
  char dir[4096];
  const char *cache = cli_cache_dir(dir, sizeof dir);
  if (!cache) /* found out before the budget is spent rather than after */
    return vaecl_fail("no directory to keep the result in: set VAECL_CACHE_DIR (or HOME)");
  vaecl_gemm_params best = candidates[0];
  double best_ms = 0, default_ms = 0;
  const double t0 = vaecl_seconds();
  vb_backend *keep = NULL; /* the last backend, to save with */
  int tried = 0;
  for (int c = 0; c < N_CANDIDATES; c++) {
    if (c > 1 && vaecl_seconds() - t0 > (double)a->budget) {
      printf("budget of %ld s spent: %d of %d candidates tried\n", a->budget, tried, N_CANDIDATES);
      break;
    }
    vb_backend *be = cli_backend_open_gemm(g, &candidates[c]);
    vaecl_gemm_params used;
    int tunable = 0;
    if (!be || vaecl_backend_gemm_params(be, &used, &tunable) != 0) {
      cli_backend_close(be);
      cli_backend_close(keep);
      return -1;
    }
    if (!tunable) { /* the first candidate: keep is NULL */
      printf("nothing to tune on %s: its GEMMs run in %s, not in vaecl's block kernel\n",
             be->device_name, be->gemm_note);
      cli_backend_close(be);
      return 0;
    }
    if (c == 0)
      printf("tuning vaecl's GEMM kernel on %s: %s, batch %ld, %ld timed steps per candidate\n",
             be->device_name, spec->source, a->batch, a->steps);
    double ms;
    if (time_steps(be, spec, a, &ms) != 0) {
      cli_backend_close(be);
      cli_backend_close(keep);
      return -1;
    }
    tried++;
    printf("  k-chunks of %3d, groups up to %dx%d: %8.2f ms/step%s\n", candidates[c].chunk,
           candidates[c].group, candidates[c].group, ms, c == 0 ? "  (the defaults)" : "");
    fflush(stdout);
    if (c == 0)
      default_ms = ms;
    if (c == 0 || ms < best_ms)
      best = candidates[c], best_ms = ms;
    cli_backend_close(keep);
    keep = be;
  }
  char path[4200];
  const int rc = vaecl_backend_save_gemm_params(keep, cache, &best, path, sizeof path);
  if (rc == 0)
    printf("fastest: k-chunks of %d, groups up to %dx%d, %.2f ms/step (%.2fx the defaults' "
           "speed); saved to %s, which train, bench and the other commands on this device and "
           "driver now use (with the same VAECL_CACHE_DIR)\n",
           best.chunk, best.group, best.group, best_ms, default_ms / best_ms, path);
  cli_backend_close(keep);
  return rc;
}

int cli_tune(const cli_globals *g, int argc, char **argv) {
  tune_args a = {.batch = 128, .steps = 5, .budget = 120};
  if (parse(argc, argv, &a) != 0)
    return 2;
  vaecl_model_spec spec;
  if (cli_load_model(a.model, &spec, NULL) != 0) {
    fprintf(stderr, "vaecl tune: %s\n", vaecl_last_error());
    return 2;
  }
  const int rc = tune(g, &spec, &a);
  vaecl_model_spec_free(&spec);
  if (rc != 0)
    fprintf(stderr, "vaecl tune: %s\n", vaecl_last_error());
  return rc == 0 ? 0 : 1;
}
