// bssrdf/dipole.h -- the classical dipole diffusion profile of a semi-infinite medium.
//
// Jensen, Marschner, Levoy, Hanrahan, "A Practical Model for Subsurface Light Transport",
// SIGGRAPH 2001 (DOI 10.1145/383259.383319), "the dipole diffusion approximation"
// (the paper's section on multiple scattering; section and equation numbers not verified here).
// The profile below uses the signs of the corrected form (appleseed, pbrt-v3, Mitsuba 0.6
// agree); the printed virtual-source term has a misprint, documented by appleseed.
//
// Units: sigma_* in mm^-1, r and depths in mm, R_d in mm^-2 per unit incident power.
#pragma once
#include "common.h"
#include "fresnel.h"

namespace bssrdf {

// Parameters of one dipole, derived from the medium (names as in the paper).
template <class T> struct Dipole {
    T alpha_prime;  // reduced albedo alpha' = sigma_s' / sigma_t'
    T sigma_tr;     // effective transport coefficient sqrt(3 sigma_a sigma_t') [mm^-1]
    T z_r;          // depth of the real source, 1/sigma_t' [mm]
    T z_v;          // height of the virtual source above the surface, z_r + 4 A D [mm]
};

// sigma_tr = sqrt(3 sigma_a sigma_t')  (Jensen et al. 2001, dipole approximation)
template <class T> BSSRDF_HD inline T sigma_tr(T sigma_a, T sigma_t_prime) {
    return b_sqrt(T(3) * sigma_a * sigma_t_prime);
}

//   sigma_a:       absorption coefficient [mm^-1], >= 0
//   sigma_s_prime: reduced scattering coefficient sigma_s (1 - g) [mm^-1], >= 0, sigma_a + sigma_s' > 0
//   eta:           relative index n_medium / n_outside, > 0
template <class T> BSSRDF_HD inline Dipole<T> make_dipole(T sigma_a, T sigma_s_prime, T eta) {
    const T sigma_t_prime = sigma_a + sigma_s_prime;
    const T D = T(1) / (T(3) * sigma_t_prime);  // diffusion coefficient [mm]
    Dipole<T> p;
    p.alpha_prime = sigma_s_prime / sigma_t_prime;
    p.sigma_tr = sigma_tr(sigma_a, sigma_t_prime);
    p.z_r = T(1) / sigma_t_prime;
    p.z_v = p.z_r + T(4) * A(eta) * D;
    return p;
}

// One source's contribution z (1 + sigma_tr d) e^{-sigma_tr d} / d^3 with d = sqrt(r^2 + z^2).
// z is signed (image sources of the multipole lie on either side); r2 = r^2.
template <class T> BSSRDF_HD inline T source_term(T z, T sigma_tr, T r2) {
    const T d = b_sqrt(r2 + z * z);
    return z * (T(1) + sigma_tr * d) * b_exp(-sigma_tr * d) / (d * d * d);
}

// Diffuse reflectance profile R_d(r) [mm^-2] (Jensen et al. 2001, dipole approximation):
//   R_d(r) = alpha'/(4 pi) [ z_r (1 + sigma_tr d_r) e^{-sigma_tr d_r} / d_r^3
//                          + z_v (1 + sigma_tr d_v) e^{-sigma_tr d_v} / d_v^3 ]
template <class T> BSSRDF_HD inline T R_d(const Dipole<T>& p, T r) {
    const T r2 = r * r;
    return p.alpha_prime * Constants<T>::inv_4pi *
           (source_term(p.z_r, p.sigma_tr, r2) + source_term(p.z_v, p.sigma_tr, r2));
}

// Total diffuse reflectance, the closed-form integral of 2 pi r R_d(r) over the plane
// (Jensen et al. 2001, total diffuse reflectance of the dipole):
//   R_d = (alpha'/2) (1 + e^{-(4/3) A sqrt(3(1 - alpha'))}) e^{-sqrt(3(1 - alpha'))}
template <class T> BSSRDF_HD inline T total_R_d(T alpha_prime, T eta) {
    const T s = b_sqrt(T(3) * (T(1) - alpha_prime));
    return T(0.5) * alpha_prime * (T(1) + b_exp(-T(4) / T(3) * A(eta) * s)) * b_exp(-s);
}

}  // namespace bssrdf
