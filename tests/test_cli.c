/* The vaecl command as a user meets it: help, device listing, errors that name the
 * problem and the fix, and a short real training run with resume. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include <vaecl.h>
#include <vaecl/plot.h>

static const char *bin;
static char *workdir, datadir[4200];

/* Runs `env_prefix vaecl args` through the shell; returns the exit code and the
 * combined output in a malloc'd string. */
static int run(const char *env_prefix, const char *args, char **output) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%s '%s' %s 2>&1 </dev/null", env_prefix, bin, args);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  size_t got;
  while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
    len += got;
    if (len + 1 == cap)
      out = realloc(out, cap *= 2);
  }
  out[len] = '\0';
  const int status = pclose(p);
  *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The end of a long output (where errors and sanitizer summaries are): Check refuses
 * assertion messages over 4 KiB. */
static const char *tail_of(const char *s) {
  const size_t n = strlen(s), keep = 2500;
  return n > keep ? s + n - keep : s;
}

static void expect(const char *env, const char *args, int code, const char *must_contain) {
  char *out;
  const int rc = run(env, args, &out);
  ck_assert_msg(rc == code, "vaecl %.400s: exit %d, expected %d; output (its end):\n%s", args, rc,
                code, tail_of(out));
  ck_assert_msg(strstr(out, must_contain), "vaecl %.400s: output lacks '%.200s' (its end):\n%s",
                args, must_contain, tail_of(out));
  free(out);
}

/* Runs vaecl and checks its exit code and that the output lacks a text. */
static void expect_without(const char *args, int code, const char *must_lack) {
  char *out;
  const int rc = run("", args, &out);
  ck_assert_msg(rc == code, "vaecl %s: exit %d, expected %d; output:\n%s", args, rc, code, out);
  ck_assert_msg(!strstr(out, must_lack), "vaecl %s: output has '%s':\n%s", args, must_lack, out);
  free(out);
}

START_TEST(help_lists_commands) {
  expect("", "--help", 0, "devices");
  expect("", "--help", 0, "--device N");
  expect("", "train --help", 0, "--epochs N");
  expect("", "bench --help", 0, "--batch");
  expect("", "plot --help", 0, "--model FILE");
  expect("", "", 2, "usage: vaecl");
}
END_TEST

/* bench --profile: the counts per step, and a table row per layer, op and shape. */
START_TEST(bench_profile_names_layers_and_shapes) {
  char *out;
  const int rc = run("", "bench --batch 4 --steps 2 --warmup 1 --profile", &out);
  ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
  const char *want[] = {"train step:", "launches (kernels and CLBlast calls)", "host waits",
                        "layer            op", "dec.convt3 fwd   col2im",
                        "image 28x28x1 grid 28x28 k3 s1 +bias,act",
                        /* PoCL is a CPU device: vaecl's GEMM kernels, an implicit one
                         * reading conv 2's patches from its input */
                        "enc.conv2 fwd    gemm_patches_nn    196x128x576 P of image 14x14x64",
                        "enc.conv1 fwd    gemm (thin)        784x64x9 ", "GFLOP counted per step"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) /* check's messages are bounded */
    ck_assert_msg(strstr(out, want[i]), "output lacks '%s':\n%.3000s", want[i], out);
  free(out);
}
END_TEST

/* vaecl tune times candidates, stores the fastest for the device in the kernel cache
 * directory, and the next run uses it; a damaged file means the defaults; a backend
 * without vaecl's GEMM kernel has nothing to tune. */
