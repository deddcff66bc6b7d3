/* Reparameterisation z = mean + exp(0.5 log_var) * eps and the KL term.
 * stats rows are [mean(latent) | log_var(latent)]; first_index is the first row's
 * element index in the whole batch. Needs cl/rng.cl. */

__kernel void sample(__global const float *stats, __global float *eps, __global float *z,
                     const int batch, const int latent, const int first_index,
                     const uint seed_lo, const uint seed_hi, const uint step_lo,
                     const uint step_hi) {
  const int i = get_global_id(0);
  if (i >= batch * latent)
    return;
  const int b = i / latent, j = i - b * latent;
  const float mean = stats[b * 2 * latent + j], log_var = stats[b * 2 * latent + latent + j];
  /* numbered by the element's place in the whole batch, not in this shard */
  const float e =
      philox_normal(philox_draw(seed_lo, seed_hi, step_lo, step_hi, (uint)(first_index + i)));
  eps[i] = e;
  z[i] = mean + exp(0.5f * log_var) * e;
}

/* KL(q||N(0,I)) per element is -0.5(1 + lv - mean^2 - exp(lv)); its gradient
 * (times kl_scale) is added to the gradient that flows back through z. */
__kernel void sample_kl_backward(__global const float *stats, __global const float *eps,
                                 __global const float *dz, __global float *dstats,
                                 __global float *kl, const int batch, const int latent,
                                 const float kl_scale) {
  const int i = get_global_id(0);
  if (i >= batch * latent)
    return;
  const int b = i / latent, j = i - b * latent;
  const int im = b * 2 * latent + j, iv = im + latent;
  const float mean = stats[im], log_var = stats[iv], var = exp(log_var);
  dstats[im] = dz[i] + kl_scale * mean;
  dstats[iv] = dz[i] * 0.5f * exp(0.5f * log_var) * eps[i] + kl_scale * 0.5f * (var - 1.0f);
  kl[i] = -0.5f * (1.0f + log_var - mean * mean - var);
}
