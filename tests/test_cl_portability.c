/* What keeps vaecl portable across OpenCL drivers, checked without their devices:
 * launch sizes fitted to any device's limits, the rules that pick the default
 * device and refuse unusable ones (on made-up devices: old OpenCL, no compiler,
 * integrated vs discrete GPUs, one GPU on two platforms), and the backend options
 * that go with them on the real device (PoCL): --device by name, the CLBlast
 * indirect-GEMM knob, the build log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_device_rank.h"
#include "backend/opencl/cl_launch.h"
#include "backend/opencl/cl_util.h"
#include "testdevice.h"
#include "testutil.h"
#include <vaecl.h>
#include <vaecl/backend_registry.h>
#include <vaecl/graph.h>
#include <vaecl/model_spec.h>

/* ---- launch geometry -------------------------------------------------------------- */

static void geometry(unsigned dims, size_t g0, size_t g1, size_t p0, size_t p1, size_t kernel_max,
                     size_t item0, size_t item1, size_t out_global[2], size_t out_local[2]) {
  const size_t global[2] = {g0, g1}, preferred[2] = {p0, p1}, items[2] = {item0, item1};
  out_global[1] = out_local[1] = 1;
  vaecl_cl_launch_geometry(dims, global, preferred, kernel_max, items, out_global, out_local);
  for (unsigned d = 0; d < dims; d++) {
    const size_t g = d ? g1 : g0;
    ck_assert_msg(out_local[d] >= 1 && out_local[d] <= (d ? item1 : item0),
                  "local[%u] %zu outside 1..%zu", d, out_local[d], d ? item1 : item0);
    ck_assert_msg(out_global[d] % out_local[d] == 0 && out_global[d] >= g &&
                      out_global[d] < g + out_local[d],
                  "global[%u] %zu is not %zu rounded up to a multiple of %zu", d, out_global[d], g,
                  out_local[d]);
  }
  ck_assert_uint_le(out_local[0] * out_local[1], kernel_max);
}

START_TEST(launch_sizes_fit_every_limit) {
  size_t g[2], l[2];
  /* The default: 64 work-items, no more than the range needs. */
  geometry(1, 1000, 0, 0, 0, 1024, 1024, 1024, g, l);
  ck_assert_uint_eq(l[0], 64);
  ck_assert_uint_eq(g[0], 1024);
  geometry(1, 5, 0, 0, 0, 1024, 1024, 1024, g, l);
  ck_assert_uint_eq(l[0], 8);
  /* im2col's rows layout with few channels asks for {1, 64}: Oclgrind's limit of 16
   * (OCLGRIND_MAX_WGSIZE) and a device whose second dimension allows 32. */
  geometry(2, 3, 1000, 1, 64, 16, 16, 16, g, l);
  ck_assert_uint_eq(l[0], 1);
  ck_assert_uint_eq(l[1], 16);
  geometry(2, 3, 1000, 1, 64, 256, 256, 32, g, l);
  ck_assert_uint_eq(l[1], 32);
  /* The default in 2-D: dimension 0 (channels) first, then dimension 1. */
  geometry(2, 4, 1000, 0, 0, 256, 256, 256, g, l);
  ck_assert_uint_eq(l[0], 4);
  ck_assert_uint_eq(l[1], 16);
  geometry(2, 200, 7, 0, 0, 256, 256, 256, g, l);
  ck_assert_uint_eq(l[0], 64);
  ck_assert_uint_eq(l[1], 1);
  /* A kernel that allows fewer work-items than asked (CL_KERNEL_WORK_GROUP_SIZE). */
  geometry(2, 100, 100, 0, 0, 8, 1024, 1024, g, l);
  ck_assert_uint_le(l[0] * l[1], 8);
  geometry(1, 1000, 0, 256, 0, 48, 1024, 1024, g, l);
  ck_assert_uint_le(l[0], 48);
  /* Non-power-of-two limits still give a valid size. */
  geometry(1, 77, 0, 0, 0, 1024, 3, 1, g, l);
  ck_assert_uint_eq(l[0], 3);
  geometry(2, 9, 9, 64, 64, 100, 1000, 1000, g, l);
}
END_TEST