START_TEST(tune_stores_parameters_the_next_run_uses) {
  char dir[4300], env[13200], path[4400] = "";
  snprintf(dir, sizeof dir, "%s/tune-cache", workdir);
  /* the compiled kernels come along: no cold build */
  snprintf(env, sizeof env,
           "mkdir -p '%s' && cp \"$VAECL_CACHE_DIR\"/kernels-* '%s'/ 2>/dev/null; "
           "VAECL_CACHE_DIR='%s'",
           dir, dir, dir);
  char *out;
  const int rc = run(env, "tune --batch 4 --steps 1 --budget 0", &out);
  ck_assert_msg(rc == 0, "tune: exit %d:\n%s", rc, tail_of(out));
  ck_assert_msg(strstr(out, "(the defaults)") && strstr(out, "2 of 10 candidates tried"),
                "tune's progress: %s", tail_of(out));
  const char *saved = strstr(out, "saved to ");
  ck_assert_msg(saved, "tune names no file: %s", tail_of(out));
  saved += strlen("saved to ");
  const size_t len = strcspn(saved, ",");
  ck_assert(len < sizeof path);
  memcpy(path, saved, len);
  path[len] = '\0';
  free(out);
  ck_assert_msg(strncmp(path, dir, strlen(dir)) == 0, "%s is not in %s", path, dir);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f, "%s: %s", path, strerror(errno));
  char text[128] = "";
  ck_assert(fread(text, 1, sizeof text - 1, f) > 0);
  fclose(f);
  ck_assert_msg(strncmp(text, "vaecl gemm tuning 1\nchunk ", 26) == 0, "%s holds: %s", path, text);
  expect(env, "bench --batch 4 --steps 1 --warmup 1", 0, "tuned by vaecl tune)");
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("vaecl gemm tuning 1\nchunk -3\n", f);
  fclose(f);
  expect(env, "bench --batch 4 --steps 1 --warmup 1", 0,
         "(k-chunks of 64, groups up to 8x8, defaults)");
  expect("", "--backend cpu tune --batch 2 --steps 1", 0, "nothing to tune on");
  expect("", "tune --steps 0", 2, "--steps");
  expect("", "tune --help", 0, "same bits");
}
END_TEST

START_TEST(devices_lists_pocl) {
  expect("", "devices", 0, "0: ");
  /* PoCL's CPU device is classified as a CPU (not "other") and, alone, is the default */
  expect("", "devices", 0, "type: CPU");
  expect("", "devices", 0, "<- the default (no --device)");
  expect("", "devices", 0, "largest buffer");
}
END_TEST

/* --device takes part of a name, in any case; a name that matches nothing is refused
 * with the devices' names. */
START_TEST(device_by_name) {
  vaecl_device_info *devs;
  size_t n;
  ck_assert_int_eq(vaecl_list_devices(&devs, &n), 0);
  char part[8] = "";
  for (int i = 0; i < 5 && devs[0].name[i]; i++)
    part[i] = (char)toupper((unsigned char)devs[0].name[i]);
  char args[256];
  snprintf(args, sizeof args, "--device '%s' bench --steps 1 --warmup 1 --batch 4", part);
  expect("", args, 0, devs[0].name);
  expect("VAECL_BUILD_LOG=1", args, 0, "build log of the kernels on");
  expect("", "--device no-such-device bench --steps 1", 1, "no OpenCL device name contains");
  expect("", "--device no-such-device bench --steps 1", 1, devs[0].name);
  expect("", "--backend cpu --device x bench --steps 1", 1, "takes no device name");
  free(devs);
}
END_TEST

START_TEST(bad_arguments_name_the_problem) {
  expect("", "frobnicate", 2, "unknown command 'frobnicate'");
  expect("", "train --epochs abc", 2, "--epochs expects a whole number");
  expect("", "train --batch 0", 2, "--batch expects a whole number from 1");
  expect("", "train --lr", 2, "--lr needs a value");
  expect("", "train --bogus 1", 2, "unknown option '--bogus'");
  expect("", "plot", 2, "--model FILE is required");
  expect("", "--device 1x devices", 2, "--device expects a whole number");
  expect("", "--device '' devices", 2, "--device needs an index or part of a device's name");
}
END_TEST

START_TEST(missing_data_names_path_and_fix) {
  expect("", "train --data /nonexistent/fmnist", 2, "/nonexistent/fmnist");
  expect("", "train --data /nonexistent/fmnist", 2, "dataset-fashion-mnist");
  /* A learning rate of 10 takes this seeded run to NaN within its first epoch. */
  char diverge[8800];
  snprintf(
      diverge, sizeof diverge,
      "train --data '%s' --limit 256 --batch 64 --epochs 1 --lr 10 --no-plots --out '%s/nan.ckpt'",
      datadir, workdir);
  expect("", diverge, 1, "training diverged");
  struct stat st;
  snprintf(diverge, sizeof diverge, "%s/nan.ckpt", workdir);
  ck_assert_msg(stat(diverge, &st) != 0, "a diverged run must not write a checkpoint");
  /* An unwritable checkpoint path is refused before any training, not after an epoch. */
  expect("", "train --out /nonexistent/dir/m.ckpt", 2, "pick another --out");
}
END_TEST

START_TEST(bad_device_names_the_fix) {
  char args[4400];
  snprintf(args, sizeof args, "--device 99 train --data '%s'", datadir);
  expect("", args, 1, "no OpenCL device 99");
  expect("", args, 1, "vaecl devices");
}
END_TEST

