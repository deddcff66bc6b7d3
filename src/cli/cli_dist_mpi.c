/* cli_dist.h on MPI. The only file that includes <mpi.h>. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_dist.h"
#include "util/error.h"

/* Set by the launchers of Open MPI (and PMIx), MPICH/Hydra and Slurm's PMI. */
static int under_mpirun(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i]))
      return 1;
  return 0;
}

static int mpi_fail(int code, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
    snprintf(text, sizeof text, "MPI error %d", code);
  return vaecl_fail("%s failed: %s", what, text);
}

int cli_dist_init(int *argc, char ***argv, cli_dist *d) {
  memset(d, 0, sizeof *d);
  d->ranks = 1;
  /* a plain `vaecl` run stays a single process that never touches MPI */
  if (!under_mpirun())
    return 0;
  int rc = MPI_Init(argc, argv);
  if (rc != MPI_SUCCESS)
    return mpi_fail(rc, "MPI_Init");
  /* errors come back as codes, so that a message can name the rank and device */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm local;
  if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, &d->rank)) != MPI_SUCCESS ||
      (rc = MPI_Comm_size(MPI_COMM_WORLD, &d->ranks)) != MPI_SUCCESS ||
      (rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local)) !=
          MPI_SUCCESS)
    return mpi_fail(rc, "asking MPI for this process's rank");
  rc = MPI_Comm_rank(local, &d->local_rank);
  MPI_Comm_free(&local);
  if (rc != MPI_SUCCESS)
    return mpi_fail(rc, "asking MPI for this process's rank on its machine");
  const char *mode = getenv("VAECL_MPI_REDUCE");
  if (mode && strcmp(mode, "ordered") != 0 && strcmp(mode, "allreduce") != 0)
    return vaecl_fail("VAECL_MPI_REDUCE=%s: expected ordered or allreduce (the default)", mode);
  d->ordered = mode && strcmp(mode, "ordered") == 0;
  return 0;
}

void cli_dist_finalize(const cli_dist *d) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized && d->ranks >= 1)
    MPI_Finalize();
}

void cli_dist_abort(const cli_dist *d, const char *device, int code) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    return;
  char host[MPI_MAX_PROCESSOR_NAME] = "";
  int len = 0;
  MPI_Get_processor_name(host, &len);
  fprintf(stderr, "vaecl: rank %d of %d (on %s, %s) failed, so every rank stops\n", d->rank,
          d->ranks, host, device);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
}

/* Every rank's buffer to rank 0, summed there in rank order, and the sums sent back:
 * the same bits whatever MPI's reduction algorithm, for reproducibility tests. */
static int reduce_ordered(const cli_dist *d, float *buf, size_t count) {
  const int n = (int)count;
  float *all = d->rank == 0 ? malloc(count * (size_t)d->ranks * sizeof *all) : NULL;
  if (d->rank == 0 && !all)
    return vaecl_fail("out of host memory gathering %d ranks' gradients", d->ranks);
  int rc = MPI_Gather(buf, n, MPI_FLOAT, all, n, MPI_FLOAT, 0, MPI_COMM_WORLD);
  if (rc == MPI_SUCCESS && d->rank == 0)
    for (size_t i = 0; i < count; i++) {
      float s = all[i];
      for (int r = 1; r < d->ranks; r++)
        s += all[(size_t)r * count + i];
      buf[i] = s;
    }
  free(all);
  if (rc == MPI_SUCCESS)
    rc = MPI_Bcast(buf, n, MPI_FLOAT, 0, MPI_COMM_WORLD);
  return rc == MPI_SUCCESS ? 0 : mpi_fail(rc, "summing in rank order (MPI_Gather, MPI_Bcast)");
}

int cli_dist_reduce(void *user, float *buf, size_t count) {
  const cli_dist *d = user;
  if (count > (size_t)0x7FFFFFFF)
    return vaecl_fail("%zu values are too many for one MPI call", count);
  int rc = 0;
  if (d->ordered)
    rc = reduce_ordered(d, buf, count);
  else if ((rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, MPI_FLOAT, MPI_SUM,
                               MPI_COMM_WORLD)) != MPI_SUCCESS)
    rc = mpi_fail(rc, "MPI_Allreduce");
  return rc;
}

int cli_dist_gather_text(const cli_dist *d, const char *mine, char *all, size_t size) {
  char *own = calloc(1, size);
  if (!own)
    return vaecl_fail("out of host memory");
  snprintf(own, size, "%s", mine);
  if (d->ranks < 2) { /* MPI may not even be initialised */
    memcpy(all, own, size);
    free(own);
    return 0;
  }
  const int rc = MPI_Gather(own, (int)size, MPI_CHAR, all, (int)size, MPI_CHAR, 0, MPI_COMM_WORLD);
  free(own);
  return rc == MPI_SUCCESS ? 0 : mpi_fail(rc, "MPI_Gather");
}
