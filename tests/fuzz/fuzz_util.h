/* Shared by the libFuzzer harnesses: the loaders read files, so each input is written to
 * a file in a private temporary directory first (the loaders stay unchanged and their
 * messages keep naming a real path). */
#ifndef VAECL_FUZZ_UTIL_H
#define VAECL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The private directory, made on first use under $TMPDIR (or /tmp) and removed at exit
 * with everything in it. Aborts if it cannot be made: a harness cannot run without it. */
const char *fuzz_dir(void);

#define FUZZ_PATH_MAX 4352

/* Writes data to fuzz_dir()/name and sets path to it. Aborts on a write error: that is the
 * machine's fault, not the input's. */
void fuzz_write(char path[FUZZ_PATH_MAX], const char *name, const uint8_t *data, size_t size);

#endif
