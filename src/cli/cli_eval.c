/* vaecl eval: the mean negative ELBO and IWAE bound of a trained model on a data set. */
#include <stdio.h>

#include "cli/cli.h"
#include <vaecl/evaluate.h>

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--backend NAME] [--device N] eval --model CKPT [options]\n"
             "\n"
             "The mean per-image negative ELBO (reconstruction + KL) and an importance-weighted\n"
             "bound on -log p(x) (IWAE), in nats per image and bits per dimension.\n"
             "\n"
             "options:\n"
             "  --model CKPT    a checkpoint written by vaecl train (required)\n"
             "  --data PATH     IDX files or a PNG folder (default: the t10k test images of\n"
             "                  " VAECL_DEFAULT_DATA_DIR ")\n"
             "  --limit N       only the first N images\n"
             "  --samples K     draws from q(z|x) per image for both figures (default 64)\n"
             "  --seed S        seeds the draws (default 1)\n"
             "  --batch N       images per device pass (default 128)\n"
             "  -h, --help      this help\n");
}

int cli_eval(const cli_globals *g, int argc, char **argv) {
  const char *model = NULL, *data = NULL;
  long limit = 0, samples = 64, seed = 1, batch = 128;
  cli_opt opts[] = {
      {"--model", CLI_OPT_STRING, 0, 0, &model, NULL, 0},
      {"--data", CLI_OPT_STRING, 0, 0, &data, NULL, 0},
      {"--limit", CLI_OPT_INT, 1, 1L << 30, NULL, &limit, 0},
      {"--samples", CLI_OPT_INT, 1, VAECL_EVAL_MAX_SAMPLES, NULL, &samples, 0},
      {"--seed", CLI_OPT_INT, 0, 0x7fffffffL, NULL, &seed, 0},
      {"--batch", CLI_OPT_INT, 1, 65536, NULL, &batch, 0},
  };
  const int parsed = cli_parse_options("eval", argc, argv, opts, 6, usage);
  if (parsed != 0)
    return parsed > 0 ? 0 : 2;
  cli_session s = {.verb = "eval"};
  if (cli_session_model(&s, model) != 0 || cli_session_data(&s, data, limit) != 0) {
    const int rc = cli_session_fail(&s, 2);
    cli_session_close(&s);
    return rc;
  }
  int rc = cli_session_device(&s, g, (int)batch);
  vaecl_eval_summary sum;
  if (rc == 0) {
    printf(
        "vaecl eval: %zu images from %s, model %s (after %u epochs), %ld samples, seed %ld, device "
        "%s\n",
        s.data.count, s.data_name, s.model_path, s.ck.epochs_done, samples, seed,
        s.be->device_name);
    fflush(stdout);
    rc = cli_session_evaluate(&s, samples, seed, NULL, &sum);
  }
  if (rc != 0) {
    rc = cli_session_fail(&s, 1);
    cli_session_close(&s);
    return rc;
  }
  printf("per image: loss: %.4f - reconstruction_loss: %.4f - kl_loss: %.4f\n", sum.loss,
         sum.reconstruction, sum.kl);
  printf("negative ELBO: %.4f nats/image, %.5f bits/dim\n", sum.neg_elbo,
         vaecl_bits_per_dim(sum.neg_elbo, sum.dims));
  printf("IWAE bound (K=%d): -log p(x) <= %.4f nats/image, %.5f bits/dim\n", sum.samples, sum.iwae,
         vaecl_bits_per_dim(sum.iwae, sum.dims));
  cli_session_close(&s);
  return 0;
}
