#include <vaecl.h>

const char *vaecl_version(void) {
  return VAECL_VERSION;
}
