"""What each renderer means by "albedo" and "mean free path", and the conversions to and from a Medium.

Every function here cites the row of ``/work/shared/reference/renderer_conventions.md`` (the project's
table of renderer parametrizations, compiled from the renderers' sources) that it implements. The
conventions differ (that table's summary):

- **pbrt** (v3 ``subsurface``, v4 ``subsurface``): plain coefficients σa, σs in inverse *scene* units,
  multiplied by the material's ``scale``; its ``reflectance`` + ``mfp`` form has **mfp = 1/σt**.
- **RenderMan PxrSurface / appleseed**: albedo = the classical dipole *total diffuse reflectance*
  R_d(α', η) (Jensen et al. 2001), mfp = the *diffuse* mean free path **1/σtr**.
- **Cycles Random Walk (Skin)** (Blender's Principled BSDF): Base Color is that same dipole R_d; the
  renderer inverts it for α' and multiplies Radius·Scale by sqrt(3(1 − α')), so Radius·Scale = 1/σtr.
- **Cycles Christensen-Burley / Random Walk** (fixed radius): radius·0.25/π is the mean free path.
- **OpenPBR / MaterialX**: subsurface_color and a radius (float) × radius scale (colour); the radius is
  unitless in .mtlx and renderers differ; this package writes RenderMan's definition (stated in the
  export).

Units: σ in mm⁻¹ on the bssrdf side; a renderer length is in *scene units*, related to mm by
``units_per_mm`` (scene units per millimetre: 1 for a scene modelled in mm, 0.1 in cm, 0.001 in m). A
length L [mm] is L·units_per_mm scene units; a coefficient σ [mm⁻¹] is σ/units_per_mm per scene unit.

All the dipole conversions assume the medium borders a medium of index 1 (air): η = n_medium.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.optimize import brentq

from .._validate import as_float_array, check_range
from ..fresnel import A as _A
from ..medium import Medium

__all__ = [
    "check_units_per_mm",
    "pbrt_sigma", "medium_from_pbrt_sigma", "pbrt_mfp_albedo",
    "dipole_total_reflectance", "invert_dipole_total_reflectance",
    "renderman_albedo_mfp", "medium_from_renderman",
    "cycles_skin_color_radius", "medium_from_cycles_skin",
    "cycles_fixed_radius", "sigma_t_prime_from_cycles_fixed_radius",
    "openpbr_subsurface", "medium_from_openpbr",
    "common_value", "ExportWarning",
]


class ExportWarning(UserWarning):
    """An export had to approximate (a per-channel parameter a renderer takes as one value, a clamp)."""


# -- shared checks ------------------------------------------------------------------------------
def check_units_per_mm(units_per_mm) -> float:
    """``units_per_mm`` as a float: finite and > 0 (scene units per millimetre)."""
    try:
        value = float(units_per_mm)
    except (TypeError, ValueError):
        raise ValueError(f"scale (scene units per mm) must be a number; got {units_per_mm!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"scale (scene units per mm) must be finite and > 0; got {units_per_mm!r}")
    return value


def _check(medium) -> Medium:
    if not isinstance(medium, Medium):
        raise TypeError(f"medium must be a bssrdf.Medium; got {type(medium).__name__}")
    return medium


def _check_diffusive(medium: Medium, target: str) -> Medium:
    """Dipole conventions need σa > 0 (finite 1/σtr) and σ't > 0 in every channel."""
    _check(medium)
    sa, stp = np.atleast_1d(medium.sigma_a), np.atleast_1d(medium.sigma_t_prime)
    if np.any(stp <= 0):
        raise ValueError(f"{target}: needs sigma_t' = sigma_a + sigma_s' > 0 mm^-1 in every channel; "
                         f"got sigma_t' = {stp.tolist()}")
    if np.any(sa <= 0):
        raise ValueError(f"{target}: needs sigma_a > 0 mm^-1 in every channel (with sigma_a = 0 the diffuse "
                         f"mean free path 1/sigma_tr is infinite and the albedo is 1); got sigma_a = "
                         f"{sa.tolist()}")
    return medium


