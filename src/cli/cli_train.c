/* vaecl train: the Keras Fashion-MNIST VAE recipe, end to end. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vaecl/backend_opencl.h>
#include <vaecl/checkpoint.h>
#include "cli/cli.h"
#include "util/error.h"
#include <vaecl/graph.h>
#include <vaecl/idx.h>
#include <vaecl/train.h>

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--device N] train [options]\n"
             "\n"
             "Trains the VAE (conv encoder, conv-transpose decoder, BCE + KL loss, Adam) and\n"
             "writes a checkpoint after every epoch.\n"
             "\n"
             "options:\n"
             "  --data DIR      IDX files (train-*, t10k-*, plain or .gz); default\n"
             "                  " VAECL_DEFAULT_DATA_DIR "\n"
             "  --epochs N      epochs (default 10)\n"
             "  --batch N       batch size (default 128)\n"
             "  --latent N      latent dimensions (default 2)\n"
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
  long epochs, batch, latent, limit;
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
    } else if (!strcmp(opt, "--latent")) {
      if (cli_parse_int(opt, v, 1, 4096, &a->latent))
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

static void on_sigint(int sig) {
  (void)sig;
  vaecl_train_request_stop();
}

/* The model, fresh or from --resume; *epochs_done says where training stands. */
static vaecl_model *make_model(vb_backend *be, train_args *a, uint32_t *epochs_done) {
  vaecl_model_config cfg = vaecl_model_config_default();
  cfg.latent = (int)a->latent;
  *epochs_done = 0;
  if (!a->resume)
    return vaecl_model_create(be, &cfg, (int)a->batch, (uint64_t)a->seed);
  vaecl_checkpoint ck;
  if (vaecl_checkpoint_load(a->resume, &ck) != 0)
    return NULL;
  vaecl_model *m = vaecl_model_create(be, &ck.config, (int)a->batch, ck.seed);
  if (m && vaecl_model_from_checkpoint(m, &ck) != 0) {
    vaecl_fail_context("resuming from %s: ", a->resume);
    vaecl_model_destroy(m);
    m = NULL;
  }
  *epochs_done = ck.epochs_done;
  a->seed = (long long)ck.seed; /* the same shuffles and noise as the original run */
  vaecl_checkpoint_free(&ck);
  return m;
}

int cli_train(const cli_globals *g, int argc, char **argv) {
  train_args a = {.data_dir = VAECL_DEFAULT_DATA_DIR,
                  .out = "vaecl-model.ckpt",
                  .epochs = 10,
                  .batch = 128,
                  .latent = 2,
                  .lr = 1e-3,
                  .seed = 1};
  if (parse(argc, argv, &a) != 0)
    return 2;
  if (vaecl_checkpoint_check_writable(a.out) != 0) {
    fprintf(stderr, "vaecl train: %s\n", vaecl_last_error());
    return 1;
  }
  vaecl_dataset data;
  if (vaecl_idx_load_dir(a.data_dir, &data) != 0) {
    fprintf(stderr, "vaecl train: %s\n", vaecl_last_error());
    return 1;
  }
  if (a.limit > 0 && (size_t)a.limit < data.count)
    vaecl_dataset_truncate(&data, (size_t)a.limit);
  vb_backend *be = vb_opencl_create(g->device);
  if (!be) {
    fprintf(stderr, "vaecl train: %s\n", vaecl_last_error());
    vaecl_dataset_free(&data);
    return 1;
  }
  uint32_t epochs_done;
  vaecl_model *m = make_model(be, &a, &epochs_done);
  int rc = m ? 0 : -1;
  if (rc == 0) {
    printf("vaecl %s: %zu images from %s, %zu parameters, batch %ld, device %s\n", VAECL_VERSION,
           data.count, a.data_dir, vaecl_model_parameter_count(m), a.batch, be->device_name);
    if (epochs_done)
      printf("resuming from %s after epoch %u\n", a.resume, epochs_done);
    vaecl_train_options opt = vaecl_train_defaults();
    opt.epochs = (int)a.epochs;
    opt.batch = (int)a.batch;
    opt.seed = (uint64_t)a.seed;
    opt.adam.learning_rate = (float)a.lr;
    opt.out_path = a.out;
    opt.progress = stderr;
    opt.progress_is_tty = isatty(STDERR_FILENO);
    signal(SIGINT, on_sigint); /* Ctrl-C, and a scheduler's polite kill */
    signal(SIGTERM, on_sigint);
    rc = vaecl_train(m, be, &data, &opt, epochs_done, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc == 0)
      printf("saved %s\n", a.out);
    if (rc == 0 && !a.no_plots) {
      char prefix[4096];
      cli_plot_prefix(a.out, prefix, sizeof prefix);
      rc = cli_write_plots(m, be, &data, prefix);
    }
  }
  if (rc != 0)
    fprintf(stderr, "vaecl train: %s\n", vaecl_last_error());
  vaecl_model_destroy(m);
  be->ops->destroy(be);
  vaecl_dataset_free(&data);
  return rc == 0 ? 0 : 1;
}
