/* Table-driven option parsing for the verbs that take only "--name value" options. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_parse_options(const char *verb, int argc, char **argv, cli_opt *opts, int count,
                      void (*usage)(FILE *)) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *value;
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      usage(stdout);
      return 1;
    }
    cli_opt *o = NULL;
    for (int k = 0; k < count && !o; k++)
      if (!strcmp(arg, opts[k].name))
        o = &opts[k];
    if (!o) {
      fprintf(stderr, "vaecl %s: %s '%s' (see vaecl %s --help)\n", verb,
              arg[0] == '-' ? "unknown option" : "unexpected argument", arg, verb);
      return -1;
    }
    if (cli_option_value(argc, argv, &i, &value) != 0)
      return -1;
    if (o->kind == CLI_OPT_INT) {
      if (cli_parse_int(o->name, value, o->min, o->max, o->number) != 0)
        return -1;
    } else if (!*value) {
      fprintf(stderr, "vaecl %s: %s needs a non-empty value\n", verb, o->name);
      return -1;
    } else {
      *o->text = value;
    }
    o->seen = 1;
  }
  return 0;
}
