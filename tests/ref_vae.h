/* Any VAE described by a model file, in plain C and double precision, composed from
 * src/ref/ref_ops.c, for checking the device graph end to end. It walks the spec's
 * layers on its own: every shape is re-derived here with TensorFlow's formulas and
 * checked against what the parser inferred, and nothing is shared with src/nn/. */
#ifndef VAECL_REF_VAE_H
#define VAECL_REF_VAE_H

#include <stddef.h>

#include <vaecl/model_spec.h>

typedef struct ref_vae ref_vae;

/* Fails the running Check test when the spec's inferred shapes are not TensorFlow's. */
ref_vae *ref_vae_create(const vaecl_model_spec *);
void ref_vae_destroy(ref_vae *);

/* Tensors in the graph's order: w, b of every layer with parameters (the encoder's,
 * the latent heads as one Dense(2*latent), the decoder's), then the learned output
 * log-variance (one value) when the model has one. */
int ref_vae_tensor_count(const ref_vae *);
size_t ref_vae_tensor_size(const ref_vae *, int i);
/* Glorot's fans of tensor i (a weight): a conv's are k*k*channels on each side, each
 * latent head is its own Dense(latent). 0 for biases and the log-variance. */
void ref_vae_tensor_fans(const ref_vae *, int i, double *fan_in, double *fan_out);
size_t ref_vae_image_size(const ref_vae *);
int ref_vae_latent(const ref_vae *);

/* Loss = mean over the batch of (summed reconstruction NLL + kl_weight * summed KL)
 * for fixed noise eps [batch, latent]; *recon and *kl get the two batch means (the KL
 * unweighted). When grads is not NULL, each grads[i] receives dLoss/dparams[i].
 * stats_out (optional) gets the heads' output [batch, 2*latent]. */
double ref_vae_loss(const ref_vae *, int batch, double *const *params, const double *images,
                    const double *eps, double *const *grads, double *recon, double *kl,
                    double *stats_out);

/* The decoder's output for z [batch, latent]: pixel probabilities (Bernoulli) or the
 * Gaussian's mean. */
void ref_vae_decode(const ref_vae *, int batch, double *const *params, const double *z,
                    double *images);

#endif
