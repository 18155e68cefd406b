// mc_lanes.h -- the CPU's Monte Carlo tracer: photons in SIMD lanes (host only).
//
// Used by cuda/cpu/mc.cpp (the bssrdf._core bindings). Each OpenMP thread traces 16 photons side
// by side in structure-of-arrays form: the arithmetic of an event (generator, hop, scattering
// direction) runs over all lanes in `omp simd` loops, what branches (interfaces, tallies,
// roulette) lane by lane, through the same functions of bssrdf/mc.h as the GPU's mc_event.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

// glibc's libmvec has vector logf/log (<= 4 ulp); declaring the SIMD variants (before the
// headers that call them) lets the `omp simd` loops below call them (math.h declares them only
// under -ffast-math).
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
extern "C" float logf(float) noexcept __attribute__((simd("notinbranch")));
extern "C" double log(double) noexcept __attribute__((simd("notinbranch")));
#define BSSRDF_MC_X86_V3 1  // an AVX2 + FMA build of the lanes, chosen at run time
#include <immintrin.h>
#else
#define BSSRDF_MC_X86_V3 0
#endif

#include "bssrdf/mc.h"

namespace bssrdf {
namespace cpu {

using bssrdf::u32;
using bssrdf::u64;

#if BSSRDF_MC_X86_V3
// Philox4x32-10 of eight counters (c0[j], 0, i0[j], i1[j]) under one key in AVX2 registers: the
// numbers of bssrdf::philox4x32_10 (tests compare the two), about twice as fast as what the
// compiler makes of the scalar rounds (32x32 -> 64-bit products of the even and odd lanes).
__attribute__((target("avx2"))) inline void philox8_avx2(const u32* c0, const u32* i0,
                                                                        const u32* i1, u32 k0, u32 k1,
                                                                        u32* o0, u32* o1, u32* o2,
                                                                        u32* o3) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c0));
    __m256i b = _mm256_setzero_si256();
    __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i0));
    __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i1));
    const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
    const __m256i m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
    const __m256i low = _mm256_set1_epi64x(0xffffffffLL);
    for (int round = 0; round < 10; ++round) {
        const __m256i pa_e = _mm256_mul_epu32(a, m0);  // 64-bit products, even 32-bit lanes
        const __m256i pa_o = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m0);  // odd lanes
        const __m256i pc_e = _mm256_mul_epu32(c, m1);
        const __m256i pc_o = _mm256_mul_epu32(_mm256_srli_epi64(c, 32), m1);
        const __m256i lo_a = _mm256_or_si256(_mm256_and_si256(pa_e, low), _mm256_slli_epi64(pa_o, 32));
        const __m256i hi_a = _mm256_or_si256(_mm256_srli_epi64(pa_e, 32), _mm256_andnot_si256(low, pa_o));
        const __m256i lo_c = _mm256_or_si256(_mm256_and_si256(pc_e, low), _mm256_slli_epi64(pc_o, 32));
        const __m256i hi_c = _mm256_or_si256(_mm256_srli_epi64(pc_e, 32), _mm256_andnot_si256(low, pc_o));
        const __m256i na = _mm256_xor_si256(_mm256_xor_si256(hi_c, b), _mm256_set1_epi32(static_cast<int>(k0)));
        const __m256i nc = _mm256_xor_si256(_mm256_xor_si256(hi_a, d), _mm256_set1_epi32(static_cast<int>(k1)));
        b = lo_c;
        d = lo_a;
        a = na;
        c = nc;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o0), a);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o1), b);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o2), c);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o3), d);
}
#endif

// A thread's tallies: n_batches arrays of `size`; begin_photon points `t` at the photon's batch.
struct LocalSink {
    u64* base;
    u64* t;
    u64 n_batches;
    int size;
    void begin_photon(u64 index) { t = base + static_cast<std::size_t>(index % n_batches) * size; }
    void add(int i, u64 v) { t[i] += v; }
};

// A launch's photons as work items shared by the threads: item k is a chunk of one batch's
// photons (indices i0, i0 + n_batches, ...). Threads take items in order from an atomic counter;
// a thread's lanes take photons from its current item and fetch the next item when it runs out,
// so lanes drain (wait for their slowest photon) once per launch, not once per chunk.
struct WorkQueue {
    u64 first, count, n_batches;
    long long chunk, chunks_per_batch, n_items;
    std::atomic<long long> next_item{0};

