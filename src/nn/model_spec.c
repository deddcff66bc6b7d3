/* Model files: parsing, Keras/TensorFlow shape inference and parameter counts.
 * Every error names the source, the line and what was expected; nothing here
 * touches a device. */
#include <vaecl/model_spec.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/read_file.h"

/* Bounds that keep every size product far from overflow (each is computed in 64
 * bits and checked) while allowing any realistic model. MAX_ELEMENTS keeps each
 * tensor's size (per image, or a weight tensor) within an int, so the graph's int
 * sizes stay exact, and at 4 GiB of floats. */
#define MAX_SIDE 8192
#define MAX_CHANNELS 65536
#define MAX_KERNEL 64
#define MAX_STRIDE 64
#define MAX_ELEMENTS ((int64_t)1 << 30) /* per image, per tensor */

#define MAX_TOKENS 16

extern const char vaecl_default_model_text[]; /* generated from data/models/ */

typedef struct {
  const char *source;
  int line;
  char *tok[MAX_TOKENS];
  int ntok;
} parse_ctx;

static int fail_at(const parse_ctx *p, const char *fmt, ...) VAECL_PRINTF(2, 3);
static int fail_at(const parse_ctx *p, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (p->line > 0)
    return vaecl_fail("%s: line %d: %s", p->source, p->line, msg);
  return vaecl_fail("%s: %s", p->source, msg);
}

size_t vaecl_shape_size(const vaecl_shape *s) {
  return (size_t)s->h * (size_t)s->w * (size_t)s->c;
}

static void shape_text(const vaecl_shape *s, char *buf, size_t size) {
  if (s->rank == 1)
    snprintf(buf, size, "%d", s->c);
  else
    snprintf(buf, size, "%dx%dx%d", s->h, s->w, s->c);
}

const char *vaecl_layer_type_name(vaecl_layer_type t) {
  switch (t) {
  case VAECL_LAYER_CONV2D:
    return "Conv2D";
  case VAECL_LAYER_CONV2D_TRANSPOSE:
    return "Conv2DTranspose";
  case VAECL_LAYER_DENSE:
    return "Dense";
  case VAECL_LAYER_FLATTEN:
    return "Flatten";
  case VAECL_LAYER_RESHAPE:
  default:
    return "Reshape";
  }
}

static const struct {
  const char *name;
  vb_act act;
} activations[] = {{"none", VB_ACT_NONE},       {"linear", VB_ACT_NONE},
                   {"relu", VB_ACT_RELU},       {"leaky_relu", VB_ACT_LEAKY_RELU},
                   {"sigmoid", VB_ACT_SIGMOID}, {"tanh", VB_ACT_TANH}};

const char *vaecl_activation_name(vb_act a) {
  for (size_t i = 0; i < sizeof activations / sizeof activations[0]; i++)
    if (activations[i].act == a && strcmp(activations[i].name, "linear") != 0)
      return activations[i].name;
  return "?";
}

/* ---- token helpers ---------------------------------------------------------------- */

static int parse_int_text(const char *text, long min, long max, long *out) {
  char *end;
  errno = 0;
  const long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static int want_int(const parse_ctx *p, const char *what, const char *text, long min, long max,
                    int *out) {
  long v;
  if (parse_int_text(text, min, max, &v) != 0)
    return fail_at(p, "%s must be a whole number from %ld to %ld, not '%s'", what, min, max, text);
  *out = (int)v;
  return 0;
}

static int want_float(const parse_ctx *p, const char *what, const char *text, double min,
                      double max, float *out) {
  char *end;
  errno = 0;
  const double v = strtod(text, &end);
  if (errno || end == text || *end || !isfinite(v) || v < min || v > max)
    return fail_at(p, "%s must be a number from %g to %g, not '%s'", what, min, max, text);
  *out = (float)v;
  return 0;
}

/* The key=value options of a layer line, checked against the keys it accepts. */
typedef struct {
  const char *key;
  const char *value; /* NULL when absent */
} option;

static int read_options(const parse_ctx *p, int first, option *opts, size_t nopts) {
  for (int i = first; i < p->ntok; i++) {
    char *eq = strchr(p->tok[i], '=');
    if (!eq || eq == p->tok[i] || !eq[1])
      return fail_at(p, "expected key=value after '%s', not '%s'", p->tok[0], p->tok[i]);
    *eq = '\0';
    size_t j = 0;
    while (j < nopts && strcmp(opts[j].key, p->tok[i]) != 0)
      j++;
    if (j == nopts) {
      char keys[256] = "";
      for (size_t k = 0; k < nopts; k++)
        snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", k ? ", " : "",
                 opts[k].key);
      return fail_at(p, "%s has no option '%s' (options: %s)", p->tok[0], p->tok[i], keys);
    }
    if (opts[j].value)
      return fail_at(p, "option '%s' is given twice", opts[j].key);
    opts[j].value = eq + 1;
  }
  return 0;
}

