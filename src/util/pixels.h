/* A stored pixel byte as the model sees it: the same float everywhere (training's gather
 * kernel in cl/data.cl computes exactly this), so validation, evaluation and the figures
 * feed the model the inputs training did. */
#ifndef VAECL_PIXELS_H
#define VAECL_PIXELS_H

#include <stdint.h>

static inline float vaecl_pixel_value(uint8_t byte) {
  return (float)byte * (1.0f / 255.0f);
}

#endif
