/* Mean KL per latent dimension and PCA, for the figures of latents wider than two. */
#include <vaecl/latent_stats.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

void vaecl_latent_mean_kl(const float *stats, size_t n, int latent, double *kl) {
  for (int j = 0; j < latent; j++)
    kl[j] = 0;
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < latent; j++) {
      const double mu = stats[i * 2 * (size_t)latent + (size_t)j],
                   lv = stats[i * 2 * (size_t)latent + (size_t)latent + (size_t)j];
      kl[j] += -0.5 * (1 + lv - mu * mu - exp(lv));
    }
  for (int j = 0; n && j < latent; j++)
    kl[j] /= (double)n;
}

/* a ranks above b: larger, NaN lowest; the index breaks ties (callers scan upwards). */
static int above(double a, double b) {
  return !isnan(a) && (isnan(b) || a > b);
}

void vaecl_latent_top_two(const double *kl, int latent, int dims[2]) {
  dims[0] = 0;
  dims[1] = 1;
  if (above(kl[1], kl[0])) {
    dims[0] = 1;
    dims[1] = 0;
  }
  for (int j = 2; j < latent; j++)
    if (above(kl[j], kl[dims[0]])) {
      dims[1] = dims[0];
      dims[0] = j;
    } else if (above(kl[j], kl[dims[1]])) {
      dims[1] = j;
    }
}

/* Diagonalises the symmetric a[d*d] in place (its diagonal becomes the eigenvalues) and
 * accumulates the rotations in v (columns: eigenvectors). Cyclic Jacobi with the stable
 * rotation of Golub and Van Loan (Algorithm 8.4.2); stops when the off-diagonal part is
 * negligible against the diagonal. */
static void jacobi(double *a, double *v, int d) {
  for (int i = 0; i < d * d; i++)
    v[i] = i % (d + 1) == 0;
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0, diag = 0;
    for (int p = 0; p < d; p++) {
      diag += a[p * d + p] * a[p * d + p];
      for (int q = p + 1; q < d; q++)
        off += 2 * a[p * d + q] * a[p * d + q];
    }
    if (off <= 1e-30 * diag || off == 0)
      return;
    for (int p = 0; p < d; p++)
      for (int q = p + 1; q < d; q++) {
        const double apq = a[p * d + q];
        if (apq == 0)
          continue;
        const double tau = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const double t = (tau >= 0 ? 1 : -1) / (fabs(tau) + sqrt(1 + tau * tau));
        const double c = 1 / sqrt(1 + t * t), s = t * c;
        for (int k = 0; k < d; k++) { /* A <- A J: columns p and q */
          const double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (int k = 0; k < d; k++) { /* A <- J^T A: rows p and q */
          const double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (int k = 0; k < d; k++) {
          const double vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
  }
}

int vaecl_pca(const float *x, size_t n, int d, size_t stride, int k, double *mean, double *variance,
              double *components, double *total) {
  if (n < 1 || d < 1 || k < 1 || k > d || stride < (size_t)d)
    return vaecl_fail("PCA of %zu points of %d dimensions for %d components: nothing to do", n, d,
                      k);
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      if (!isfinite(x[i * stride + (size_t)j]))
        return vaecl_fail("PCA: point %zu has a non-finite coordinate", i);
  double *a = calloc((size_t)d * (size_t)d, sizeof *a), *v = malloc((size_t)d * d * sizeof *v);
  int *order = malloc((size_t)d * sizeof *order);
  if (!a || !v || !order) {
    free(a), free(v), free(order);
    return vaecl_fail("out of memory for a PCA of %d dimensions", d);
  }
  /* Two passes: the mean, then the covariance of the centred points. */
  for (int j = 0; j < d; j++)
    mean[j] = 0;
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      mean[j] += x[i * stride + (size_t)j];
  for (int j = 0; j < d; j++)
    mean[j] /= (double)n;
  for (size_t i = 0; i < n; i++)
    for (int p = 0; p < d; p++)
      for (int q = p; q < d; q++)
        a[p * d + q] +=
            (x[i * stride + (size_t)p] - mean[p]) * (x[i * stride + (size_t)q] - mean[q]);
  *total = 0;
  for (int p = 0; p < d; p++)
    for (int q = p; q < d; q++) {
      a[p * d + q] /= (double)n;
      a[q * d + p] = a[p * d + q];
      *total += p == q ? a[p * d + p] : 0;
    }
  jacobi(a, v, d);
  for (int j = 0; j < d; j++) /* selection sort of the eigenvalues, falling */
    order[j] = j;
  for (int j = 0; j < k; j++) {
    int best = j;
    for (int i = j + 1; i < d; i++)
      if (a[order[i] * d + order[i]] > a[order[best] * d + order[best]])
        best = i;
    const int t = order[j];
    order[j] = order[best];
    order[best] = t;
    variance[j] = a[order[j] * d + order[j]];
    /* the sign: the first entry within rounding of the largest magnitude is positive */
    double largest = 0;
    for (int i = 0; i < d; i++)
      largest = fmax(largest, fabs(v[i * d + order[j]]));
    int big = 0;
    while (fabs(v[big * d + order[j]]) < (1 - 1e-9) * largest)
      big++;
    const double sign = v[big * d + order[j]] < 0 ? -1 : 1;
    for (int i = 0; i < d; i++)
      components[(size_t)j * d + i] = sign * v[i * d + order[j]];
  }
  free(a);
  free(v);
  free(order);
  return 0;
}
