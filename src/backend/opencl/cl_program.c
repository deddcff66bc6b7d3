/* Program building with an on-disk cache of device binaries.
 *
 * Compiling the kernels takes seconds on PoCL and some GPU drivers; the binary is
 * only valid for the same source, options, device and driver, so all of those go
 * into the cache key. A stale, damaged or unreadable entry is never fatal: we
 * rebuild and write it again (the entry format is in cl_cache_entry.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/opencl/cl_cache_entry.h"
#include "backend/opencl/cl_util.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/read_file.h"

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 0x100000001B3ull;
  return (h ^ 0xFF) * 0x100000001B3ull; /* separator, so "ab"+"c" != "a"+"bc" */
}

/* mkdir -p; returns 0 when the directory exists afterwards. */
static int make_dirs(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return -1;
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
      *p = '/';
    }
  return (mkdir(buf, 0755) == 0 || errno == EEXIST) ? 0 : -1;
}

int vaecl_cl_device_key(cl_device_id dev, uint64_t *key) {
  char name[256], dev_version[256], driver[256], platform_version[256] = "";
  cl_platform_id platform;
  vaecl_cl_device_string(dev, CL_DEVICE_NAME, name, sizeof name);
  vaecl_cl_device_string(dev, CL_DEVICE_VERSION, dev_version, sizeof dev_version);
  vaecl_cl_device_string(dev, CL_DRIVER_VERSION, driver, sizeof driver);
  /* Without the platform version the key would be weaker: no key at all instead. */
  if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL) != CL_SUCCESS ||
      clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof platform_version, platform_version,
                        NULL) != CL_SUCCESS)
    return -1;
  platform_version[sizeof platform_version - 1] = '\0';
  uint64_t h = 0xCBF29CE484222325ull;
  const char *parts[] = {name, dev_version, driver, platform_version};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    h = fnv1a(h, parts[i]);
  *key = h;
  return 0;
}

int vaecl_cl_cache_file(cl_device_id dev, const char *dir, const char *what, const char *text,
                        char *buf, size_t size) {
  uint64_t h;
  if (!dir || !*dir || strlen(dir) > 3500 || vaecl_cl_device_key(dev, &h) != 0)
    return -1;
  h = fnv1a(h, text);
  if (make_dirs(dir) != 0)
    return -1;
  const int n = snprintf(buf, size, "%s/%s-%016llx", dir, what, (unsigned long long)h);
  return (n > 0 && (size_t)n < size) ? 0 : -1;
}

/* The kernels' entry: the source and build options join the device's key. */
static int cache_path(cl_device_id dev, const char *dir, const char *source, const char *options,
                      char *buf, size_t size) {
  char name[32];
  snprintf(name, sizeof name, "%016llx", (unsigned long long)fnv1a(0xCBF29CE484222325ull, options));
  if (vaecl_cl_cache_file(dev, dir, "kernels", source, buf, size) != 0)
    return -1;
  const size_t used = strlen(buf);
  const int n = snprintf(buf + used, size - used, "-%s.bin", name);
  return (n > 0 && (size_t)n < size - used) ? 0 : -1;
}

/* Written whole or not at all (util/atomic_file.h): concurrent runs never see half a file,
 * and a crash never leaves a renamed entry whose data is not on disk. Best effort: a
 * failure only costs the next run a compile. */
static void write_entry(const char *path, const unsigned char *payload, size_t size) {
  unsigned char header[VAECL_KCACHE_HEADER_SIZE];
  vaecl_kcache_header(payload, size, header);
  vaecl_atomic_file out;
  if (vaecl_atomic_open(&out, path) != 0)
    return;
  errno = 0;
  const int err = fwrite(header, 1, sizeof header, out.f) == sizeof header &&
                          fwrite(payload, 1, size, out.f) == size
                      ? 0
                      : (errno ? errno : EIO);
  (void)vaecl_atomic_commit(&out, err);
}

