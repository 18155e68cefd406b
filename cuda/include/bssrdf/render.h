// bssrdf/render.h -- pass 2 of the two-pass renderer: M(x_o) = sum_i R(|x_o - x_i|) P_i.
//
// Jensen & Buhler, "A Rapid Hierarchical Rendering Technique for Translucent Materials",
// SIGGRAPH 2002 (ACM TOG 21(3)): irradiance samples x_i on the surface carry the power
// P_i = E_t(x_i) A_i [W] that enters there (per channel); the diffuse exitance below the boundary at
// an output point x_o is the sum of R(r) P_i over the samples, r = |x_o - x_i| the Euclidean
// distance [mm], R the radial profile [mm^-2], M in W mm^-2. This header holds the per-pair and
// per-point arithmetic of that sum, written once for
//   * the GPU kernel cuda/render.cu (one thread per output point, samples staged through shared
//     memory in tiles; accumulate_all),
//   * the CPU extension cuda/cpu/render.cpp (uniform grid of cells over the samples, OpenMP over
//     output points; accumulate_within on each run of cells),
//   * renderers that include it.
//
// Profiles (template parameter P), each with lookup(P, r2) -> L and value(P, L, c) -> R in channel c:
//   DipoleSet<T>    the dipole of Jensen et al. 2001 per channel (dipole.h), R_d evaluated from r^2
//                   with R_d's own arithmetic (source_term), no square root of r^2 taken first;
//   RadialTable<T>  a tabulated profile (bssrdf.export.table.ProfileTable, values of R or T on a radius
//                   grid r[0] = 0 < ... < r[n_r - 1] = r_max): linear interpolation in r, 0 beyond
//                   r_max, exactly ProfileTable.evaluate's arithmetic (same interval, same formula).
//                   Its grid is uniform in the stretched variable x(r) = ln(1 + r/r0) + kappa r / 2
//                   (bssrdf/export/table.py, _grid), so the interval of r is found in O(1): the guess
//                   floor(x(r) / dx), corrected by stepping to the interval with r[i] <= r < r[i+1]
//                   (the correction makes the result that of a binary search whatever the rounding of
//                   x(r)). A table whose grid is not of that form is passed with dx = 0: binary search.
// Up to MAX_CHANNELS channels. Templated on T = float or double; no standard header under NVRTC.
// Units: lengths in mm, R in mm^-2, P in W, sums in W mm^-2 (any consistent units work).
#pragma once
#include "common.h"
#include "dipole.h"

#if defined(_OPENMP) && !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
#define BSSRDF_RENDER_SIMD 1
#else
#define BSSRDF_RENDER_SIMD 0
#endif
// Inlined into the caller on a GNU host compiler, so that a caller compiled for AVX2 (target_clones,
// cuda/cpu/render.cpp) vectorises the per-point loops for AVX2 too.
#if defined(__GNUC__) && !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
#define BSSRDF_RENDER_INLINE __attribute__((always_inline))
#else
#define BSSRDF_RENDER_INLINE
#endif

