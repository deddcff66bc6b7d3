/* Validation: the training loss of held-out images, computed forward only. */
#ifndef VAECL_VALIDATE_H
#define VAECL_VALIDATE_H

#include <stdint.h>

#include <vaecl/backend.h>
#include <vaecl/dataset.h>
#include <vaecl/graph.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Keys the validation noise apart from training's: batch k of a validation pass draws its
 * sampling noise at (seed ^ VAECL_VALIDATION_KEY, k), the same in every epoch, so epochs are
 * compared on the same draws and training's own noise stream is never consumed. */
#define VAECL_VALIDATION_KEY 0x56414C4944415445ull /* "VALIDATE" */

/* The mean over every image of `data` of the reconstruction loss and of the (unweighted) KL,
 * as a training step defines them, sampling noise included (see VAECL_VALIDATION_KEY); images
 * go through in order, in batches of `batch` (1 to the model's largest batch). Changes no
 * weight and no training state. 0, or -1 with a message. */
int vaecl_validate(vaecl_model *, vb_backend *, const vaecl_dataset *data, int batch, uint64_t seed,
                   double *recon, double *kl);

#ifdef __cplusplus
}
#endif
#endif
