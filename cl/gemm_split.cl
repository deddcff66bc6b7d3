/* The last step of a GEMM split along k (devices where CLBlast computes GEMMs): the
 * `parts` partial products, each `count` floats apart, are summed in order 0, 1, ...
 * into C, so the result does not depend on scheduling. beta == 0 leaves C unread. */
__kernel void gemm_sum_parts(__global const float *part, const int parts, const int count,
                             const float alpha, const float beta, __global float *c) {
  const int i = get_global_id(0);
  if (i >= count)
    return;
  float sum = 0.0f;
  for (int s = 0; s < parts; s++)
    sum += part[s * count + i];
  c[i] = beta != 0.0f ? alpha * sum + beta * c[i] : alpha * sum;
}
