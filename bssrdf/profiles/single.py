"""Single scattering of a normally incident pencil beam (Jensen et al. 2001).

Jensen et al. 2001 complete the dipole with the single-scattering term L⁽¹⁾: light refracted
into the medium, scattered exactly once (Henyey–Greenstein phase function) and refracted out.
For the radial profile of a normally incident beam on a semi-infinite medium the term can be
evaluated exactly: a photon scattered at depth z reaches the surface point at radius r after
s = sqrt(r² + z²), leaving at angle θ with cos θ = z/s,

    R_1(r) = T_in ∫₀^∞ σs e^{−σt z} p(−z/s) e^{−σt s} (z/s³) T_out(z/s) dz    [mm⁻²]

with T_in = 1 − F_r(1; η) and T_out(μ) = 1 − F_r(μ; 1/η), zero beyond the critical angle.
With z = r cot θ the integrand is bounded on a finite interval ((1 + cos θ)/sin θ = cot(θ/2)):

    R_1(r) = (T_in σs / r) ∫₀^{θ_c} cos θ p(−cos θ) T_out(cos θ) e^{−σt r cot(θ/2)} dθ,

evaluated by two ``n_nodes``-point Gauss–Legendre panels (default 48): θ = θ_c(1 − v²/2) on
[θ_c/2, θ_c] removes the square-root edge of T_out at the critical angle, and θ = (θ_c/2)e^y on
(0, θ_c/2] resolves the boundary layer e^{−2σt r/θ} of small radii (details in
``cuda/include/bssrdf/single.h``). Accuracy: relative error below 1e-10 against adaptive
quadrature of the z-integral for σt r from 1e-9 to 30, η 0.8–1.6 and g −0.9–0.9
(tests/test_single.py). R_1 ~ 1/r as r → 0; R_1(0) = +inf, while ∫2πr R_1 dr is finite
(:func:`total_R_1`). This is the profile the Monte Carlo tracer's "scattered exactly once"
tally estimates.

σt and σs here are the true (not reduced) coefficients and g the HG parameter of the medium.
The kernels are in ``cuda/include/bssrdf/single.h``; the NumPy functions are the reference.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import integrate

from .. import backend as _backend
from ..fresnel import F_r
from ..medium import Medium
from ._common import channel_vector, check_medium, out_shape, radii, relative_eta

__all__ = ["R_1", "total_R_1", "R_1_reference", "R_1_adaptive", "DEFAULT_NODES"]

DEFAULT_NODES = 48


@functools.lru_cache(maxsize=16)
def _nodes(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on (0, 1)."""
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    return 0.5 * (x + 1.0), 0.5 * w


def _hg(cos_theta, g):
    denom = 1.0 + g * g - 2.0 * g * cos_theta
    return (1.0 - g * g) / (4.0 * np.pi * denom * np.sqrt(denom))


def _critical_angle(eta):
    return np.where(eta > 1.0, np.arcsin(np.minimum(1.0, 1.0 / np.maximum(eta, 1.0))), 0.5 * np.pi)


def _integrand(theta, a, log_scale, g, eta):
    """cos θ p(−cos θ) T_out(cos θ) e^{log_scale − a cot(θ/2)} with a = σt r."""
    c, s = np.cos(theta), np.sin(theta)
    T_out = 1.0 - F_r(c, 1.0 / eta)
    return c * _hg(-c, g) * T_out * np.exp(log_scale - a * (1.0 + c) / s)


def R_1_reference(r, sigma_a, sigma_s, g, eta, v, w, n_nodes=None):
    """NumPy float64 R_1(r) [mm⁻²] by the two-panel θ-quadrature: flat r (N,), channels (C,)."""
    r = np.asarray(r, dtype=np.float64)[:, None, None]  # (N, 1, 1)
    ch = lambda x: np.asarray(x, dtype=np.float64)[None, :, None]  # noqa: E731
    sigma_t, g3, eta3 = ch(sigma_a + sigma_s), ch(g), ch(eta)
    theta_c = ch(_critical_angle(eta))
    half = 0.5 * theta_c
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        a = sigma_t * r
        scale = ch((1.0 - F_r(1.0, eta)) * sigma_s) / r
        log_scale = np.log(scale)
        y_min = np.clip(np.log(a / 20.0 / half), -40.0, -1.0)
        theta_a = theta_c * (1.0 - 0.5 * v**2)
        theta_b = half * np.exp(y_min * (1.0 - v))
        total = (np.sum(w * theta_c * v * _integrand(theta_a, a, log_scale, g3, eta3), axis=2)
                 + np.sum(w * (-y_min) * theta_b * _integrand(theta_b, a, log_scale, g3, eta3),
                          axis=2))
        out = np.where(r[:, :, 0] > 0, total, scale[:, :, 0])
    return np.where(sigma_s > 0, out, 0.0)