static int build_log_fail(cl_program program, cl_device_id dev, cl_int err) {
  char name[256];
  size_t log_size = 0;
  vaecl_cl_device_string(dev, CL_DEVICE_NAME, name, sizeof name);
  char *log = NULL;
  if (clGetProgramBuildInfo(program, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size) == CL_SUCCESS &&
      (log = calloc(log_size + 1, 1)) != NULL &&
      clGetProgramBuildInfo(program, dev, CL_PROGRAM_BUILD_LOG, log_size, log, NULL) != CL_SUCCESS)
    log[0] = '\0';
  vaecl_fail("building vaecl's OpenCL kernels failed on %s: %s (%d). %s\nbuild log:\n%.1200s", name,
             vaecl_cl_error_name(err), (int)err, vaecl_cl_error_hint(err),
             log ? log : "(unavailable)");
  free(log);
  return -1;
}

/* The program's build log, for the caller who asked to see it. */
static void report_log(cl_program program, cl_device_id dev,
                       void (*log_fn)(void *, const char *, const char *, int), void *log_ctx,
                       int from_cache) {
  char name[256];
  size_t size = 0;
  char *log = NULL;
  vaecl_cl_device_string(dev, CL_DEVICE_NAME, name, sizeof name);
  if (clGetProgramBuildInfo(program, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) == CL_SUCCESS &&
      (log = calloc(size + 1, 1)) != NULL &&
      clGetProgramBuildInfo(program, dev, CL_PROGRAM_BUILD_LOG, size, log, NULL) != CL_SUCCESS)
    log[0] = '\0';
  log_fn(log_ctx, name, log ? log : "(the driver gave no build log)", from_cache);
  free(log);
}

static void store_binary(cl_program program, const char *path) {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
      size == 0)
    return;
  if (size > VAECL_KCACHE_MAX_PAYLOAD)
    return;
  unsigned char *bin = malloc(size);
  if (bin && clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS)
    write_entry(path, bin, size);
  free(bin);
}

/* The cached program, or NULL (rebuild) when the entry is absent, unreadable, or
 * fails its length and checksum: the driver only ever sees intact bytes. */
static cl_program try_cached(cl_context ctx, cl_device_id dev, const char *path,
                             const char *options) {
  char *file = NULL;
  size_t file_size = 0, size = 0;
  const unsigned char *bin = NULL;
  if (access(path, F_OK) != 0 ||
      vaecl_read_text_file(path, "kernel cache entry",
                           VAECL_KCACHE_MAX_PAYLOAD + VAECL_KCACHE_HEADER_SIZE, &file,
                           &file_size) != 0)
    return NULL;
  if (vaecl_kcache_check((const unsigned char *)file, file_size, &bin, &size) != 0) {
    free(file);
    return NULL;
  }
  cl_int status = CL_SUCCESS, err;
  const unsigned char *bins[1] = {bin};
  cl_program p = clCreateProgramWithBinary(ctx, 1, &dev, &size, bins, &status, &err);
  free(file);
  if (err != CL_SUCCESS || status != CL_SUCCESS) {
    if (p)
      clReleaseProgram(p);
    return NULL;
  }
  if (clBuildProgram(p, 1, &dev, options, NULL, NULL) != CL_SUCCESS) {
    clReleaseProgram(p);
    return NULL;
  }
  return p;
}

int vaecl_cl_build_program(cl_context ctx, cl_device_id dev, const char *source,
                           const char *options, const char *cache_dir,
                           void (*log_fn)(void *, const char *, const char *, int), void *log_ctx,
                           cl_program *out) {
  char path[4096];
  const int cacheable = cache_path(dev, cache_dir, source, options, path, sizeof path) == 0;
  if (cacheable && (*out = try_cached(ctx, dev, path, options)) != NULL) {
    if (log_fn)
      report_log(*out, dev, log_fn, log_ctx, 1);
    return 0;
  }
  cl_int err;
  cl_program p = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
  if (err != CL_SUCCESS)
    return vaecl_cl_fail(err, "the device", "clCreateProgramWithSource");
  err = clBuildProgram(p, 1, &dev, options, NULL, NULL);
  if (err != CL_SUCCESS) {
    build_log_fail(p, dev, err);
    clReleaseProgram(p);
    return -1;
  }
  if (log_fn)
    report_log(p, dev, log_fn, log_ctx, 0);
  if (cacheable)
    store_binary(p, path);
  *out = p;
  return 0;
}