/* ocl-icd reads the vendor list from OCL_ICD_VENDORS: an empty directory means no ICD. */
START_TEST(no_icd_names_the_fix) {
  char env[4400];
  snprintf(env, sizeof env, "OCL_ICD_VENDORS='%s/empty-icd'", workdir);
  /* The CPU backend is still there, so listing succeeds and says what OpenCL lacks. */
  expect(env, "devices", 0, "no OpenCL platform");
  expect(env, "devices", 0, "pocl-opencl-icd");
  expect(env, "devices", 0, "--backend cpu");
}
END_TEST

START_TEST(train_reports_keras_metrics_and_resumes) {
  char args[8800];
  snprintf(args, sizeof args,
           "train --data '%s' --limit 128 --epochs 1 --batch 64 --out '%s/m.ckpt'", datadir,
           workdir);
  expect("", args, 0, "Epoch 1/1");
  expect("", args, 0, "- loss: ");
  expect("", args, 0, "- reconstruction_loss: ");
  expect("", args, 0, "- kl_loss: ");
  /* the first step compiles kernels: reported apart, not folded into ms/step */
  expect("", args, 0, "(the first step took");
  expect_without(args, 0, "val_");
  struct stat st;
  char ckpt[4400];
  snprintf(ckpt, sizeof ckpt, "%s/m.ckpt", workdir);
  ck_assert_int_eq(stat(ckpt, &st), 0);
  /* The figures of the Keras example come with every finished training run. */
  char png[4400];
  snprintf(png, sizeof png, "%s/m-latent-grid.png", workdir);
  ck_assert_msg(stat(png, &st) == 0 && st.st_size > 1000, "%s missing", png);
  snprintf(png, sizeof png, "%s/m-clusters.png", workdir);
  ck_assert_msg(stat(png, &st) == 0 && st.st_size > 1000, "%s missing", png);
  snprintf(args, sizeof args, "plot --model '%s' --data '%s' --limit 64 --prefix '%s/again'", ckpt,
           datadir, workdir);
  expect("", args, 0, "again-clusters.png");
  expect("", args, 0, "grid over [-0.5, 0.5]^2");
  snprintf(args, sizeof args,
           "plot --model '%s' --data '%s' --limit 64 --prefix '%s/wide' --grid-window 3", ckpt,
           datadir, workdir);
  expect("", args, 0, "grid over [-3, 3]^2");
  snprintf(png, sizeof png, "%s/again-latent-grid.png", workdir);
  ck_assert_int_eq(stat(png, &st), 0);
  snprintf(args, sizeof args,
           "train --data '%s' --limit 128 --epochs 2 --batch 64 --resume '%s' --out '%s/m2.ckpt'",
           datadir, ckpt, workdir);
  expect("", args, 0, "Epoch 2/2");
  expect("", args, 0, "resuming from");
  FILE *f = fopen(ckpt, "r+b");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, 100, SEEK_SET), 0);
  ck_assert_int_eq(fputc('X', f), 'X');
  ck_assert_int_eq(fclose(f), 0);
  expect("", args, 2, "m.ckpt"); /* a bad input: refused before the device, exit 2 */
}
END_TEST

/* The lines of a text file (at most max, each at most 1023 bytes, newlines removed). */
static int read_lines(const char *path, char lines[][1024], int max) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s missing", path);
  int n = 0;
  while (n < max && fgets(lines[n], 1024, f)) {
    lines[n][strcspn(lines[n], "\n")] = '\0';
    n++;
  }
  ck_assert_int_eq(fclose(f), 0);
  return n;
}

/* A history row's fields: the epoch and the count of comma-separated numbers. */
static int row_fields(const char *line, long *epoch) {
  char *end;
  *epoch = strtol(line, &end, 10);
  int n = 1;
  for (const char *p = end; *p == ','; n++) {
    const double v = strtod(p + 1, &end);
    ck_assert_msg(end != p + 1 && isfinite(v), "bad number in '%s'", line);
    p = end;
  }
  return n;
}

/* A PNG's width and height from its IHDR chunk. */
static void png_size(const char *path, unsigned *w, unsigned *h) {
  unsigned char b[24];
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s missing", path);
  ck_assert_uint_eq(fread(b, 1, 24, f), 24);
  fclose(f);
  ck_assert_mem_eq(b, "\x89PNG\r\n\x1a\n", 8);
  *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
  *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
}

