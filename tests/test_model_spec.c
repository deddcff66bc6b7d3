/* The model-file parser: the reference model's shapes and parameter count, every
 * shipped model, TensorFlow's convolution arithmetic worked out by hand, and a
 * table of broken model texts, each refused with its line and what was wrong. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include <vaecl.h>
#include <vaecl/model_spec.h>

static void data_path(char *buf, size_t size, const char *rel) {
  const char *data = getenv("VAECL_TEST_DATA");
  snprintf(buf, size, "%s/%s", data ? data : "data", rel);
}

static void check_shape(const vaecl_shape *s, int rank, int h, int w, int c, const char *what) {
  ck_assert_msg(s->rank == rank && s->h == h && s->w == w && s->c == c,
                "%s: rank %d %dx%dx%d, expected rank %d %dx%dx%d", what, s->rank, s->h, s->w, s->c,
                rank, h, w, c);
}

/* The Keras Fashion-MNIST VAE, shape by shape as model.summary() prints it. */
START_TEST(reference_model_shapes_and_parameters) {
  char path[1024];
  data_path(path, sizeof path, "models/fashion-mnist-vae.vae");
  vaecl_model_spec s;
  ck_assert_msg(vaecl_model_spec_load(path, &s) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(vaecl_model_spec_param_count(&s), 332565);
  check_shape(&s.input, 3, 28, 28, 1, "input");
  ck_assert_int_eq(s.latent, 2);
  ck_assert_int_eq(s.output, VAECL_OUTPUT_BERNOULLI);
  ck_assert_int_eq(s.learned_variance, 0);
  ck_assert(s.kl_weight == 1.0f);
  ck_assert_int_eq(s.encoder_count, 4);
  ck_assert_int_eq(s.decoder_count, 5);
  static const struct {
    vaecl_layer_type type;
    int in_rank, in_h, in_w, in_c, out_rank, out_h, out_w, out_c, pad;
    vb_act act;
    const char *name;
    size_t params;
  } want[9] = {
      {VAECL_LAYER_CONV2D, 3, 28, 28, 1, 3, 14, 14, 64, 0, VB_ACT_RELU, "enc.conv1", 640},
      {VAECL_LAYER_CONV2D, 3, 14, 14, 64, 3, 7, 7, 128, 0, VB_ACT_RELU, "enc.conv2", 73856},
      {VAECL_LAYER_FLATTEN, 3, 7, 7, 128, 1, 1, 1, 6272, 0, VB_ACT_NONE, "", 0},
      {VAECL_LAYER_DENSE, 1, 1, 1, 6272, 1, 1, 1, 16, 0, VB_ACT_RELU, "enc.dense1", 100368},
      {VAECL_LAYER_DENSE, 1, 1, 1, 2, 1, 1, 1, 3136, 0, VB_ACT_RELU, "dec.dense1", 9408},
      {VAECL_LAYER_RESHAPE, 1, 1, 1, 3136, 3, 7, 7, 64, 0, VB_ACT_NONE, "", 0},
      {VAECL_LAYER_CONV2D_TRANSPOSE, 3, 7, 7, 64, 3, 14, 14, 128, 0, VB_ACT_RELU, "dec.convt1",
       73856},
      {VAECL_LAYER_CONV2D_TRANSPOSE, 3, 14, 14, 128, 3, 28, 28, 64, 0, VB_ACT_RELU, "dec.convt2",
       73792},
      {VAECL_LAYER_CONV2D_TRANSPOSE, 3, 28, 28, 64, 3, 28, 28, 1, 1, VB_ACT_SIGMOID, "dec.convt3",
       577},
  };
  for (int i = 0; i < 9; i++) {
    const vaecl_layer_spec *l = i < 4 ? &s.encoder[i] : &s.decoder[i - 4];
    char what[64];
    snprintf(what, sizeof what, "layer %d (line %d)", i, l->line);
    ck_assert_int_eq(l->type, want[i].type);
    check_shape(&l->in, want[i].in_rank, want[i].in_h, want[i].in_w, want[i].in_c, what);
    check_shape(&l->out, want[i].out_rank, want[i].out_h, want[i].out_w, want[i].out_c, what);
    ck_assert_msg(l->pad == want[i].pad, "%s: pad %d, expected %d", what, l->pad, want[i].pad);
    ck_assert_int_eq(l->activation, want[i].act);
    ck_assert_str_eq(l->name, want[i].name);
    ck_assert_uint_eq(vaecl_layer_param_count(l), want[i].params);
  }
  /* The built-in default is this file. */
  vaecl_model_spec d;
  ck_assert_int_eq(vaecl_model_spec_default(&d), 0);
  ck_assert_str_eq(d.text, s.text);
  ck_assert_uint_eq(vaecl_model_spec_param_count(&d), 332565);
  vaecl_model_spec_free(&d);
  /* A copy owns its own text. */
  vaecl_model_spec c;
  ck_assert_int_eq(vaecl_model_spec_copy(&s, &c), 0);
  ck_assert_ptr_ne(c.text, s.text);
  ck_assert_str_eq(c.text, s.text);
  vaecl_model_spec_free(&c);
  vaecl_model_spec_free(&s);
}
END_TEST

/* Every shipped model parses, ends in an image of its input's size and has weights. */
START_TEST(every_shipped_model_parses) {
  char dir[1024];
  data_path(dir, sizeof dir, "models");
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "cannot list %s", dir);
  int count = 0;
  for (struct dirent *e; (e = readdir(d));) {
    const size_t n = strlen(e->d_name);
    if (n <= 4 || strcmp(e->d_name + n - 4, ".vae") != 0)
      continue;
    char path[2100];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    vaecl_model_spec s;
    ck_assert_msg(vaecl_model_spec_load(path, &s) == 0, "%s", vaecl_last_error());
    ck_assert_int_gt(s.encoder_count, 0);
    ck_assert_int_gt(s.decoder_count, 0);
    ck_assert_int_gt(s.latent, 0);
    const vaecl_layer_spec *last = &s.decoder[s.decoder_count - 1];
    ck_assert_uint_eq(vaecl_shape_size(&last->out), vaecl_shape_size(&s.input));
    ck_assert_uint_gt(vaecl_model_spec_param_count(&s), 0);
    vaecl_model_spec_free(&s);
    count++;
  }
  closedir(d);
  ck_assert_int_ge(count, 1);
}
END_TEST

