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