/* Compares two files byte for byte. */
static int same_bytes(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  ck_assert_msg(fa && fb, "%s or %s missing", a, b);
  int ca, cb;
  do {
    ca = fgetc(fa);
    cb = fgetc(fb);
  } while (ca == cb && ca != EOF);
  fclose(fa);
  fclose(fb);
  return ca == cb;
}

/* --sample-every N: pictures on epochs N, 2N, ... laid out as the tiles say, and the run's
 * weights and Adam state exactly those of a run without them. */
START_TEST(train_samples_every_n_epochs) {
  char args[9000], path[4600];
  snprintf(args, sizeof args,
           "train --data '%s' --limit 128 --epochs 3 --batch 64 --no-plots --sample-every 2 "
           "--out '%s/se.ckpt'",
           datadir, workdir);
  expect("", args, 0, "se-samples-epoch-002.png");
  snprintf(args, sizeof args,
           "train --data '%s' --limit 128 --epochs 3 --batch 64 --no-plots --out '%s/plain.ckpt'",
           datadir, workdir);
  expect_without(args, 0, "samples-epoch");
  char a[4600], b[4600];
  snprintf(a, sizeof a, "%s/se.ckpt", workdir);
  snprintf(b, sizeof b, "%s/plain.ckpt", workdir);
  ck_assert_msg(same_bytes(a, b), "--sample-every changed the training");
  const char *kinds[] = {"samples", "reconstruct"};
  const int counts[] = {64, 2 * 16};
  for (int k = 0; k < 2; k++) {
    for (int e = 1; e <= 3; e++) {
      snprintf(path, sizeof path, "%s/se-%s-epoch-%03d.png", workdir, kinds[k], e);
      ck_assert_msg((access(path, F_OK) == 0) == (e == 2), "%s: %s", path,
                    e == 2 ? "missing" : "drawn on an epoch not a multiple of 2");
    }
    snprintf(path, sizeof path, "%s/se-%s-epoch-002.png", workdir, kinds[k]);
    vaecl_plot_tiles_layout want;
    ck_assert_int_eq(vaecl_plot_image_tiles_layout(counts[k], k ? 16 : 8, 28, 28, "t", 0, &want),
                     0);
    unsigned w, h;
    png_size(path, &w, &h);
    ck_assert_uint_eq(w, (unsigned)want.width);
    ck_assert_uint_eq(h, (unsigned)want.height);
  }
}
END_TEST

static const char val_header[] = "epoch,loss,reconstruction_loss,kl_loss,val_loss,"
                                 "val_reconstruction_loss,val_kl_loss,seconds";