static const char *opt_value(const option *opts, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(opts[i].key, key) == 0)
      return opts[i].value;
  return NULL;
}

static int read_activation(const parse_ctx *p, const option *opts, size_t n, vaecl_layer_spec *l) {
  const char *a = opt_value(opts, n, "activation"), *alpha = opt_value(opts, n, "alpha");
  l->activation = VB_ACT_NONE;
  l->alpha = 0.2f; /* TensorFlow's leaky_relu default */
  if (a) {
    size_t i = 0;
    while (i < sizeof activations / sizeof activations[0] && strcmp(activations[i].name, a) != 0)
      i++;
    if (i == sizeof activations / sizeof activations[0])
      return fail_at(p, "unknown activation '%s' (none, relu, leaky_relu, sigmoid, tanh)", a);
    l->activation = activations[i].act;
  }
  if (alpha) {
    if (l->activation != VB_ACT_LEAKY_RELU)
      return fail_at(p, "alpha applies only to activation=leaky_relu");
    return want_float(p, "alpha", alpha, 0.0, 1.0, &l->alpha);
  }
  return 0;
}

/* ---- shape inference ---------------------------------------------------------------- */

static int check_elements(const parse_ctx *p, const char *what, int64_t n) {
  if (n > MAX_ELEMENTS)
    return fail_at(p,
                   "%s would hold %lld values (per image), more than the %lld vaecl allows in one "
                   "tensor; use smaller layers or images",
                   what, (long long)n, (long long)MAX_ELEMENTS);
  return 0;
}

static int64_t elems(int h, int w, int c) {
  return (int64_t)h * w * c;
}

/* TensorFlow's convolution arithmetic. conv: out = ceil(in/s) ('same') or
 * ceil((in-k+1)/s) ('valid'); pad_before = max((out-1)s + k - in, 0) / 2 for 'same'.
 * conv-transpose is the adjoint of the conv from its output back to its input:
 * out = in*s ('same') or in*s + max(k-s, 0) ('valid'), with that conv's padding. */
static int conv_side(const vaecl_layer_spec *l, int in, int *out, int *pad) {
  const int k = l->kernel, s = l->stride;
  if (l->type == VAECL_LAYER_CONV2D) {
    *out = l->padding == VAECL_PADDING_SAME ? (in + s - 1) / s : (in - k + s) / s;
    if (*out < 1 || (l->padding == VAECL_PADDING_VALID && in < k))
      return -1;
    const int total = (*out - 1) * s + k - in;
    *pad = l->padding == VAECL_PADDING_SAME && total > 0 ? total / 2 : 0;
  } else {
    *out = l->padding == VAECL_PADDING_SAME ? in * s : in * s + (k > s ? k - s : 0);
    const int total = (in - 1) * s + k - *out;
    *pad = l->padding == VAECL_PADDING_SAME && total > 0 ? total / 2 : 0;
  }
  return 0;
}

