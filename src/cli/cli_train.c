/* vaecl train: a model file (the Keras Fashion-MNIST VAE by default) trained on a
 * data set, with Keras-style epoch lines, checkpoints and figures. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/error.h"
#include <vaecl/checkpoint.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>
#include <vaecl/model_pictures.h>
#include <vaecl/train.h>

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--backend NAME] [--device N|NAME] train [options]\n"
             "\n"
             "Trains a VAE described by a model file (default: the Keras Fashion-MNIST model,\n"
             "see `vaecl summary`) with Adam, and writes a checkpoint after every epoch.\n"
             "\n"
             "options:\n"
             "  --model FILE    a model file (data/models/*.vae); default: the reference model\n"
             "  --data PATH     IDX files (train-*, t10k-*, plain or .gz) or a folder of PNG\n"
             "                  images (one subfolder per class, or flat); default\n"
             "                  " VAECL_DEFAULT_DATA_DIR "\n"
             "  --epochs N      total epochs, counting those a resumed run already did (10)\n"
             "  --batch N       batch size (default 128)\n"
             "  --lr X          Adam learning rate (default 0.001)\n"
             "  --seed S        seed for weights, shuffling and sampling (default 1)\n"
             "  --limit N       use only the first N images\n"
             "  --out FILE      checkpoint path (default vaecl-model.ckpt)\n"
             "  --resume FILE   continue from a checkpoint written by --out\n"
             "  --val-split F   hold out the fraction F (0 < F < 1) of the images, chosen\n"
             "                  from the seed, and report their loss after every epoch\n"
             "  --val-data PATH report the loss of these images after every epoch\n"
             "  --sample-every N  every N epochs, draw PREFIX-samples-epoch-E.png (64 draws\n"
             "                  from the prior) and PREFIX-reconstruct-epoch-E.png (16 images\n"
             "                  above their reconstructions, from the validation images if\n"
             "                  any), PREFIX being --out without .ckpt\n"
             "  --no-plots      skip the figures written at the end (see vaecl plot --help)\n"
             "  --grid-window R the latent grid figure spans [-R, R]^2 (default 0.5, the\n"
             "                  Keras example's; trained means often spread over [-3, 3])\n"
             "  -h, --help      this help\n"
             "\n"
             "On --resume, the seed and batch are the checkpoint's; --seed or --batch that\n"
             "differ are refused.\n"
             "Ctrl-C (or SIGTERM, SIGUSR1) stops after the current step, saves the checkpoint\n"
             "and exits with 128 + the signal (130 for Ctrl-C); a second one stops at once.\n"
             "Exit codes: 0 done, 1 failed while running, 2 bad usage or input.\n"
             "Under `mpirun -np N`, the N ranks split each batch and rank 0 writes the files.\n");
}

typedef struct {
  const char *data_dir, *out, *resume;
  const char *model;
  cli_validation val;
  long epochs, batch, limit, sample_every;
  int no_plots, batch_given, seed_given;
  double lr, grid_window;
  long long seed;
} train_args;

static const char *const value_options[] = {
    "--data", "--model", "--out",         "--resume",    "--epochs",   "--batch",        "--lr",
    "--seed", "--limit", "--grid-window", "--val-split", "--val-data", "--sample-every", NULL};

static int parse(int argc, char **argv, train_args *a) {
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v;
    long n;
    double x;
    if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
      usage(stdout);
      exit(0);
    }
    if (!strcmp(opt, "--no-plots")) {
      a->no_plots = 1;
      continue;
    }
    if (opt[0] != '-') {
      fprintf(stderr, "vaecl train: unexpected argument '%s' (see --help)\n", opt);
      return -1;
    }
    /* Unknown before missing: `train --bogus` must not say "--bogus needs a value". */
    if (!cli_is_option(opt, value_options))
      return cli_unknown_option("train", opt);
    if (cli_option_value(argc, argv, &i, &v) != 0)
      return -1;
    if (!strcmp(opt, "--data"))
      a->data_dir = v;
    else if (!strcmp(opt, "--model"))
      a->model = v;
    else if (!strcmp(opt, "--out"))
      a->out = v;
    else if (!strcmp(opt, "--resume"))
      a->resume = v;
    else if (!strcmp(opt, "--sample-every")) {
      if (cli_parse_int(opt, v, 1, 100000, &a->sample_every))
        return -1;
    } else if (!strcmp(opt, "--val-data"))
      a->val.data = v;
    else if (!strcmp(opt, "--val-split")) {
      if (cli_parse_float(opt, v, 1e-9, 1 - 1e-9, &x))
        return -1;
      a->val.split = x;
    } else if (!strcmp(opt, "--epochs")) {
      if (cli_parse_int(opt, v, 1, 100000, &a->epochs))
        return -1;
    } else if (!strcmp(opt, "--batch")) {
      if (cli_parse_int(opt, v, 1, 65536, &a->batch))
        return -1;
      a->batch_given = 1;
    } else if (!strcmp(opt, "--limit")) {
      if (cli_parse_int(opt, v, 1, 1L << 30, &a->limit))
        return -1;
    } else if (!strcmp(opt, "--seed")) {
      if (cli_parse_int(opt, v, 0, 0x7fffffffL, &n))
        return -1;
      a->seed = n;
      a->seed_given = 1;
    } else if (!strcmp(opt, "--lr")) {
      if (cli_parse_float(opt, v, 1e-9, 10.0, &x))
        return -1;
      a->lr = x;
    } else if (cli_parse_float(opt, v, 1e-3, 1e3, &a->grid_window)) { /* --grid-window */
      return -1;
    }
  }
  return 0;
}

