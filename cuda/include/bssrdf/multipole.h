// bssrdf/multipole.h -- the multipole diffusion profiles of a finite slab.
//
// Donner & Jensen, "Light Diffusion in Multi-Layered Translucent Materials", SIGGRAPH 2005
// (DOI 10.1145/1073204.1073308), the multipole model of thin slabs, with the boundary
// of each face set by its own relative index (the paper's index-mismatch extension).
//
// Slab 0 <= z <= d, light enters at z = 0. For i = -n..n (i = 0 is Jensen's dipole):
//   L       = d + z_b0 + z_bd                  (z_b0 = 2 A(eta_top) D, z_bd = 2 A(eta_bottom) D)
//   z_{r,i} = 2 i L + z_0,  z_{v,i} = 2 i L - z_0 - 2 z_b0   (signed depths)
//   R(r) = alpha'/(4 pi) sum_i [ S(z_{r,i}) - S(z_{v,i}) ]
//   T(r) = alpha'/(4 pi) sum_i [ S(d - z_{r,i}) - S(d - z_{v,i}) ]
// with S(z) = z (1 + sigma_tr d) e^{-sigma_tr d} / d^3, d = sqrt(r^2 + z^2) (dipole.h).
//
// Source depth z_0: the paper puts the real source at z_0 = l = 1/sigma_t'. When the slab is
// thinner than 2 l this is unphysical: at d = l the source sits on the bottom face and T(r)
// near r = 0 diverges like 1/(d - l)^2 (+1366 mm^-2 at d = 1.01 l, -1365 at 0.99 l for
// sigma_s' 1.3, sigma_a 0.02 mm^-1) and turns negative for d < l. bssrdf's remedy is to clamp
// the source into the slab, z_0 = min(l, d/2): continuous in d, unchanged for d >= 2 l, and
// equal to the mean depth of first interaction in the thin-slab limit (d/2). The Python layer
// warns whenever the clamp is active.
//
// Two representations of the same series. The image sum above converges quickly near the
// beam but is ill-conditioned far from it: for r >> L the slab profile decays like
// e^{-kappa_1 r}, much faster than each dipole (e^{-sigma_tr r}), so the sum cancels (a factor
// ~1e6 at r = 30 mm in 3 mm of marble). The same Dirichlet problem (fluence zero on the
// extrapolated boundaries z = -z_b0 and z = d + z_bd, W = L apart) expanded in the slab's modes
// sin(k_n (z + z_b0)), k_n = n pi / L, gives, with kappa_n = sqrt(sigma_tr^2 + k_n^2),
// zeta_0 = z_0 + z_b0 and K_0 the modified Bessel function,
//   R(r) = alpha'/(pi L) sum_{n>=1} k_n cos(k_n z_b0) sin(k_n zeta_0) K_0(kappa_n r)
//   T(r) = alpha'/(pi L) sum_{n>=1} (-1)^{n+1} k_n cos(k_n z_bd) sin(k_n zeta_0) K_0(kappa_n r),
// whose terms fall like e^{-(kappa_n - kappa_1) r}: well conditioned and fast far from the beam.
// With `modes` set, r >= multipole_mode_radius() uses the modal sum (terms kept while
// r (kappa_n - kappa_1) <= the K_0 rule's tail, i.e. to the precision of T); nearer radii use
// the image sum with n pairs.
//
// Units: coefficients mm^-1, lengths mm, R and T in mm^-2 per unit incident power.
#pragma once
#include "bessel.h"
#include "common.h"
#include "dipole.h"
#include "fresnel.h"

