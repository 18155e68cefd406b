"""The dipole diffusion profile of a semi-infinite medium (Jensen et al. 2001).

Jensen, Marschner, Levoy, Hanrahan, *A Practical Model for Subsurface Light Transport*,
SIGGRAPH 2001 (DOI 10.1145/383259.383319): the multiple-scattering term approximated by a
real source at depth z_r = 1/σ't and a negative virtual source at height z_v = z_r + 4AD above
the surface, which together satisfy the extrapolated boundary condition of diffusion theory.

Units: σ in mm⁻¹, r in mm, R_d in mm⁻² per unit incident power.

The kernels compiled for the CPU and GPU live in ``cuda/include/bssrdf/dipole.h``; the NumPy
functions below are the float64 reference.
"""

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..fresnel import A
from ..medium import Medium
from ._common import channel_vector, check_medium, out_shape, radii, relative_eta

__all__ = ["R_d", "total_R_d", "z_r", "z_v", "R_d_reference"]


def z_r(medium: Medium) -> np.ndarray:
    """Depth of the real source, z_r = ℓ = 1/σ't [mm]."""
    return medium.mfp


def z_v(medium: Medium, n_outside=1.0) -> np.ndarray:
    """Height of the virtual source above the surface, z_v = z_r + 4AD [mm]."""
    eta = relative_eta(check_medium(medium), n_outside)
    return medium.mfp + 4.0 * A(eta) * medium.D


def R_d_reference(r, sigma_a, sigma_s_prime, eta):
    """NumPy float64 R_d(r) [mm⁻²] for flat radii ``r`` (N,) and channel arrays (C,) → (N, C).

    R_d(r) = α'/(4π) [ z_r (1 + σtr d_r) e^{−σtr d_r}/d_r³ + z_v (1 + σtr d_v) e^{−σtr d_v}/d_v³ ],
    d_r = sqrt(r² + z_r²), d_v = sqrt(r² + z_v²)  (Jensen et al. 2001, the dipole; signs as
    corrected in later implementations, see physics notes in the README).
    """
    r = np.asarray(r, dtype=np.float64)[:, None]
    sigma_t_prime = sigma_a + sigma_s_prime
    alpha_prime = sigma_s_prime / sigma_t_prime
    sigma_tr = np.sqrt(3.0 * sigma_a * sigma_t_prime)
    D = 1.0 / (3.0 * sigma_t_prime)
    zr = 1.0 / sigma_t_prime
    zv = zr + 4.0 * A(eta) * D

    def source(z):
        d = np.sqrt(r**2 + z**2)
        return z * (1.0 + sigma_tr * d) * np.exp(-sigma_tr * d) / d**3

    return alpha_prime / (4.0 * np.pi) * (source(zr) + source(zv))


def R_d(r, medium: Medium, n_outside=1.0, backend: str = "auto"):
    """Diffuse reflectance profile R_d(r) of the dipole [mm⁻²].

    Radiant exitance at distance ``r`` from a normally incident pencil beam of unit power on a
    semi-infinite medium, multiple scattering only.

    Parameters
    ----------
    r : array_like (NumPy or CuPy)
        Distances from the point of incidence [mm], finite and ≥ 0.
    medium : Medium
        The material; needs σ't > 0.
    n_outside : float or array_like, default 1.0
        Refractive index of the neighbouring medium; η = medium.eta / n_outside.
    backend : {"auto", "cuda", "cpu", "numpy"}, default "auto"
        Where to compute (see :mod:`bssrdf.backend`).

    Returns
    -------
    Array of shape ``r.shape + medium.shape``, same kind (NumPy/CuPy) as ``r``; float32 if
    ``r`` is float32, else float64.
    """
    check_medium(medium)
    r = radii(r)
    eta = relative_eta(medium, n_outside)
    channels = [channel_vector(medium.sigma_a), channel_vector(medium.sigma_s_prime),
                channel_vector(eta)]
    return _backend.evaluate("dipole_R_d", r, channels, reference=R_d_reference,
                             out_shape=out_shape(r, medium), backend=backend)


def total_R_d(medium: Medium, n_outside=1.0) -> np.ndarray:
    """Total diffuse reflectance of the dipole, closed form (Jensen et al. 2001).

    R_d = (α'/2)(1 + e^{−(4/3)A sqrt(3(1−α'))}) e^{−sqrt(3(1−α'))}, which equals
    ∫₀^∞ 2πr R_d(r) dr exactly. Returns shape ``medium.shape``.
    """
    check_medium(medium)
    eta = relative_eta(medium, n_outside)
    ap = medium.albedo_prime
    s = np.sqrt(3.0 * (1.0 - ap))
    return 0.5 * ap * (1.0 + np.exp(-4.0 / 3.0 * A(eta) * s)) * np.exp(-s)
