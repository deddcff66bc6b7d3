/* The two figures of the Keras VAE example from a trained model: decoded images over
 * a grid of the latent plane, and the encoded means of a data set by class. */
#ifndef VAECL_LATENT_PLOTS_H
#define VAECL_LATENT_PLOTS_H

#include <vaecl/backend.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>

#ifdef __cplusplus
extern "C" {
#ifdef __cplusplus
}
#endif
#endif

/* Decodes an n x n grid over [-extent, extent]^2 of (z[0], z[1]), other latent
 * dimensions 0, and writes it as a PNG. rows x cols x channels is the model's image shape
 * (NHWC; its product must be vaecl_model_image_size); RGB images are drawn in colour. */
int vaecl_plot_decoded_grid(vaecl_model *, const char *path, int n, double extent, int rows,
                            int cols, int channels);

/* Encodes every image of data (in batches of the model's size) and plots the means
 * z[0], z[1] coloured by label, the classes named by data->class_names or numbered; an
 * unlabelled data set is drawn in one colour. */
int vaecl_plot_encoded_means(vaecl_model *, vb_backend *, const vaecl_dataset *, const char *path);

typedef struct {
  int pca;             /* the latent is wider than two: the views below were chosen */
  int dims[2];         /* the grid's dimensions, across and up ({0, 1} up to two) */
  double explained[2]; /* with pca: the variance fractions of PC1 and PC2 */
} vaecl_latent_figures_info;

/* Both figures for any latent size. Up to two dimensions: exactly the two functions above.
 * Wider: the grid varies the two dimensions with the largest mean KL over data (the ones the
 * model uses most; vaecl/latent_stats.h), others at 0, with axes named "z[i]"; the scatter
 * shows the means projected on their first two principal components, with axes named
 * "PC1 (N% of variance)" and "PC2 (...)". info (may be NULL) says what was drawn. */
int vaecl_plot_latent_figures(vaecl_model *, vb_backend *, const vaecl_dataset *,
                              const char *grid_path, const char *clusters_path, int n,
                              double extent, vaecl_latent_figures_info *info);

#ifdef __cplusplus
}
#endif
#endif