/* A one-layer encoder around `layer` on an HxW input: the layer's inferred output
 * side and padding. */
static const struct {
  int in;
  const char *layer;
  int out, pad;
} conv_cases[] = {
    /* conv 'same': out = ceil(in/s), pad = max((out-1)s + k - in, 0) / 2 */
    {7, "conv2d filters=2 kernel=3 stride=2 padding=same", 4, 1},
    {9, "conv2d filters=2 kernel=5 stride=2 padding=same", 5, 2},
    {28, "conv2d filters=2 kernel=3 stride=2 padding=same", 14, 0},
    {32, "conv2d filters=2 kernel=4 stride=2 padding=same", 16, 1},
    {9, "conv2d filters=2 kernel=5 stride=1 padding=same", 9, 2},
    {8, "conv2d filters=2 kernel=1 stride=2 padding=same", 4, 0},
    /* conv 'valid' (the default): out = ceil((in-k+1)/s), no padding */
    {9, "conv2d filters=2 kernel=3 stride=2", 4, 0},
    {9, "conv2d filters=2 kernel=5 stride=2 padding=valid", 3, 0},
    {5, "conv2d filters=2 kernel=5", 1, 0},
    {7, "conv2d filters=2 kernel=1", 7, 0},
    /* transposed 'same': out = in*s, padded like the conv from out back to in */
    {4, "conv2d_transpose filters=2 kernel=3 stride=2 padding=same", 8, 0},
    {3, "conv2d_transpose filters=2 kernel=5 stride=2 padding=same", 6, 1},
    {4, "conv2d_transpose filters=2 kernel=4 stride=2 padding=same", 8, 1},
    {9, "conv2d_transpose filters=2 kernel=5 padding=same", 9, 2},
    /* transposed 'valid': out = in*s + max(k-s, 0), no padding */
    {4, "conv2d_transpose filters=2 kernel=3 stride=2", 9, 0},
    {3, "conv2d_transpose filters=2 kernel=5 stride=2 padding=valid", 9, 0},
    {3, "conv2d_transpose filters=2 kernel=2 stride=3", 9, 0},
    {6, "conv2d_transpose filters=2 kernel=4", 9, 0},
};

