/* Bias, activations and their gradients. Activation codes match vb_act. */
#define ACT_NONE 0
#define ACT_RELU 1

__kernel void fill(__global float *x, const float value, const int n) {
  const int i = get_global_id(0);
  if (i < n)
    x[i] = value;
}

__kernel void bias_act(__global float *y, __global const float *bias, const int rows,
                       const int cols, const int act) {
  const int i = get_global_id(0);
  if (i >= rows * cols)
    return;
  const float v = y[i] + bias[i % cols];
  y[i] = act == ACT_RELU ? fmax(v, 0.0f) : v;
}

/* dy *= act'(y), with y the activation's output (ReLU: y > 0). */
__kernel void act_backward(__global float *dy, __global const float *y, const int n,
                           const int act) {
  const int i = get_global_id(0);
  if (i < n && act == ACT_RELU && !(y[i] > 0.0f))
    dy[i] = 0.0f;
}

/* db[c] = sum over rows of dy[r, c]: one work-group per column (cl/reduce.cl). */
__kernel void bias_grad(__global float *db, __global const float *dy, const int rows,
                        const int cols, __local float *scratch) {
  const int c = get_group_id(0), lid = get_local_id(0), lsize = get_local_size(0);
  float sum = 0.0f;
  for (int r = lid; r < rows; r += lsize)
    sum += dy[r * cols + c];
  sum = group_sum(scratch, sum);
  if (lid == 0)
    db[c] = sum;
}

/* The same sum for CPUs, in two passes that each walk memory in order: work-item j
 * adds rows [j*chunk, (j+1)*chunk) into partial[j, :]; then bias_grad_partials adds
 * the partial rows. (The group-per-column kernel above strides through dy.) */
__kernel void bias_grad_rows(__global float *partial, __global const float *dy, const int rows,
                             const int cols, const int chunk) {
  const int j = get_global_id(0);
  const int r0 = j * chunk, r1 = min(r0 + chunk, rows);
  __global float *p = partial + (size_t)j * cols;
  for (int c = 0; c < cols; c++)
    p[c] = 0.0f;
  for (int r = r0; r < r1; r++) {
    __global const float *row = dy + (size_t)r * cols;
    for (int c = 0; c < cols; c++)
      p[c] += row[c];
  }
}

__kernel void bias_grad_partials(__global float *db, __global const float *partial,
                                 const int chunks, const int cols) {
  const int c = get_global_id(0);
  if (c >= cols)
    return;
  float sum = 0.0f;
  for (int j = 0; j < chunks; j++)
    sum += partial[(size_t)j * cols + c];
  db[c] = sum;
}
