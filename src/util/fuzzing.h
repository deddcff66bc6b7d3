/* Fuzzing builds (cmake -DVAECL_FUZZ=ON) define FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, as
 * OSS-Fuzz does. Checksums then never reject a file, so that mutated inputs reach the parsing
 * behind them; everything after a checksum must hold up on its own anyway. No build that
 * users get defines it. */
#ifndef VAECL_FUZZING_H
#define VAECL_FUZZING_H

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define VAECL_CHECKSUMS_ENFORCED 0
#else
#define VAECL_CHECKSUMS_ENFORCED 1
#endif

#endif
