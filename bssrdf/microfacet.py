"""Rough dielectric interfaces: the GGX microfacet model the layered models and the tracer share.

An interface between indices n₁ (the side light comes from) and n₂ may be rough, with an isotropic
GGX (Trowbridge–Reitz) distribution of microfacet normals of roughness α ∈ [0, 1] (Walter, Marschner,
Li, Torrance, *Microfacet Models for Refraction through Rough Surfaces*, EGSR 2007, eqs. 33–34):

    D(m) = α² / (π cos⁴θ_m (α² + tan²θ_m)²),     G1(ω) = 2 / (1 + sqrt(1 + α² tan²θ_ω)).

Light meeting the interface from direction ω_i meets a microfacet drawn from the distribution of
*visible* normals, D_ωi(m) = G1(ω_i) max(0, ω_i·m) D(m) / cos θ_i (Heitz 2018, *Sampling the GGX
Distribution of Visible Normals*, JCGT 7(4)), and is reflected or refracted by it with the unpolarised
Fresnel reflectance (:func:`bssrdf.fresnel.F_r`, total internal reflection included). An outgoing
direction on the wrong side of the macro surface (a reflection into it, a refraction back out) is
light that meets the microsurface again; instead of following it (Heitz et al. 2016) the model
draws the facet again, i.e. conditions on a valid outcome. The interface therefore conserves
energy, ρ + τ = 1, with

    ρ(μ) = E_m[F(ω_i·m) V_r] / E_m[F V_r + (1 − F) V_t],   τ = 1 − ρ   (m ~ D_ωi),

V_r, V_t the indicators of a valid reflected and refracted direction. (The single-scattering Smith
model of renderers' rough dielectric BSDFs, which weights by G1(ω_o) and loses the rest, loses 17%
of the diffuse light meeting an α = 0.3 boundary from inside n = 1.4, mostly light under total
internal reflection: too much for a boundary that light meets many times.) This is exactly what the
Monte Carlo tracer samples (``cuda/include/bssrdf/mc.h``), so diffusion and Monte Carlo compare
like for like.

The expectations are integrated by quadrature over Heitz's map from the unit disk to visible normals
(Gauss–Legendre in the disk radius, the trapezoid rule in its angle: 192 × 384 nodes for one
direction, 96 × 192 for each of the 96 directions of a hemispherical average), and their cosine-weighted
hemispherical averages (:func:`diffuse_albedos`) replace the smooth-interface F_dr of the diffusion
models (Donner & Jensen 2005 integrate their rough-surface terms numerically too). Quadrature error
(the integrand jumps where outcomes turn invalid): ρ of one direction within 1.9e-4 of two independent
integrations (over microfacet normals in spherical coordinates, and Walter's BSDF over outgoing
directions: tests/test_microfacet.py); hemispherical averages within 6e-4 (against 4× the nodes).

Conventions: for directional terms ``eta`` = n₂ / n₁ (transmitted over incident, as :func:`F_r`); for
the diffuse terms ``eta`` = n_medium / n_outside with the light inside the medium (as :func:`F_dr`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._validate import as_float_array, check_range
from .fresnel import F_dr, F_r
from .medium import check_roughness

__all__ = ["D", "G1", "visible_normal", "directional_albedos", "diffuse_albedos", "F_dr_rough"]

N_RADIUS = 96     # Gauss–Legendre nodes in the disk radius (hemispherical averages)
N_ANGLE = 192     # trapezoid nodes in the disk angle (hemispherical averages)
N_RADIUS_ONE, N_ANGLE_ONE = 192, 384   # the same for one direction (directional_albedos)
N_MU = 48         # Gauss–Legendre nodes per μ panel of the hemispherical averages


def D(cos_m, alpha):
    """GGX distribution of microfacet normals D(m) [sr⁻¹] at cosine ``cos_m`` > 0 (Walter 2007, eq. 33)."""
    c2 = np.asarray(cos_m, dtype=np.float64) ** 2
    a2 = np.asarray(alpha, dtype=np.float64) ** 2
    return a2 / (np.pi * (c2 * (a2 - 1.0) + 1.0) ** 2)


def G1(cos_o, alpha):
    """Smith masking G1 of a direction at cosine ``cos_o`` (sign ignored) (Walter 2007, eq. 34)."""
    c2 = np.minimum(np.asarray(cos_o, dtype=np.float64) ** 2, 1.0)
    a2 = np.asarray(alpha, dtype=np.float64) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        tan2 = np.where(c2 > 0, (1.0 - c2) / c2, np.inf)
    return 2.0 / (1.0 + np.sqrt(1.0 + a2 * tan2))


def visible_normal(wi, alpha: float, u1, u2) -> np.ndarray:
    """Heitz's (2018) map from (u1, u2) ∈ [0, 1]² to a GGX visible normal for ``wi`` (..., 3), z > 0.

    Uniform (u1, u2) give normals distributed as D_ωi(m); the tracer's C++ applies the same map to
    its random numbers. Stretch ω_i by α, take a point of the unit disk (radius sqrt(u1), angle
    2πu2), fold its second coordinate onto the projected hemisphere, lift it, unstretch.
    """
    wi = np.asarray(wi, dtype=np.float64)
    vh = np.stack([alpha * wi[..., 0], alpha * wi[..., 1], wi[..., 2]], axis=-1)
    vh /= np.linalg.norm(vh, axis=-1, keepdims=True)
    lensq = vh[..., 0] ** 2 + vh[..., 1] ** 2
    inv = np.where(lensq > 0, 1.0 / np.sqrt(np.where(lensq > 0, lensq, 1.0)), 0.0)
    t1 = np.stack([np.where(lensq > 0, -vh[..., 1] * inv, 1.0), np.where(lensq > 0, vh[..., 0] * inv, 0.0),
                   np.zeros_like(lensq)], axis=-1)
    t2 = np.cross(vh, t1)
    r = np.sqrt(u1)
    phi = 2.0 * np.pi * np.asarray(u2, dtype=np.float64)
    p1 = r * np.cos(phi)
    p2 = r * np.sin(phi)
    s = 0.5 * (1.0 + vh[..., 2])
    p2 = (1.0 - s) * np.sqrt(np.maximum(0.0, 1.0 - p1 * p1)) + s * p2
    p3 = np.sqrt(np.maximum(0.0, 1.0 - p1 * p1 - p2 * p2))
    nh = p1[..., None] * t1 + p2[..., None] * t2 + p3[..., None] * vh
    m = np.stack([alpha * nh[..., 0], alpha * nh[..., 1], np.maximum(0.0, nh[..., 2])], axis=-1)
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


@lru_cache(maxsize=8)
def _disk_nodes(n_radius: int, n_angle: int):
    """Nodes (u1, u2) and weights of the quadrature of E[f(u1, u2)] over the unit square."""
    x, w = np.polynomial.legendre.leggauss(n_radius)
    r = 0.5 * (x + 1.0)                     # disk radius, Gauss–Legendre on [0, 1]
    wr = 0.5 * w * 2.0 * r                  # u1 = r²: du1 = 2r dr
    u2 = (np.arange(n_angle) + 0.5) / n_angle
    u1 = np.repeat(r**2, n_angle)
    return u1, np.tile(u2, n_radius), np.repeat(wr, n_angle) / n_angle


def _reflectance_at(mu: np.ndarray, eta: float, alpha: float, fine: bool = False) -> np.ndarray:
    """ρ at cosines μ (M,) for eta = n₂/n₁ and α > 0, by quadrature over the disk."""
    u1, u2, w = _disk_nodes(N_RADIUS_ONE, N_ANGLE_ONE) if fine else _disk_nodes(N_RADIUS, N_ANGLE)
    mu = np.asarray(mu, dtype=np.float64)
    wi = np.stack([np.sqrt(np.maximum(0.0, 1.0 - mu**2)), np.zeros_like(mu), mu], axis=-1)[:, None, :]
    m = visible_normal(np.broadcast_to(wi, (mu.size, u1.size, 3)), alpha, u1[None, :], u2[None, :])
    c = np.clip(np.sum(wi * m, axis=-1), 0.0, 1.0)
    F = F_r(c, eta)
    wr_z = 2.0 * c * m[..., 2] - wi[..., 2]              # reflected direction, z component
    inv_eta = 1.0 / eta
    cos_t2 = 1.0 - inv_eta**2 * (1.0 - c * c)
    cos_t = np.sqrt(np.maximum(0.0, cos_t2))
    wt_z = -inv_eta * wi[..., 2] + (inv_eta * c - cos_t) * m[..., 2]
    valid_r = F * (wr_z > 0)
    valid_t = (1.0 - F) * ((wt_z < 0) & (cos_t2 > 0))
    rho = valid_r @ w
    return rho / (rho + valid_t @ w)


def directional_albedos(cos_i, eta, roughness) -> tuple[np.ndarray, np.ndarray]:
    """Directional reflectance ρ and transmittance τ of a rough interface (module notes).

    Parameters
    ----------
    cos_i : array_like
        Cosine of the angle of incidence (macro surface), in (0, 1].
    eta : float
        n₂ / n₁, the index beyond the interface over the index of the incident side, > 0.
    roughness : float
        GGX α in [0, 1]; 0 gives the smooth interface, ρ = F_r, τ = 1 − F_r.

    Returns
    -------
    (rho, tau) : ndarrays of the shape of ``cos_i``
        Fractions of the incident power reflected and transmitted (ρ + τ = 1).
    """
    mu = check_range("cos_i", as_float_array("cos_i", cos_i), lo=0.0, hi=1.0, lo_open=True)
    eta = float(check_range("eta", as_float_array("eta", eta), lo=0.0, lo_open=True))
    alpha = check_roughness("roughness", roughness)
    if alpha == 0.0:
        rho = F_r(mu, eta)
        return rho, 1.0 - rho
    rho = np.concatenate([_reflectance_at(m, eta, alpha, fine=True) for m in np.array_split(
        mu.ravel(), max(1, mu.size // 8))]).reshape(mu.shape)
    return rho, 1.0 - rho


@lru_cache(maxsize=256)
def _diffuse(eta: float, alpha: float) -> tuple[float, float]:
    """(ρ_d, τ_d) = 2∫(ρ, τ)(μ) μ dμ for light inside a medium of relative index eta."""
    x, w = np.polynomial.legendre.leggauss(N_MU)
    # panels split at the critical cosine, where total internal reflection begins
    mu_c = np.sqrt(1.0 - 1.0 / eta**2) if eta > 1.0 else 0.0
    edges = [0.0, mu_c, 1.0] if 0.0 < mu_c < 1.0 else [0.0, 1.0]
    panels = list(zip(edges[:-1], edges[1:], strict=True))
    mu = np.concatenate([0.5 * (b - a) * (x + 1.0) + a for a, b in panels])
    wt = np.concatenate([0.5 * (b - a) * w for a, b in panels]) * 2.0 * mu
    rho = F_r(mu, 1.0 / eta) if alpha == 0.0 else _reflectance_at(mu, 1.0 / eta, alpha)
    return float(rho @ wt), float((1.0 - rho) @ wt)


def diffuse_albedos(eta, roughness) -> tuple[float, float]:
    """Hemispherical (cosine-weighted) reflectance ρ_d and transmittance τ_d of a rough boundary.

    For light *inside* a medium of relative index ``eta`` = n_medium / n_outside (the diffusion
    models' convention), ρ_d = 2∫₀¹ ρ(μ) μ dμ and τ_d likewise; with ``roughness`` 0, ρ_d is the
    exact F_dr (:func:`bssrdf.fresnel.F_dr_exact`) and τ_d = 1 − ρ_d. Cached per (eta, roughness).
    """
    eta = float(check_range("eta", as_float_array("eta", eta), lo=0.0, lo_open=True))
    return _diffuse(eta, check_roughness("roughness", roughness))


def F_dr_rough(eta, roughness) -> float:
    """Diffuse reflectance of a rough boundary for the diffusion models' A (Donner & Jensen 2005).

    ``F_dr(η) + ρ_d(η, α) − ρ_d(η, 0)``: the smooth polynomial fit the models use
    (:func:`bssrdf.fresnel.F_dr`) shifted by what roughness changes in the numerically integrated
    diffuse reflectance, so that α → 0 joins the smooth models continuously. Equal indices
    (η = 1) make the interface invisible: F_dr(1), whatever α.
    """
    eta = float(check_range("eta", as_float_array("eta", eta), lo=0.0, lo_open=True))
    alpha = check_roughness("roughness", roughness)
    smooth = float(F_dr(eta))
    if alpha == 0.0 or eta == 1.0:
        return smooth
    return smooth + _diffuse(eta, alpha)[0] - _diffuse(eta, 0.0)[0]