def common_value(name: str, values, *, average: bool = False, target: str = "") -> float:
    """One value for a parameter a renderer takes as a single float (η, g).

    Equal channels give that value. Unequal channels raise ``ValueError``, or, with ``average``,
    give their mean with an :class:`ExportWarning` (used for g, where the diffusion conventions keep
    σ's per channel; see :func:`pbrt_sigma`).
    """
    v = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if np.all(v == v[0]):
        return float(v[0])
    if not average:
        raise ValueError(f"{target}{': ' if target else ''}{name} differs between channels ({v.tolist()}) "
                         f"but the renderer takes one value")
    mean = float(np.mean(v))
    warnings.warn(f"{target}{': ' if target else ''}{name} differs between channels ({v.tolist()}); "
                  f"the renderer takes one value: using the mean {mean:.6g}", ExportWarning, stacklevel=3)
    return mean


# -- pbrt ---------------------------------------------------------------------------------------
def pbrt_sigma(medium: Medium, units_per_mm: float = 1.0, g: float | None = None):
    """pbrt ``subsurface`` coefficients (σa, σs) in inverse scene units, and the one g they go with.

    Source row: "pbrt-v3 ``subsurface``" / "pbrt-v4 ``subsurface``" of renderer_conventions.md
    (src/materials/subsurface.cpp; pbrt-v4 src/pbrt/materials.cpp ``SubsurfaceMaterial::Create``):
    "σ in inverse scene units × ``scale``". So σ_scene = σ[mm⁻¹] / units_per_mm (a length of 1 mm
    is units_per_mm scene units). pbrt takes one ``g`` for all channels; when the medium's g differs
    between channels, ``g`` (default: their mean, with an :class:`ExportWarning`) is used and
    σs_c = σ's_c/(1 − g) keeps each channel's reduced scattering coefficient σ's, which the
    diffusion part of pbrt's BSSRDF (photon beam diffusion) depends on; σa is unchanged.

    Parameters
    ----------
    medium : Medium
        σ in mm⁻¹.
    units_per_mm : float, default 1.0
        Scene units per millimetre (> 0).
    g : float, optional
        Force this common g (in (−1, 1)).

    Returns
    -------
    sigma_a, sigma_s : ndarray, shape ``medium.shape``
        In (scene unit)⁻¹.
    g : float
    """
    _check(medium)
    upm = check_units_per_mm(units_per_mm)
    if g is None:
        g = common_value("g", medium.g, average=True, target="pbrt")
    g = float(check_range("g", as_float_array("g", g), lo=-1.0, hi=1.0, lo_open=True, hi_open=True))
    if np.all(medium.g == g):
        sigma_s = medium.sigma_s
    else:
        sigma_s = medium.sigma_s_prime / (1.0 - g)
    return medium.sigma_a / upm, sigma_s / upm, g


def medium_from_pbrt_sigma(sigma_a, sigma_s, g=0.0, eta=1.33, units_per_mm: float = 1.0,
                           scale: float = 1.0) -> Medium:
    """The inverse of :func:`pbrt_sigma`: pbrt's σ (× its ``scale``) in scene units⁻¹ → Medium in mm⁻¹.

    σ[mm⁻¹] = σ_written · scale · units_per_mm (same source row; ``eta`` default 1.33 and ``g``
    default 0 are pbrt-v4's ``SubsurfaceMaterial::Create`` defaults).
    """
    upm = check_units_per_mm(units_per_mm)
    k = float(scale) * upm
    return Medium(np.asarray(sigma_a, dtype=np.float64) * k, np.asarray(sigma_s, dtype=np.float64) * k,
                  g=g, eta=eta)


def pbrt_mfp_albedo(medium: Medium, units_per_mm: float = 1.0):
    """pbrt's ``mfp`` = 1/σt in scene units, with the single-scattering albedo ρ = σs/σt.

    Source row: "pbrt-v3 ``kdsubsurface``" / "pbrt-v4 ``subsurface``" (``SubsurfaceFromDiffuse``):
    σs = ρ/mfp, σa = (1 − ρ)/mfp, i.e. **mfp = 1/σt**. pbrt's ``reflectance`` is *not* ρ: pbrt
    turns it into ρ by inverting a tabulated effective albedo of its photon-beam-diffusion BSSRDF
    (``InvertCatmullRom`` over ``BSSRDFTable``), which this package does not reproduce, so the pbrt
    export writes ``sigma_a``/``sigma_s``; this function documents the mfp side of the convention.

    Returns
    -------
    mfp : ndarray
        1/σt in scene units (inf where σt = 0).
    rho : ndarray
        σs/σt (dimensionless).
    """
    _check(medium)
    upm = check_units_per_mm(units_per_mm)
    with np.errstate(divide="ignore"):
        mfp = upm / medium.sigma_t
    return mfp, medium.albedo


