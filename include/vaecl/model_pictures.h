/* The pictures of what a model does: draws from its prior, and images beside their
 * reconstructions. `vaecl sample`, `vaecl reconstruct` and train's --sample-every draw
 * them; each is one PNG of titled tiles (vaecl_plot_image_tiles). */
#ifndef VAECL_MODEL_PICTURES_H
#define VAECL_MODEL_PICTURES_H

#include <stddef.h>
#include <stdint.h>

#include <vaecl/backend.h>
#include <vaecl/dataset.h>
#include <vaecl/graph.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The prior draws of picture i: z[i*latent + j] = vaecl_philox_normal(seed,
 * VAECL_SAMPLE_STREAM, i*latent + j), a stream apart from training's and evaluation's. */
#define VAECL_SAMPLE_STREAM (UINT64_C(3) << 62)

/* n images decoded from those draws, in a square-ish grid, under title. Changes no
 * parameter and no training state, so it may run between epochs. */
int vaecl_picture_samples(vaecl_model *, const char *path, const char *title, int n, uint64_t seed);

/* Images first..first+n-1 of data, up to 16 to a row, each row above a row of their
 * reconstructions decoded at z = the encoder's mean. Changes no training state. */
int vaecl_picture_reconstructions(vaecl_model *, vb_backend *, const vaecl_dataset *, size_t first,
                                  int n, const char *path, const char *title);

#ifdef __cplusplus
}
#endif
#endif
