// bssrdf/profile_kernels.h -- element-wise evaluation of the profiles over arrays.
//
// One function per profile computes output element `idx` of an (n_r, n_ch) C-ordered array:
// radius r[idx / n_ch] for channel idx % n_ch. The GPU kernels (cuda/profiles.cu) call these;
// the CPU extension (cuda/cpu/module.cpp) calls the same physics functions (R_d,
// multipole_dipole/multipole_modes, single_R_1) in blocked, vectorised loops, summing in the
// same order, so the two backends run the same arithmetic. Per-channel material parameters are
// plain arrays of length n_ch; derived quantities are recomputed per element (a few flops next
// to the exps).
#pragma once
#include "common.h"
#include "dipole.h"
#include "multipole.h"
#include "single.h"

namespace bssrdf {

struct ElementIndex {
    long long ir;
    int c;
};

BSSRDF_HD inline ElementIndex split_index(long long idx, int n_ch) {
    ElementIndex e;
    if (n_ch == 1) {
        e.ir = idx;
        e.c = 0;
    } else {
        e.ir = idx / n_ch;
        e.c = static_cast<int>(idx - e.ir * n_ch);
    }
    return e;
}

// Dipole R_d(r). Channel arrays: sigma_a, sigma_s_prime [mm^-1], eta (n_medium/n_outside).
template <class T>
BSSRDF_HD inline void dipole_R_d_element(long long idx, const T* r, int n_ch, const T* sigma_a,
                                         const T* sigma_s_prime, const T* eta, T* out) {
    const ElementIndex e = split_index(idx, n_ch);
    const Dipole<T> p = make_dipole(sigma_a[e.c], sigma_s_prime[e.c], eta[e.c]);
    out[idx] = R_d(p, r[e.ir]);
}

// Multipole R(r) (transmit == 0) or T(r) (transmit != 0) of a slab of thickness d [mm]
// with n dipole pairs on each side (and the modal sum for r >= L/2 when `modes` is set).
// eta_top/eta_bottom: n_slab/n_above, n_slab/n_below.
template <class T>
BSSRDF_HD inline void multipole_element(long long idx, const T* r, int n_ch, const T* sigma_a,
                                        const T* sigma_s_prime, const T* eta_top,
                                        const T* eta_bottom, T d, int n, int modes, int transmit,
                                        T* out) {
    const ElementIndex e = split_index(idx, n_ch);
    const Multipole<T> p = make_multipole(sigma_a[e.c], sigma_s_prime[e.c], d, eta_top[e.c],
                                          eta_bottom[e.c], n, modes);
    out[idx] = transmit ? multipole_T(p, r[e.ir]) : multipole_R(p, r[e.ir]);
}

// Single-scattering R_1(r). Channel arrays: sigma_a, sigma_s [mm^-1], g, eta.
// v, w: K Gauss-Legendre nodes and weights on (0, 1).
template <class T>
BSSRDF_HD inline void single_R_1_element(long long idx, const T* r, int n_ch, const T* sigma_a,
                                         const T* sigma_s, const T* g, const T* eta, const T* v,
                                         const T* w, int K, T* out) {
    const ElementIndex e = split_index(idx, n_ch);
    const SingleScatter<T> p = make_single(sigma_a[e.c], sigma_s[e.c], g[e.c], eta[e.c]);
    out[idx] = single_R_1(p, r[e.ir], v, w, K);
}

}  // namespace bssrdf
