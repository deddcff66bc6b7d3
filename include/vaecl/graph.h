/* A VAE as a layer graph over the backend interface (no OpenCL here), built from a
 * model file (vaecl/model_spec.h).
 *
 * Two chains of layers, encoder and decoder, joined by the sampling node:
 *   images -> encoder layers -> heads[mean|log_var] -> sample z -> decoder layers
 *          -> output (logits for a Bernoulli likelihood, the mean for a Gaussian)
 * A train step runs forward, the loss, backward and Adam entirely on the device;
 * the per-step losses are summed on the device and read once per report. */
#ifndef VAECL_GRAPH_H
#define VAECL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include <vaecl/backend.h>
#include <vaecl/checkpoint.h>
#include <vaecl/model_spec.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vaecl_model vaecl_model;

typedef struct {
  float learning_rate; /* Keras defaults: 1e-3, 0.9, 0.999, 1e-7 */
  float beta1, beta2, epsilon;
} vaecl_adam_config;

vaecl_adam_config vaecl_adam_default(void);

/* Allocates everything for batches of up to max_batch images and draws Glorot-uniform
 * weights (zero biases) from `seed`. The model keeps its own copy of the spec. */
vaecl_model *vaecl_model_create(vb_backend *, const vaecl_model_spec *, int max_batch,
                                uint64_t seed);
void vaecl_model_destroy(vaecl_model *);

const vaecl_model_spec *vaecl_model_get_spec(const vaecl_model *);
size_t vaecl_model_parameter_count(const vaecl_model *);
/* The largest batch the buffers were made for. */
int vaecl_model_max_batch(const vaecl_model *);
/* Pixels per image (h * w * channels). */
size_t vaecl_model_image_size(const vaecl_model *);

/* Checks that the model's buffers at its batch size, plus `other_bytes` of other
 * device memory (in `other_buffers_max`-byte buffers at most, e.g. the data set), fit
 * the backend's memory and largest buffer. Fails with the sizes and the largest batch
 * that fits. vaecl_model_create runs it with no other memory before allocating. */
int vaecl_model_check_memory(const vaecl_model *, uint64_t other_bytes, uint64_t other_buffers_max);

/* One optimizer step on images[batch, image_size] (floats in [0,1] on the device).
 * `step` numbers the sampling noise; Adam's own step count is kept inside. Adds the
 * batch's mean reconstruction loss and KL to the device-side running sums. */
int vaecl_model_train_step(vaecl_model *, const vb_buf *images, int batch, uint64_t step,
                           const vaecl_adam_config *);

/* Forward and backward without the optimizer step: gradients are left in place for
 * tests (vaecl_model_read_grad). Also adds to the running sums. */
int vaecl_model_compute_gradients(vaecl_model *, const vb_buf *images, int batch, uint64_t step);

/* The loss of one batch without training: the same forward pass, sampling and loss as a
 * training step, with the sampling noise drawn at (seed, step), so the same call gives the
 * same figures. *recon and *kl get the batch means (the KL unweighted by beta). Leaves the
 * weights, gradients, Adam's state and the training running sums as they were. Blocks. */
int vaecl_model_evaluate_batch(vaecl_model *, const vb_buf *images, int batch, uint64_t seed,
                               uint64_t step, double *recon, double *kl);

/* The same for a shard of a batch (data-parallel training): images[batch] are rows
 * first..first+batch-1 of a batch of `whole` images. Gradients and the loss sums are
 * scaled by 1/whole, so the shards' gradients add up to the whole batch's, and the
 * sampling noise is the whole batch's rows'. batch may be 0 (zero gradients).
 * compute_gradients is the shard first 0, whole == batch. */
int vaecl_model_compute_shard_gradients(vaecl_model *, const vb_buf *images, int batch, int first,
                                        int whole, uint64_t step);

/* Adam on the gradients in place (computed, or written by vaecl_model_write_grads);
 * counts one optimizer step. train_step is compute_gradients, then this. */
int vaecl_model_apply_adam(vaecl_model *, const vaecl_adam_config *);

/* The running sums since the last reset: sums[0] reconstruction, sums[1] KL (each a
 * sum of per-batch means; the KL is not weighted by beta). Blocks until the device
 * is done. */
int vaecl_model_read_loss_sums(vaecl_model *, double sums[2]);
int vaecl_model_reset_loss_sums(vaecl_model *);

/* Encoder means and log-variances: stats[batch, 2*latent] on the host. */
int vaecl_model_encode(vaecl_model *, const vb_buf *images, int batch, float *stats);
/* Decoded images for z[batch, latent] given on the host: pixel probabilities
 * (Bernoulli) or means (Gaussian), [batch, image_size]. */
int vaecl_model_decode(vaecl_model *, const float *z, int batch, float *images);
/* The decoder's last layer as the likelihood sees it: logits (Bernoulli, before the
 * sigmoid) or the Gaussian's means, [batch, image_size]. Scores computed from logits
 * stay finite where a probability would round to 0 or 1. */
int vaecl_model_decode_output(vaecl_model *, const float *z, int batch, float *out);

/* Parameters by index, for tests and checkpoints: name, element count, and host
 * copies of the value or the last computed gradient. */
size_t vaecl_model_tensor_count(const vaecl_model *);
const char *vaecl_model_tensor_name(const vaecl_model *, size_t i);
size_t vaecl_model_tensor_size(const vaecl_model *, size_t i);
int vaecl_model_read_param(vaecl_model *, size_t i, float *out);
int vaecl_model_write_param(vaecl_model *, size_t i, const float *in);
int vaecl_model_read_grad(vaecl_model *, size_t i, float *out);
int vaecl_model_write_grad(vaecl_model *, size_t i, const float *in);
/* Every tensor's gradient in tensor order, as one buffer of parameter_count floats. */
int vaecl_model_read_grads(vaecl_model *, float *out);
int vaecl_model_write_grads(vaecl_model *, const float *in);

/* Checkpoint contents: the model text, parameters, Adam moments and step count.
 * to_checkpoint fills ck with malloc'd copies (free with vaecl_checkpoint_free);
 * from_checkpoint checks every tensor as vaecl_checkpoint_check_model does and
 * uploads. */
int vaecl_model_to_checkpoint(vaecl_model *, vaecl_checkpoint *ck);
int vaecl_model_from_checkpoint(vaecl_model *, const vaecl_checkpoint *ck);
/* Checks, on the host and before any device memory is allocated, that ck holds every
 * tensor (weights and Adam moments) of the model spec describes, with its shape, and
 * only finite values; -1 with a message naming the first bad tensor. A small crafted
 * file describing a huge model thus fails without a huge allocation. */
int vaecl_checkpoint_check_model(const vaecl_checkpoint *ck, const vaecl_model_spec *spec);

#ifdef __cplusplus
}
#endif
#endif