/* ---- device rules ------------------------------------------------------------------ */

static vaecl_cl_props device(vaecl_cl_kind kind, const char *version, const char *name,
                             const char *platform, double gib, unsigned cus) {
  vaecl_cl_props p;
  memset(&p, 0, sizeof p);
  p.kind = kind;
  p.available = p.compiler = 1;
  snprintf(p.version, sizeof p.version, "%s", version);
  snprintf(p.name, sizeof p.name, "%s", name);
  snprintf(p.platform, sizeof p.platform, "%s", platform);
  p.global_mem = (uint64_t)(gib * 1073741824.0);
  p.compute_units = cus;
  p.vendor_id = 0x1002;
  return p;
}

START_TEST(versions_parse) {
  int major = 0, minor = 0;
  ck_assert_int_eq(vaecl_cl_parse_version("OpenCL 1.2 pocl", &major, &minor), 0);
  ck_assert_int_eq(major * 10 + minor, 12);
  ck_assert_int_eq(vaecl_cl_parse_version("OpenCL 3.0 CUDA 12.2.138", &major, &minor), 0);
  ck_assert_int_eq(major * 10 + minor, 30);
  ck_assert_int_eq(vaecl_cl_parse_version("1.2", &major, &minor), -1);
}
END_TEST

START_TEST(unusable_devices_say_why) {
  char why[128];
  vaecl_cl_props p =
      device(VAECL_CL_KIND_GPU, "OpenCL 1.1 Mesa 22.3.6", "AMD Radeon", "Clover", 8, 40);
  ck_assert_int_eq(vaecl_cl_usable(&p, why, sizeof why), 0);
  ck_assert_msg(strstr(why, "1.1") && strstr(why, "1.2"), "why: %s", why);
  p = device(VAECL_CL_KIND_GPU, "OpenCL 3.0", "GPU", "P", 8, 40);
  p.compiler = 0;
  ck_assert_int_eq(vaecl_cl_usable(&p, why, sizeof why), 0);
  ck_assert_msg(strstr(why, "compiler"), "why: %s", why);
  p.compiler = 1;
  p.available = 0;
  ck_assert_int_eq(vaecl_cl_usable(&p, why, sizeof why), 0);
  ck_assert_msg(strstr(why, "available"), "why: %s", why);
  p.available = 1;
  ck_assert_int_eq(vaecl_cl_usable(&p, why, sizeof why), 1);
  ck_assert_str_eq(why, "");
  p = device(VAECL_CL_KIND_GPU, "garbage", "GPU", "P", 8, 40);
  ck_assert_int_eq(vaecl_cl_usable(&p, why, sizeof why), 0);
}
END_TEST

START_TEST(default_device_is_the_best_usable_one) {
  vaecl_cl_props d[6];
  /* A CPU alone is the default. */
  d[0] = device(VAECL_CL_KIND_CPU, "OpenCL 3.0 PoCL", "cpu", "Portable Computing Language", 16, 8);
  ck_assert_int_eq(vaecl_cl_best(d, 1), 0);
  /* A hybrid laptop: the integrated GPU comes first in ICD order, the discrete one
   * wins although it has less memory; an OpenCL 1.1 GPU is never chosen. */
  d[1] = device(VAECL_CL_KIND_GPU, "OpenCL 3.0 NEO", "Intel Iris Xe", "Intel(R) OpenCL", 16, 96);
  d[1].unified_memory = 1;
  d[2] = device(VAECL_CL_KIND_GPU, "OpenCL 1.1 Mesa", "Radeon 7900", "Clover", 24, 96);
  d[3] = device(VAECL_CL_KIND_GPU, "OpenCL 3.0 CUDA", "RTX 4060 Laptop", "NVIDIA CUDA", 8, 24);
  ck_assert_int_eq(vaecl_cl_best(d, 2), 1); /* a GPU over the CPU */
  ck_assert_int_eq(vaecl_cl_best(d, 3), 1); /* the 1.1 device is skipped */
  ck_assert_int_eq(vaecl_cl_best(d, 4), 3); /* discrete over integrated */
  /* Between two discrete GPUs: more memory, then more compute units. */
  d[4] = device(VAECL_CL_KIND_GPU, "OpenCL 3.0 CUDA", "RTX 4090", "NVIDIA CUDA", 24, 128);
  ck_assert_int_eq(vaecl_cl_best(d, 5), 4);
  d[4].global_mem = d[3].global_mem;
  ck_assert_int_eq(vaecl_cl_best(d, 5), 4);
  d[4].compute_units = d[3].compute_units;
  ck_assert_int_eq(vaecl_cl_best(d, 5), 3); /* a tie: the lower index */
  /* Nothing usable. */
  d[0].available = 0;
  ck_assert_int_eq(vaecl_cl_best(d, 1), -1);
}
END_TEST