static volatile sig_atomic_t stop_flag; /* the signal that asked to stop, or 0 */

/* The first signal asks for a clean stop; a second one kills at once (the last
 * checkpoint on disk is whole either way). */
static void on_stop_signal(int sig) {
  stop_flag = sig;
  signal(sig, SIG_DFL);
}

/* Progress and epoch lines: Keras' format; on a terminal the progress line is
 * redrawn in place, in a log a plain line is written now and then. */
typedef struct {
  int tty;
  cli_history *history; /* NULL: none */
  /* --sample-every's pictures (every 0: none) */
  long every;
  vaecl_model *m;
  vb_backend *be;
  const vaecl_dataset *train, *shown; /* reconstructed: the validation images, else training's */
  const char *prefix;
  uint64_t seed;
  char failed[1024]; /* why the history could not be written ("" when it could) */
} reporter;

static void metrics_text(const vaecl_epoch_metrics *e, char *buf, size_t size) {
  const int n = snprintf(buf, size, "loss: %.4f - reconstruction_loss: %.4f - kl_loss: %.4f",
                         e->loss, e->reconstruction_loss, e->kl_loss);
  if (e->has_val && n > 0 && (size_t)n < size)
    snprintf(buf + n, size - (size_t)n,
             " - val_loss: %.4f - val_reconstruction_loss: %.4f - val_kl_loss: %.4f", e->val_loss,
             e->val_reconstruction_loss, e->val_kl_loss);
}

static void on_epoch_begin(void *user, int epoch, int epochs) {
  (void)user;
  printf("Epoch %d/%d\n", epoch, epochs);
  fflush(stdout);
}

static void on_progress(void *user, const vaecl_epoch_metrics *e) {
  const reporter *r = user;
  char m[256];
  metrics_text(e, m, sizeof m);
  fprintf(stderr, "%s%d/%d - %.0fs - %s%s", r->tty ? "\r" : "  ", e->step, e->steps, e->seconds, m,
          r->tty ? "" : "\n");
  fflush(stderr);
}

/* --sample-every: what the model makes of the prior and of known images, by epoch. The
 * pictures read the weights but change no training state, so the run's numbers are those
 * of a run without them. */