START_TEST(convolution_shapes_are_tensorflows) {
  char text[512];
  const int in = conv_cases[_i].in;
  snprintf(text, sizeof text,
           "input %d %d 3\nencoder\n%s\nflatten\nlatent 2\ndecoder\n"
           "dense units=%d activation=sigmoid\nreshape %d %d 3\noutput bernoulli\n",
           in, in, conv_cases[_i].layer, in * in * 3, in, in);
  vaecl_model_spec s;
  ck_assert_msg(vaecl_model_spec_parse(text, "case", &s) == 0, "%s", vaecl_last_error());
  const vaecl_layer_spec *l = &s.encoder[0];
  check_shape(&l->out, 3, conv_cases[_i].out, conv_cases[_i].out, 2, conv_cases[_i].layer);
  ck_assert_msg(l->pad == conv_cases[_i].pad, "%s on %d: pad %d, expected %d", conv_cases[_i].layer,
                in, l->pad, conv_cases[_i].pad);
  vaecl_model_spec_free(&s);
}
END_TEST

/* Options, defaults and comments. */
START_TEST(options_and_defaults) {
  const char *text = "# a comment line\n"
                     "vaecl-model 1   # trailing comment\n"
                     "input 4 4 2\r\n"
                     "encoder\n"
                     "\tflatten\n"
                     "dense units=3 activation=leaky_relu alpha=0.3\n"
                     "dense units=3 activation=leaky_relu\n"
                     "dense units=3 activation=linear\n"
                     "latent 5\n"
                     "decoder\n"
                     "dense units=32 activation=tanh\n"
                     "output gaussian sigma=0.5\n"
                     "kl_weight 0.25\n";
  vaecl_model_spec s;
  ck_assert_msg(vaecl_model_spec_parse(text, "opts", &s) == 0, "%s", vaecl_last_error());
  ck_assert(s.encoder[1].alpha == 0.3f);
  ck_assert(s.encoder[2].alpha == 0.2f); /* TensorFlow's default */
  ck_assert_int_eq(s.encoder[3].activation, VB_ACT_NONE);
  ck_assert_int_eq(s.output, VAECL_OUTPUT_GAUSSIAN);
  ck_assert_int_eq(s.learned_variance, 0);
  ck_assert(s.sigma == 0.5f);
  ck_assert(s.kl_weight == 0.25f);
  ck_assert_int_eq(s.encoder[1].line, 6);
  check_shape(&s.decoder[0].out, 1, 1, 1, 32, "decoder");
  /* 32 inputs -> 3 -> 3 -> 3, heads 2*(3*5+5), 5 -> 32, one per pixel */
  ck_assert_uint_eq(vaecl_model_spec_param_count(&s),
                    (32 * 3 + 3) + 2 * (3 * 3 + 3) + 2 * (3 * 5 + 5) + (5 * 32 + 32));
  vaecl_model_spec_free(&s);
  const char *learned = "input 2 2 1\nencoder\nflatten\nlatent 1\ndecoder\ndense units=4\n"
                        "output gaussian variance=learned\n";
  ck_assert_msg(vaecl_model_spec_parse(learned, "lv", &s) == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(s.learned_variance, 1);
  ck_assert(s.sigma == 1.0f);
  ck_assert(s.kl_weight == 1.0f);
  /* 4 -> heads 2*(4+1), 1 -> 4, and the log-variance */
  ck_assert_uint_eq(vaecl_model_spec_param_count(&s), 10 + 8 + 1);
  vaecl_model_spec_free(&s);
}
END_TEST

/* A valid model; the broken ones below change one thing. Line numbers:
 *  1 input, 2 encoder, 3 conv2d, 4 flatten, 5 dense, 6 latent, 7 decoder,
 *  8 dense, 9 reshape, 10 conv2d_transpose, 11 output. */
#define L1 "input 8 8 1\n"
#define L2 "encoder\n"
#define L3 "conv2d filters=2 kernel=3 stride=2 padding=same activation=relu\n"
#define L4 "flatten\n"
#define L5 "dense units=4 activation=relu\n"
#define L6 "latent 2\n"
#define L7 "decoder\n"
#define L8 "dense units=16 activation=relu\n"
#define L9 "reshape 4 4 1\n"
#define L10 "conv2d_transpose filters=1 kernel=3 stride=2 padding=same activation=sigmoid\n"
#define L11 "output bernoulli\n"
#define ENC L1 L2 L3 L4 L5 L6
#define DEC L7 L8 L9 L10

static const struct {
  const char *text, *message;
} bad[] = {
    {L1 L2 L3 L4 L5 L6 L7 "dense units=20 activation=relu\n" L9 L10 L11,
     "line 9: Reshape(4,4,1) needs 16 inputs, Dense gives 20"},
    {L1 L2 L3 L5 L6 DEC L11, "line 4: Dense needs a flat input but gets 4x4x2; add `flatten`"},
    {L1 L2 "conv3d filters=2 kernel=3\n" L4 L5 L6 DEC L11,
     "line 3: unknown layer or statement 'conv3d'"},
    {L1 L2 "conv2d filters=2 kernel=3 strides=2\n" L4 L5 L6 DEC L11,
     "line 3: conv2d has no option 'strides'"},
    {L1 L2 "conv2d kernel=3 stride=2\n" L4 L5 L6 DEC L11,
     "line 3: conv2d needs filters=N and kernel=K"},
    {L1 L2 "conv2d filters=two kernel=3\n" L4 L5 L6 DEC L11,
     "line 3: filters must be a whole number from 1 to 65536, not 'two'"},
    {L1 L2 "conv2d filters=2 kernel=3 stride=1.5\n" L4 L5 L6 DEC L11,
     "line 3: stride must be a whole number"},
    {L1 L2 "conv2d filters=2 filters=3 kernel=3\n" L4 L5 L6 DEC L11,
     "line 3: option 'filters' is given twice"},
    {L1 L2 "conv2d filters=2 kernel=9\n" L4 L5 L6 DEC L11,
     "line 3: a 9x9 kernel with padding=valid does not fit the 8x8x1 input"},
    {L1 L2 "conv2d filters=2 kernel=3 padding=full\n" L4 L5 L6 DEC L11,
     "line 3: padding must be same or valid, not 'full'"},
    {L1 L2 "conv2d filters=2 kernel=3 activation=gelu\n" L4 L5 L6 DEC L11,
     "line 3: unknown activation 'gelu'"},
    {L1 L2 "conv2d filters=2 kernel=3 activation=relu alpha=0.1\n" L4 L5 L6 DEC L11,
     "line 3: alpha applies only to activation=leaky_relu"},
    {L1 L2 "conv2d filters=2 kernel 3\n" L4 L5 L6 DEC L11,
     "line 3: expected key=value after 'conv2d', not 'kernel'"},
    {L1 L2 L3 "flatten extra\n" L5 L6 DEC L11, "line 4: flatten takes no options"},
    {ENC L7 L8 L9
     "conv2d_transpose filters=1 kernel=3 stride=1 padding=same activation=sigmoid\n" L11,
     "line 10: the decoder must end with the input's shape 8x8x1 (64 values), but gives 4x4x1"},
    {ENC L7 L8 L9 "conv2d_transpose filters=1 kernel=3 stride=2 padding=same activation=relu\n" L11,
     "line 10: with `output bernoulli` the decoder's last layer gives pixel probabilities: it "
     "needs activation=sigmoid, not relu"},
    {L1 L2 L3 L4 "dense units=4 activation=relu\nlatent 2\n" DEC L11 "kl_weight -1\n",
     "line 12: kl_weight must be a number from 0 to"},
    {L1 L2 L3 L4 L5 "latent 2\nlatent 3\n" DEC L11, "line 7: latent is given twice"},
    {L2 L3 L4 L5 L6 DEC L11, "line 1: the encoder needs `input H W C` before it"},
    {L11, "no `input H W C` line"},
    {L1 L2 L3 L4 L5, "no `latent N` line after the encoder"},
    {L1 L2 L3 L4 L5 L7, "line 6: the decoder must come after `latent N`"},
    {ENC L11, "no decoder layers"},
    {ENC L7 L11, "no decoder layers"},
    {ENC DEC, "no `output bernoulli` or `output gaussian` line"},
    {L1 L6 L2 L3 L4 L5 DEC L11, "line 2: latent must come after the encoder's layers"},
    {L1 L2 L3 L6 DEC L11, "line 4: the latent heads are Dense layers and need a flat input"},
    {"vaecl-model 2\n" ENC DEC L11, "line 1: this vaecl reads model files of format 1"},
    {L1 L2 "conv2d filters=2 kernel=3 a b c d e f g h i j k l m n o\n" L4 L5 L6 DEC L11,
     "line 3: too many words on one line"},
    {ENC DEC "output gaussian sigma=0.5 variance=learned\n",
     "line 11: give either sigma=X (fixed) or variance=learned, not both"},
    {ENC DEC "output gaussian variance=fixed\n", "line 11: variance must be 'learned'"},
    {ENC DEC "output gaussian sigma=0\n", "line 11: sigma must be a number from"},
    {ENC DEC "output poisson\n", "line 11: unknown likelihood 'poisson'"},
    {ENC DEC "output bernoulli sigma=1\n", "line 11: output bernoulli takes no options"},
    {ENC DEC L11 "dense units=3\n", "line 12: layer 'dense' outside the encoder and decoder"},
    {ENC DEC L11 "frobnicate\n", "line 12: unknown statement 'frobnicate'"},
    {L1 L1 ENC DEC L11, "line 2: input is given twice"},
    {"input 8 8\n" L2, "line 1: input takes three numbers: height width channels"},
    {"input 8 0 1\n" L2, "line 1: width must be a whole number from 1 to"},
    {L1 L2 L3 L4 L5 L6 L7 "dense units=16 activation=relu\nreshape 4 4\n" L10 L11,
     "line 9: reshape takes three numbers"},
    {L1 L2 L3 L4 L5 L6 L7 L8 L10 L11,
     "line 9: Conv2DTranspose needs an HxWxC input but gets 16 values; add `reshape H W C`"},
    {"input 8 7 1\n" L2 L3 L4 L5 L6 DEC L11,
     "line 3: padding=same on a 8x7 input needs different padding for rows and columns"},
    /* Crafted sizes (issue 8): each product is computed in 64 bits and bounded, so
     * none can overflow an int later or ask for terabytes. 2048*2048*512 = 2^31
     * values would overflow flatten's int size. */
    {"input 4096 4096 1\n" L2
     "conv2d filters=512 kernel=3 stride=2 padding=same\n" L4 L5 L6 DEC L11,
     "line 3: Conv2D would hold 2147483648 values (per image), more than the 1073741824"},
    /* a small image, but a kernel of 8*8*65536*65536 = 2^38 weights */
    {"input 8 8 65536\n" L2 "conv2d filters=65536 kernel=8 padding=same\n" L4 L5 L6 DEC L11,
     "line 3: the kernel would hold 274877906944 values"},
    /* the two latent heads' weights: 2^20 inputs times 2 * 1024 */
    {L1 L2 L4 "dense units=1048576\nlatent 1024\n" DEC L11,
     "line 5: the latent heads would hold 2147483648 values"},
};

START_TEST(bad_models_are_refused_with_their_line) {
  vaecl_model_spec s;
  const int rc = vaecl_model_spec_parse(bad[_i].text, "bad.vae", &s);
  ck_assert_msg(rc == -1, "case %d parsed; expected \"%s\"", _i, bad[_i].message);
  const char *msg = vaecl_last_error();
  ck_assert_msg(strncmp(msg, "bad.vae: ", 9) == 0, "case %d: \"%s\" does not name the source", _i,
                msg);
  ck_assert_msg(strstr(msg, bad[_i].message) != NULL, "case %d: \"%s\" lacks \"%s\"", _i, msg,
                bad[_i].message);
  ck_assert_ptr_null(s.text); /* nothing left to free */
}
END_TEST

/* The base text of the table is itself valid, so each case fails for its one change. */
START_TEST(base_of_the_bad_table_parses) {
  vaecl_model_spec s;
  ck_assert_msg(vaecl_model_spec_parse(ENC DEC L11, "base", &s) == 0, "%s", vaecl_last_error());
  check_shape(&s.decoder[2].out, 3, 8, 8, 1, "output");
  vaecl_model_spec_free(&s);
}
END_TEST

START_TEST(load_reports_missing_and_binary_files) {
  vaecl_model_spec s;
  ck_assert_int_eq(vaecl_model_spec_load("/nonexistent/model.vae", &s), -1);
  ck_assert_ptr_nonnull(strstr(vaecl_last_error(), "/nonexistent/model.vae"));
  char *dir = test_make_temp_dir("spec");
  char path[4200];
  snprintf(path, sizeof path, "%s/nul.vae", dir);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fwrite("input 8 8 1\n\0\n", 1, 14, f);
  fclose(f);
  ck_assert_int_eq(vaecl_model_spec_load(path, &s), -1);
  ck_assert_ptr_nonnull(strstr(vaecl_last_error(), "NUL"));
  test_remove_tree(dir);
  free(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("model_spec");
  TCase *tc = tcase_create("model_spec");
  tcase_add_test(tc, reference_model_shapes_and_parameters);
  tcase_add_test(tc, every_shipped_model_parses);
  tcase_add_loop_test(tc, convolution_shapes_are_tensorflows, 0,
                      (int)(sizeof conv_cases / sizeof conv_cases[0]));
  tcase_add_test(tc, options_and_defaults);
  tcase_add_test(tc, base_of_the_bad_table_parses);
  tcase_add_loop_test(tc, bad_models_are_refused_with_their_line, 0,
                      (int)(sizeof bad / sizeof bad[0]));
  tcase_add_test(tc, load_reports_missing_and_binary_files);
  suite_add_tcase(s, tc);
  return vaecl_test_run(s);
}
