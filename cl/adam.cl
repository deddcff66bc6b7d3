/* Keras' Adam: moments updated in place, alpha = lr * sqrt(1-b2^t) / (1-b1^t) comes
 * from the host so the kernel needs no step count. */
__kernel void adam(__global float *param, __global const float *grad, __global float *m,
                   __global float *v, const int n, const float alpha, const float beta1,
                   const float beta2, const float epsilon) {
  const int i = get_global_id(0);
  if (i >= n)
    return;
  const float g = grad[i];
  const float mi = m[i] + (g - m[i]) * (1.0f - beta1);
  const float vi = v[i] + (g * g - v[i]) * (1.0f - beta2);
  m[i] = mi;
  v[i] = vi;
  param[i] -= alpha * mi / (sqrt(vi) + epsilon);
}
