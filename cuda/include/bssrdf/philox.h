// bssrdf/philox.h -- Philox4x32-10, a counter-based random number generator.
//
// Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011.
// A pure function of a 128-bit counter and a 64-bit key: the Monte Carlo tracer keys it by the
// run's seed and counts (photon index, draw index), so a photon's random numbers do not depend
// on which thread, block, launch or backend traces it. Known-answer vectors of the Random123
// distribution are checked by tests/test_mc_rng.py through the CPU extension.
#pragma once
#include "common.h"

#if !defined(__CUDACC_RTC__)
#include <cstdint>
#endif

namespace bssrdf {

#if defined(__CUDACC_RTC__)
typedef unsigned int u32;
typedef unsigned long long u64;
#else
typedef std::uint32_t u32;
typedef std::uint64_t u64;
#endif

struct U32x4 {
    u32 v[4];
};

BSSRDF_HD inline void philox_mulhilo(u32 a, u32 b, u32& hi, u32& lo) {
#if defined(__CUDA_ARCH__)
    hi = __umulhi(a, b);
    lo = a * b;
#else
    const u64 p = static_cast<u64>(a) * b;
    hi = static_cast<u32>(p >> 32);
    lo = static_cast<u32>(p);
#endif
}

// One block of four 32-bit words: counter c = (c0, c1, c2, c3), key k = (k0, k1), 10 rounds.
BSSRDF_HD inline U32x4 philox4x32_10(u32 c0, u32 c1, u32 c2, u32 c3, u32 k0, u32 k1) {
    const u32 M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;  // round multipliers
    const u32 W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;  // Weyl key increments
#if defined(__CUDA_ARCH__)
#pragma unroll
#elif defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 10
#endif
    for (int round = 0; round < 10; ++round) {
        u32 hi0, lo0, hi1, lo1;
        philox_mulhilo(M0, c0, hi0, lo0);
        philox_mulhilo(M1, c2, hi1, lo1);
        const u32 n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += W0;
        k1 += W1;
    }
    U32x4 out = {{c0, c1, c2, c3}};
    return out;
}

// A photon's random numbers: block k of photon i under seed is
//   philox4x32_10(counter = (k, 0, i lo, i hi), key = (seed lo, seed hi)).
// The Monte Carlo tracer draws one block per event (four numbers, see bssrdf/mc.h), so a
// photon's numbers depend on (seed, photon index, event number) only.
struct PhiloxKey {
    u32 k0, k1;
    BSSRDF_HD static PhiloxKey of(u64 seed) {
        PhiloxKey k = {static_cast<u32>(seed), static_cast<u32>(seed >> 32)};
        return k;
    }
};

BSSRDF_HD inline U32x4 photon_block(const PhiloxKey& key, u64 photon, u32 k) {
    return philox4x32_10(k, 0u, static_cast<u32>(photon), static_cast<u32>(photon >> 32), key.k0, key.k1);
}

// Uniform numbers in the open interval (0, 1) from one 32-bit word, identical on every
// backend: the top 23 bits for float (so that the centred value stays below 1 in float), all
// 32 for double, each centred in its cell.
BSSRDF_HD inline float u01_open(u32 x, float) {
    return (static_cast<float>(x >> 9) + 0.5f) * 1.1920928955078125e-7f;
}
BSSRDF_HD inline double u01_open(u32 x, double) { return (static_cast<double>(x) + 0.5) * 2.3283064365386963e-10; }

}  // namespace bssrdf
