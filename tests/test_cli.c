/* The vaecl command as a user meets it: help, device listing, errors that name the
 * problem and the fix, and a short real training run with resume. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

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

START_TEST(help_lists_commands) {
  expect("", "--help", 0, "devices");
  expect("", "--help", 0, "--device N");
  expect("", "train --help", 0, "--epochs N");
  expect("", "bench --help", 0, "--batch");
  expect("", "plot --help", 0, "--model FILE");
  expect("", "", 2, "usage: vaecl");
}
END_TEST

START_TEST(devices_lists_pocl) {
  expect("", "devices", 0, "0: ");
}
END_TEST

START_TEST(bad_arguments_name_the_problem) {
  expect("", "frobnicate", 2, "unknown command 'frobnicate'");
  expect("", "train --epochs abc", 2, "--epochs expects a whole number");
  expect("", "train --batch 0", 2, "--batch expects a whole number from 1");
  expect("", "train --lr", 2, "--lr needs a value");
  expect("", "train --bogus 1", 2, "unknown option '--bogus'");
  expect("", "plot", 2, "--model FILE is required");
  expect("", "--device x devices", 2, "--device expects a whole number");
}
END_TEST

START_TEST(missing_data_names_path_and_fix) {
  expect("", "train --data /nonexistent/fmnist", 1, "/nonexistent/fmnist");
  expect("", "train --data /nonexistent/fmnist", 1, "dataset-fashion-mnist");
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
  expect("", "train --out /nonexistent/dir/m.ckpt", 1, "pick another --out");
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
  expect("", args, 1, "m.ckpt");
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
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
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
  tcase_add_test(tc, bad_arguments_name_the_problem);
  tcase_add_test(tc, missing_data_names_path_and_fix);
  tcase_add_test(tc, bad_device_names_the_fix);
  tcase_add_test(tc, no_icd_names_the_fix);
  tcase_add_test(tc, train_reports_keras_metrics_and_resumes);
  tcase_add_test(tc, interrupt_saves_and_resumes);
  suite_add_tcase(s, tc);
  const int rc = vaecl_test_run(s);
  test_remove_tree(workdir);
  free(workdir);
  return rc;
}
