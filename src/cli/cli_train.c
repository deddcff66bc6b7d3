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
             "  --no-plots      skip the figures written at the end (see vaecl plot --help)\n"
             "  -h, --help      this help\n"
             "\n"
             "Ctrl-C (or SIGTERM) stops after the current step and saves the checkpoint.\n");
}

typedef struct {
  const char *data_dir, *out, *resume;
  const char *model;
  long epochs, batch, limit;
  int no_plots;
  double lr;
  long long seed;
} train_args;

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
    if (opt[0] != '-' || cli_option_value(argc, argv, &i, &v) != 0) {
      if (opt[0] != '-')
        fprintf(stderr, "vaecl train: unexpected argument '%s' (see --help)\n", opt);
      return -1;
    }
    if (!strcmp(opt, "--data"))
      a->data_dir = v;
    else if (!strcmp(opt, "--model"))
      a->model = v;
    else if (!strcmp(opt, "--out"))
      a->out = v;
    else if (!strcmp(opt, "--resume"))
      a->resume = v;
    else if (!strcmp(opt, "--epochs")) {
      if (cli_parse_int(opt, v, 1, 100000, &a->epochs))
        return -1;
    } else if (!strcmp(opt, "--batch")) {
      if (cli_parse_int(opt, v, 1, 65536, &a->batch))
        return -1;
    } else if (!strcmp(opt, "--limit")) {
      if (cli_parse_int(opt, v, 1, 1L << 30, &a->limit))
        return -1;
    } else if (!strcmp(opt, "--seed")) {
      if (cli_parse_int(opt, v, 0, 0x7fffffffL, &n))
        return -1;
      a->seed = n;
    } else if (!strcmp(opt, "--lr")) {
      if (cli_parse_float(opt, v, 1e-9, 10.0, &x))
        return -1;
      a->lr = x;
    } else {
      fprintf(stderr, "vaecl train: unknown option '%s' (see --help)\n", opt);
      return -1;
    }
  }
  return 0;
}

static volatile sig_atomic_t stop_flag;

static void on_sigint(int sig) {
  (void)sig;
  stop_flag = 1;
}

/* Progress and epoch lines: Keras' format; on a terminal the progress line is
 * redrawn in place, in a log a plain line is written now and then. */
typedef struct {
  int tty;
} reporter;

