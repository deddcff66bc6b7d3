/* A reproducible held-out split of a data set, for validation during training. */
#include <vaecl/dataset.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/philox.h"

/* Keyed apart from the training shuffle and noise, so a split never correlates with them. */
#define SPLIT_KEY 0x56414C53504C4954ull /* "VALSPLIT" */

size_t vaecl_dataset_split_count(size_t count, double fraction) {
  const double k = floor(fraction * (double)count + 0.5);
  if (!(k >= 1.0))
    return 1;
  return k >= (double)count ? count - 1 : (size_t)k;
}

/* The images of `from` whose flag equals `want`, in their original order. */
static int take(const vaecl_dataset *from, const unsigned char *held, unsigned char want, size_t n,
                vaecl_dataset *out) {
  const size_t ppi = vaecl_dataset_image_size(from);
  memset(out, 0, sizeof *out);
  out->rows = from->rows;
  out->cols = from->cols;
  out->channels = from->channels;
  out->class_count = from->class_count;
  if (!(out->pixels = malloc(n * ppi)) || (from->labels && !(out->labels = malloc(n))))
    return vaecl_fail("out of memory for a split of %zu images", n);
  size_t k = 0;
  for (size_t i = 0; i < from->count; i++)
    if (held[i] == want) {
      memcpy(out->pixels + k * ppi, from->pixels + i * ppi, ppi);
      if (from->labels)
        out->labels[k] = from->labels[i];
      k++;
    }
  out->count = k;
  return vaecl_dataset_set_class_names(out, (const char *const *)from->class_names,
                                       from->class_names ? from->class_count : 0);
}

int vaecl_dataset_split(const vaecl_dataset *all, double fraction, uint64_t seed,
                        vaecl_dataset *train, vaecl_dataset *val) {
  memset(train, 0, sizeof *train);
  memset(val, 0, sizeof *val);
  if (!(fraction > 0.0 && fraction < 1.0))
    return vaecl_fail("a validation fraction of %g is not between 0 and 1", fraction);
  if (all->count < 2)
    return vaecl_fail("%zu images cannot be split into training and validation images", all->count);
  const size_t n = all->count, k = vaecl_dataset_split_count(n, fraction);
  uint32_t *order = malloc(n * sizeof *order);
  unsigned char *held = calloc(n, 1);
  int rc = order && held ? 0 : vaecl_fail("out of memory splitting %zu images", n);
  if (rc == 0) {
    /* A partial Fisher-Yates with the counter RNG: the first k of a permutation that
     * depends only on (seed, n). */
    for (size_t i = 0; i < n; i++)
      order[i] = (uint32_t)i;
    for (size_t i = 0; i < k; i++) {
      uint32_t w[4];
      vaecl_philox_draw(seed ^ SPLIT_KEY, n, (uint32_t)i, w);
      const size_t j = i + (size_t)(((uint64_t)w[0] << 32 | w[1]) % (n - i));
      const uint32_t t = order[i];
      order[i] = order[j];
      order[j] = t;
      held[order[i]] = 1;
    }
    rc = take(all, held, 0, n - k, train);
    if (rc == 0)
      rc = take(all, held, 1, k, val);
  }
  free(order);
  free(held);
  if (rc != 0) {
    vaecl_dataset_free(train);
    vaecl_dataset_free(val);
  }
  return rc;
}