/* prev names what produced `in`, for messages ("Dense", "the input"). */
static int infer_layer(const parse_ctx *p, vaecl_layer_spec *l, const vaecl_shape *in,
                       const char *prev) {
  char got[64];
  shape_text(in, got, sizeof got);
  l->in = *in;
  switch (l->type) {
  case VAECL_LAYER_CONV2D:
  case VAECL_LAYER_CONV2D_TRANSPOSE: {
    if (in->rank != 3)
      return fail_at(p, "%s needs an HxWxC input but gets %s values; add `reshape H W C` before it",
                     vaecl_layer_type_name(l->type), got);
    int oh, ow, pad_h, pad_w;
    if (conv_side(l, in->h, &oh, &pad_h) != 0 || conv_side(l, in->w, &ow, &pad_w) != 0)
      return fail_at(p, "a %dx%d kernel with padding=valid does not fit the %s input", l->kernel,
                     l->kernel, got);
    if (l->type == VAECL_LAYER_CONV2D_TRANSPOSE && (oh > MAX_SIDE || ow > MAX_SIDE))
      return fail_at(p, "the output would be %dx%d, larger than %d pixels a side", oh, ow,
                     MAX_SIDE);
    /* The patch geometry has one padding for both axes; TensorFlow pads each axis on
     * its own, which differs only for some non-square 'same' cases: refuse those. */
    if (pad_h != pad_w)
      return fail_at(p,
                     "padding=same on a %dx%d input needs different padding for rows and "
                     "columns, which vaecl does not support yet; use a square input or "
                     "padding=valid",
                     in->h, in->w);
    l->pad = pad_h;
    l->out = (vaecl_shape){3, oh, ow, l->filters};
    if (check_elements(p, vaecl_layer_type_name(l->type), elems(oh, ow, l->filters)) != 0 ||
        check_elements(p, "the kernel", elems(l->kernel, l->kernel, in->c) * (int64_t)l->filters) !=
            0 ||
        check_elements(p, "the patch matrix",
                       elems(l->type == VAECL_LAYER_CONV2D ? oh : in->h,
                             l->type == VAECL_LAYER_CONV2D ? ow : in->w, l->kernel * l->kernel) *
                           (l->type == VAECL_LAYER_CONV2D ? in->c : l->filters)) != 0)
      return -1;
    return 0;
  }
  case VAECL_LAYER_DENSE:
    if (in->rank != 1)
      return fail_at(p, "Dense needs a flat input but gets %s; add `flatten` before it", got);
    l->out = (vaecl_shape){1, 1, 1, l->units};
    return check_elements(p, "Dense's weight matrix", (int64_t)in->c * l->units);
  case VAECL_LAYER_FLATTEN:
    l->out = (vaecl_shape){1, 1, 1, (int)elems(in->h, in->w, in->c)}; /* bounded on input */
    return 0;
  case VAECL_LAYER_RESHAPE:
  default:
    if (elems(l->target.h, l->target.w, l->target.c) != elems(in->h, in->w, in->c))
      return fail_at(p, "Reshape(%d,%d,%d) needs %lld inputs, %s gives %s", l->target.h,
                     l->target.w, l->target.c,
                     (long long)elems(l->target.h, l->target.w, l->target.c), prev, got);
    l->out = l->target;
    return 0;
  }
}

/* ---- statements ---------------------------------------------------------------------- */

typedef enum { SEC_TOP, SEC_ENCODER, SEC_DECODER } section;

typedef struct {
  vaecl_model_spec *spec;
  section sec;
  int have_input, have_latent, have_output, have_kl, have_version;
  int have_encoder, have_decoder;
  vaecl_shape cur;      /* the shape flowing out of the last layer */
  const char *cur_from; /* what produced cur, for messages */
} parser;

static int parse_shape3(const parse_ctx *p, int first, const char *what, vaecl_shape *s) {
  if (p->ntok != first + 3)
    return fail_at(p, "%s takes three numbers: height width channels", what);
  s->rank = 3;
  if (want_int(p, "height", p->tok[first], 1, MAX_SIDE, &s->h) ||
      want_int(p, "width", p->tok[first + 1], 1, MAX_SIDE, &s->w) ||
      want_int(p, "channels", p->tok[first + 2], 1, MAX_CHANNELS, &s->c))
    return -1;
  return check_elements(p, what, elems(s->h, s->w, s->c));
}

