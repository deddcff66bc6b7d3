/* Builds a mini-batch on the device from the byte images kept there for the whole
 * run, so a training step moves no pixels over the bus. */
__kernel void gather_images(__global const uchar *pixels, __global const uint *index,
                            const int first, const int count, const int pixels_per_image,
                            __global float *out) {
  const int i = get_global_id(0);
  if (i >= count * pixels_per_image)
    return;
  const int img = i / pixels_per_image, p = i - img * pixels_per_image;
  out[i] = (float)pixels[(size_t)index[first + img] * pixels_per_image + p] * (1.0f / 255.0f);
}