    // the photons of item `item`: first index, number, batch; false when the item is empty
    bool item(long long it, u64& i0, u64& m, u64& batch) const {
        batch = static_cast<u64>(it / chunks_per_batch);
        const u64 k0 = static_cast<u64>((it % chunks_per_batch) * chunk);
        const u64 n_b = bssrdf::mc::batch_count(first, count, batch, n_batches);
        if (k0 >= n_b) return false;
        m = n_b - k0 < static_cast<u64>(chunk) ? n_b - k0 : static_cast<u64>(chunk);
        i0 = bssrdf::mc::batch_first(first, batch, n_batches) + k0 * n_batches;
        return true;
    }
};

// A thread's cursor in the queue: the next photon (index and batch), fetching items as needed.
struct Cursor {
    WorkQueue* q;
    u64 i0 = 0, m = 0, k = 0, batch = 0;
    bool next(u64& index, u64& b) {
        while (k >= m) {
            const long long it = q->next_item.fetch_add(1, std::memory_order_relaxed);
            if (it >= q->n_items) return false;
            k = 0;
            if (!q->item(it, i0, m, batch)) m = 0;
        }
        index = i0 + k++ * q->n_batches;
        b = batch;
        return true;
    }
};

// Photons i0, i0 + stride, ..., (count of them), for mc_trace_lane on the CPU.
struct StrideSource {
    u64 i0, stride, count, k;
    bool next(u64& index) {
        if (k >= count) return false;
        index = i0 + k++ * stride;
        return true;
    }
};


// W photons traced side by side, one event per loop trip, in structure-of-arrays form: the
// arithmetic of an event (generator, hop, scattering direction) runs over all lanes in SIMD
// loops, what branches (interfaces, tallies, roulette) lane by lane. Each lane performs exactly
// the steps of bssrdf::mc::mc_event, with the same functions and the same random numbers, so the
// photons are those of the GPU and of mc_trace_lane; only rounding differs (vector logf).
template <class T, int W> struct Lanes {
    // photon state
    T x[W], y[W], z[W], ux[W], uy[W], uz[W], w[W], sleft[W], path[W];
    u32 idx0[W], idx1[W], event[W];
    u64 absorbed[W];
    int batch[W];
    int layer[W], n_scatter[W], alive[W];
    // the lane's layer, copied on entry
    T mu_t[W], inv_mu_t[W], albedo[W], g[W], z0[W], z1[W];
    // per event
    T u[4][W], hop[W], d_wall[W], h_sleft[W], z_wall[W], nux[W], nuy[W], nuz[W];
    int hit[W], cut[W];

    void set_layer(int j, const bssrdf::mc::Setup<T>& s) {
        const bssrdf::mc::Layer<T>& L = s.layer(layer[j]);  // layer -1: above a rough top
        mu_t[j] = L.mu_t;
        inv_mu_t[j] = L.inv_mu_t;
        albedo[j] = L.albedo;
        g[j] = L.g;
        z0[j] = L.z[0];
        z1[j] = L.z[1];
    }

    void load(int j, const bssrdf::mc::Photon<T>& p, const bssrdf::mc::Setup<T>& s) {
        x[j] = p.x; y[j] = p.y; z[j] = p.z;
        ux[j] = p.ux; uy[j] = p.uy; uz[j] = p.uz;
        w[j] = p.w; sleft[j] = p.sleft; path[j] = p.path;
        idx0[j] = static_cast<u32>(p.index);
        idx1[j] = static_cast<u32>(p.index >> 32);
        event[j] = p.event;
        absorbed[j] = p.absorbed;
        layer[j] = p.layer; n_scatter[j] = p.n_scatter; alive[j] = p.alive;
        set_layer(j, s);
    }

    // after a scalar step on photon(j): its state back into lane j (and its new layer's values)
    void store(int j, const bssrdf::mc::Photon<T>& p, const bssrdf::mc::Setup<T>& s) {
        x[j] = p.x; y[j] = p.y; z[j] = p.z;
        ux[j] = p.ux; uy[j] = p.uy; uz[j] = p.uz;
        w[j] = p.w;
        n_scatter[j] = p.n_scatter;
        alive[j] = p.alive;
        absorbed[j] = p.absorbed;
        if (p.alive && p.layer != layer[j]) {
            layer[j] = p.layer;
            set_layer(j, s);
        }
    }

    bssrdf::mc::Photon<T> photon(int j) const {
        bssrdf::mc::Photon<T> p;
        p.x = x[j]; p.y = y[j]; p.z = z[j];
        p.ux = ux[j]; p.uy = uy[j]; p.uz = uz[j];
        p.w = w[j]; p.sleft = sleft[j]; p.path = path[j];
        p.index = static_cast<u64>(idx1[j]) << 32 | idx0[j];
        p.event = event[j];
        p.absorbed = absorbed[j];
        p.layer = layer[j]; p.n_scatter = n_scatter[j]; p.alive = alive[j] != 0;
        return p;
    }
};