static int parse_layer(const parse_ctx *p, vaecl_layer_spec *l) {
  const char *kw = p->tok[0];
  memset(l, 0, sizeof *l);
  l->line = p->line;
  if (!strcmp(kw, "flatten")) {
    l->type = VAECL_LAYER_FLATTEN;
    if (p->ntok != 1)
      return fail_at(p, "flatten takes no options");
    return 0;
  }
  if (!strcmp(kw, "reshape")) {
    l->type = VAECL_LAYER_RESHAPE;
    return parse_shape3(p, 1, "reshape", &l->target);
  }
  if (!strcmp(kw, "dense")) {
    option o[] = {{"units", NULL}, {"activation", NULL}, {"alpha", NULL}};
    const size_t n = sizeof o / sizeof o[0];
    l->type = VAECL_LAYER_DENSE;
    if (read_options(p, 1, o, n) != 0)
      return -1;
    if (!opt_value(o, n, "units"))
      return fail_at(p, "dense needs units=N");
    return want_int(p, "units", opt_value(o, n, "units"), 1, MAX_CHANNELS * 64, &l->units) ||
                   read_activation(p, o, n, l)
               ? -1
               : 0;
  }
  if (!strcmp(kw, "conv2d") || !strcmp(kw, "conv2d_transpose")) {
    option o[] = {{"filters", NULL}, {"kernel", NULL},     {"stride", NULL},
                  {"padding", NULL}, {"activation", NULL}, {"alpha", NULL}};
    const size_t n = sizeof o / sizeof o[0];
    l->type = kw[6] ? VAECL_LAYER_CONV2D_TRANSPOSE : VAECL_LAYER_CONV2D;
    l->stride = 1;
    l->padding = VAECL_PADDING_VALID; /* Keras' default */
    if (read_options(p, 1, o, n) != 0)
      return -1;
    if (!opt_value(o, n, "filters") || !opt_value(o, n, "kernel"))
      return fail_at(p, "%s needs filters=N and kernel=K", kw);
    if (want_int(p, "filters", opt_value(o, n, "filters"), 1, MAX_CHANNELS, &l->filters) ||
        want_int(p, "kernel", opt_value(o, n, "kernel"), 1, MAX_KERNEL, &l->kernel) ||
        (opt_value(o, n, "stride") &&
         want_int(p, "stride", opt_value(o, n, "stride"), 1, MAX_STRIDE, &l->stride)))
      return -1;
    const char *pad = opt_value(o, n, "padding");
    if (pad) {
      if (!strcmp(pad, "same"))
        l->padding = VAECL_PADDING_SAME;
      else if (strcmp(pad, "valid") != 0)
        return fail_at(p, "padding must be same or valid, not '%s'", pad);
    }
    return read_activation(p, o, n, l);
  }
  return fail_at(p,
                 "unknown layer or statement '%s' (conv2d, conv2d_transpose, dense, flatten, "
                 "reshape, latent, decoder, output, kl_weight)",
                 kw);
}

static int add_layer(parser *ps, const parse_ctx *p) {
  vaecl_model_spec *s = ps->spec;
  const int enc = ps->sec == SEC_ENCODER;
  int *count = enc ? &s->encoder_count : &s->decoder_count;
  if (*count == VAECL_MAX_LAYERS)
    return fail_at(p, "more than %d layers in the %s", VAECL_MAX_LAYERS,
                   enc ? "encoder" : "decoder");
  vaecl_layer_spec *l = enc ? &s->encoder[*count] : &s->decoder[*count];
  if (parse_layer(p, l) != 0)
    return -1;
  if (infer_layer(p, l, &ps->cur, ps->cur_from) != 0)
    return -1;
  /* Parameter names: "<chain>.<kind><n>", n counting that kind within the chain. */
  if (l->type == VAECL_LAYER_CONV2D || l->type == VAECL_LAYER_CONV2D_TRANSPOSE ||
      l->type == VAECL_LAYER_DENSE) {
    const char *kind = l->type == VAECL_LAYER_CONV2D  ? "conv"
                       : l->type == VAECL_LAYER_DENSE ? "dense"
                                                      : "convt";
    int n = 1;
    const vaecl_layer_spec *chain = enc ? s->encoder : s->decoder;
    for (int i = 0; i < *count; i++)
      n += chain[i].type == l->type;
    snprintf(l->name, sizeof l->name, "%s.%s%d", enc ? "enc" : "dec", kind, n);
  }
  (*count)++;
  ps->cur = l->out;
  ps->cur_from = vaecl_layer_type_name(l->type);
  return 0;
}

