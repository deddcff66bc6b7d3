/* The `vaecl` command: one function per verb, and the helpers they share. */
#ifndef VAECL_CLI_H
#define VAECL_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "cli/cli_dist.h"
#include <vaecl/backend.h>
#include <vaecl/backend_registry.h>
#include <vaecl/checkpoint.h>
#include <vaecl/evaluate.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>
#include <vaecl/model_spec.h>
#include <vaecl/train.h>

#define CLI_MAX_DEVICE_MAP 64

typedef struct {
  int device;               /* --device N; -1: the backend's default choice */
  const char *device_match; /* --device NAME (not a number): part of the device's name */
  const char *backend;      /* --backend NAME; NULL: opencl */
  /* --device 0,1: the device of each local rank under mpirun */
  int device_map[CLI_MAX_DEVICE_MAP];
  int device_map_len;
  cli_dist *dist; /* this process's rank; {0, 1} without mpirun */
} cli_globals;

/* --device N or N,M,...: one device for every rank, or one per local rank. */
int cli_parse_device_list(const char *text, cli_globals *g);
/* Sets g->device for this rank: its entry of --device, else its local rank (with
 * several ranks). -1 with a message when the list has no entry for it. */
int cli_pick_rank_device(cli_globals *g);

/* Creates backend g->backend (NULL: "opencl") on g's device (the backend's default
 * when none is given) through the registry, with the options the environment asks
 * for: VAECL_CACHE_DIR (else $XDG_CACHE_HOME/vaecl, else $HOME/.cache/vaecl) for the
 * kernel cache, VAECL_GEMM_TUNING=off, VAECL_WORK_LAYOUT=rows|channels,
 * VAECL_PROFILE=1 and VAECL_BUILD_LOG=1 (print the kernels' build log to stderr).
 * NULL with a message (and a hint on choosing a device). */
vb_backend *cli_backend_open(const cli_globals *g);
/* The same with the block GEMM kernel's parameters given (vaecl tune; NULL: as above). */
vb_backend *cli_backend_open_gemm(const cli_globals *g, const vaecl_gemm_params *gemm);
/* The kernel cache directory cli_backend_open uses (NULL when there is none). */
const char *cli_cache_dir(char *buf, size_t size);
/* Refuses (with a message) values of VAECL_GEMM_TUNING (on|off), VAECL_WORK_LAYOUT
 * (rows|channels), VAECL_PROFILE and VAECL_BUILD_LOG (0|1) other than those; unset or
 * empty ones mean the default. */
int cli_check_environment(void);
/* Prints the per-op profile (when VAECL_PROFILE asked for one) to stderr, then
 * destroys the backend. NULL is a no-op. */
void cli_backend_close(vb_backend *);

int cli_devices(const cli_globals *, int argc, char **argv);
int cli_train(const cli_globals *, int argc, char **argv);
int cli_bench(const cli_globals *, int argc, char **argv);
int cli_plot(const cli_globals *, int argc, char **argv);
int cli_summary(const cli_globals *, int argc, char **argv);
int cli_eval(const cli_globals *, int argc, char **argv);
int cli_sample(const cli_globals *, int argc, char **argv);
int cli_reconstruct(const cli_globals *, int argc, char **argv);
int cli_encode(const cli_globals *, int argc, char **argv);
int cli_interpolate(const cli_globals *, int argc, char **argv);
int cli_score(const cli_globals *, int argc, char **argv);
int cli_tune(const cli_globals *, int argc, char **argv);

/* count pixels in [0, 1] drawn from a fixed seed, in a device buffer (bench, tune);
 * NULL with a message. */
vb_buf *cli_synthetic_images(vb_backend *, size_t count);

/* --model PATH: a model file or a checkpoint (recognised by its content); NULL is
 * the reference model. *ck (when not NULL) receives the checkpoint, if it is one
 * (else it is zeroed). Messages name the path. */
int cli_load_model(const char *path, vaecl_model_spec *spec, vaecl_checkpoint *ck);

/* The figures for a trained model, to PREFIX-latent-grid.png (decoded over
 * [-window, window]^2) and PREFIX-clusters.png. */
int cli_write_plots(vaecl_model *, vb_backend *, const vaecl_dataset *, const char *prefix,
                    double window);
/* The latent grid's default half-width: the Keras example's. */
#define CLI_GRID_WINDOW 0.5
/* Refuses (with a message) a --prefix that is empty, ends in '/' or is a directory. */
int cli_check_prefix(const char *prefix);
/* The default prefix for a checkpoint path: the path without its extension. */
void cli_plot_prefix(const char *model_path, char *prefix, size_t size);

/* train's validation choice: split in (0, 1) (0: none) or a data directory (NULL: none). */
typedef struct {
  double split;
  const char *data;
} cli_validation;
/* For --resume: the checkpoint's note (NULL: it did not validate) decides. An option that
 * contradicts it, a note vaecl does not know, or a split drawn from another number of
 * images than data_count is refused with a message on stderr (-1: exit 2); else *asked
 * becomes the checkpoint's choice (its data path points into ckpt_note). Does nothing for a new run
 * (resume NULL). */