static int epoch_pictures(const reporter *r, int epoch) {
  if (r->every <= 0 || epoch % r->every != 0)
    return 0;
  char path[4300], title[512];
  snprintf(path, sizeof path, "%s-samples-epoch-%03d.png", r->prefix, epoch);
  snprintf(title, sizeof title, "epoch %d: 64 samples, z ~ N(0, I), seed %llu, decoded", epoch,
           (unsigned long long)r->seed);
  if (vaecl_picture_samples(r->m, path, title, 64, r->seed) != 0)
    return -1;
  printf("wrote %s\n", path);
  const int n = r->shown->count < 16 ? (int)r->shown->count : 16;
  snprintf(path, sizeof path, "%s-reconstruct-epoch-%03d.png", r->prefix, epoch);
  snprintf(title, sizeof title, "epoch %d: %d %s images above their reconstructions (z = mean)",
           epoch, n, r->shown == r->train ? "training" : "validation");
  if (vaecl_picture_reconstructions(r->m, r->be, r->shown, 0, n, path, title) != 0)
    return -1;
  printf("wrote %s\n", path);
  return 0;
}

static void on_epoch_end(void *user, const vaecl_epoch_metrics *e) {
  reporter *r = user;
  char m[512];
  if (r->tty)
    fprintf(stderr, "\r\033[K");
  metrics_text(e, m, sizeof m);
  /* The run's first step compiles kernels (seconds on PoCL): timed apart. */
  const int timed = e->first_step_seconds > 0 && e->step > 1;
  const double per_step =
      timed ? (e->seconds - e->first_step_seconds) / (e->step - 1) : e->seconds / e->step;
  printf("%d/%d - %.0fs - %.0fms/step - %s\n", e->step, e->steps, e->seconds, 1e3 * per_step, m);
  if (timed)
    printf("(the first step took %.1fs, one-time setup such as compiling kernels included; "
           "ms/step leaves it out)\n",
           e->first_step_seconds);
  fflush(stdout);
  /* A history or picture that cannot be written stops the run (after this epoch's
   * checkpoint). */
  if (r->history && !r->failed[0] &&
      (cli_history_add(r->history, e) != 0 || epoch_pictures(r, e->epoch) != 0)) {
    snprintf(r->failed, sizeof r->failed, "%s", vaecl_last_error());
    stop_flag = 1;
  }
}

/* --seed and --batch on --resume must agree with the checkpoint: the run continues
 * the checkpoint's shuffles, noise and step count, so another value would silently
 * not be what was asked for. Unset ones take the checkpoint's. */
static int resume_settings(train_args *a, const vaecl_checkpoint *ck) {
  if (a->seed_given && (uint64_t)a->seed != ck->seed) {
    vaecl_fail("--seed %lld differs from the seed %llu that %s was trained with; drop --seed "
               "(resuming keeps the checkpoint's), or start a new run without --resume",
               a->seed, (unsigned long long)ck->seed, a->resume);
    return -1;
  }
  if (a->batch_given && ck->batch && (uint32_t)a->batch != ck->batch) {
    vaecl_fail("--batch %ld differs from the batch %u that %s was trained with; drop --batch "
               "(resuming keeps the checkpoint's), or start a new run without --resume",
               a->batch, ck->batch, a->resume);
    return -1;
  }
  a->seed = (long long)ck->seed; /* the same shuffles and noise as the original run */
  if (ck->batch)
    a->batch = ck->batch;
  return 0;
}

/* What the run starts from, read and checked before any data or device: the model
 * file, or the checkpoint of --resume and its model. */
typedef struct {
  vaecl_model_spec spec;
  vaecl_checkpoint ck; /* zeroed without --resume */
} train_input;

static int load_input(train_args *a, train_input *in) {
  memset(in, 0, sizeof *in);
  if (!a->resume)
    return cli_load_model(a->model, &in->spec, NULL);
  if (cli_load_model(a->resume, &in->spec, &in->ck) != 0)
    return -1;
  if (!in->ck.model_text) {
    vaecl_model_spec_free(&in->spec);
    return vaecl_fail("%s is a model file, not a checkpoint; resume from a file written by train",
                      a->resume);
  }
  /* Checked on the host: a crafted file fails before any device memory. */
  int rc = resume_settings(a, &in->ck);
  if (rc == 0 && (rc = vaecl_checkpoint_check_model(&in->ck, &in->spec)) != 0)
    vaecl_fail_context("%s: ", a->resume);
  if (rc != 0) {
    vaecl_model_spec_free(&in->spec);
    vaecl_checkpoint_free(&in->ck);
    return -1;
  }
  return 0;
}

