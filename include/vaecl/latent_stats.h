/* What the figures need to show a latent space of more than two dimensions: which dimensions
 * the model uses (mean KL per dimension) and a 2-D projection of the means (PCA). Host-only,
 * double precision. */
#ifndef VAECL_LATENT_STATS_H
#define VAECL_LATENT_STATS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* kl[j] = the mean over n encoder outputs of KL(N(mean_j, exp(lv_j)) || N(0, 1)) =
 * -0.5 (1 + lv - mean^2 - exp(lv)); stats[n, 2*latent] holds mean | log_var per row as
 * vaecl_model_encode returns them. n 0 gives zeros. */
void vaecl_latent_mean_kl(const float *stats, size_t n, int latent, double *kl);

/* The two dimensions with the largest values of kl[0..latent) (latent >= 2), the larger
 * first; of equal values the lower index first. NaN counts as the smallest. */
void vaecl_latent_top_two(const double *kl, int latent, int dims[2]);

/* Principal components of n points of d dimensions (point i at x[i*stride .. i*stride+d)),
 * from their covariance (divided by n) in double, by cyclic Jacobi rotations. Fills
 * mean[d], the k (1..d) largest eigenvalues in falling order in variance[k], their unit
 * eigenvectors in components[k*d] (each with its first entry of the largest magnitude, to
 * within 1e-9 relative, positive: unique for distinct eigenvalues) and *total the covariance's
 * trace. 0, or -1 with a message for n < 1, d < 1, k outside 1..d, a non-finite value or no memory.
 */
int vaecl_pca(const float *x, size_t n, int d, size_t stride, int k, double *mean, double *variance,
              double *components, double *total);

#ifdef __cplusplus
}
#endif
#endif
