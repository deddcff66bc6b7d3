/* Philox4x32-10 (Salmon et al., SC'11): a counter-based RNG, so the device can draw
 * eps for any (seed, step, index) without state, and the host can reproduce it.
 * cl/rng.cl is the same algorithm in OpenCL C; tests check the two agree bit for bit. */
#ifndef VAECL_PHILOX_H
#define VAECL_PHILOX_H

#include <math.h>
#include <stdint.h>

static inline void vaecl_philox4x32(const uint32_t ctr_in[4], const uint32_t key_in[2],
                                    uint32_t out[4]) {
  uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
  uint32_t k0 = key_in[0], k1 = key_in[1];
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* The four words drawn for element `index` of training step `step`. */
static inline void vaecl_philox_draw(uint64_t seed, uint64_t step, uint32_t index,
                                     uint32_t out[4]) {
  const uint32_t ctr[4] = {index, (uint32_t)step, (uint32_t)(step >> 32), 0x5641u /* "VA" */};
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  vaecl_philox4x32(ctr, key, out);
}

/* Box-Muller on the first two words: u1 in (0,1] so the log is finite. */
static inline double vaecl_philox_normal(uint64_t seed, uint64_t step, uint32_t index) {
  uint32_t w[4];
  vaecl_philox_draw(seed, step, index, w);
  const double u1 = ((double)w[0] + 1.0) * (1.0 / 4294967296.0);
  const double u2 = (double)w[1] * (1.0 / 4294967296.0);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
