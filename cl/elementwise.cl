/* Bias, activations and their gradients. Activation codes match vb_act. */
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY_RELU 2
#define ACT_SIGMOID 3
#define ACT_TANH 4

__kernel void fill(__global float *x, const float value, const int n) {
  const int i = get_global_id(0);
  if (i < n)
    x[i] = value;
}

/* sigmoid as 1/(1+exp(-v)): exp(-v) overflows to inf for v < -88 and the quotient
 * is then 0, the correctly rounded result; no NaN for any finite v. */
float act_forward(const float v, const int act, const float alpha) {
  switch (act) {
  case ACT_RELU:
    return fmax(v, 0.0f);
  case ACT_LEAKY_RELU:
    return v > 0.0f ? v : alpha * v;
  case ACT_SIGMOID:
    return 1.0f / (1.0f + exp(-v));
  case ACT_TANH:
    return tanh(v);
  default:
    return v;
  }
}

/* Work-item (column, row): a 2-D range, because the column of a flat index would take
 * an integer division per element, which PoCL cannot vectorise. */
__kernel void bias_act(__global float *y, __global const float *bias, const int rows,
                       const int cols, const int act, const float alpha) {
  const int col = get_global_id(0), row = get_global_id(1);
  if (col >= cols || row >= rows)
    return;
  y[row * cols + col] = act_forward(y[row * cols + col] + bias[col], act, alpha);
}

/* dy *= act'(y), with y the activation's output: relu y > 0; leaky_relu y > 0 ? 1 :
 * alpha; sigmoid y(1-y); tanh 1-y^2, as (1-y)(1+y), which keeps its relative
 * accuracy where |y| is close to 1 (1-y is exact there). */
__kernel void act_backward(__global float *dy, __global const float *y, const int n,
                           const int act, const float alpha) {
  const int i = get_global_id(0);
  if (i >= n)
    return;
  const float yi = y[i];
  switch (act) {
  case ACT_RELU:
    if (!(yi > 0.0f))
      dy[i] = 0.0f;
    break;
  case ACT_LEAKY_RELU:
    if (!(yi > 0.0f))
      dy[i] *= alpha;
    break;
  case ACT_SIGMOID:
    dy[i] *= yi * (1.0f - yi);
    break;
  case ACT_TANH:
    dy[i] *= (1.0f - yi) * (1.0f + yi);
    break;
  default:
    break;
  }
}

/* out[j, c] = sum over rows [j*chunk, (j+1)*chunk) of dy[r, c]: one work-group per
 * column and chunk (cl/reduce.cl). With one chunk, out is db; with several (few
 * columns: a GPU would sum them on a few work-groups) bias_grad_partials adds them. */
__kernel void bias_grad(__global float *out, __global const float *dy, const int rows,
                        const int cols, const int chunk, __local float *scratch) {
  const int c = get_group_id(0), j = get_global_id(1), lid = get_local_id(0);
  const int r1 = min(rows, (j + 1) * chunk);
  float sum = 0.0f;
  for (int r = j * chunk + lid; r < r1; r += get_local_size(0))
    sum += dy[r * cols + c];
  sum = group_sum(scratch, sum);
  if (lid == 0)
    out[j * cols + c] = sum;
}

/* The same sum for CPUs, in two passes that each walk memory in order: work-item j
 * adds rows [j*chunk, (j+1)*chunk) into partial[j, :]; then bias_grad_partials adds
 * the partial rows. (The group-per-column kernel above strides through dy.) */
__kernel void bias_grad_rows(__global float *partial, __global const float *dy, const int rows,
                             const int cols, const int chunk) {
  const int j = get_global_id(0);
  const int r0 = j * chunk, r1 = min(r0 + chunk, rows);
  if (r0 >= rows) /* a work-item of a rounded-up range: partial has no row j */
    return;
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
