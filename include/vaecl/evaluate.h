/* What a trained VAE says about images: the negative ELBO per image with its reconstruction
 * and KL parts, and the importance-weighted bound on log p(x) (IWAE, Burda et al. 2016); and
 * encoding or decoding any number of images in batches of the model's size.
 *
 * The ELBO is the training loss's definition (vaecl/graph.h), per image instead of per batch:
 *   reconstruction = E_q[-log p(x|z)], the mean over K draws z_k ~ q(z|x), summed over pixels
 *                    (binary cross-entropy from the logits for `output bernoulli`, the Gaussian
 *                    negative log-likelihood with the model's variance for `output gaussian`);
 *   kl             = KL(q(z|x) || N(0, I)), exact, summed over the latent dimensions;
 *   loss           = reconstruction + kl_weight * kl (what `train` reports);
 *   neg_elbo       = reconstruction + kl (the bound itself: kl_weight plays no part).
 * With the same K draws, log p(x) >= log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x); iwae is minus
 * the right-hand side, so an upper bound on -log p(x), computed with a log-sum-exp in double.
 * Images are the data's bytes / 255 as float, as in training.
 *
 * Noise: eps[k, j] for image i of the data set (its index there, so a score does not depend on
 * the batch or on which other images are scored) is vaecl_philox_normal(seed, VAECL_EVAL_STREAM
 * + i, k * latent + j) (src/util/philox.h); z_k = mean + exp(log_var / 2) * eps[k]. */
#ifndef VAECL_EVALUATE_H
#define VAECL_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include <vaecl/backend.h>
#include <vaecl/dataset.h>
#include <vaecl/graph.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Keeps the evaluation's noise apart from training's (whose steps count from 0). */
#define VAECL_EVAL_STREAM (UINT64_C(1) << 62)
#define VAECL_EVAL_MAX_SAMPLES 10000

typedef struct {
  double reconstruction; /* nats */
  double kl;             /* nats */
  double iwae;           /* nats: an upper bound on -log p(x) */
} vaecl_image_score;

typedef struct {
  size_t count;          /* images */
  size_t dims;           /* values per image (h * w * channels) */
  int samples;           /* K */
  double reconstruction; /* means over the images, nats */
  double kl;
  double loss;     /* reconstruction + kl_weight * kl */
  double neg_elbo; /* reconstruction + kl */
  double iwae;
} vaecl_eval_summary;

typedef struct {
  int samples;   /* K, 1..VAECL_EVAL_MAX_SAMPLES (64) */
  uint64_t seed; /* (1) */
  void *user;    /* passed to on_progress */
  /* Called at most every progress_interval seconds (0: never) with the images done. */
  void (*on_progress)(void *user, size_t done, size_t total);
  double progress_interval;
} vaecl_eval_options;

vaecl_eval_options vaecl_eval_defaults(void);

/* Scores every image of data (whose images must fit the model). per_image (data->count
 * entries) and summary may each be NULL. 0, or -1 with a message. */
int vaecl_evaluate(vaecl_model *, vb_backend *, const vaecl_dataset *, const vaecl_eval_options *,
                   vaecl_image_score *per_image, vaecl_eval_summary *summary);

/* nats / (dims * ln 2). */
double vaecl_bits_per_dim(double nats, size_t dims);

/* Encoder means and log-variances of images first .. first+count-1 of data:
 * stats[count, 2 * latent] (mean | log_var per row), in batches of the model's size. */
int vaecl_encode_images(vaecl_model *, vb_backend *, const vaecl_dataset *, size_t first,
                        size_t count, float *stats);

/* vaecl_model_decode for any count of z rows: images[count, image_size]. */
int vaecl_decode_many(vaecl_model *, const float *z, size_t count, float *images);

#ifdef __cplusplus
}
#endif
#endif