int cli_validation_resolve(cli_validation *asked, const char *resume, const char *ckpt_note,
                           size_t data_count);
/* Holds out the validation images: a split of *data by seed (*data becomes the training
 * part) or the data set at v->data, with the note for checkpoints in note ("" when v asks
 * for none). Prints what it held out. -1 with a message. */
int cli_validation_prepare(const cli_validation *v, uint64_t seed, vaecl_dataset *data,
                           vaecl_dataset *val, char *note, size_t note_size);

/* train's history files, PREFIX-history.csv and (when plot) PREFIX-loss.png. */
typedef struct {
  char csv[4200], png[4200];
  int has_val, plot;
  size_t rows, cap;
  double *data; /* rows x columns: epoch, loss, reconstruction_loss, kl_loss, [the three
                   val_ figures,] seconds */
} cli_history;
/* Starts the history under out_prefix; when resuming (resume_prefix not NULL), with the rows
 * of resume_prefix's history up to epoch epochs_done (rows past it are dropped; a missing
 * file starts an empty history). -1 with a message naming the file when it cannot be read
 * or its columns are not this run's. */
int cli_history_open(cli_history *, const char *out_prefix, const char *resume_prefix,
                     uint32_t epochs_done, int has_val, int plot);
/* Appends an epoch's row and rewrites both files (temporary file, then rename). */
int cli_history_add(cli_history *, const vaecl_epoch_metrics *);
void cli_history_free(cli_history *);

/* Strict number parsing for options: the whole string, in range; else a message
 * naming the option. */
int cli_parse_int(const char *option, const char *text, long min, long max, long *out);
int cli_parse_float(const char *option, const char *text, double min, double max, double *out);
/* The value after an option; a message when it is missing or is itself an option
 * ("--out --no-plots"). */
int cli_option_value(int argc, char **argv, int *i, const char **value);
/* The message for an option `verb` does not take; a global option (--device,
 * --backend) given after the command gets a hint to move it. Returns -1. */
int cli_unknown_option(const char *verb, const char *opt);
/* Whether opt is one of names (a NULL-terminated list). */
int cli_is_option(const char *opt, const char *const *names);

/* Exit codes: 0 done, 1 a failure while running (device, disk, a diverged run),
 * 2 bad usage or bad input found before any work, 128+N stopped by signal N
 * (130 for Ctrl-C, 143 for SIGTERM), as shells report it. */
enum { CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* ---- shared by the verbs that use a trained model (eval, sample, ...) ---- */

/* An option table for cli_parse_options: "--name" and where its value goes. */
typedef enum { CLI_OPT_STRING, CLI_OPT_INT } cli_opt_kind;
typedef struct {
  const char *name;
  cli_opt_kind kind;
  long min, max;     /* CLI_OPT_INT */
  const char **text; /* CLI_OPT_STRING */
  long *number;      /* CLI_OPT_INT */
  int seen;          /* set when given */
} cli_opt;

/* Parses argv[1..] against opts. Returns 0; 1 when -h/--help printed usage (exit 0); or -1
 * after printing one line "vaecl VERB: ..." (exit 2). */
int cli_parse_options(const char *verb, int argc, char **argv, cli_opt *opts, int count,
                      void (*usage)(FILE *));

/* Everything a verb holds; zero it, then fill it step by step. cli_session_close frees it. */
typedef struct {
  const char *verb;
  const char *model_path, *data_name;
  vaecl_model_spec spec;
  vaecl_checkpoint ck;
  int have_model;
  vaecl_dataset data;
  vb_backend *be;
  vaecl_model *m;
} cli_session;

/* --model: a checkpoint written by train (a model file has no weights). */
int cli_session_model(cli_session *, const char *path);
/* --data PATH, or NULL: the held-out t10k images of the default data; the images must fit the
 * model; limit > 0 keeps the first limit images. */
int cli_session_data(cli_session *, const char *path, long limit);
/* The backend and the model with the checkpoint's weights, for batches up to batch. */
int cli_session_device(cli_session *, const cli_globals *, int batch);
void cli_session_close(cli_session *);
/* Prints "vaecl VERB: <the last error>" and returns code. */
int cli_session_fail(const cli_session *, int code);
/* vaecl_evaluate on the session's data with K samples from seed, showing progress as train
 * does; scores and/or summary may be NULL. */
int cli_session_evaluate(cli_session *, long samples, long seed, vaecl_image_score *scores,
                         vaecl_eval_summary *summary);

/* Output files: refused early (a directory, a missing folder, no permission); written
 * whole or not at all with util/atomic_file.h, so a failed run leaves no partial file. */
int cli_check_output(const char *option, const char *path);

/* Progress lines as train prints them: redrawn on a terminal, every 30 s in a log. */
typedef struct {
  const char *verb;
  int tty;
} cli_progress;
void cli_progress_init(cli_progress *, const char *verb, double *interval);
void cli_progress_images(void *user, size_t done, size_t total);
void cli_progress_end(const cli_progress *);

#endif
