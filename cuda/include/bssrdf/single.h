// bssrdf/single.h -- single scattering of a normally incident pencil beam.
//
// Jensen et al. 2001, the single-scattering term L^(1), evaluated exactly for the
// geometry of a radial profile: a beam enters a semi-infinite medium at the origin along the
// normal (Fresnel transmittance T_in), is scattered once at depth z (probability
// sigma_s e^{-sigma_t z} dz, Henyey-Greenstein phase p), travels the distance
// s = sqrt(r^2 + z^2) to the surface point at radius r (attenuation e^{-sigma_t s}) and leaves
// through the boundary (Fresnel transmittance T_out, zero beyond the critical angle).
// The exitance per unit area and unit incident power [mm^-2] is
//   R_1(r) = T_in int_0^inf sigma_s e^{-sigma_t z} p(-z/s) e^{-sigma_t s} (z/s^3) T_out(z/s) dz.
// Substituting the exit angle theta (cos theta = z/s, z = r cot theta) makes the integrand
// bounded on a finite interval, with (1 + cos theta)/sin theta = cot(theta/2):
//   R_1(r) = (T_in sigma_s / r) int_0^{theta_c} cos(theta) p(-cos theta) T_out(cos theta)
//            exp(-sigma_t r cot(theta/2)) d theta,
// theta_c the critical angle (pi/2 when eta <= 1). Two Gauss-Legendre panels with the same K
// nodes v in (0, 1) (supplied by the caller) resolve the two difficult ends:
//   [theta_c/2, theta_c]: theta = theta_c (1 - v^2/2), which removes the square-root edge of
//                         T_out at the critical angle;
//   (0, theta_c/2]:       theta = (theta_c/2) e^y, y from y_min to 0 linear in v, which resolves
//                         the boundary layer exp(-2 sigma_t r / theta) near grazing-normal
//                         directions at small r; y_min = max(-40, min(-1, ln(theta_min/(theta_c/2))))
//                         with theta_min = sigma_t r / 20, below which the integrand is < e^-40.
// bssrdf.profiles.single states and tests the accuracy. R_1(0) = +inf (a 1/r singularity
// whose integral over the plane is finite).
//
// Units: coefficients mm^-1, r in mm, R_1 in mm^-2.
#pragma once
#include "common.h"
#include "fresnel.h"

namespace bssrdf {

// Henyey-Greenstein phase function [sr^-1], normalised over the sphere.
template <class T> BSSRDF_HD inline T hg_phase(T cos_theta, T g) {
    const T denom = T(1) + g * g - T(2) * g * cos_theta;
    return Constants<T>::inv_4pi * (T(1) - g * g) / (denom * b_sqrt(denom));
}

template <class T> struct SingleScatter {
    T sigma_s;  // scattering coefficient [mm^-1]
    T sigma_t;  // extinction coefficient sigma_a + sigma_s [mm^-1]
    T g;        // HG mean cosine
    T eta;      // n_medium / n_outside
    T T_in;     // Fresnel transmittance at normal incidence
    T theta_c;  // critical angle inside the medium [rad]
};

template <class T>
BSSRDF_HD inline SingleScatter<T> make_single(T sigma_a, T sigma_s, T g, T eta) {
    SingleScatter<T> p;
    p.sigma_s = sigma_s;
    p.sigma_t = sigma_a + sigma_s;
    p.g = g;
    p.eta = eta;
    p.T_in = T(1) - F_r(T(1), eta);
    p.theta_c = eta > T(1) ? b_asin(T(1) / eta) : T(0.5) * Constants<T>::pi;
    return p;
}

// cos(theta) p(-cos theta) T_out(cos theta) exp(log_scale - a cot(theta/2)), a = sigma_t r: the
// angular integrand times the prefactor, folded into the exponent so that float results do not
// underflow before the profile itself does.
template <class T>
BSSRDF_HD inline T single_integrand(const SingleScatter<T>& p, T a, T log_scale, T theta) {
    const T c = b_cos(theta);
    const T s = b_sin(theta);
    const T T_out = T(1) - F_r(c, T(1) / p.eta);
    return c * hg_phase(-c, p.g) * T_out * b_exp(log_scale - a * (T(1) + c) / s);
}

// R_1(r) [mm^-2] with K-point Gauss-Legendre panels: nodes v[k], weights w[k] on (0, 1).
template <class T>
BSSRDF_HD inline T single_R_1(const SingleScatter<T>& p, T r, const T* v, const T* w, int K) {
    if (p.sigma_s <= T(0)) return T(0);
    if (!(r > T(0))) return p.T_in * p.sigma_s / r;  // +inf at r = 0
    const T a = p.sigma_t * r;
    const T log_scale = b_log(p.T_in * p.sigma_s / r);
    const T half = T(0.5) * p.theta_c;
    const T theta_min = a / T(20);
    const T y_min = b_max(T(-40), b_min(T(-1), b_log(theta_min / half)));
    T sum = T(0);
    for (int k = 0; k < K; ++k) {
        const T theta_a = p.theta_c * (T(1) - T(0.5) * v[k] * v[k]);  // upper panel
        sum += w[k] * p.theta_c * v[k] * single_integrand(p, a, log_scale, theta_a);
        const T theta_b = half * b_exp(y_min * (T(1) - v[k]));         // lower panel
        sum += w[k] * (-y_min) * theta_b * single_integrand(p, a, log_scale, theta_b);
    }
    return sum;
}

}  // namespace bssrdf