// ROUGH = false: a build without the rough-interface step, for runs with no rough interface
// (bssrdf::mc::any_rough); it runs the smooth steps as they were compiled before rough interfaces
// existed, at their speed.
template <class T, int W, bool V3, bool ROUGH>
__attribute__((always_inline)) inline u64 trace_lanes_body(const bssrdf::mc::Setup<T>& s, u64 seed,
                                                            Cursor& work, LocalSink& sink) {
    using namespace bssrdf::mc;
    const bssrdf::PhiloxKey key = bssrdf::PhiloxKey::of(seed);
    const T max_path = s.max_path;
    Lanes<T, W> L;
    u64 events = 0;
    int n_alive = 0;
    for (int j = 0; j < W; ++j) {
        Photon<T> p;
        u64 index = 0, b = 0;
        if (work.next(index, b)) {
            mc_launch(p, s, index);
            ++n_alive;
        } else {
            mc_launch(p, s, 0);  // an idle lane: defined values, never tallied
            p.alive = false;
        }
        L.load(j, p, s);
        L.batch[j] = static_cast<int>(b);
    }
    while (n_alive > 0) {
        // 1. one Philox block per lane (bssrdf::mc::next_draw)
#if BSSRDF_MC_X86_V3
        if constexpr (V3) {
            static_assert(W % 8 == 0, "the AVX2 generator takes lanes eight at a time");
            for (int h = 0; h < W; h += 8) {
                u32 o[4][8];
                philox8_avx2(L.event + h, L.idx0 + h, L.idx1 + h, key.k0, key.k1, o[0], o[1], o[2], o[3]);
#pragma omp simd
                for (int j = 0; j < 8; ++j) {
                    L.event[h + j] += 1;
                    L.u[0][h + j] = bssrdf::u01_open(o[0][j], T(0));
                    L.u[1][h + j] = bssrdf::u01_open(o[1][j], T(0));
                    L.u[2][h + j] = bssrdf::u01_open(o[2][j], T(0));
                    L.u[3][h + j] = bssrdf::u01_open(o[3][j], T(0));
                }
            }
        } else
#endif
        {
#pragma omp simd
            for (int j = 0; j < W; ++j) {
                const bssrdf::U32x4 r = bssrdf::philox4x32_10(L.event[j], 0u, L.idx0[j], L.idx1[j], key.k0, key.k1);
                L.event[j] += 1;
                L.u[0][j] = bssrdf::u01_open(r.v[0], T(0));
                L.u[1][j] = bssrdf::u01_open(r.v[1], T(0));
                L.u[2][j] = bssrdf::u01_open(r.v[2], T(0));
                L.u[3][j] = bssrdf::u01_open(r.v[3], T(0));
            }
        }
        // 2. the hop (plan_hop) and the scattering an interaction would bring
#pragma omp simd
        for (int j = 0; j < W; ++j) {
            const T zw = L.uz[j] > T(0) ? L.z1[j] : L.z0[j];
            const Hop<T> h = plan_hop(L.z[j], L.uz[j], zw, L.sleft[j], L.u[0][j], L.mu_t[j], L.inv_mu_t[j]);
            L.z_wall[j] = zw;
            L.hop[j] = h.hop;
            L.d_wall[j] = h.d_wall;
            L.h_sleft[j] = h.sleft;
            L.hit[j] = h.hit ? 1 : 0;
            L.cut[j] = hop_is_cut(L.path[j], h.hop, max_path) ? 1 : 0;
        }
#pragma omp simd
        for (int j = 0; j < W; ++j) {
            const Dir<T> d = scatter_direction(L.ux[j], L.uy[j], L.uz[j], sample_hg(L.g[j], L.u[1][j]), L.u[2][j]);
            L.nux[j] = d.x;
            L.nuy[j] = d.y;
            L.nuz[j] = d.z;
        }
        // 3. the move (as in mc_event), for lanes whose path is not cut
#pragma omp simd
        for (int j = 0; j < W; ++j) {
            const T hop = L.cut[j] ? T(0) : L.hop[j];
            L.path[j] += hop;
            L.x[j] += hop * L.ux[j];
            L.y[j] += hop * L.uy[j];
            L.z[j] = L.cut[j] ? L.z[j] : (L.hit[j] ? L.z_wall[j] : L.z[j] + hop * L.uz[j]);
            const T rest = bssrdf::b_max(T(0), L.h_sleft[j] - L.d_wall[j] * L.mu_t[j]);
            L.sleft[j] = L.cut[j] ? L.sleft[j] : (L.hit[j] ? rest : T(0));
        }
        // 4. what happens at the end of the hop, lane by lane
        for (int j = 0; j < W; ++j) {
            if (!L.alive[j]) continue;
            sink.t = sink.base + static_cast<std::size_t>(L.batch[j]) * sink.size;
            Photon<T> p = L.photon(j);
            if (L.cut[j]) {
                cut_path(p, s, sink);
            } else if (L.hit[j]) {
                cross_interface<T, LocalSink, ROUGH>(p, s, L.u[1][j], L.u[2][j], L.u[3][j], sink);
            } else {  // the interaction of mc_event, with the direction from step 2
                deposit(p, s, p.w * L.albedo[j], sink);
                p.ux = L.nux[j];
                p.uy = L.nuy[j];
                p.uz = L.nuz[j];
                roulette(p, s, L.u[3][j], sink);
                ++events;
            }
            L.store(j, p, s);
            if (!L.alive[j]) {
                u64 index, b;
                if (work.next(index, b)) {
                    Photon<T> fresh;
                    mc_launch(fresh, s, index);
                    L.load(j, fresh, s);
                    L.batch[j] = static_cast<int>(b);
                } else {
                    --n_alive;
                }
            }
        }
    }
    return events;
}