START_TEST(one_gpu_on_two_platforms) {
  vaecl_cl_props d[4];
  /* Mesa's rusticl and AMD's ROCm show one card; without PCI addresses the name,
   * vendor and compute units identify it. The vendor's platform is the default
   * even though rusticl is listed first and claims more memory. */
  d[0] = device(VAECL_CL_KIND_GPU, "OpenCL 3.0 Mesa", "AMD Radeon RX 6800", "rusticl", 16, 60);
  d[1] = device(VAECL_CL_KIND_GPU, "OpenCL 2.0 AMD-APP", "AMD Radeon RX 6800",
                "AMD Accelerated "
                "Parallel Processing",
                15.9, 60);
  d[2] = device(VAECL_CL_KIND_GPU, "OpenCL 3.0 Mesa", "AMD Radeon RX 6800", "rusticl", 16, 60);
  ck_assert_int_eq(vaecl_cl_same_as(d, 0), -1);
  ck_assert_int_eq(vaecl_cl_same_as(d, 1), 0);
  ck_assert_int_eq(vaecl_cl_same_as(d, 2), 1); /* same platform as 0: two cards, not one */
  ck_assert_int_eq(vaecl_cl_best(d, 2), 1);
  /* PCI addresses, when both report one, decide: different slots, different cards. */
  d[0].has_pci = d[1].has_pci = 1;
  d[0].pci[1] = 3;
  d[1].pci[1] = 4;
  ck_assert_int_eq(vaecl_cl_same_as(d, 1), -1);
  ck_assert_int_eq(vaecl_cl_best(d, 2), 0); /* then simply the larger memory */
  d[1].pci[1] = 3;
  snprintf(d[1].name, sizeof d[1].name, "gfx1030"); /* ROCm's name for the same card */
  ck_assert_int_eq(vaecl_cl_same_as(d, 1), 0);
}
END_TEST

/* ---- error messages --------------------------------------------------------------------- */

static void expect_message(int rc, const char *a, const char *b) {
  ck_assert_int_eq(rc, -1);
  ck_assert_msg(strstr(vaecl_last_error(), a) && strstr(vaecl_last_error(), b), "message: %s",
                vaecl_last_error());
}

START_TEST(errors_name_the_fix) {
  expect_message(vaecl_cl_fail(CL_INVALID_BUILD_OPTIONS, "Clover GPU", "building"),
                 "CL_INVALID_BUILD_OPTIONS", "older OpenCL than 1.2");
  expect_message(vaecl_cl_fail(CL_OUT_OF_RESOURCES, "RTX", "running kernel fill"), "RTX",
                 "kernel faulted");
  expect_message(vaecl_cl_fail(CL_INVALID_WORK_GROUP_SIZE, "GPU", "running kernel im2col"),
                 "CL_INVALID_WORK_GROUP_SIZE", "vaecl devices");
  /* CLBlast's OpenCL codes get OpenCL's names and hints; its own codes their meaning. */
  expect_message(vaecl_clblast_fail(CLBlastOpenCLOutOfResources, "GPU", "CLBlast SGEMM"),
                 "CL_OUT_OF_RESOURCES", "smaller batch");
  expect_message(vaecl_clblast_fail(CLBlastInvalidLocalMemUsage, "GPU", "CLBlast SGEMM"), "-2046",
                 "local memory");
  expect_message(vaecl_clblast_fail(CLBlastDatabaseError, "GPU", "CLBlast SGEMM"),
                 "VAECL_GEMM_TUNING=off", "CLBlast SGEMM failed on GPU");
}
END_TEST