/* --val-split: Keras' val_ metrics on every epoch line, and --resume keeps the split. */
START_TEST(train_validates_and_resumes_the_same_split) {
  char args[16000], base[4600];
  snprintf(base, sizeof base, "train --data '%s' --batch 64 --no-plots", datadir);
  snprintf(args, sizeof args, "%s --limit 128 --epochs 1 --val-split 0.25 --out '%s/v.ckpt'", base,
           workdir);
  expect("", args, 0, "validation: 32 of 128 images held out (--val-split 0.25, seed 1)");
  expect("", args, 0, "96 images from");
  expect("", args, 0, " - val_loss: ");
  expect("", args, 0, " - val_reconstruction_loss: ");
  expect("", args, 0, " - val_kl_loss: ");
  /* the history: a header and one row of 8 numbers; the loss figure (no --no-plots here) */
  char path[4400], lines[8][1024];
  long epoch;
  snprintf(path, sizeof path, "%s/v-history.csv", workdir);
  ck_assert_int_eq(read_lines(path, lines, 8), 2);
  ck_assert_str_eq(lines[0], val_header);
  ck_assert_int_eq(row_fields(lines[1], &epoch), 8);
  ck_assert_int_eq(epoch, 1);
  snprintf(args, sizeof args,
           "train --data '%s' --batch 64 --limit 128 --epochs 1 "
           "--val-split 0.25 --out '%s/v.ckpt'",
           datadir, workdir);
  expect("", args, 0, "v-loss.png");
  snprintf(path, sizeof path, "%s/v-loss.png", workdir);
  unsigned w, h;
  png_size(path, &w, &h);
  ck_assert_msg(w >= 600 && h >= 400, "loss figure of %ux%u", w, h);
  snprintf(args, sizeof args, "%s --limit 128 --epochs 2 --val-split 0.5 --resume '%s/v.ckpt'",
           base, workdir);
  expect("", args, 2, "was trained with --val-split 0.25, not --val-split 0.5");
  snprintf(args, sizeof args, "%s --limit 64 --epochs 2 --resume '%s/v.ckpt'", base, workdir);
  expect("", args, 2, "pass the same --data and --limit");
  snprintf(args, sizeof args, "%s --limit 128 --epochs 2 --resume '%s/v.ckpt' --out '%s/v2.ckpt'",
           base, workdir, workdir);
  expect("", args, 0, "Epoch 2/2");
  expect("", args, 0, "32 of 128 images held out");
  expect("", args, 0, " - val_loss: ");
  /* The resumed run's history goes on from the original's, which stays as it was. */
  snprintf(path, sizeof path, "%s/v2-history.csv", workdir);
  ck_assert_int_eq(read_lines(path, lines, 8), 3);
  ck_assert_str_eq(lines[0], val_header);
  for (int r = 1; r <= 2; r++) {
    ck_assert_int_eq(row_fields(lines[r], &epoch), 8);
    ck_assert_int_eq(epoch, r);
  }
  char first_row[1024];
  snprintf(first_row, sizeof first_row, "%s", lines[1]);
  snprintf(path, sizeof path, "%s/v-history.csv", workdir);
  ck_assert_int_eq(read_lines(path, lines, 8), 2);
  ck_assert_str_eq(lines[1], first_row);
  /* Rows past the checkpoint (a crash after the history, before the checkpoint) go. */
  FILE *f = fopen(path, "a");
  ck_assert_ptr_nonnull(f);
  fputs("2,1,1,1,1,1,1,1\n3,1,1,1,1,1,1,1\n", f);
  ck_assert_int_eq(fclose(f), 0);
  snprintf(args, sizeof args, "%s --limit 128 --epochs 2 --resume '%s/v.ckpt' --out '%s/v.ckpt'",
           base, workdir, workdir);
  expect("", args, 0, "Epoch 2/2");
  ck_assert_int_eq(read_lines(path, lines, 8), 3);
  ck_assert_str_eq(lines[1], first_row);
  ck_assert_int_eq(row_fields(lines[2], &epoch), 8);
  ck_assert_int_eq(epoch, 2);
  ck_assert_msg(strncmp(lines[2], "2,1,", 4) != 0, "the stale row 2 was kept: %s", lines[2]);
  /* A run without validation cannot gain one on resume: its history has no val columns. */
  snprintf(args, sizeof args, "%s --limit 64 --epochs 1 --out '%s/plain.ckpt'", base, workdir);
  expect("", args, 0, "Epoch 1/1");
  snprintf(path, sizeof path, "%s/plain-history.csv", workdir);
  ck_assert_int_eq(read_lines(path, lines, 8), 2);
  ck_assert_str_eq(lines[0], "epoch,loss,reconstruction_loss,kl_loss,seconds");
  ck_assert_int_eq(row_fields(lines[1], &epoch), 5);
  snprintf(args, sizeof args, "%s --limit 64 --epochs 2 --val-split 0.5 --resume '%s/plain.ckpt'",
           base, workdir);
  expect("", args, 2, "was trained with no validation");
  /* A history that is not this run's is refused, not overwritten. */
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("epoch,something,else\n1,2,3\n", f);
  ck_assert_int_eq(fclose(f), 0);
  snprintf(args, sizeof args, "%s --limit 64 --epochs 2 --resume '%s/plain.ckpt'", base, workdir);
  expect("", args, 2, "plain-history.csv: its columns are not");
  ck_assert_int_eq(read_lines(path, lines, 8), 2);
  ck_assert_str_eq(lines[0], "epoch,something,else");
  snprintf(args, sizeof args, "%s --val-split 0.1 --val-data '%s'", base, datadir);
  expect("", args, 2, "pick one");
  expect("", "train --val-split 1", 2, "--val-split expects a number");
  snprintf(args, sizeof args, "%s --limit 64 --val-data /nonexistent/val", base);
  expect("", args, 2, "/nonexistent/val"); /* bad input: before the device */
  /* --val-data: a data set of its own, whole (the fixture again) */
  snprintf(args, sizeof args, "%s --limit 64 --epochs 1 --val-data '%s' --out '%s/vd.ckpt'", base,
           datadir, workdir);
  expect("", args, 0, "validation: 1024 images from");
  expect("", args, 0, " - val_kl_loss: ");
}
END_TEST

