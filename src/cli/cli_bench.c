/* vaecl bench: the speed of a training step, on synthetic images so it needs no data
 * set. Steps are timed between two waits for the device, after warm-up steps that
 * absorb kernel compilation and CLBlast's first-call setup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "nn/train_shard.h"
#include "util/clock.h"
#include "util/error.h"
#include <vaecl/backend_registry.h>
#include <vaecl/graph.h>
#include <vaecl/step_window.h>

typedef struct {
  long batch, steps, warmup;
  int profile;
  const char *model;
} bench_args;

static int parse(int argc, char **argv, bench_args *a) {
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v;
    if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
      printf("usage: vaecl [--backend NAME] [--device N|NAME] bench [--model FILE] [--batch 128] "
             "[--steps 20] [--warmup 3] [--profile]\n\nTimes training steps (forward, loss, "
             "backward, Adam) of a model (default: the reference model) on synthetic images "
             "of its input size, and forward passes of the encoder alone, in one run; prints "
             "milliseconds per step and images per second, and the kernel launches and host "
             "waits per step. Under mpirun, each rank takes its part of the batch and the step "
             "time is split into compute, all-reduce and update.\n\n--profile: then runs the "
             "steps again with every op timed alone (each waits for the device) and prints a "
             "table per layer, op and shape: calls and ms per step, GFLOP/s, share of the step; "
             "and the step's FLOPs against its unprofiled time (under mpirun: rank 0's part of "
             "the batch, without the all-reduce).\n");
      exit(0);
    }
    if (!strcmp(opt, "--profile")) {
      a->profile = 1;
      continue;
    }
    if (!strcmp(opt, "--model")) {
      if (cli_option_value(argc, argv, &i, &a->model))
        return -1;
      continue;
    }
    long *dst = !strcmp(opt, "--batch")    ? &a->batch
                : !strcmp(opt, "--steps")  ? &a->steps
                : !strcmp(opt, "--warmup") ? &a->warmup
                                           : NULL;
    if (!dst)
      return cli_unknown_option("bench", opt);
    if (cli_option_value(argc, argv, &i, &v) || cli_parse_int(opt, v, 1, 65536, dst))
      return -1;
  }
  return 0;
}

/* Under mpirun: the step as training runs it, with the time in each part. */
typedef struct {
  shard_step step;
  int first, part, open;
} bench_shard;

static int one_step(vaecl_model *m, const vb_buf *images, bench_shard *sh, const bench_args *a,
                    long s, const vaecl_adam_config *adam) {
  if (!sh->open)
    return vaecl_model_train_step(m, images, (int)a->batch, (uint64_t)s, adam);
  return shard_step_run(&sh->step, m, images, sh->part, sh->first, (int)a->batch, (uint64_t)s, adam,
                        0, 1);
}

static void print_shard(const cli_dist *d, const bench_shard *sh, long steps, const char *model) {
  const shard_step *s = &sh->step;
  const double ms = 1e3 / (double)steps;
  printf("%d ranks, %d images of each batch on rank 0; per step on rank 0: compute %.2f ms, "
         "all-reduce %.2f ms, update %.2f ms\n",
         d->ranks, sh->part, s->compute_s * ms, s->reduce_s * ms, s->apply_s * ms);
  printf("all-reduce: %zu floats (%zu bytes) per step: the %zu gradients of %s, 2 loss sums "
         "and the stop vote, by %s\n",
         s->count, s->count * sizeof(float), s->params, model,
         d->ordered ? "rank-ordered MPI_Gather + MPI_Bcast" : "MPI_Allreduce");
}

static int by_time(const void *x, const void *y) {
  const double a = ((const vaecl_op_profile *)x)->seconds,
               b = ((const vaecl_op_profile *)y)->seconds;
  return (a < b) - (a > b);
}

