/* Philox4x32-10, the same algorithm and counter layout as src/philox.h. */

uint4 philox4x32(uint4 c, uint2 k) {
  for (int round = 0; round < 10; round++) {
    const uint lo0 = 0xD2511F53u * c.x, hi0 = mul_hi(0xD2511F53u, c.x);
    const uint lo1 = 0xCD9E8D57u * c.z, hi1 = mul_hi(0xCD9E8D57u, c.z);
    c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k += (uint2)(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

uint4 philox_draw(uint seed_lo, uint seed_hi, uint step_lo, uint step_hi, uint index) {
  return philox4x32((uint4)(index, step_lo, step_hi, 0x5641u), (uint2)(seed_lo, seed_hi));
}

/* Box-Muller on the first two words; u1 in (0,1]. */
float philox_normal(uint4 w) {
  const float u1 = ((float)w.x + 1.0f) * (1.0f / 4294967296.0f);
  const float u2 = (float)w.y * (1.0f / 4294967296.0f);
  return sqrt(-2.0f * log(u1)) * cos(6.283185307f * u2);
}