/* ---- options on the real device ------------------------------------------------------ */

typedef struct {
  int calls;
  char device[256];
} log_seen;

static void record_log(void *ctx, const char *device, const char *log, int from_cache) {
  log_seen *s = ctx;
  (void)log;
  (void)from_cache;
  s->calls++;
  snprintf(s->device, sizeof s->device, "%s", device);
}

START_TEST(device_by_name_and_options) {
  vaecl_device_info *devs;
  size_t n;
  ck_assert_int_eq(vaecl_list_devices(&devs, &n), 0);
  int defaults = 0;
  for (size_t i = 0; i < n; i++) {
    defaults += devs[i].is_default;
    ck_assert(devs[i].same_as < (int)i);
    ck_assert(strcmp(devs[i].type, "CPU") == 0 || strcmp(devs[i].type, "GPU") == 0 ||
              strcmp(devs[i].type, "other") == 0);
    ck_assert(devs[i].max_alloc_bytes > 0 && devs[i].max_alloc_bytes <= devs[i].global_mem_bytes);
  }
  ck_assert_int_eq(defaults, 1);
  /* The last characters of device 0's name, in upper case, select it. */
  char part[8] = "";
  const size_t len = strlen(devs[0].name), from = len > 4 ? len - 4 : 0;
  for (size_t i = 0; from + i < len; i++)
    part[i] = (char)(devs[0].name[from + i] >= 'a' && devs[0].name[from + i] <= 'z'
                         ? devs[0].name[from + i] - 32
                         : devs[0].name[from + i]);
  vaecl_backend_options o = test_backend_options();
  o.device_match = part;
  log_seen seen = {0, ""};
  o.build_log = record_log;
  o.build_log_ctx = &seen;
  o.gemm_indirect_min = 7;
  vb_backend *b = vaecl_backend_create("opencl", &o);
  ck_assert_msg(b != NULL, "--device '%s': %s", part, vaecl_last_error());
  ck_assert_str_eq(b->device_name, devs[0].name);
  ck_assert_int_eq(seen.calls, 1);
  ck_assert_str_eq(seen.device, devs[0].name);
  ck_assert_msg(strstr(b->gemm_note, "indirect GEMM from 7^3"), "note: %s", b->gemm_note);
  b->ops->destroy(b);
  o.device_match = "no such device anywhere";
  ck_assert_ptr_null(vaecl_backend_create("opencl", &o));
  ck_assert_msg(strstr(vaecl_last_error(), "no OpenCL device name contains") &&
                    strstr(vaecl_last_error(), devs[0].name),
                "%s", vaecl_last_error());
  free(devs);
}
END_TEST

/* ---- memory limits ------------------------------------------------------------------- */

/* The cpu backend with its alloc wrapped to count what the model really allocates. */
static const vb_ops *real_ops;
static uint64_t allocated, largest;

static vb_buf *counting_alloc(vb_backend *b, size_t bytes) {
  allocated += bytes;
  if (bytes > largest)
    largest = bytes;
  return real_ops->alloc(b, bytes);
}

static vaecl_model *create(vb_backend *b, const vaecl_model_spec *spec, int batch, uint64_t global,
                           uint64_t max_alloc) {
  b->global_mem_bytes = global;
  b->max_alloc_bytes = max_alloc;
  allocated = largest = 0;
  return vaecl_model_create(b, spec, batch, 1);
}

/* The up-front check adds up exactly what the model then allocates: limits of those
 * figures pass, a byte less fails, naming the largest batch that fits. */