/* `steps` more training steps with every op timed alone, and the table. */
static int profile_steps(vb_backend *be, vaecl_model *m, const vb_buf *images, int batch,
                         const bench_args *a, double ms_step) {
  const vaecl_adam_config adam = vaecl_adam_default();
  int rc = vaecl_backend_profile_reset(be, 1);
  for (long s = 0; rc == 0 && s < a->steps; s++)
    rc = vaecl_model_train_step(m, images, batch, (uint64_t)(a->warmup + a->steps + s), &adam);
  if (rc == 0)
    rc = be->ops->finish(be);
  vaecl_op_profile *rows = NULL;
  size_t n = 0;
  if (rc == 0)
    rc = vaecl_backend_profile(be, &rows, &n);
  if (rc == 0 && n == 0)
    printf("\nprofile: the %s backend does not profile\n", be->ops->name);
  if (rc != 0 || n == 0) {
    free(rows);
    return rc;
  }
  qsort(rows, n, sizeof *rows, by_time);
  double total = 0, flops = 0;
  for (size_t i = 0; i < n; i++) {
    total += rows[i].seconds;
    flops += rows[i].flops;
  }
  const double steps = (double)a->steps;
  printf("\nprofile: %ld steps, every op timed alone (per step; GFLOP/s where FLOPs are "
         "counted)\n",
         a->steps);
  printf("%-16s %-18s %-42s %6s %9s %8s %6s\n", "layer", "op", "shape", "calls", "ms", "GFLOP/s",
         "share");
  for (size_t i = 0; i < n; i++) {
    const vaecl_op_profile *r = &rows[i];
    char gflops[16] = "";
    if (r->flops > 0 && r->seconds > 0)
      snprintf(gflops, sizeof gflops, "%.1f", r->flops / r->seconds / 1e9);
    printf("%-16s %-18s %-42s %6.1f %9.3f %8s %5.1f%%\n", r->layer, r->op, r->shape,
           (double)r->calls / steps, 1e3 * r->seconds / steps, gflops,
           total > 0 ? 100.0 * r->seconds / total : 0.0);
  }
  printf("total: %.2f ms/step with every op alone (%.2f ms/step unprofiled); %.3f GFLOP "
         "counted per step (GEMMs and col2im sums): %.1f GFLOP/s at the unprofiled step time\n",
         1e3 * total / steps, ms_step, flops / steps / 1e9,
         ms_step > 0 ? flops / steps / (ms_step * 1e-3) / 1e9 : 0.0);
  free(rows);
  return vaecl_backend_profile_reset(be, 0);
}

