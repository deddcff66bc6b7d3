/* The command line's side of data-parallel training: which rank this process is,
 * and the collective operations behind vaecl_shard. cli_dist_mpi.c implements it
 * with MPI (built when CMake finds MPI, -DVAECL_MPI); cli_dist_none.c is the
 * single-process build, which refuses to run under mpirun. Only these two files
 * know whether MPI exists. */
#ifndef VAECL_CLI_DIST_H
#define VAECL_CLI_DIST_H

#include <stddef.h>

typedef struct {
  int rank, ranks; /* 0 and 1 in a single process */
  int local_rank;  /* among the ranks on this machine: picks the default device */
  int ordered;     /* reduce in rank order (VAECL_MPI_REDUCE=ordered), not MPI_Allreduce */
} cli_dist;

/* Joins the MPI job when started by mpirun (Open MPI's, MPICH's or a PMI launcher's
 * environment), else a single process: d = {0, 1, 0}. -1 with a message. */
int cli_dist_init(int *argc, char ***argv, cli_dist *d);
/* Leaves the job normally (every rank calls it). */
void cli_dist_finalize(const cli_dist *d);
/* Stops every rank after a failure on this one (whose message the caller has
 * printed): one line naming this rank, its machine and `device`, then MPI_Abort.
 * In a single process it only returns. */
void cli_dist_abort(const cli_dist *d, const char *device, int code);

/* vaecl_shard.reduce, user = the cli_dist: buf summed across ranks in place. */
int cli_dist_reduce(void *user, float *buf, size_t count);
/* Rank 0 receives every rank's text (size bytes each, rank order) in all; others
 * send theirs. Collective. */
int cli_dist_gather_text(const cli_dist *d, const char *mine, char *all, size_t size);

#endif