/* SIGINT mid-run: the step finishes, the checkpoint is saved, and --resume goes on. */
START_TEST(interrupt_saves_and_resumes) {
  char ckpt[4400], log[4400], args[16000];
  snprintf(ckpt, sizeof ckpt, "%s/int.ckpt", workdir);
  snprintf(log, sizeof log, "%s/int.log", workdir);
  const pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (!freopen(log, "w", stdout) || dup2(fileno(stdout), 2) < 0)
      _exit(99);
    execl(bin, bin, "train", "--data", datadir, "--limit", "64", "--batch", "32", "--epochs",
          "100000", "--out", ckpt, "--no-plots", (char *)NULL);
    _exit(98);
  }
  /* Wait for the first epoch's checkpoint, so the run is well under way. */
  struct stat st;
  for (int i = 0; i < 600 && stat(ckpt, &st) != 0; i++)
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
  ck_assert_msg(stat(ckpt, &st) == 0, "no checkpoint after 60 s");
  ck_assert_int_eq(kill(pid, SIGINT), 0);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  /* 128 + SIGINT, as a shell reports a command stopped by Ctrl-C */
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d", status);
  FILE *f = fopen(log, "r");
  ck_assert_ptr_nonnull(f);
  char text[1 << 16];
  const size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  /* Mid-epoch ("at step") or between epochs ("after epoch"): both are saved. */
  ck_assert_msg(strstr(text, "interrupted "), "log (its end):\n%s", tail_of(text));
  ck_assert_msg(strstr(text, "resume with --resume"), "log (its end):\n%s", tail_of(text));
  snprintf(args, sizeof args,
           "train --data '%s' --limit 64 --batch 32 --epochs 1 --resume '%s' --out '%s' "
           "--no-plots",
           datadir, ckpt, ckpt);
  /* It stopped after its first epoch, so 1 epoch in total is already done: nothing
   * to do, and it says so rather than claiming a save. */
  expect("", args, 0, "nothing to do");
  snprintf(args, sizeof args,
           "train --data '%s' --limit 32 --batch 32 --epochs 6 --resume '%s' --out '%s' "
           "--no-plots",
           datadir, ckpt, ckpt);
  expect("", args, 0, "resuming from");
}
END_TEST

/* load_dir wants the standard file names: link the fixture under them. Runs before
 * the suite, so it reports with return codes rather than ck_assert. */
static int make_data_dir(void) {
  const char *data = getenv("VAECL_TEST_DATA");
  char empty[4400], from[4400], to[8800];
  snprintf(datadir, sizeof datadir, "%s/data", workdir);
  snprintf(empty, sizeof empty, "%s/empty-icd", workdir);
  if (!data || mkdir(datadir, 0755) != 0 || mkdir(empty, 0755) != 0)
    return -1;
  const char *pairs[2][2] = {
      {"fashion-mnist-1024-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz"},
      {"fashion-mnist-1024-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"}};
  for (int i = 0; i < 2; i++) {
    snprintf(from, sizeof from, "%s/fixtures/%s", data, pairs[i][0]);
    snprintf(to, sizeof to, "%s/%s", datadir, pairs[i][1]);
    if (symlink(from, to) != 0)
      return -1;
  }
  return 0;
}

int main(void) {
  bin = getenv("VAECL_BIN");
  if (!bin) {
    fprintf(stderr, "VAECL_BIN is not set (run through ctest)\n");
    return EXIT_FAILURE;
  }
  workdir = test_make_temp_dir("cli");
  if (!workdir)
    return EXIT_FAILURE;
  if (make_data_dir() != 0) {
    fprintf(stderr, "cannot set up %s (is VAECL_TEST_DATA set?)\n", workdir);
    return EXIT_FAILURE;
  }
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("cli");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, help_lists_commands);
  tcase_add_test(tc, devices_lists_pocl);
  tcase_add_test(tc, device_by_name);
  tcase_add_test(tc, bench_profile_names_layers_and_shapes);
  tcase_add_test(tc, tune_stores_parameters_the_next_run_uses);
  tcase_add_test(tc, bad_arguments_name_the_problem);
  tcase_add_test(tc, missing_data_names_path_and_fix);
  tcase_add_test(tc, bad_device_names_the_fix);
  tcase_add_test(tc, no_icd_names_the_fix);
  tcase_add_test(tc, train_reports_keras_metrics_and_resumes);
  tcase_add_test(tc, interrupt_saves_and_resumes);
  tcase_add_test(tc, train_validates_and_resumes_the_same_split);
  tcase_add_test(tc, train_samples_every_n_epochs);
  suite_add_tcase(s, tc);
  const int rc = vaecl_test_run(s);
  test_remove_tree(workdir);
  free(workdir);
  return rc;
}
