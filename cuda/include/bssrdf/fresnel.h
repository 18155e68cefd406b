// bssrdf/fresnel.h -- Fresnel terms of a smooth dielectric boundary.
//
// eta conventions (as in the papers): for the diffuse terms F_dr and A, `eta` is the relative
// index of the scattering medium over its neighbour, eta = n_medium / n_outside.
// For the directional reflectance F_r, `eta` is n_transmitted / n_incident.
#pragma once
#include "common.h"

namespace bssrdf {

// Unpolarised Fresnel reflectance of a smooth dielectric interface.
//   cos_i: cosine of the angle of incidence, in [0, 1]
//   eta:   n_transmitted / n_incident
// Returns 1 under total internal reflection.
template <class T> BSSRDF_HD inline T F_r(T cos_i, T eta) {
    const T sin2_t = (T(1) - cos_i * cos_i) / (eta * eta);
    if (sin2_t >= T(1)) return T(1);
    const T cos_t = b_sqrt(T(1) - sin2_t);
    const T r_s = (cos_i - eta * cos_t) / (cos_i + eta * cos_t);
    const T r_p = (eta * cos_i - cos_t) / (eta * cos_i + cos_t);
    return T(0.5) * (r_s * r_s + r_p * r_p);
}

// Diffuse Fresnel reflectance: the cosine-weighted hemispherical average of F_r for light
// inside the medium meeting its boundary, as a polynomial fit in eta = n_medium / n_outside.
//   eta >= 1: Egan & Hilgeman 1979 fit, quoted by Jensen et al. 2001:
//             F_dr = -1.440/eta^2 + 0.710/eta + 0.668 + 0.0636 eta
//   eta <  1: the fit used for a medium less dense than its neighbour (Donner's thesis, 2006):
//             F_dr = -0.4399 + 0.7099/eta - 0.3319/eta^2 + 0.0636/eta^3
// bssrdf.fresnel.F_dr_exact integrates F_r numerically; the tests bound the fits' error.
template <class T> BSSRDF_HD inline T F_dr(T eta) {
    if (eta >= T(1)) {
        return T(-1.440) / (eta * eta) + T(0.710) / eta + T(0.668) + T(0.0636) * eta;
    }
    const T inv = T(1) / eta;
    return T(-0.4399) + inv * (T(0.7099) + inv * (T(-0.3319) + inv * T(0.0636)));
}

// Boundary mismatch term A = (1 + F_dr) / (1 - F_dr) (Jensen et al. 2001;
// Donner & Jensen 2005). The extrapolation distance is z_b = 2 A D.
template <class T> BSSRDF_HD inline T A(T eta) {
    const T f = F_dr(eta);
    return (T(1) + f) / (T(1) - f);
}

}  // namespace bssrdf