namespace bssrdf {

template <class T> struct Multipole {
    T alpha_prime;  // reduced albedo
    T sigma_tr;     // effective transport coefficient [mm^-1]
    T d;            // slab thickness [mm]
    T z_0;          // depth of the real source [mm] (l, clamped to d/2 for thin slabs)
    T z_b0;         // extrapolation distance above the top face [mm]
    T z_bd;         // extrapolation distance below the bottom face [mm]
    T L;            // distance between the extrapolated boundaries, d + z_b0 + z_bd [mm]
    int n;          // dipole pairs i = -n..n (2n + 1 dipoles) of the image sum
    int modes;      // nonzero: use the modal sum for r >= multipole_mode_radius()
};

// z_0 = min(l, d/2): see the header comment.
template <class T> BSSRDF_HD inline T multipole_source_depth(T ell, T d) {
    return b_min(ell, T(0.5) * d);
}

//   sigma_a, sigma_s_prime: [mm^-1];  d: thickness [mm] > 0
//   eta_top, eta_bottom: relative indices n_slab / n_above, n_slab / n_below
//   n: number of dipole pairs on each side of the central one (n >= 0)
//   modes: nonzero to evaluate far radii by the modal sum (see above)
template <class T>
BSSRDF_HD inline Multipole<T> make_multipole(T sigma_a, T sigma_s_prime, T d, T eta_top,
                                             T eta_bottom, int n, int modes) {
    const T sigma_t_prime = sigma_a + sigma_s_prime;
    const T D = T(1) / (T(3) * sigma_t_prime);
    Multipole<T> p;
    p.alpha_prime = sigma_s_prime / sigma_t_prime;
    p.sigma_tr = sigma_tr(sigma_a, sigma_t_prime);
    p.d = d;
    p.z_0 = multipole_source_depth(T(1) / sigma_t_prime, d);
    p.z_b0 = T(2) * A(eta_top) * D;
    p.z_bd = T(2) * A(eta_bottom) * D;
    p.L = d + p.z_b0 + p.z_bd;
    p.n = n;
    p.modes = modes;
    return p;
}

// Radius from which the modal sum is used: where the image sum starts to cancel, i.e. where
// the slab profile's decay e^{-kappa_1 r} falls e^2 below a single dipole's e^{-sigma_tr r}:
// r_m = max(L/2, 2 / (kappa_1 - sigma_tr)). Below r_m the images cancel by less than e^2; above
// it the modes fall off at least like e^{-r (kappa_n - kappa_1)} and cancel little either.
// kappa_1 - sigma_tr is computed as (pi/L)^2 / (kappa_1 + sigma_tr), free of cancellation.
template <class T> BSSRDF_HD inline T multipole_mode_radius(const Multipole<T>& p) {
    const T k1 = Constants<T>::pi / p.L;
    const T kappa_1 = b_sqrt(p.sigma_tr * p.sigma_tr + k1 * k1);
    const T gap = k1 * k1 / (kappa_1 + p.sigma_tr);
    return b_max(T(0.5) * p.L, T(2) / gap);
}

// Modal sum for R(r) (transmit == 0) or T(r), r > 0.
template <class T> BSSRDF_HD inline T multipole_modes(const Multipole<T>& p, T r, int transmit) {
    const T pi = Constants<T>::pi;
    const T zeta_0 = p.z_0 + p.z_b0;
    const T s2 = p.sigma_tr * p.sigma_tr;
    const T kappa_1 = b_sqrt(s2 + sqr(pi / p.L));
    T sum = T(0);
    for (int n = 1; n < (1 << 24); ++n) {
        const T k = T(n) * pi / p.L;
        const T kappa = b_sqrt(s2 + k * k);
        if (n > 1 && r * (kappa - kappa_1) > K0Rule<T>::tail) break;
        const T face = transmit ? ((n & 1) ? T(1) : T(-1)) * b_cos(k * p.z_bd) : b_cos(k * p.z_b0);
        sum += k * face * b_sin(k * zeta_0) * bessel_K0(kappa * r);
    }
    return p.alpha_prime / (pi * p.L) * sum;
}

// Dipole i of the image sum without the alpha'/(4 pi) factor: S(z_r,i) - S(z_v,i) for R, or
// S(d - z_r,i) - S(d - z_v,i) for T (transmit != 0). r2 = r^2.
template <class T>
BSSRDF_HD inline T multipole_dipole(const Multipole<T>& p, int i, T r2, int transmit) {
    const T shift = T(2 * i) * p.L;
    T z_r = shift + p.z_0;
    T z_v = shift - p.z_0 - T(2) * p.z_b0;
    if (transmit) {
        z_r = p.d - z_r;
        z_v = p.d - z_v;
    }
    return source_term(z_r, p.sigma_tr, r2) - source_term(z_v, p.sigma_tr, r2);
}

// Image sum for R(r) (transmit == 0) or T(r) [mm^-2], dipoles i = -n..n in that order.
template <class T>
BSSRDF_HD inline T multipole_images(const Multipole<T>& p, T r, int transmit) {
    const T r2 = r * r;
    T sum = T(0);
    for (int i = -p.n; i <= p.n; ++i) sum += multipole_dipole(p, i, r2, transmit);
    return p.alpha_prime * Constants<T>::inv_4pi * sum;
}

// R(r) [mm^-2]: the modal sum where enabled and r >= multipole_mode_radius, else the image sum.
template <class T> BSSRDF_HD inline T multipole_R(const Multipole<T>& p, T r) {
    return (p.modes && r >= multipole_mode_radius(p)) ? multipole_modes(p, r, 0)
                                                      : multipole_images(p, r, 0);
}

// T(r) [mm^-2]: the modal sum where enabled and r >= multipole_mode_radius, else the image sum.
template <class T> BSSRDF_HD inline T multipole_T(const Multipole<T>& p, T r) {
    return (p.modes && r >= multipole_mode_radius(p)) ? multipole_modes(p, r, 1)
                                                      : multipole_images(p, r, 1);
}

}  // namespace bssrdf
