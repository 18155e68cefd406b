"""A specular surface term: GGX microfacet reflection of the point and directional lights.

The translucent material's boundary also reflects light at its surface. With a rough dielectric
boundary of GGX roughness α, the single-scattering microfacet BRDF of Walter, Marschner, Li &
Torrance (*Microfacet Models for Refraction through Rough Surfaces*, EGSR 2007) is

    f_s(ω_i, ω_o) = F_r(η, ω_o·h) D(h) G2(ω_i, ω_o) / (4 |n·ω_i| |n·ω_o|)          [sr⁻¹]   (eq. 20)

with h = (ω_i + ω_o)/|ω_i + ω_o| the half vector (eq. 13), F_r the unpolarised Fresnel reflectance of
the smooth interface for light arriving from outside (:func:`bssrdf.fresnel.F_r`, η = n_medium /
n_outside), D the GGX distribution of normals (eq. 33, :func:`bssrdf.microfacet.D`), and G2 the
separable Smith shadowing–masking G1(ω_i) G1(ω_o) (eq. 23, with G1 of eq. 34,
:func:`bssrdf.microfacet.G1`). Lit by the scene's point and directional lights, the surface sends

    L_s(x, ω_o) = Σ_lights f_s(ω_l, ω_o) E_l cos θ_l V(x, l)                         [W mm⁻² sr⁻¹]

towards the camera (E_l the irradiance on a plane facing light l, V its shadow-ray visibility),
added to the subsurface (or Lambertian) radiance by :func:`bssrdf.render.render`.

This is a surface highlight for pictures, not part of the energy balance of the BSSRDF: the
subsurface term keeps its smooth-boundary Fresnel transmittance F_t(η, cos θ) in and out (Jensen et
al. 2001), so a rough lobe on top of it does not conserve energy exactly (at small α the lobe's
albedo tends to F_r(η, cos θ_i), the very light the smooth F_t leaves out, so the two add up to the
incident power; at larger α the lobe loses the Smith model's masked light, a few per cent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fresnel import F_r
from ..medium import check_roughness
from ..microfacet import G1, D

__all__ = ["Specular", "specular_radiance"]


@dataclass(frozen=True)
class Specular:
    """GGX microfacet reflection at the surface of the rendered objects (Walter et al. 2007).

    Parameters
    ----------
    roughness : float, default 0.3
        GGX α in (0, 1] (α = 0, a mirror, reflects point and directional lights into no pixel).
        Perceptually, α ≈ 0.05 is polished, 0.3 satin, 0.6 matte.
    eta : float or tuple of float, optional
        Relative index n_material / n_outside of the boundary (scalar or per channel), > 0. None
        (default): the material's own η (``DipoleProfile.eta``, or ``LambertianBRDF.eta``); a
        Lambertian surface without one is an error.

    Notes
    -----
    ``brdf`` gives f_s [sr⁻¹] and :func:`specular_radiance` the reflected radiance
    [W mm⁻² sr⁻¹] (see the module notes for the equations).
    """

    roughness: float = 0.3
    eta: float | tuple | None = None

    def __post_init__(self) -> None:
        alpha = check_roughness("roughness", self.roughness)
        if alpha <= 0.0:
            raise ValueError(f"roughness must be in (0, 1] (GGX alpha; 0 is a mirror, invisible under "
                             f"point and directional lights); got {self.roughness!r}")
        object.__setattr__(self, "roughness", alpha)
        if self.eta is not None:
            e = np.atleast_1d(np.asarray(self.eta, dtype=np.float64))
            if e.ndim != 1 or not np.all(np.isfinite(e) & (e > 0)):
                raise ValueError(f"eta must be finite and > 0 (scalar or per channel); got {self.eta!r}")

    def eta_for(self, material) -> np.ndarray:
        """The relative index to use with ``material`` → (C,)."""
        eta = self.eta if self.eta is not None else getattr(material, "eta", None)
        if eta is None:
            raise ValueError(f"Specular.eta must be given for a {type(material).__name__} without an "
                             "index of refraction (or use LambertianBRDF(albedo, eta=...) or "
                             "LambertianBRDF.matching)")
        return np.atleast_1d(np.asarray(eta, dtype=np.float64))

    def brdf(self, normals: np.ndarray, w_i: np.ndarray, w_o: np.ndarray, eta) -> np.ndarray:
        """f_s [sr⁻¹] for unit ``normals``, directions to the light ``w_i`` and to the viewer ``w_o``
        (all (N, 3)) and relative index ``eta`` (C,) → (N, C); 0 where either direction is below the
        surface (Walter 2007, eq. 20 with eqs. 23, 33, 34)."""
        eta = np.atleast_1d(np.asarray(eta, dtype=np.float64))
        cos_i = np.einsum("nk,nk->n", normals, w_i)
        cos_o = np.einsum("nk,nk->n", normals, w_o)
        h = w_i + w_o
        ln = np.linalg.norm(h, axis=-1)
        up = (cos_i > 0) & (cos_o > 0) & (ln > 0)
        h = h / np.where(ln > 0, ln, 1.0)[:, None]
        cos_h = np.clip(np.einsum("nk,nk->n", normals, h), 0.0, 1.0)
        cos_oh = np.clip(np.einsum("nk,nk->n", w_o, h), 0.0, 1.0)
        a = self.roughness
        ci, co = np.where(up, cos_i, 1.0), np.where(up, cos_o, 1.0)
        g = D(cos_h, a) * G1(ci, a) * G1(co, a) / (4.0 * ci * co)
        return np.where(up[:, None], F_r(cos_oh[:, None], eta[None, :]) * g[:, None], 0.0)


def specular_radiance(scene, points: np.ndarray, normals: np.ndarray, w_o: np.ndarray, specular: Specular,
                      eta) -> np.ndarray:
    """L_s = Σ_lights f_s(ω_l, ω_o) E_l cos θ_l V [W mm⁻² sr⁻¹] at ``points`` (N, 3) with unit
    ``normals``, seen from unit directions ``w_o`` (towards the viewer) → (N, C).

    Shadow rays as in the irradiance pass (:meth:`bssrdf.render.Scene.visible`).
    """
    eta = np.atleast_1d(np.asarray(eta, dtype=np.float64))
    out = np.zeros((points.shape[0], eta.size))
    for light in scene.lights:
        w, dist, e = light.towards(points)
        cos = np.einsum("nk,nk->n", normals, w)
        cos_o = np.einsum("nk,nk->n", normals, w_o)
        lit = (cos > 0) & (cos_o > 0)
        if not np.any(lit):
            continue
        vis = np.zeros_like(lit)
        vis[lit] = scene.visible(points[lit], normals[lit], w[lit], dist[lit])
        term = np.zeros((points.shape[0], max(eta.size, e.shape[1])))
        term[vis] = specular.brdf(normals[vis], w[vis], w_o[vis], eta) * e[vis] * cos[vis, None]
        out = out + term
    return out
