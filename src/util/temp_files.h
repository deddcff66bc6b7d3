/* Atomic saves write PATH.tmp.PID and rename it over PATH. A process killed between
 * the two (kill -9, power loss) leaves its temporary behind; these helpers name the
 * temporaries and clean up those of processes that no longer exist. */
#ifndef VAECL_TEMP_FILES_H
#define VAECL_TEMP_FILES_H

#include <stddef.h>

/* PATH.tmp.PID for this process; -1 when it does not fit (no message). */
int vaecl_temp_path(const char *path, char *tmp, size_t size);
/* Removes the regular files PATH.tmp.PID next to path whose PID is not a running
 * process (kill(PID, 0) fails with ESRCH). Best effort and silent: returns how many
 * it removed. A live process's temporary, also another user's, is never touched. */
int vaecl_remove_stale_temps(const char *path);

#endif