# -- the classical dipole total diffuse reflectance ---------------------------------------------
def _rd_of_s(s, four_thirds_A):
    """R_d as a function of s = sqrt(3(1 − α')): ½(1 − s²/3)(1 + e^(−(4/3)A s)) e^(−s)."""
    return 0.5 * (1.0 - s * s / 3.0) * (1.0 + np.exp(-four_thirds_A * s)) * np.exp(-s)


def dipole_total_reflectance(alpha_prime, eta):
    """Total diffuse reflectance of the classical dipole, R_d(α', η) (Jensen et al. 2001).

    R_d = (α'/2)(1 + e^(−(4/3)A sqrt(3(1−α')))) e^(−sqrt(3(1−α'))), A = (1 + F_dr)/(1 − F_dr),
    F_dr the polynomial fit of :func:`bssrdf.fresnel.F_dr`. This is the "albedo" of the RenderMan
    PxrSurface, appleseed and Cycles Random Walk (Skin) rows of renderer_conventions.md (Cycles:
    ``bssrdf_dipole_compute_Rd``, with the same F_dr for η > 1).

    Parameters
    ----------
    alpha_prime : array_like
        Reduced albedo α' = σ's/σ't in [0, 1].
    eta : array_like
        Relative index n_medium / n_outside (> 0).
    """
    ap = check_range("alpha_prime", as_float_array("alpha_prime", alpha_prime), lo=0.0, hi=1.0)
    s = np.sqrt(3.0 * (1.0 - ap))
    return _rd_of_s(s, 4.0 / 3.0 * _A(eta))


def _invert_s(albedo: float, eta: float) -> float:
    """s = sqrt(3(1 − α')) with R_d(α', η) = albedo, 0 ≤ albedo < 1, by Brent's method."""
    k = 4.0 / 3.0 * float(_A(eta))
    if albedo == 0.0:
        return math.sqrt(3.0)
    # R_d(s) decreases strictly from 1 (s = 0) to 0 (s = sqrt 3).
    return brentq(lambda s: float(_rd_of_s(s, k)) - albedo, 0.0, math.sqrt(3.0),
                  xtol=1e-300, rtol=1e-15, maxiter=500)


def invert_dipole_total_reflectance(albedo, eta):
    """α' with R_d(α', η) = ``albedo`` (inverse of :func:`dipole_total_reflectance`).

    Brent's method (``scipy.optimize.brentq``) on s = sqrt(3(1 − α')) ∈ [0, √3], where R_d falls
    strictly from 1 to 0; solving for s keeps 1 − α' = s²/3 accurate when α' is close to 1. The
    renderers do the same inversion with fewer steps (Cycles ``bssrdf_dipole_compute_alpha_prime``:
    12 bisections; appleseed: 50).

    Parameters
    ----------
    albedo : array_like
        Total diffuse reflectance, in [0, 1).
    eta : array_like
        Relative index, > 0 (broadcast against ``albedo``).

    Returns
    -------
    ndarray
        α' in [0, 1).
    """
    s = _s_from_albedo(albedo, eta)
    return 1.0 - s * s / 3.0


def _s_from_albedo(albedo, eta) -> np.ndarray:
    a = as_float_array("albedo", albedo)
    check_range("albedo", a, lo=0.0, hi=1.0, hi_open=True)
    e = check_range("eta", as_float_array("eta", eta), lo=0.0, lo_open=True)
    a, e = np.broadcast_arrays(a, e)
    out = np.array([_invert_s(float(x), float(y)) for x, y in zip(a.ravel(), e.ravel(), strict=True)])
    return out.reshape(a.shape)