START_TEST(memory_checked_before_allocating) {
  vb_backend *b = vaecl_backend_create("cpu", NULL);
  ck_assert_ptr_nonnull(b);
  real_ops = b->ops;
  vb_ops counting = *b->ops;
  counting.alloc = counting_alloc;
  b->ops = &counting;
  vaecl_model_spec spec;
  ck_assert_int_eq(vaecl_model_spec_default(&spec), 0);
  enum { BATCH = 16 };
  vaecl_model *m = create(b, &spec, BATCH, 0, 0);
  ck_assert_msg(m != NULL, "%s", vaecl_last_error());
  const uint64_t total = allocated, big = largest;
  vaecl_model_destroy(m);
  m = create(b, &spec, BATCH, total, big);
  ck_assert_msg(m != NULL, "limits equal to the need: %s", vaecl_last_error());
  vaecl_model_destroy(m);
  ck_assert_ptr_null(create(b, &spec, BATCH, total - 1, big));
  ck_assert_uint_eq(allocated, 0); /* refused before allocating anything */
  const char *msg = vaecl_last_error();
  ck_assert_msg(strstr(msg, "largest batch that fits is 15") && strstr(msg, "--batch 15"), "%s",
                msg);
  ck_assert_ptr_null(create(b, &spec, BATCH, 0, big - 1));
  ck_assert_msg(strstr(vaecl_last_error(), "largest batch that fits is 15"), "%s",
                vaecl_last_error());
  /* With room for one image's buffers only. */
  m = create(b, &spec, 1, 0, 0);
  ck_assert_ptr_nonnull(m);
  const uint64_t one = allocated;
  vaecl_model_destroy(m);
  ck_assert_ptr_null(create(b, &spec, BATCH, one - 1, 0));
  ck_assert_msg(strstr(vaecl_last_error(), "even batch 1 does not fit"), "%s", vaecl_last_error());
  /* Room for a batch of 9 (the parameters plus 9 times one image's activations). */
  m = create(b, &spec, 2, 0, 0);
  const uint64_t two = allocated;
  vaecl_model_destroy(m);
  ck_assert_ptr_null(create(b, &spec, BATCH, one + 8 * (two - one), 0));
  ck_assert_msg(strstr(vaecl_last_error(), "largest batch that fits is 9"), "%s",
                vaecl_last_error());
  vaecl_model_spec_free(&spec);
  /* A Gaussian output with a learned variance allocates more: the same holds. */
  const char *data = getenv("VAECL_TEST_DATA");
  char path[1024];
  snprintf(path, sizeof path, "%s/models/rgb32-conv-vae.vae", data ? data : "data");
  ck_assert_msg(vaecl_model_spec_load(path, &spec) == 0, "%s", vaecl_last_error());
  ck_assert(spec.learned_variance);
  m = create(b, &spec, 3, 0, 0);
  ck_assert_msg(m != NULL, "%s", vaecl_last_error());
  const uint64_t gauss = allocated, gauss_big = largest;
  vaecl_model_destroy(m);
  m = create(b, &spec, 3, gauss, gauss_big);
  ck_assert_msg(m != NULL, "limits equal to the need: %s", vaecl_last_error());
  vaecl_model_destroy(m);
  ck_assert_ptr_null(create(b, &spec, 3, gauss - 1, gauss_big));
  vaecl_model_spec_free(&spec);
  b->ops = real_ops;
  b->ops->destroy(b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cl_portability");
  TCase *tc = tcase_create("rules");
  tcase_add_test(tc, launch_sizes_fit_every_limit);
  tcase_add_test(tc, versions_parse);
  tcase_add_test(tc, unusable_devices_say_why);
  tcase_add_test(tc, default_device_is_the_best_usable_one);
  tcase_add_test(tc, one_gpu_on_two_platforms);
  tcase_add_test(tc, memory_checked_before_allocating);
  tcase_add_test(tc, errors_name_the_fix);
  suite_add_tcase(s, tc);
  tc = tcase_create("device");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, device_by_name_and_options);
  suite_add_tcase(s, tc);
  return vaecl_test_run(s);
}