/* Each rank's model holds its part of a batch: at most batch / ranks, rounded up. */
static vaecl_model *make_model(vb_backend *be, const train_args *a, const train_input *in,
                               int ranks) {
  const int batch = (int)((a->batch + ranks - 1) / ranks);
  vaecl_model *m = vaecl_model_create(be, &in->spec, batch, (uint64_t)a->seed);
  if (m && a->resume && vaecl_model_from_checkpoint(m, &in->ck) != 0) {
    vaecl_fail_context("resuming from %s: ", a->resume);
    vaecl_model_destroy(m);
    m = NULL;
  }
  return m;
}

/* Adds the command line's hint to a library message that names no option. */
static void report_error(const char *what) {
  const char *msg = vaecl_last_error();
  fprintf(stderr, "vaecl train: %s\n", msg);
  if (strstr(msg, "diverged"))
    fprintf(stderr, "vaecl train: try a smaller --lr or another --seed\n");
  else if (strstr(what, "data"))
    fprintf(stderr, "vaecl train: pass the images with --data PATH (see vaecl train --help)\n");
  else if (strstr(msg, ": writing ") && strstr(msg, " failed: "))
    fprintf(stderr, "vaecl train: a checkpoint already at --out is unchanged; free disk space, "
                    "then continue with --resume\n");
  else if (strstr(msg, "out of memory") || strstr(msg, "OUT_OF_RESOURCES") ||
           strstr(msg, "MEM_OBJECT_ALLOCATION"))
    fprintf(stderr, "vaecl train: try a smaller --batch\n");
}

/* One line per rank: where each one trains (rank 0 prints them). */
static int print_ranks(const cli_dist *d, const char *device) {
  enum { LINE = 320 };
  char *all = d->rank == 0 ? calloc((size_t)d->ranks, LINE) : NULL;
  char mine[LINE];
  if (d->rank == 0 && !all)
    return vaecl_fail("out of host memory");
  snprintf(mine, sizeof mine, "%s", device);
  int rc = cli_dist_gather_text(d, mine, all, LINE);
  for (int r = 0; rc == 0 && all && r < d->ranks; r++)
    printf("rank %d: %s\n", r, all + (size_t)r * LINE);
  free(all);
  return rc;
}

/* Under mpirun a failure on one rank would leave the others waiting for it forever:
 * stop them all, naming this rank and its device. */
static int fail_all(const cli_globals *g, const vb_backend *be, const char *what) {
  if (g->dist->ranks < 2)
    return -1;
  if (what)
    report_error(what);
  char device[320];
  if (be)
    snprintf(device, sizeof device, "device %d: %s", g->device, be->device_name);
  else
    snprintf(device, sizeof device, "device %d, not opened", g->device);
  cli_dist_abort(g->dist, device, 1);
  return -1;
}

/* Reads and checks everything the user gave (model or checkpoint, --out, data)
 * before the device is touched: any problem there is exit code 2. */
static int prepare(train_args *a, train_input *in, vaecl_dataset *data, vaecl_dataset *val,
                   char *note, size_t note_size) {
  if (a->val.split > 0 && a->val.data) {
    fprintf(stderr, "vaecl train: --val-split and --val-data are two ways to validate; pick one\n");
    return -1;
  }
  if (a->model && a->resume) {
    fprintf(stderr, "vaecl train: --resume continues the checkpoint's own model; drop --model\n");
    return -1;
  }
  if (load_input(a, in) != 0) {
    fprintf(stderr, "vaecl train: %s\n", vaecl_last_error());
    return -1;
  }
  if (vaecl_checkpoint_check_writable(a->out) != 0) {
    fprintf(stderr, "vaecl train: %s; pick another --out\n", vaecl_last_error());
    return -1;
  }
  if (vaecl_dataset_load(a->data_dir, data) != 0) {
    report_error("data");
    return -1;
  }
  if (a->limit > 0 && (size_t)a->limit < data->count)
    vaecl_dataset_truncate(data, (size_t)a->limit);
  const vaecl_shape *shape = &in->spec.input;
  if (vaecl_dataset_check_fits(data, shape->h, shape->w, shape->c) != 0) {
    fprintf(stderr,
            "vaecl train: %s: %s; use data of the model's input size, or a model file "
            "whose `input` line matches the data\n",
            a->data_dir, vaecl_last_error());
    return -1;
  }
  /* A conflict with the checkpoint's validation is a usage error too. */
  if (cli_validation_resolve(&a->val, a->resume, in->ck.validation, data->count) != 0)
    return -1;
  if (in->ck.epochs_done < (uint32_t)a->epochs &&
      cli_validation_prepare(&a->val, (uint64_t)a->seed, data, val, note, note_size) != 0) {
    fprintf(stderr, "vaecl train: %s\n", vaecl_last_error());
    return -1;
  }
  if (val->count && vaecl_dataset_check_fits(val, shape->h, shape->w, shape->c) != 0) {
    fprintf(stderr, "vaecl train: --val-data %s: %s\n", a->val.data, vaecl_last_error());
    return -1;
  }
  return 0;
}

