"""Fresnel terms of a smooth dielectric boundary (NumPy float64 reference).

The same formulas are compiled for the CPU extension and the GPU from
``cuda/include/bssrdf/fresnel.h``; this module is the reference they are tested against and
the home of the numerically exact diffuse reflectance that checks the polynomial fits.

Conventions: for the diffuse terms ``eta`` is the relative index n_medium / n_outside; for
:func:`F_r` it is n_transmitted / n_incident.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

from ._validate import as_float_array, check_range

__all__ = ["F_r", "F_t", "F_dr", "A", "F_dr_exact", "F_dr_fit_error"]


def F_r(cos_i, eta):
    """Unpolarised Fresnel reflectance of a smooth dielectric interface.

    Parameters
    ----------
    cos_i : array_like
        Cosine of the angle of incidence, in [0, 1].
    eta : array_like
        n_transmitted / n_incident, > 0.

    Returns
    -------
    ndarray
        Reflectance in [0, 1]; 1 under total internal reflection.
    """
    cos_i = np.asarray(cos_i, dtype=np.float64)
    eta = np.asarray(eta, dtype=np.float64)
    sin2_t = (1.0 - cos_i**2) / eta**2
    tir = sin2_t >= 1.0
    cos_t = np.sqrt(np.where(tir, 0.0, 1.0 - sin2_t))
    r_s = (cos_i - eta * cos_t) / (cos_i + eta * cos_t)
    r_p = (eta * cos_i - cos_t) / (eta * cos_i + cos_t)
    return np.where(tir, 1.0, 0.5 * (r_s**2 + r_p**2))


def F_t(cos_i, eta):
    """Fresnel transmittance 1 − :func:`F_r`."""
    return 1.0 - F_r(cos_i, eta)


def F_dr(eta):
    """Diffuse Fresnel reflectance (polynomial fits), η = n_medium / n_outside.

    η ≥ 1: Egan & Hilgeman's fit quoted by Jensen et al. 2001,
    ``F_dr = −1.440/η² + 0.710/η + 0.668 + 0.0636 η``.
    η < 1: ``F_dr = −0.4399 + 0.7099/η − 0.3319/η² + 0.0636/η³`` (Donner's thesis, 2006).

    The fits model the cosine-weighted average of F_r for light inside the medium; see
    :func:`F_dr_exact` and :func:`F_dr_fit_error` for their accuracy.

    Parameters
    ----------
    eta : float or array_like
        Relative index, > 0.
    """
    eta = check_range("eta", as_float_array("eta", eta), lo=0.0, lo_open=True)
    inv = 1.0 / eta
    high = -1.440 * inv**2 + 0.710 * inv + 0.668 + 0.0636 * eta
    low = -0.4399 + 0.7099 * inv - 0.3319 * inv**2 + 0.0636 * inv**3
    return np.where(eta >= 1.0, high, low)


def A(eta):
    """Boundary mismatch term A = (1 + F_dr)/(1 − F_dr) (Jensen et al. 2001).

    The extrapolated-boundary distance of the diffusion models is z_b = 2AD.
    """
    f = F_dr(eta)
    return (1.0 + f) / (1.0 - f)


def F_dr_exact(eta, *, epsabs: float = 1e-13, epsrel: float = 1e-12):
    """Diffuse Fresnel reflectance by numerical integration of the Fresnel equations.

    ``F_dr(η) = 2 ∫₀¹ F_r(μ; 1/η) μ dμ``: the cosine-weighted hemispherical average of the
    reflectance seen by light inside a medium of relative index η = n_medium / n_outside
    (μ the cosine inside the medium; total internal reflection for μ below the critical
    cosine when η > 1). Adaptive quadrature (QUADPACK) with a break point at the critical
    cosine, absolute accuracy ≈ ``epsabs``.

    Parameters
    ----------
    eta : float or array_like
        Relative index, > 0.
    """
    eta = check_range("eta", as_float_array("eta", eta), lo=0.0, lo_open=True)

    def one(e: float) -> float:
        if e == 1.0:
            return 0.0
        integrand = lambda mu: 2.0 * mu * float(F_r(mu, 1.0 / e))  # noqa: E731
        if e > 1.0:
            mu_c = np.sqrt(1.0 - 1.0 / e**2)
            tir = mu_c**2  # 2 ∫_0^{μc} μ dμ: total internal reflection
            val, _ = integrate.quad(integrand, mu_c, 1.0, epsabs=epsabs, epsrel=epsrel, limit=200)
            return tir + val
        val, _ = integrate.quad(integrand, 0.0, 1.0, epsabs=epsabs, epsrel=epsrel, limit=200)
        return val

    out = np.vectorize(one, otypes=[np.float64])(eta)
    return out if out.ndim else np.float64(out)


def F_dr_fit_error(eta):
    """Signed error of the polynomial fit: ``F_dr(eta) − F_dr_exact(eta)``."""
    return F_dr(eta) - F_dr_exact(eta)
