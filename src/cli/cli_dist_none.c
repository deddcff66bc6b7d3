/* cli_dist.h without MPI: always a single process. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_dist.h"
#include "util/error.h"

int cli_dist_init(int *argc, char ***argv, cli_dist *d) {
  (void)argc;
  (void)argv;
  memset(d, 0, sizeof *d);
  d->ranks = 1;
  /* N copies that each train alone would overwrite each other's checkpoint */
  const char *size = getenv("OMPI_COMM_WORLD_SIZE");
  if (!size)
    size = getenv("PMI_SIZE");
  if (size && atoi(size) > 1)
    return vaecl_fail("this vaecl was built without MPI, so it cannot run under mpirun; install "
                      "libopenmpi-dev and rebuild (cmake -DVAECL_MPI=ON), or run one process");
  return 0;
}

void cli_dist_finalize(const cli_dist *d) {
  (void)d;
}

void cli_dist_abort(const cli_dist *d, const char *device, int code) {
  (void)d;
  (void)device;
  (void)code;
}

int cli_dist_reduce(void *user, float *buf, size_t count) {
  (void)user;
  (void)buf;
  (void)count;
  return 0; /* one rank: its sums are the sums */
}

int cli_dist_gather_text(const cli_dist *d, const char *mine, char *all, size_t size) {
  (void)d;
  memcpy(all, mine, strnlen(mine, size - 1));
  all[strnlen(mine, size - 1)] = '\0';
  return 0;
}
