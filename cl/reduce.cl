/* A work-group's sum of one value per work-item: a fixed-order tree in local memory,
 * so results do not depend on scheduling. The group size must be a power of two and
 * every work-item of the group must call it. */
float group_sum(__local float *scratch, const float value) {
  const int lid = get_local_id(0);
  scratch[lid] = value;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int width = get_local_size(0) / 2; width > 0; width /= 2) {
    if (lid < width)
      scratch[lid] += scratch[lid + width];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  return scratch[0];
}