static int run(vb_backend *be, const vaecl_model_spec *spec, const bench_args *a,
               const cli_dist *d) {
  bench_shard sh = {.part = (int)a->batch};
  if (d->ranks > 1 && a->batch < d->ranks) {
    vaecl_fail("--batch %ld is smaller than the %d ranks; give every rank an image", a->batch,
               d->ranks);
    return -2;
  }
  if (d->ranks > 1)
    shard_rows((int)a->batch, d->rank, d->ranks, &sh.first, &sh.part);
  vaecl_model *m = vaecl_model_create(be, spec, sh.part, 1);
  float *stats = malloc((size_t)sh.part * 2 * spec->latent * sizeof *stats);
  vb_buf *images = NULL;
  int rc = m ? 0 : -1; /* vaecl_model_create has said why */
  if (rc == 0 && !stats)
    rc = vaecl_fail("out of host memory for a batch of %ld", a->batch);
  if (rc == 0 &&
      !(images = cli_synthetic_images(be, (size_t)sh.part * vaecl_shape_size(&spec->input))))
    rc = -1;
  const vaecl_shard shard = {
      .rank = d->rank, .ranks = d->ranks, .user = (void *)d, .reduce = cli_dist_reduce};
  if (rc == 0 && d->ranks > 1 && (rc = shard_step_open(&sh.step, m, be, &shard)) == 0)
    sh.open = 1;
  const vaecl_adam_config adam = vaecl_adam_default();
  double t_step = 0, t_fwd = 0;
  vaecl_step_window window = vaecl_step_window_open(be);
  for (long s = 0; rc == 0 && s < a->warmup + a->steps; s++) {
    if (s == a->warmup &&
        ((rc = be->ops->finish(be)) != 0 || (rc = vaecl_backend_profile_reset(be, 0)) != 0))
      break;
    const double t0 = vaecl_seconds();
    if (s == a->warmup) {
      t_step = t0;
      sh.step.compute_s = sh.step.reduce_s = sh.step.apply_s = 0;
    }
    if ((rc = vaecl_step_window_admit(&window)) == 0 &&
        (rc = one_step(m, images, &sh, a, s, &adam)) == 0)
      rc = vaecl_step_window_mark(&window);
  }
  if (vaecl_step_window_close(&window) != 0 && rc == 0)
    rc = -1;
  if (rc == 0 && (rc = be->ops->finish(be)) == 0)
    t_step = vaecl_seconds() - t_step;
  vaecl_backend_counts counts;
  if (rc == 0)
    rc = vaecl_backend_counts_get(be, &counts);
  /* encode() reads its result back, so each forward pass is timed to completion. */
  for (long s = 0; rc == 0 && s < a->warmup + a->steps; s++) {
    const double t0 = vaecl_seconds();
    rc = vaecl_model_encode(m, images, sh.part, stats);
    if (s >= a->warmup)
      t_fwd += vaecl_seconds() - t0;
  }
  if (rc == 0) {
    const double ms_step = 1e3 * t_step / a->steps, ms_fwd = 1e3 * t_fwd / a->steps;
    printf("device: %s\n", be->device_name);
    printf("model: %s\n", spec->source);
    printf("GEMM parameters: %s\n", be->gemm_note);
    printf("batch %ld, %ld timed steps after %ld warm-up\n", a->batch, a->steps, a->warmup);
    if (sh.open)
      print_shard(d, &sh, a->steps, spec->source);
    printf("train step:      %8.2f ms/step  %9.0f images/s\n", ms_step,
           1e3 * (double)a->batch / ms_step);
    printf("encoder forward: %8.2f ms/batch %9.0f images/s%s\n", ms_fwd,
           1e3 * (double)sh.part / ms_fwd, sh.open ? " (rank 0's part of the batch)" : "");
    printf("ratio train step / encoder forward: %.2f\n", ms_step / ms_fwd);
    printf("epoch of 70,000 images at this speed: %.0f s\n",
           70000.0 / (double)a->batch * ms_step / 1e3);
    if (counts.launches >= 0) /* the final finish counts as one of the steps' waits */
      printf("per step: %.1f launches (kernels and CLBlast calls), %.2f host waits\n",
             (double)counts.launches / a->steps, (double)counts.host_syncs / a->steps);
    if (a->profile)
      rc = profile_steps(be, m, images, sh.part, a, ms_step);
  }
  if (sh.open)
    shard_step_close(&sh.step);
  if (images)
    be->ops->release(be, images);
  free(stats);
  vaecl_model_destroy(m);
  return rc;
}

int cli_bench(const cli_globals *g, int argc, char **argv) {
  bench_args a = {.batch = 128, .steps = 20, .warmup = 3};
  if (parse(argc, argv, &a) != 0)
    return 2;
  vaecl_model_spec spec;
  if (cli_load_model(a.model, &spec, NULL) != 0) {
    fprintf(stderr, "vaecl bench: %s\n", vaecl_last_error());
    return 2;
  }
  vb_backend *be = cli_backend_open(g);
  if (!be) {
    fprintf(stderr, "vaecl bench: %s\n", vaecl_last_error());
    vaecl_model_spec_free(&spec);
    if (g->dist->ranks > 1) /* the other ranks would wait for this one */
      cli_dist_abort(g->dist, "no device opened", 1);
    return 1;
  }
  const int rc = run(be, &spec, &a, g->dist);
  vaecl_model_spec_free(&spec);
  if (rc == -2) { /* a usage error, the same on every rank */
    if (g->dist->rank == 0)
      fprintf(stderr, "vaecl bench: %s\n", vaecl_last_error());
    cli_backend_close(be);
    return 2;
  }
  if (rc != 0) {
    fprintf(stderr, "vaecl bench: %s\n", vaecl_last_error());
    if (g->dist->ranks > 1)
      cli_dist_abort(g->dist, be->device_name, 1);
  }
  cli_backend_close(be);
  return rc == 0 ? 0 : 1;
}