static int parse_output(parser *ps, const parse_ctx *p) {
  vaecl_model_spec *s = ps->spec;
  if (p->ntok < 2)
    return fail_at(p, "output needs a likelihood: bernoulli or gaussian");
  if (!strcmp(p->tok[1], "bernoulli")) {
    if (p->ntok != 2)
      return fail_at(p, "output bernoulli takes no options");
    s->output = VAECL_OUTPUT_BERNOULLI;
    return 0;
  }
  if (strcmp(p->tok[1], "gaussian") != 0)
    return fail_at(p, "unknown likelihood '%s' (bernoulli or gaussian)", p->tok[1]);
  s->output = VAECL_OUTPUT_GAUSSIAN;
  option o[] = {{"sigma", NULL}, {"variance", NULL}};
  if (read_options(p, 2, o, 2) != 0)
    return -1;
  const char *sigma = opt_value(o, 2, "sigma"), *var = opt_value(o, 2, "variance");
  if (sigma && var)
    return fail_at(p, "give either sigma=X (fixed) or variance=learned, not both");
  if (var) {
    if (strcmp(var, "learned") != 0)
      return fail_at(p, "variance must be 'learned' (or give a fixed sigma=X), not '%s'", var);
    s->learned_variance = 1;
  }
  return sigma ? want_float(p, "sigma", sigma, 1e-6, 1e6, &s->sigma) : 0;
}

static int statement(parser *ps, const parse_ctx *p) {
  vaecl_model_spec *s = ps->spec;
  const char *kw = p->tok[0];
  if (!strcmp(kw, "vaecl-model")) {
    if (ps->have_version || p->ntok != 2 || strcmp(p->tok[1], "1") != 0)
      return fail_at(p, "this vaecl reads model files of format 1 (`vaecl-model 1`)");
    ps->have_version = 1;
    return 0;
  }
  if (!strcmp(kw, "input")) {
    if (ps->have_input)
      return fail_at(p, "input is given twice");
    if (ps->sec != SEC_TOP)
      return fail_at(p, "input must come before the encoder");
    ps->have_input = 1;
    if (parse_shape3(p, 1, "input", &s->input) != 0)
      return -1;
    ps->cur = s->input;
    ps->cur_from = "the input";
    return 0;
  }
  if (!strcmp(kw, "encoder")) {
    if (!ps->have_input)
      return fail_at(p, "the encoder needs `input H W C` before it");
    if (ps->have_encoder || p->ntok != 1)
      return fail_at(p, ps->have_encoder ? "encoder appears twice" : "encoder takes no options");
    ps->have_encoder = 1;
    ps->sec = SEC_ENCODER;
    return 0;
  }
  if (!strcmp(kw, "latent")) {
    if (ps->sec != SEC_ENCODER || ps->have_latent)
      return fail_at(p, ps->have_latent ? "latent is given twice"
                                        : "latent must come after the encoder's layers");
    if (p->ntok != 2 || want_int(p, "the latent size", p->tok[1], 1, 65536, &s->latent) != 0)
      return p->ntok != 2 ? fail_at(p, "latent takes one number, the latent size") : -1;
    char got[64];
    shape_text(&ps->cur, got, sizeof got);
    if (ps->cur.rank != 1)
      return fail_at(p,
                     "the latent heads are Dense layers and need a flat input, but the "
                     "encoder ends with %s; add `flatten` before latent",
                     got);
    /* the heads' weights: the encoder's output times both heads */
    if (check_elements(p, "the latent heads", (int64_t)ps->cur.c * 2 * s->latent) != 0)
      return -1;
    ps->have_latent = 1;
    ps->sec = SEC_TOP;
    ps->cur = (vaecl_shape){1, 1, 1, s->latent};
    return 0;
  }
  if (!strcmp(kw, "decoder")) {
    if (!ps->have_latent)
      return fail_at(p, "the decoder must come after `latent N`");
    if (ps->have_decoder || p->ntok != 1)
      return fail_at(p, ps->have_decoder ? "decoder appears twice" : "decoder takes no options");
    ps->have_decoder = 1;
    ps->sec = SEC_DECODER;
    ps->cur = (vaecl_shape){1, 1, 1, s->latent};
    ps->cur_from = "the latent sample";
    return 0;
  }
  if (!strcmp(kw, "output")) {
    if (ps->have_output)
      return fail_at(p, "output is given twice");
    ps->have_output = 1;
    ps->sec = SEC_TOP;
    return parse_output(ps, p);
  }
  if (!strcmp(kw, "kl_weight")) {
    if (ps->have_kl || p->ntok != 2)
      return fail_at(p, ps->have_kl ? "kl_weight is given twice" : "kl_weight takes one number");
    ps->have_kl = 1;
    return want_float(p, "kl_weight", p->tok[1], 0.0, 1e6, &s->kl_weight);
  }
  if (ps->sec == SEC_TOP) {
    if (!strcmp(kw, "conv2d") || !strcmp(kw, "conv2d_transpose") || !strcmp(kw, "dense") ||
        !strcmp(kw, "flatten") || !strcmp(kw, "reshape"))
      return fail_at(p, "layer '%s' outside the encoder and decoder sections", kw);
    return fail_at(p,
                   "unknown statement '%s' (input, encoder, latent, decoder, output, "
                   "kl_weight)",
                   kw);
  }
  return add_layer(ps, p);
}