# -- RenderMan / appleseed ------------------------------------------------------------------------
def renderman_albedo_mfp(medium: Medium, units_per_mm: float = 1.0):
    """RenderMan/appleseed (albedo, mfp) per channel: albedo = dipole R_d(α', η), mfp = 1/σtr.

    Source row: "RenderMan PxrSurface" ("albedo = classical dipole total R_d, mfp = 1/σtr in mm";
    RenderMan publishes the Jensen 2001 materials this way, e.g. marble albedo (0.830, 0.791,
    0.753), diffuse mean free path (8.51, 5.57, 3.95) mm) and "appleseed" (reflectance Rd, dmfp).
    σtr = sqrt(3 σa σ't); the mfp is returned in scene units (× ``units_per_mm``).

    Returns
    -------
    albedo : ndarray, shape ``medium.shape``
    mfp : ndarray, shape ``medium.shape``
        Diffuse mean free path 1/σtr in scene units.

    Raises
    ------
    ValueError
        If a channel has σa = 0 (infinite mfp) or σ't = 0.
    """
    _check_diffusive(medium, "RenderMan albedo/mfp")
    upm = check_units_per_mm(units_per_mm)
    albedo = dipole_total_reflectance(medium.albedo_prime, medium.eta)
    return np.asarray(albedo, dtype=np.float64), upm / medium.sigma_tr


def medium_from_renderman(albedo, mfp, eta, g=0.0, units_per_mm: float = 1.0) -> Medium:
    """The inverse of :func:`renderman_albedo_mfp`: (albedo, mfp [scene units], η) → Medium [mm⁻¹].

    Same source row. With s = sqrt(3(1 − α')) from :func:`invert_dipole_total_reflectance` and
    σtr = units_per_mm/mfp: σ't = σtr/s, σa = σ't(1 − α') = σtr·s/3, σ's = σ't − σa and
    σs = σ's/(1 − g) (the convention fixes σ's; ``g`` chooses σs).
    """
    upm = check_units_per_mm(units_per_mm)
    m = check_range("mfp", as_float_array("mfp", mfp), lo=0.0, lo_open=True, unit="scene units")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"mfp must be finite; got {np.asarray(m).tolist()}")
    s = _s_from_albedo(albedo, eta)
    sigma_tr = upm / m
    sigma_a = sigma_tr * s / 3.0
    sigma_s_prime = sigma_tr / s - sigma_a
    g_arr = as_float_array("g", g)
    return Medium(sigma_a, sigma_s_prime / (1.0 - g_arr), g=g_arr, eta=eta)


# -- Cycles ---------------------------------------------------------------------------------------
def cycles_skin_color_radius(medium: Medium, units_per_mm: float = 1.0):
    """Cycles Random Walk (Skin): Base Color and Radius·Scale [scene units] per channel.

    Source row: "Cycles Random Walk (Skin)" (intern/cycles/kernel/closure/bssrdf.h
    ``bssrdf_setup_radius``): Cycles inverts the dipole R_d(α') = ½α'(1 + e^(−4/3·A·s))e^(−s) for
    α' from the colour (12 bisections, F_dr = −1.440/η² + 0.710/η + 0.668 + 0.0636η with η the
    Subsurface IOR) and sets radius ·= sqrt(3(1 − α')); its random walk then uses
    σ't = 1/radius (``subsurface_random_walk_remap``). For that to be the medium's σ't,
    Radius·Scale = 1/(σ't sqrt(3(1 − α'))) = 1/σtr and the colour = R_d(α', η): the RenderMan
    convention (:func:`renderman_albedo_mfp`), which this returns.
    """
    return renderman_albedo_mfp(medium, units_per_mm)


def medium_from_cycles_skin(color, radius, ior, g=0.0, units_per_mm: float = 1.0) -> Medium:
    """The inverse of :func:`cycles_skin_color_radius` (``radius`` = Radius·Scale in scene units).

    Follows Cycles' own steps (same source row): α' from the dipole inversion of ``color``,
    σ't = 1/(radius·sqrt(3(1 − α'))) (in mm⁻¹ after × units_per_mm), σa = σ't(1 − α'),
    σs = σ't α'/(1 − g).
    """
    upm = check_units_per_mm(units_per_mm)
    r = check_range("radius", as_float_array("radius", radius), lo=0.0, lo_open=True, unit="scene units")
    s = _s_from_albedo(color, ior)
    sigma_t_prime = upm / (r * s)
    one_minus_ap = s * s / 3.0
    g_arr = as_float_array("g", g)
    return Medium(sigma_t_prime * one_minus_ap, sigma_t_prime * (1.0 - one_minus_ap) / (1.0 - g_arr),
                  g=g_arr, eta=ior)


