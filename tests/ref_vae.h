/* The whole VAE in plain C and double precision, composed from src/ref_ops.c, for
 * checking the device graph end to end. It re-derives every shape from the config
 * on its own rather than sharing code with src/graph.c. */
#ifndef VAECL_REF_VAE_H
#define VAECL_REF_VAE_H

#include <vaecl/model_config.h>

#define REF_VAE_TENSORS 16 /* w, b of 8 layers, in the graph's order */

/* Sizes of tensor i (w or b of layer i/2). */
size_t ref_vae_tensor_size(const vaecl_model_config *, int i);

/* Loss = mean over the batch of (sum of pixel BCE + sum of KL) for fixed noise eps
 * [batch, latent]; *recon and *kl get its two parts. When grads is not NULL, each
 * grads[i] receives dLoss/dparams[i]. stats_out (optional) gets [batch, 2*latent]. */
double ref_vae_loss(const vaecl_model_config *, int batch, double *const params[REF_VAE_TENSORS],
                    const double *images, const double *eps, double *grads[REF_VAE_TENSORS],
                    double *recon, double *kl, double *stats_out);

/* sigmoid(decoder(z)) for z [batch, latent]. */
void ref_vae_decode(const vaecl_model_config *, int batch, double *const params[REF_VAE_TENSORS],
                    const double *z, double *images);

#endif