/* After the last line: everything present, and the decoder gives back an image. */
static int finish(parser *ps, const char *source) {
  vaecl_model_spec *s = ps->spec;
  const parse_ctx end = {.source = source, .line = 0};
  if (!ps->have_input)
    return fail_at(&end, "no `input H W C` line");
  if (!ps->have_latent)
    return fail_at(&end, "no `latent N` line after the encoder");
  if (!ps->have_decoder || s->decoder_count == 0)
    return fail_at(&end, "no decoder layers (a `decoder` line followed by layers)");
  if (!ps->have_output)
    return fail_at(&end, "no `output bernoulli` or `output gaussian` line");
  const vaecl_layer_spec *last = &s->decoder[s->decoder_count - 1];
  const parse_ctx at_last = {.source = source, .line = last->line};
  char got[64], want[64];
  shape_text(&last->out, got, sizeof got);
  shape_text(&s->input, want, sizeof want);
  if (vaecl_shape_size(&last->out) != vaecl_shape_size(&s->input) ||
      (last->out.rank == 3 && (last->out.h != s->input.h || last->out.w != s->input.w)))
    return fail_at(&at_last,
                   "the decoder must end with the input's shape %s (%zu values), but "
                   "gives %s",
                   want, vaecl_shape_size(&s->input), got);
  int lp = s->decoder_count - 1; /* the last layer with parameters */
  while (lp >= 0 && s->decoder[lp].type != VAECL_LAYER_DENSE &&
         s->decoder[lp].type != VAECL_LAYER_CONV2D &&
         s->decoder[lp].type != VAECL_LAYER_CONV2D_TRANSPOSE)
    lp--;
  if (lp < 0)
    return fail_at(&at_last, "the decoder needs at least one dense or convolution layer");
  const parse_ctx at_lp = {.source = source, .line = s->decoder[lp].line};
  if (s->output == VAECL_OUTPUT_BERNOULLI && s->decoder[lp].activation != VB_ACT_SIGMOID)
    return fail_at(&at_lp,
                   "with `output bernoulli` the decoder's last layer gives pixel "
                   "probabilities: it needs activation=sigmoid, not %s",
                   vaecl_activation_name(s->decoder[lp].activation));
  return 0;
}