def cycles_fixed_radius(medium: Medium, units_per_mm: float = 1.0) -> np.ndarray:
    """Cycles Christensen-Burley / Random Walk (fixed radius) Radius·Scale [scene units] = 4π/σ't.

    Source rows: "Cycles Christensen-Burley" (l = radius·0.25/π is the mean free path, d = l/s(A))
    and "Cycles Random Walk" (radius·0.25/π, then the extinction from it). In current Cycles
    (``bssrdf_setup_radius`` then ``subsurface_random_walk_remap``) the random walk's reduced
    extinction is σ't = 1/(radius·0.25/π), so radius = 4π/σ't reproduces the medium's σ't; the
    single-scattering albedo is then Cycles' own fit of the colour, not α'. Forward only: the
    colour of these methods is not the dipole R_d, so (σa, σs) cannot be recovered from it here;
    :func:`sigma_t_prime_from_cycles_fixed_radius` inverts the radius part.
    """
    _check(medium)
    upm = check_units_per_mm(units_per_mm)
    with np.errstate(divide="ignore"):
        return 4.0 * np.pi * upm / medium.sigma_t_prime


def sigma_t_prime_from_cycles_fixed_radius(radius, units_per_mm: float = 1.0) -> np.ndarray:
    """σ't [mm⁻¹] = 4π/(radius/units_per_mm): the inverse of :func:`cycles_fixed_radius`."""
    upm = check_units_per_mm(units_per_mm)
    r = check_range("radius", as_float_array("radius", radius), lo=0.0, lo_open=True, unit="scene units")
    return 4.0 * np.pi * upm / r


# -- OpenPBR / MaterialX ----------------------------------------------------------------------------
def openpbr_subsurface(medium: Medium, units_per_mm: float = 1.0) -> dict:
    """OpenPBR subsurface inputs: colour, radius (float, scene units) × radius scale (colour).

    Source row: "OpenPBR / MaterialX" (subsurface_weight, subsurface_color, subsurface_radius,
    subsurface_radius_scale, subsurface_scatter_anisotropy; "radius is unitless in .mtlx; renderers
    differ"). The OpenPBR reference (open_pbr_surface.mtlx) types subsurface_radius as a float and
    subsurface_radius_scale as a color3. This package writes the RenderMan definition
    (:func:`renderman_albedo_mfp`): subsurface_color = dipole R_d(α', η), and
    subsurface_radius · subsurface_radius_scale = 1/σtr in scene units, with the radius scale
    normalised so that its largest channel is 1 and subsurface_radius = the longest 1/σtr.
    subsurface_scatter_anisotropy = g (one value: the mean if channels differ, with a warning).
    """
    albedo, mfp = renderman_albedo_mfp(medium, units_per_mm)
    mfp1 = np.atleast_1d(mfp)
    radius = float(np.max(mfp1))
    return {
        "subsurface_weight": 1.0,
        "subsurface_color": np.atleast_1d(albedo).tolist(),
        "subsurface_radius": radius,
        "subsurface_radius_scale": (mfp1 / radius).tolist(),
        "subsurface_scatter_anisotropy": common_value("g", medium.g, average=True, target="OpenPBR"),
    }


def medium_from_openpbr(params: dict, eta, units_per_mm: float = 1.0) -> Medium:
    """The inverse of :func:`openpbr_subsurface` (same definition and source row)."""
    mfp = float(params["subsurface_radius"]) * np.asarray(params["subsurface_radius_scale"], dtype=np.float64)
    return medium_from_renderman(np.asarray(params["subsurface_color"], dtype=np.float64), mfp, eta,
                                 g=float(params.get("subsurface_scatter_anisotropy", 0.0)),
                                 units_per_mm=units_per_mm)
