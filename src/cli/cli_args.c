/* Option parsing shared by every verb. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_parse_int(const char *option, const char *text, long min, long max, long *out) {
  char *end;
  errno = 0;
  const long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max) {
    fprintf(stderr, "vaecl: %s expects a whole number from %ld to %ld, not '%s'\n", option, min,
            max, text);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_parse_float(const char *option, const char *text, double min, double max, double *out) {
  char *end;
  errno = 0;
  const double v = strtod(text, &end);
  if (errno || end == text || *end || !isfinite(v) || v < min || v > max) {
    fprintf(stderr, "vaecl: %s expects a number from %g to %g, not '%s'\n", option, min, max, text);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_option_value(int argc, char **argv, int *i, const char **value) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "vaecl: %s needs a value (see --help)\n", argv[*i]);
    return -1;
  }
  /* `--out --no-plots` is a forgotten value, not a file called --no-plots. */
  const char *v = argv[*i + 1];
  if (v[0] == '-' && v[1] == '-' && v[2]) {
    fprintf(stderr,
            "vaecl: %s needs a value, but '%s' that follows it is an option; to name a file "
            "that starts with '--', write ./%s\n",
            argv[*i], v, v);
    return -1;
  }
  *value = argv[++*i];
  return 0;
}

int cli_unknown_option(const char *verb, const char *opt) {
  if (!strcmp(opt, "--device") || !strcmp(opt, "--backend"))
    fprintf(stderr,
            "vaecl %s: %s is a global option: put it before the command, as in "
            "`vaecl %s N %s ...`\n",
            verb, opt, opt, verb);
  else
    fprintf(stderr, "vaecl %s: unknown option '%s' (see vaecl %s --help)\n", verb, opt, verb);
  return -1;
}

int cli_is_option(const char *opt, const char *const *names) {
  for (; *names; names++)
    if (!strcmp(opt, *names))
      return 1;
  return 0;
}

int cli_parse_device_list(const char *text, cli_globals *g) {
  g->device_map_len = 0;
  for (const char *p = text;;) {
    char item[32];
    const size_t len = strcspn(p, ",");
    long n;
    if (g->device_map_len == CLI_MAX_DEVICE_MAP) {
      fprintf(stderr, "vaecl: --device lists at most %d devices\n", CLI_MAX_DEVICE_MAP);
      return -1;
    }
    snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item - 1 ? len : sizeof item - 1), p);
    if (len >= sizeof item || cli_parse_int("--device", item, 0, 1023, &n) != 0)
      return -1;
    g->device_map[g->device_map_len++] = (int)n;
    if (!p[len])
      break;
    p += len + 1;
  }
  g->device = g->device_map[0];
  return 0;
}
