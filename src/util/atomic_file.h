/* Writing a file whole or not at all: the bytes go to PATH.tmp.PID (util/temp_files.h),
 * which is flushed, fsync'd and renamed over PATH, so a crash or a full disk leaves
 * either the old file or the new one, never half of one. */
#ifndef VAECL_ATOMIC_FILE_H
#define VAECL_ATOMIC_FILE_H

#include <stdio.h>

typedef struct {
  FILE *f; /* write here between open and commit */
  char path[4096];
  char tmp[4200];
} vaecl_atomic_file;

/* Removes temporaries of dead processes next to path, then creates PATH.tmp.PID.
 * -1 with a message naming path (and why) when it cannot. */
int vaecl_atomic_open(vaecl_atomic_file *, const char *path);
/* Makes the written bytes PATH. write_err: an errno the caller's own writes met (0 when
 * none); a stream error is caught as well. On any failure the temporary is removed, PATH
 * is untouched, and the message reads "PATH: writing TMP failed: REASON" or "PATH: cannot
 * rename TMP over it: REASON". */
int vaecl_atomic_commit(vaecl_atomic_file *, int write_err);
/* Gives up: closes and removes the temporary (for errors found while writing). */
void vaecl_atomic_abort(vaecl_atomic_file *);

#endif
