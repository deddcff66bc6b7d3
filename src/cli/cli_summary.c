/* vaecl summary: a model's layers, output shapes and parameter counts, laid out
 * like Keras' model.summary(). Reads the model file (or a checkpoint's model);
 * needs no device. */
#include <stdio.h>
#include <string.h>

#include <vaecl.h>

#include "cli/cli.h"

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl summary [--model FILE|CHECKPOINT]\n"
             "\n"
             "Prints each layer of the model with its output shape and parameter count, as\n"
             "Keras' model.summary() does. Without --model: the reference model.\n");
}

static void shape_text(const vaecl_shape *s, char *buf, size_t size) {
  if (s->rank == 1)
    snprintf(buf, size, "(None, %d)", s->c);
  else
    snprintf(buf, size, "(None, %d, %d, %d)", s->h, s->w, s->c);
}

/* Thousands separators, as Keras prints them. */
static void count_text(size_t n, char *buf, size_t size) {
  char digits[32];
  snprintf(digits, sizeof digits, "%zu", n);
  const size_t len = strlen(digits);
  size_t o = 0;
  for (size_t i = 0; i < len && o + 2 < size; i++) {
    if (i && (len - i) % 3 == 0)
      buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
}

static void row(const char *name, const char *type, const vaecl_shape *out, size_t params) {
  char layer[96], shape[64], count[32];
  snprintf(layer, sizeof layer, "%s (%s)", name, type);
  shape_text(out, shape, sizeof shape);
  count_text(params, count, sizeof count);
  printf("%-38s %-22s %12s\n", layer, shape, count);
}

static void chain(const char *prefix, const vaecl_layer_spec *layers, int n) {
  for (int i = 0; i < n; i++) {
    const vaecl_layer_spec *l = &layers[i];
    char name[64];
    if (l->name[0])
      snprintf(name, sizeof name, "%s", l->name);
    else
      snprintf(name, sizeof name, "%s.%d", prefix, i + 1);
    char type[64];
    if (l->activation != VB_ACT_NONE)
      snprintf(type, sizeof type, "%s, %s", vaecl_layer_type_name(l->type),
               vaecl_activation_name(l->activation));
    else
      snprintf(type, sizeof type, "%s", vaecl_layer_type_name(l->type));
    row(name, type, &l->out, vaecl_layer_param_count(l));
  }
}

static void print_summary(const vaecl_model_spec *s) {
  const char *rule = "---------------------------------------------------------------------------";
  printf("Model: %s\n%s\n", s->source, rule);
  printf("%-38s %-22s %12s\n", "Layer (type)", "Output Shape", "Param #");
  printf("%s\n", rule);
  row("input", "InputLayer", &s->input, 0);
  chain("enc", s->encoder, s->encoder_count);
  const size_t enc_out = s->encoder_count ? vaecl_shape_size(&s->encoder[s->encoder_count - 1].out)
                                          : vaecl_shape_size(&s->input);
  const vaecl_shape z = {1, 1, 1, s->latent};
  const size_t head = enc_out * (size_t)s->latent + (size_t)s->latent;
  row("z_mean", "Dense", &z, head);
  row("z_log_var", "Dense", &z, head);
  row("z", "Sampling", &z, 0);
  chain("dec", s->decoder, s->decoder_count);
  if (s->learned_variance)
    row("output.log_var", "learned variance", &(vaecl_shape){1, 1, 1, 1}, 1);
  printf("%s\n", rule);
  char total[32];
  count_text(vaecl_model_spec_param_count(s), total, sizeof total);
  printf("Total params: %s\n", total);
  if (s->output == VAECL_OUTPUT_BERNOULLI)
    printf("Likelihood: bernoulli (sigmoid + binary cross-entropy)");
  else if (s->learned_variance)
    printf("Likelihood: gaussian, learned variance");
  else
    printf("Likelihood: gaussian, sigma %g", (double)s->sigma);
  printf("; KL weight %g\n", (double)s->kl_weight);
}

int cli_summary(const cli_globals *g, int argc, char **argv) {
  (void)g;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v;
    if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
      usage(stdout);
      return 0;
    }
    if (strcmp(opt, "--model") != 0) {
      cli_unknown_option("summary", opt);
      return 2;
    }
    if (cli_option_value(argc, argv, &i, &v) != 0)
      return 2;
    path = v;
  }
  vaecl_model_spec spec;
  if (cli_load_model(path, &spec, NULL) != 0) {
    fprintf(stderr, "vaecl summary: %s\n", vaecl_last_error());
    return 2;
  }
  print_summary(&spec);
  vaecl_model_spec_free(&spec);
  return 0;
}