int cli_train(const cli_globals *g, int argc, char **argv) {
  const cli_dist *dist = g->dist;
  train_args a = {.data_dir = VAECL_DEFAULT_DATA_DIR,
                  .out = "vaecl-model.ckpt",
                  .epochs = 10,
                  .batch = 128,
                  .lr = 1e-3,
                  .seed = 1,
                  .grid_window = CLI_GRID_WINDOW};
  if (parse(argc, argv, &a) != 0)
    return CLI_EXIT_USAGE;
  train_input in;
  memset(&in, 0, sizeof in);
  vaecl_dataset data = {0}, val = {0};
  char note[4200] = "";
  if (prepare(&a, &in, &data, &val, note, sizeof note) != 0) {
    fail_all(g, NULL, NULL); /* a rank alone in trouble (its own disk, say) */
    vaecl_model_spec_free(&in.spec);
    vaecl_checkpoint_free(&in.ck);
    vaecl_dataset_free(&data);
    vaecl_dataset_free(&val);
    return CLI_EXIT_USAGE;
  }
  const uint32_t epochs_done = in.ck.epochs_done;
  if (epochs_done >= (uint32_t)a.epochs) {
    printf("%s already has %u epochs, and --epochs (the total) is %ld: nothing to do\n", a.resume,
           epochs_done, a.epochs);
    vaecl_model_spec_free(&in.spec);
    vaecl_checkpoint_free(&in.ck);
    vaecl_dataset_free(&data);
    vaecl_dataset_free(&val);
    return 0;
  }
  vb_backend *be = cli_backend_open(g);
  if (!be && dist->ranks > 1) {
    report_error("backend");
    fprintf(stderr,
            "vaecl train: rank %d runs on device %d (its rank on this machine, or its "
            "entry of --device 0,1,...)\n",
            dist->rank, g->device);
    fail_all(g, NULL, NULL);
  }
  vaecl_model *m = be ? make_model(be, &a, &in, dist->ranks) : NULL;
  vaecl_model_spec_free(&in.spec);
  vaecl_checkpoint_free(&in.ck);
  int rc = m ? 0 : -1;
  if (rc == 0 && dist->ranks > 1)
    rc = print_ranks(dist, be->device_name);
  if (rc != 0 && be)
    fail_all(g, be, "train");
  vaecl_train_result result = {0};
  if (rc == 0) {
    char out_prefix[4096], resume_prefix[4096];
    cli_plot_prefix(a.out, out_prefix, sizeof out_prefix);
    if (a.resume)
      cli_plot_prefix(a.resume, resume_prefix, sizeof resume_prefix);
    cli_history history;
    reporter rep = {.tty = isatty(STDERR_FILENO),
                    .history = &history,
                    .every = a.sample_every,
                    .m = m,
                    .be = be,
                    .train = &data,
                    .shown = val.count ? &val : &data,
                    .prefix = out_prefix,
                    .seed = (uint64_t)a.seed};
    if (cli_history_open(&history, out_prefix, a.resume ? resume_prefix : NULL, epochs_done,
                         val.count > 0, !a.no_plots) != 0) {
      fprintf(stderr, "vaecl train: %s; move it away or fix it\n", vaecl_last_error());
      rc = -3;
    }
    if (rc == 0) {
      printf("vaecl %s: %zu images from %s, model %s, %zu parameters, batch %ld, device %s\n",
             VAECL_VERSION, data.count, a.data_dir, vaecl_model_get_spec(m)->source,
             vaecl_model_parameter_count(m), a.batch,
             dist->ranks > 1 ? "one per rank" : be->device_name);
      if (dist->ranks > 1)
        printf("%d ranks share each batch of %ld; gradients summed by %s\n", dist->ranks, a.batch,
               dist->ordered ? "rank order (VAECL_MPI_REDUCE=ordered)" : "MPI_Allreduce");
      if (epochs_done)
        printf("resuming from %s after epoch %u\n", a.resume, epochs_done);
    }
    vaecl_train_options opt = vaecl_train_defaults();
    opt.epochs = (int)a.epochs;
    opt.batch = (int)a.batch;
    opt.seed = (uint64_t)a.seed;
    opt.adam.learning_rate = (float)a.lr;
    opt.out_path = a.out;
    opt.val_data = val.count ? &val : NULL;
    opt.validation_note = note[0] ? note : NULL;
    if (dist->rank == 0) /* the others' figures are the same: rank 0 reports and draws */
      opt.callbacks = (vaecl_train_callbacks){.user = &rep,
                                              .on_epoch_begin = on_epoch_begin,
                                              .on_progress = on_progress,
                                              .on_epoch_end = on_epoch_end,
                                              .progress_interval = rep.tty ? 1.0 : 30.0};
    opt.shard = (vaecl_shard){
        .rank = dist->rank, .ranks = dist->ranks, .user = g->dist, .reduce = cli_dist_reduce};
    stop_flag = 0;
    opt.stop = &stop_flag;
    signal(SIGINT, on_stop_signal); /* Ctrl-C, and a scheduler's polite kill */
    signal(SIGTERM, on_stop_signal);
    signal(SIGUSR1, on_stop_signal); /* some batch systems warn with it before a time limit */
    if (rc == 0) {
      rc = vaecl_train(m, be, &data, &opt, epochs_done, &result);
      if (rc != 0)
        fail_all(g, be, "train");
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    cli_history_free(&history);
    if (rc == 0 && rep.failed[0]) {
      fprintf(stderr, "vaecl train: %s; training stopped after epoch %u (saved in %s)\n",
              rep.failed, result.epochs_done, a.out);
      rc = -4;
    } else if (rc == 0 && result.interrupted) {
      if (result.stopped_at_step)
        printf("interrupted at step %d of epoch %u\n", result.stopped_at_step,
               result.epochs_done + 1);
      else
        printf("interrupted after epoch %u\n", result.epochs_done);
      if (result.saved)
        printf("saved %s (resume with --resume %s)\n", a.out, a.out);
      if (dist->rank == 0)
        fprintf(stderr, "vaecl train: training interrupted\n");
      rc = -2;
    } else if (rc == 0 && result.saved) {
      printf("saved %s\n", a.out);
    }
    if (rc == 0 && result.weight_syncs)
      printf("the ranks' weights differed after %d epochs (their devices round differently); "
             "rank 0's were copied to every rank each time\n",
             result.weight_syncs);
    if (rc == 0)
      printf("wrote %s%s%s\n", history.csv, a.no_plots ? "" : " and ",
             a.no_plots ? "" : history.png);
    if (rc == 0 && !a.no_plots && dist->rank == 0)
      rc = cli_write_plots(m, be, &data, out_prefix, a.grid_window);
  }
  if (rc == -1)
    report_error(be ? "train" : "backend");
  vaecl_model_destroy(m);
  cli_backend_close(be);
  vaecl_dataset_free(&data);
  vaecl_dataset_free(&val);
  /* Stopped by a signal: 128 + its number, as a shell reports a killed command. */
  return rc == 0    ? 0
         : rc == -2 ? 128 + (int)stop_flag
         : rc == -3 ? CLI_EXIT_USAGE
                    : CLI_EXIT_FAILURE;
}
