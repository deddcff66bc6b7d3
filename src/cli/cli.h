/* The `vaecl` command: one function per verb, and the helpers they share. */
#ifndef VAECL_CLI_H
#define VAECL_CLI_H

#include <stddef.h>

#include <vaecl/backend.h>
#include <vaecl/checkpoint.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>
#include <vaecl/model_spec.h>

typedef struct {
  int device;          /* --device N; -1: the backend's default choice */
  const char *backend; /* --backend NAME; NULL: opencl */
} cli_globals;

/* Creates backend `backend_name` (NULL: "opencl") on `device` (-1: its default)
 * through the registry, with the options the environment asks for:
 * VAECL_CACHE_DIR (else $XDG_CACHE_HOME/vaecl, else $HOME/.cache/vaecl) for the
 * kernel cache, VAECL_GEMM_TUNING=off, VAECL_WORK_LAYOUT=rows|channels and
 * VAECL_PROFILE=1. NULL with a message (and a hint on choosing a device). */
vb_backend *cli_backend_open(const char *backend_name, int device);
/* Refuses (with a message) values of VAECL_GEMM_TUNING (on|off), VAECL_WORK_LAYOUT
 * (rows|channels) and VAECL_PROFILE (0|1) other than those; unset or empty ones
 * mean the default. */
int cli_check_environment(void);
/* Prints the per-op profile (when VAECL_PROFILE asked for one) to stderr, then
 * destroys the backend. NULL is a no-op. */
void cli_backend_close(vb_backend *);

int cli_devices(const cli_globals *, int argc, char **argv);
int cli_train(const cli_globals *, int argc, char **argv);
int cli_bench(const cli_globals *, int argc, char **argv);
int cli_plot(const cli_globals *, int argc, char **argv);
int cli_summary(const cli_globals *, int argc, char **argv);

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

#endif
