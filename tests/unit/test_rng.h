/* test_rng.h - the unit tests' pseudo-random numbers: Marsaglia's xorshift64 over a state each
 * test keeps (and seeds), so a failing run repeats exactly. Include after cmocka.h. */
#ifndef TEST_RNG_H
#define TEST_RNG_H

#include <stdint.h>

static __attribute__((unused)) uint64_t xorshift64(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#endif
