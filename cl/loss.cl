/* Reconstruction loss: sigmoid + binary cross-entropy, fused on the logits so that
 * neither log(0) nor a saturated sigmoid's vanishing gradient can occur. */
__kernel void bce_logits(__global const float *logits, __global const float *target,
                         __global float *dlogits, __global float *loss, const int n,
                         const float grad_scale) {
  const int i = get_global_id(0);
  if (i >= n)
    return;
  const float z = logits[i], x = target[i];
  /* softplus(z) - x*z, written to avoid overflow of exp(z) */
  loss[i] = fmax(z, 0.0f) - x * z + log1p(exp(-fabs(z)));
  dlogits[i] = (1.0f / (1.0f + exp(-z)) - x) * grad_scale;
}

/* Gaussian negative log-likelihood with one shared log-variance lv = log_var[0]
 * (see vb_ops.gaussian_nll). exp(-lv) is computed once per element and reused by
 * the loss and both gradients; has_dlog_var == 0 leaves dlog_var unwritten (the
 * host then passes another buffer in its place). */
#define VAECL_LOG_2PI 1.8378770664093453f
__kernel void gaussian_nll(__global const float *mean, __global const float *target,
                           __global const float *log_var, __global float *dmean,
                           __global float *loss, __global float *dlog_var, const int has_dlog_var,
                           const int n, const float grad_scale) {
  const int i = get_global_id(0);
  if (i >= n)
    return;
  const float lv = log_var[0], inv_var = exp(-lv);
  const float d = mean[i] - target[i];
  const float r = d * d * inv_var; /* (x - mu)^2 / var */
  loss[i] = 0.5f * (r + lv + VAECL_LOG_2PI);
  dmean[i] = d * inv_var * grad_scale;
  if (has_dlog_var)
    dlog_var[i] = 0.5f * (1.0f - r);
}

/* acc[slot] += scale * sum(x) by a single work-group (cl/reduce.cl), so per-epoch
 * metrics stay on the device until the host asks for them. */
__kernel void accumulate(__global float *acc, const int slot, __global const float *x, const int n,
                         const float scale, __local float *scratch) {
  const int lid = get_local_id(0), lsize = get_local_size(0);
  float sum = 0.0f;
  for (int i = lid; i < n; i += lsize)
    sum += x[i];
  sum = group_sum(scratch, sum);
  if (lid == 0)
    acc[slot] += scale * sum;
}