static void metrics_text(const vaecl_epoch_metrics *e, char *buf, size_t size) {
  snprintf(buf, size, "loss: %.4f - reconstruction_loss: %.4f - kl_loss: %.4f", e->loss,
           e->reconstruction_loss, e->kl_loss);
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

static void on_epoch_end(void *user, const vaecl_epoch_metrics *e) {
  const reporter *r = user;
  char m[256];
  if (r->tty)
    fprintf(stderr, "\r\033[K");
  metrics_text(e, m, sizeof m);
  printf("%d/%d - %.0fs - %.0fms/step - %s\n", e->step, e->steps, e->seconds,
         1e3 * e->seconds / e->step, m);
  fflush(stdout);
}

/* The model, fresh or from --resume; *epochs_done says where training stands. */
static vaecl_model *make_model(vb_backend *be, train_args *a, uint32_t *epochs_done) {
  vaecl_model_spec spec;
  *epochs_done = 0;
  if (!a->resume) {
    if (cli_load_model(a->model, &spec, NULL) != 0)
      return NULL;
    vaecl_model *m = vaecl_model_create(be, &spec, (int)a->batch, (uint64_t)a->seed);
    vaecl_model_spec_free(&spec);
    return m;
  }
  vaecl_checkpoint ck;
  if (cli_load_model(a->resume, &spec, &ck) != 0)
    return NULL;
  if (!ck.model_text) {
    vaecl_model_spec_free(&spec);
    vaecl_fail("%s is a model file, not a checkpoint; resume from a file written by train",
               a->resume);
    return NULL;
  }
  vaecl_model *m = vaecl_model_create(be, &spec, (int)a->batch, ck.seed);
  if (m && vaecl_model_from_checkpoint(m, &ck) != 0) {
    vaecl_fail_context("resuming from %s: ", a->resume);
    vaecl_model_destroy(m);
    m = NULL;
  }
  *epochs_done = ck.epochs_done;
  a->seed = (long long)ck.seed; /* the same shuffles and noise as the original run */
  vaecl_model_spec_free(&spec);
  vaecl_checkpoint_free(&ck);
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
  else if (strstr(msg, "out of memory") || strstr(msg, "OUT_OF_RESOURCES") ||
           strstr(msg, "MEM_OBJECT_ALLOCATION"))
    fprintf(stderr, "vaecl train: try a smaller --batch\n");
}

int cli_train(const cli_globals *g, int argc, char **argv) {
  train_args a = {.data_dir = VAECL_DEFAULT_DATA_DIR,
                  .out = "vaecl-model.ckpt",
                  .epochs = 10,
                  .batch = 128,
                  .lr = 1e-3,
                  .seed = 1};
  if (parse(argc, argv, &a) != 0)
    return 2;
  if (a.model && a.resume) {
    fprintf(stderr, "vaecl train: --resume continues the checkpoint's own model; drop --model\n");
    return 2;
  }
  /* A bad model file is a usage error (exit 2), found before any data or device. */
  if (!a.resume) {
    vaecl_model_spec spec;
    if (cli_load_model(a.model, &spec, NULL) != 0) {
      fprintf(stderr, "vaecl train: %s\n", vaecl_last_error());
      return 2;
    }
    vaecl_model_spec_free(&spec);
  }
  if (vaecl_checkpoint_check_writable(a.out) != 0) {
    fprintf(stderr, "vaecl train: %s; pick another --out\n", vaecl_last_error());
    return 1;
  }
  vaecl_dataset data;
  if (vaecl_dataset_load(a.data_dir, &data) != 0) {
    report_error("data");
    return 1;
  }
  if (a.limit > 0 && (size_t)a.limit < data.count)
    vaecl_dataset_truncate(&data, (size_t)a.limit);
  vb_backend *be = cli_backend_open(g);
  if (!be) {
    report_error("backend");
    vaecl_dataset_free(&data);
    return 1;
  }
  uint32_t epochs_done;
  vaecl_model *m = make_model(be, &a, &epochs_done);
  int rc = m ? 0 : -1;
  vaecl_train_result result = {0};
  if (rc == 0) {
    const vaecl_shape *in = &vaecl_model_get_spec(m)->input;
    if ((rc = vaecl_dataset_check_fits(&data, in->h, in->w, in->c)) != 0)
      vaecl_fail_context("%s: ", a.data_dir);
  }
  if (rc == 0 && epochs_done >= (uint32_t)a.epochs) {
    printf("%s already has %u epochs, and --epochs (the total) is %ld: nothing to do\n", a.resume,
           epochs_done, a.epochs);
  } else if (rc == 0) {
    printf("vaecl %s: %zu images from %s, model %s, %zu parameters, batch %ld, device %s\n",
           VAECL_VERSION, data.count, a.data_dir, vaecl_model_get_spec(m)->source,
           vaecl_model_parameter_count(m), a.batch, be->device_name);
    if (epochs_done)
      printf("resuming from %s after epoch %u\n", a.resume, epochs_done);
    reporter rep = {.tty = isatty(STDERR_FILENO)};
    vaecl_train_options opt = vaecl_train_defaults();
    opt.epochs = (int)a.epochs;
    opt.batch = (int)a.batch;
    opt.seed = (uint64_t)a.seed;
    opt.adam.learning_rate = (float)a.lr;
    opt.out_path = a.out;
    opt.callbacks = (vaecl_train_callbacks){.user = &rep,
                                            .on_epoch_begin = on_epoch_begin,
                                            .on_progress = on_progress,
                                            .on_epoch_end = on_epoch_end,
                                            .progress_interval = rep.tty ? 1.0 : 30.0};
    stop_flag = 0;
    opt.stop = &stop_flag;
    signal(SIGINT, on_sigint); /* Ctrl-C, and a scheduler's polite kill */
    signal(SIGTERM, on_sigint);
    rc = vaecl_train(m, be, &data, &opt, epochs_done, &result);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc == 0 && result.interrupted) {
      if (result.stopped_at_step)
        printf("interrupted at step %d of epoch %u\n", result.stopped_at_step,
               result.epochs_done + 1);
      else
        printf("interrupted after epoch %u\n", result.epochs_done);
      if (result.saved)
        printf("saved %s (resume with --resume %s)\n", a.out, a.out);
      fprintf(stderr, "vaecl train: training interrupted\n");
      rc = -2;
    } else if (rc == 0 && result.saved) {
      printf("saved %s\n", a.out);
    }
    if (rc == 0 && !a.no_plots) {
      char prefix[4096];
      cli_plot_prefix(a.out, prefix, sizeof prefix);
      rc = cli_write_plots(m, be, &data, prefix);
    }
  }
  if (rc == -1)
    report_error("train");
  vaecl_model_destroy(m);
  cli_backend_close(be);
  vaecl_dataset_free(&data);
  return rc == 0 ? 0 : 1;
}