def R_1(r, medium: Medium, n_outside=1.0, backend: str = "auto", n_nodes: int = DEFAULT_NODES):
    """Single-scattering radial exitance R_1(r) [mm⁻²] of a semi-infinite medium.

    Light of a normally incident unit-power pencil beam scattered exactly once: refraction
    in and out with Fresnel transmittance, HG phase function, attenuation along both paths.

    Parameters
    ----------
    r : array_like (NumPy or CuPy)
        Distances from the point of incidence [mm], finite and ≥ 0 (R_1(0) = +inf).
    medium : Medium
        The material: σa, σs [mm⁻¹], g, η.
    n_outside : float or array_like, default 1.0
        Refractive index of the neighbouring medium.
    backend : {"auto", "cuda", "cpu", "numpy"}, default "auto"
    n_nodes : int, default 48
        Gauss–Legendre nodes per panel of the angular quadrature (accuracy in the module notes).

    Returns
    -------
    Array of shape ``r.shape + medium.shape``, same kind (NumPy/CuPy) as ``r``.
    """
    check_medium(medium, diffusion=False)
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, (int, np.integer)) or not 1 <= n_nodes <= 4096:
        raise ValueError(f"n_nodes must be an integer in [1, 4096]; got {n_nodes!r}")
    r = radii(r)
    eta = relative_eta(medium, n_outside)
    channels = [channel_vector(medium.sigma_a), channel_vector(medium.sigma_s),
                channel_vector(medium.g), channel_vector(eta)]
    v, w = _nodes(int(n_nodes))
    return _backend.evaluate("single_R_1", r, channels, extras=[v, w],
                             scalars=[_backend.Scalar(int(n_nodes), "i")],
                             reference=R_1_reference, out_shape=out_shape(r, medium),
                             backend=backend)


def R_1_adaptive(r: float, sigma_a: float, sigma_s: float, g: float, eta: float,
                 epsrel: float = 1e-12) -> float:
    """R_1(r) for one channel by adaptive quadrature of the z-integral (slow; for checks)."""
    sigma_t = sigma_a + sigma_s
    T_in = 1.0 - float(F_r(1.0, eta))
    mu_c = np.sqrt(1.0 - 1.0 / eta**2) if eta > 1.0 else 0.0

    def f(z):
        s = np.hypot(r, z)
        mu = z / s
        if mu <= mu_c:
            return 0.0
        T_out = 1.0 - float(F_r(mu, 1.0 / eta))
        return sigma_s * np.exp(-sigma_t * (z + s)) * float(_hg(-mu, g)) * z / s**3 * T_out

    z_c = r * mu_c / np.sqrt(1.0 - mu_c**2)  # below this depth the exit ray is totally reflected
    scale = 1.0 / sigma_t
    # break points resolve the peak near z ~ r and the decay over 1/sigma_t
    pts = sorted({z_c + scale, *(z_c + r * np.geomspace(1e-3, max(1e3, scale / r), 25))})
    total, lo = 0.0, z_c
    for hi in [p for p in pts if p > z_c] + [np.inf]:
        val, _ = integrate.quad(f, lo, hi, epsabs=0.0, epsrel=epsrel, limit=500)
        total += val
        lo = hi
    return T_in * total


def total_R_1(medium: Medium, n_outside=1.0) -> np.ndarray:
    """Total single-scattered reflectance ∫2πr R_1(r) dr (adaptive quadrature).

    For normal incidence: T_in (σs/σt) 2π ∫₀¹ p(−μ) T_out(μ) μ/(1 + μ) dμ. With η = 1 and
    g = 0 this is (α/2)(1 − ln 2). Returns shape ``medium.shape``.
    """
    check_medium(medium, diffusion=False)
    eta = relative_eta(medium, n_outside)
    out = np.empty(medium.n_channels)
    for c, (alb, g, e) in enumerate(zip(np.atleast_1d(medium.albedo), np.atleast_1d(medium.g),
                                        np.atleast_1d(eta), strict=True)):
        mu_c = np.sqrt(1.0 - 1.0 / e**2) if e > 1.0 else 0.0
        f = lambda mu, g=g, e=e: float(_hg(-mu, g)) * (1.0 - float(F_r(mu, 1.0 / e))) * mu / (1.0 + mu)  # noqa: E731
        val, _ = integrate.quad(f, mu_c, 1.0, epsabs=1e-14, epsrel=1e-12, limit=200)
        out[c] = (1.0 - float(F_r(1.0, e))) * alb * 2.0 * np.pi * val
    return out.reshape(medium.shape)