#if BSSRDF_MC_X86_V3
// The lanes compiled for x86-64-v3 (AVX2, FMA): vector loops 8 floats wide, AVX2 generator.
template <class T, int W, bool ROUGH>
__attribute__((target("arch=x86-64-v3"))) u64 trace_lanes_v3(const bssrdf::mc::Setup<T>& s, u64 seed,
                                                             Cursor& work, LocalSink& sink) {
    return trace_lanes_body<T, W, true, ROUGH>(s, seed, work, sink);
}
#endif

// The lanes for any x86-64 (SSE2) or other CPU.
template <class T, int W, bool ROUGH>
u64 trace_lanes_generic(const bssrdf::mc::Setup<T>& s, u64 seed, Cursor& work, LocalSink& sink) {
    return trace_lanes_body<T, W, false, ROUGH>(s, seed, work, sink);
}

// Trace the photons `work` hands out in W lanes; returns the number of interactions. Picks the
// x86-64-v3 build where the CPU has AVX2 and FMA (unless `generic`), and the build without the
// rough-interface step where no interface is rough. All give the same photons (the same random
// numbers; only the vector log's rounding may differ).
template <class T, int W>
u64 trace_lanes(const bssrdf::mc::Setup<T>& s, u64 seed, Cursor& work, LocalSink& sink,
                bool generic = false) {
    const bool rough = bssrdf::mc::any_rough(s);
#if BSSRDF_MC_X86_V3
    static const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (v3 && !generic) {
        return rough ? trace_lanes_v3<T, W, true>(s, seed, work, sink)
                     : trace_lanes_v3<T, W, false>(s, seed, work, sink);
    }
#else
    (void)generic;
#endif
    return rough ? trace_lanes_generic<T, W, true>(s, seed, work, sink)
                 : trace_lanes_generic<T, W, false>(s, seed, work, sink);
}

}  // namespace cpu
}  // namespace bssrdf