/* Splits a line into whitespace-separated tokens in place; '#' starts a comment. */
static int tokenize(char *line, parse_ctx *p) {
  char *hash = strchr(line, '#');
  if (hash)
    *hash = '\0';
  p->ntok = 0;
  for (char *t = strtok(line, " \t\r\f\v"); t; t = strtok(NULL, " \t\r\f\v")) {
    if (p->ntok == MAX_TOKENS)
      return fail_at(p, "too many words on one line");
    p->tok[p->ntok++] = t;
  }
  return 0;
}

int vaecl_model_spec_parse(const char *text, const char *source, vaecl_model_spec *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->source, sizeof out->source, "%s", source ? source : "<model text>");
  out->sigma = 1.0f;
  out->kl_weight = 1.0f;
  out->output = VAECL_OUTPUT_BERNOULLI;
  const size_t len = strlen(text);
  char *copy = malloc(len + 1);
  if (!(out->text = malloc(len + 1)) || !copy) {
    free(copy);
    free(out->text);
    out->text = NULL;
    return vaecl_fail("%s: out of host memory", out->source);
  }
  memcpy(out->text, text, len + 1);
  memcpy(copy, text, len + 1);
  parser ps = {.spec = out, .sec = SEC_TOP};
  parse_ctx p = {.source = out->source};
  int rc = 0;
  char *line = copy;
  for (int n = 1; line && rc == 0; n++) {
    char *next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    p.line = n;
    if (strlen(line) > 1024)
      rc = fail_at(&p, "line longer than 1024 characters");
    else if ((rc = tokenize(line, &p)) == 0 && p.ntok > 0)
      rc = statement(&ps, &p);
    line = next;
  }
  free(copy);
  if (rc == 0)
    rc = finish(&ps, out->source);
  if (rc != 0)
    vaecl_model_spec_free(out);
  return rc;
}

int vaecl_model_spec_load(const char *path, vaecl_model_spec *out) {
  char *text;
  size_t size;
  memset(out, 0, sizeof *out);
  if (vaecl_read_text_file(path, "model file", 1 << 20, &text, &size) != 0)
    return -1;
  if (strlen(text) != size) {
    free(text);
    return vaecl_fail("%s: not a model file (it contains NUL bytes)", path);
  }
  const int rc = vaecl_model_spec_parse(text, path, out);
  free(text);
  return rc;
}

const char *vaecl_model_spec_default_text(void) {
  return vaecl_default_model_text;
}

int vaecl_model_spec_default(vaecl_model_spec *out) {
  return vaecl_model_spec_parse(vaecl_default_model_text, "the reference model", out);
}

void vaecl_model_spec_free(vaecl_model_spec *s) {
  free(s->text);
  s->text = NULL;
}

int vaecl_model_spec_copy(const vaecl_model_spec *s, vaecl_model_spec *out) {
  *out = *s;
  out->text = NULL;
  if (s->text) {
    const size_t n = strlen(s->text) + 1;
    if (!(out->text = malloc(n)))
      return vaecl_fail("%s: out of host memory", s->source);
    memcpy(out->text, s->text, n);
  }
  return 0;
}

size_t vaecl_layer_param_count(const vaecl_layer_spec *l) {
  switch (l->type) {
  case VAECL_LAYER_CONV2D:
  case VAECL_LAYER_CONV2D_TRANSPOSE:
    return (size_t)l->kernel * l->kernel * l->in.c * l->filters + (size_t)l->filters;
  case VAECL_LAYER_DENSE:
    return (size_t)l->in.c * l->units + (size_t)l->units;
  default:
    return 0;
  }
}

size_t vaecl_model_spec_param_count(const vaecl_model_spec *s) {
  size_t total = 0;
  for (int i = 0; i < s->encoder_count; i++)
    total += vaecl_layer_param_count(&s->encoder[i]);
  for (int i = 0; i < s->decoder_count; i++)
    total += vaecl_layer_param_count(&s->decoder[i]);
  const size_t enc_out = s->encoder_count ? (size_t)s->encoder[s->encoder_count - 1].out.c
                                          : vaecl_shape_size(&s->input);
  total += enc_out * 2 * (size_t)s->latent + 2 * (size_t)s->latent;
  return total + (s->learned_variance ? 1 : 0);
}