namespace bssrdf {
namespace render {

constexpr int MAX_CHANNELS = 4;

// -- the dipole --------------------------------------------------------------------------------------
// R_d(p, r) of dipole.h, from r^2 [mm^2]: the same two source terms, which only need r^2.
template <class T> BSSRDF_HD inline T R_d_r2(const Dipole<T>& p, T r2) {
    return p.alpha_prime * Constants<T>::inv_4pi *
           (source_term(p.z_r, p.sigma_tr, r2) + source_term(p.z_v, p.sigma_tr, r2));
}

template <class T> struct DipoleSet {
    Dipole<T> ch[MAX_CHANNELS];
    int n_ch;
};

// Channel arrays of length n_ch <= MAX_CHANNELS: sigma_a, sigma_s' [mm^-1], eta = n_medium/n_outside.
template <class T>
BSSRDF_HD inline DipoleSet<T> make_dipole_set(const T* sigma_a, const T* sigma_s_prime, const T* eta,
                                              int n_ch) {
    DipoleSet<T> s;
    s.n_ch = n_ch;
    for (int c = 0; c < MAX_CHANNELS; ++c) {
        const int k = c < n_ch ? c : 0;
        s.ch[c] = make_dipole(sigma_a[k], sigma_s_prime[k], eta[k]);
    }
    return s;
}

template <class T> struct DipoleLookup {
    T r2;
};

template <class T> BSSRDF_HD inline DipoleLookup<T> lookup(const DipoleSet<T>&, T r2) {
    DipoleLookup<T> l;
    l.r2 = r2;
    return l;
}

template <class T> BSSRDF_HD inline T value(const DipoleSet<T>& s, const DipoleLookup<T>& l, int c) {
    return R_d_r2(s.ch[c], l.r2);
}

// -- a table -------------------------------------------------------------------------------------
template <class T> struct RadialTable {
    const T* r;       // n_r radii, increasing, r[0] = 0, r[n_r - 1] = r_max
    const T* values;  // n_r * n_ch values, row-major (radius-major), as ProfileTable.R / .T
    int n_r;          // >= 2
    int n_ch;         // >= 1
    T r_max;          // r[n_r - 1]
    T inv_r0;         // 1 / r0 of x(r) = ln(1 + r/r0) + kappa r / 2
    T half_kappa;     // kappa / 2
    T inv_dx;         // 1 / grid step in x; 0: the grid is not uniform in x, binary search
};

//   r0 [length] > 0, kappa [1/length] >= 0, dx > 0 the grid's step in x (x(r_max) / (n_r - 1)),
//   or dx <= 0 for an arbitrary increasing grid.
template <class T>
BSSRDF_HD inline RadialTable<T> make_radial_table(const T* r, const T* values, int n_r, int n_ch, T r0,
                                                  T kappa, T dx) {
    RadialTable<T> t;
    t.r = r;
    t.values = values;
    t.n_r = n_r;
    t.n_ch = n_ch;
    t.r_max = r[n_r - 1];
    t.inv_r0 = r0 > T(0) ? T(1) / r0 : T(0);
    t.half_kappa = T(0.5) * kappa;
    t.inv_dx = (dx > T(0) && r0 > T(0)) ? T(1) / dx : T(0);
    return t;
}

// The interval i in [0, n_r - 2] with r[i] <= r < r[i+1] (n_r - 2 for r >= r[n_r - 2]): numpy's
// clip(searchsorted(grid, r, side="right") - 1, 0, n_r - 2), as table_interval of table.h.
template <class T> BSSRDF_HD inline int radial_interval(const RadialTable<T>& t, T r) {
    const int last = t.n_r - 2;
    if (t.inv_dx == T(0)) {
        int lo = 0, hi = t.n_r - 1;
        while (hi - lo > 1) {
            const int mid = lo + (hi - lo) / 2;
            if (t.r[mid] <= r) lo = mid;
            else hi = mid;
        }
        return lo;
    }
    const T x = (b_log1p(r * t.inv_r0) + t.half_kappa * r) * t.inv_dx;
    int i = x < T(last) ? static_cast<int>(x) : last;  // x >= 0 for r >= 0
    if (i < 0) i = 0;
    while (i < last && t.r[i + 1] <= r) ++i;
    while (i > 0 && t.r[i] > r) --i;
    return i;
}

template <class T> struct TableLookup {
    int i;     // interval
    T t;       // (r - r[i]) / (r[i+1] - r[i])
    T inside;  // 1 for r <= r_max, 0 beyond (R = 0 there)
};

template <class T> BSSRDF_HD inline TableLookup<T> lookup(const RadialTable<T>& t, T r2) {
    const T r = b_sqrt(r2);
    TableLookup<T> l;
    if (r > t.r_max) {
        l.i = 0;
        l.t = T(0);
        l.inside = T(0);
        return l;
    }
    l.i = radial_interval(t, r);
    const T r0 = t.r[l.i], r1 = t.r[l.i + 1];
    l.t = (r - r0) / (r1 - r0);
    l.inside = T(1);
    return l;
}

// f0 + t (f1 - f0): ProfileTable.evaluate's formula; 0 beyond r_max.
template <class T> BSSRDF_HD inline T value(const RadialTable<T>& t, const TableLookup<T>& l, int c) {
    const T f0 = t.values[l.i * t.n_ch + c], f1 = t.values[(l.i + 1) * t.n_ch + c];
    return l.inside * (f0 + l.t * (f1 - f0));
}

// -- samples and the per-point sums ----------------------------------------------------------------
// Structure of arrays: sample i at (x[i], y[i], z[i]) [mm] with power p[c * p_stride + i] [W] in channel c.
template <class T> struct Samples {
    const T* x;
    const T* y;
    const T* z;
    const T* p;
    long long p_stride;
};

template <class T>
BSSRDF_HD inline Samples<T> make_samples(const T* x, const T* y, const T* z, const T* p, long long p_stride) {
    Samples<T> s;
    s.x = x;
    s.y = y;
    s.z = z;
    s.p = p;
    s.p_stride = p_stride;
    return s;
}

// acc[c] += sum over samples i in [begin, end) of R(|x_o - x_i|) P_i,c, every pair (the GPU's tile
// loop). r^2 = dx dx + dy dy + dz dz, as the NumPy reference sums the squares.
template <int C, class T, class P>
BSSRDF_HD inline void accumulate_all(const P& prof, T x, T y, T z, const Samples<T>& s, long long begin,
                                     long long end, T* acc) {
    for (long long i = begin; i < end; ++i) {
        const T dx = x - s.x[i], dy = y - s.y[i], dz = z - s.z[i];
        const auto l = lookup(prof, dx * dx + dy * dy + dz * dz);
        for (int c = 0; c < C; ++c) acc[c] += value(prof, l, c) * s.p[c * s.p_stride + i];
    }
}

// The same over the samples with r2_min <= r^2 <= r2_max (the truncated sum: r2_min < 0; the far cells of
// the clustered sum: r2_min = r_near^2; every pair: r2_max = inf): blocks of samples are compacted to
// those within reach, whose profile values are then summed per channel in a loop the host compiler
// vectorises (vector exp; the order of the additions differs from accumulate_all's by rounding only).
template <int C, class T, class P>
BSSRDF_HD inline BSSRDF_RENDER_INLINE void accumulate_between(const P& prof, T x, T y, T z, const Samples<T>& s,
                                                              long long begin, long long end, T r2_min, T r2_max,
                                                              T* acc) {
    constexpr int B = 64;
    using L = decltype(lookup(prof, T(0)));
    T r2b[B];
    T pb[C][B];
    L lk[B];
    for (long long b = begin; b < end; b += B) {
        const int m = end - b < B ? static_cast<int>(end - b) : B;
        int n = 0;
        for (int k = 0; k < m; ++k) {
            const T dx = x - s.x[b + k], dy = y - s.y[b + k], dz = z - s.z[b + k];
            const T r2 = dx * dx + dy * dy + dz * dz;
            r2b[n] = r2;
            for (int c = 0; c < C; ++c) pb[c][n] = s.p[c * s.p_stride + b + k];
            n += (r2 >= r2_min) & (r2 <= r2_max) ? 1 : 0;
        }
        for (int k = 0; k < n; ++k) lk[k] = lookup(prof, r2b[k]);
        for (int c = 0; c < C; ++c) {
            T sum = T(0);
#if BSSRDF_RENDER_SIMD
#pragma omp simd reduction(+ : sum)
#endif
            for (int k = 0; k < n; ++k) sum += value(prof, lk[k], c) * pb[c][k];
            acc[c] += sum;
        }
    }
}

template <int C, class T, class P>
BSSRDF_HD inline BSSRDF_RENDER_INLINE void accumulate_within(const P& prof, T x, T y, T z, const Samples<T>& s,
                                                             long long begin, long long end, T r2_max, T* acc) {
    accumulate_between<C>(prof, x, y, z, s, begin, end, T(-1), r2_max, acc);
}

}  // namespace render
}  // namespace bssrdf
