"""σa and σ's from an artist's description: a diffuse albedo and a mean free path per channel.

"Albedo" here is the total diffuse reflectance of the semi-infinite medium under a normally incident beam
(specular reflection excluded), which fixes the reduced albedo α' for a given η; "mean free path" then fixes
the length scale. Renderers mean different things by both (``/work/shared/reference/renderer_conventions.md``
and :mod:`bssrdf.export.conventions`), so both are named explicitly:

Albedo models (``albedo_model``)
    ``"mc"`` (default)
        The Monte Carlo total diffuse reflectance R(α', η) of a g = 0 medium under air, all scattering orders,
        from the table of :mod:`bssrdf.fit.mc_table` (what the material really reflects).
    ``"dipole"``
        The classical dipole total R_d(α', η) of Jensen et al. 2001 (the "albedo" of RenderMan PxrSurface,
        appleseed and Cycles Random Walk (Skin); inverted by
        :func:`bssrdf.export.conventions.invert_dipole_total_reflectance`). It is multiple scattering only
        and, near α' = 1, larger than what the medium reflects.

Mean-free-path definitions (``definition``, see :data:`DEFINITIONS`)
    ``"sigma_t"``: mfp = 1/σt, σt = σa + σs (pbrt's ``mfp``; σs = σ's/(1 − g)).
    ``"sigma_tr"``: mfp = 1/σtr = 1/sqrt(3 σa σ't), the diffuse mean free path (RenderMan "dmfp", appleseed,
    Cycles Random Walk (Skin)'s Radius·Scale).
    ``"burley"``: the value is the shaping distance d of Christensen & Burley's normalized diffusion
    R(r) = A(e^{−r/d} + e^{−r/3d})/(8πdr) (*Approximate Reflectance Profiles for Efficient Subsurface
    Scattering*, Pixar Technical Memo 15-04, 2015), with the fit Cycles uses (the paper's diffuse-surface-
    transmission fit, its eq. 6): d = ℓ/s(A), s(A) = 1.9 − A + 3.5(A − 0.8)², A the albedo, ℓ the mean free
    path 1/σ't (Cycles' radius·0.25/π, which its random walk uses as 1/σ't).
    ``"burley-searchlight"``: the same with the paper's searchlight fit s(A) = 1.85 − A + 7|A − 0.8|³.
    ``"burley-dmfp"``: the same with the paper's diffuse-mean-free-path fit s(A) = 3.5 + 100(A − 0.33)⁴ and
    ℓ = 1/σtr (appleseed's "dmfp" parametrisation).
    The normalized-diffusion fits were made for g = 0, where 1/σ't = 1/σt.

Uncertainties: from ``albedo_err`` and ``mfp_err`` (standard errors, independent) and, for the ``mc`` albedo
model, the table's statistical error of R(α', η), propagated by finite differences.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from .._validate import as_float_array
from ..medium import Medium
from .result import CORRELATION_LIMIT, RELATIVE_ERROR_LIMIT, FitResult

__all__ = ["from_appearance", "DEFINITIONS", "ALBEDO_MODELS", "burley_s"]

DEFINITIONS = {
    "sigma_t": "mfp = 1/sigma_t (pbrt 'mfp')",
    "sigma_tr": "mfp = 1/sigma_tr = 1/sqrt(3 sigma_a sigma_t'), the diffuse mean free path (RenderMan dmfp, "
                "appleseed, Cycles Random Walk (Skin) radius)",
    "burley": "normalized-diffusion shaping distance d = l/s(A), s(A) = 1.9 - A + 3.5 (A - 0.8)^2, l = "
              "1/sigma_t' (Christensen & Burley 2015 eq. 6, as Cycles)",
    "burley-searchlight": "normalized-diffusion shaping distance d = l/s(A), s(A) = 1.85 - A + 7 |A - "
                          "0.8|^3, l = 1/sigma_t' (Christensen & Burley 2015, searchlight fit)",
    "burley-dmfp": "normalized-diffusion shaping distance d = l/s(A), s(A) = 3.5 + 100 (A - 0.33)^4, l = "
                   "1/sigma_tr (Christensen & Burley 2015, dmfp fit, as appleseed)",
}
ALBEDO_MODELS = {
    "mc": "Monte Carlo total diffuse reflectance of the semi-infinite g = 0 medium (bssrdf.fit.mc_table)",
    "dipole": "classical dipole total diffuse reflectance R_d(alpha', eta) of Jensen et al. 2001 "
              "(RenderMan, appleseed, Cycles)",
}


def burley_s(A, definition: str) -> np.ndarray:
    """The normalized-diffusion scaling s(A) of ``definition`` (one of the ``burley*`` keys)."""
    A = np.asarray(A, dtype=np.float64)
    if definition == "burley":
        return 1.9 - A + 3.5 * (A - 0.8) ** 2
    if definition == "burley-searchlight":
        return 1.85 - A + 7.0 * np.abs(A - 0.8) ** 3
    if definition == "burley-dmfp":
        return 3.5 + 100.0 * (A - 0.33) ** 4
    raise ValueError(f"not a normalized-diffusion definition: {definition!r}")


def _alpha_prime(albedo: float, eta: float, albedo_model: str, table) -> float:
    if albedo_model == "dipole":
        from ..export.conventions import invert_dipole_total_reflectance

        return float(invert_dipole_total_reflectance(albedo, eta))
    lo_u, hi_u = table.u_min, table.u_max
    r_hi, r_lo = float(table.total(lo_u)[0]), float(table.total(hi_u)[0])
    if not (r_lo <= albedo <= r_hi):
        raise ValueError(f"albedo {albedo:g} is outside the range of the Monte Carlo table at eta {eta:g} "
                         f"({r_lo:.4g} to {r_hi:.6g}); use albedo_model 'dipole' (--albedo-model dipole)")
    u = brentq(lambda x: float(table.total(x)[0]) - albedo, lo_u, hi_u, xtol=1e-14, rtol=1e-13)
    return 1.0 - u * u


def _convert(albedo: float, mfp: float, eta: float, g: float, definition: str, albedo_model: str, table):
    ap = _alpha_prime(albedo, eta, albedo_model, table)
    one_minus = 1.0 - ap
    if definition == "sigma_t":
        # σt = σa + σs = σ't (1 − α') + σ't α'/(1 − g)
        stp = (1.0 / mfp) / (one_minus + ap / (1.0 - g))
    elif definition == "sigma_tr":
        stp = (1.0 / mfp) / math.sqrt(3.0 * one_minus)
    elif definition in ("burley", "burley-searchlight"):
        stp = 1.0 / (mfp * float(burley_s(albedo, definition)))
    elif definition == "burley-dmfp":
        stp = (1.0 / (mfp * float(burley_s(albedo, definition)))) / math.sqrt(3.0 * one_minus)
    else:  # pragma: no cover - checked by the caller
        raise ValueError(definition)
    return stp * one_minus, stp * ap


def from_appearance(albedo, mfp, *, eta: float = 1.3, definition: str = "sigma_tr", albedo_model: str = "mc",
                    g: float = 0.0, albedo_err=None, mfp_err=None, channels=None, table=None) -> FitResult:
    """σa and σ's per channel from a diffuse albedo and a mean free path (module notes for the definitions).

    Parameters
    ----------
    albedo : float or array_like (C,)
        Total diffuse reflectance of the semi-infinite medium, in (0, 1), as ``albedo_model`` defines it.
    mfp : float or array_like (C,)
        Mean free path [mm] (> 0), as ``definition`` defines it.
    eta : float, default 1.3
        Refractive index of the medium (air outside).
    definition : str, default "sigma_tr"
        One of :data:`DEFINITIONS`: ``sigma_t``, ``sigma_tr``, ``burley``, ``burley-searchlight``,
        ``burley-dmfp``.
    albedo_model : {"mc", "dipole"}, default "mc"
    g : float, default 0.0
        Henyey–Greenstein g of the Medium returned (σs = σ's/(1 − g)); it changes σ't only for ``sigma_t``.
    albedo_err, mfp_err : float or array_like, optional
        Standard errors of the inputs.
    channels : list of str, optional
        Channel names (default R, G, B for three channels, else 0, 1, ...).
    table : path, optional
        Monte Carlo table for ``albedo_model="mc"``.

    Returns
    -------
    FitResult
        σa, σ's, their standard errors (NaN when nothing uncertain went in) and the Medium.
    """
    if definition not in DEFINITIONS:
        raise ValueError(f"definition must be one of {', '.join(DEFINITIONS)}; got {definition!r}")
    if albedo_model not in ALBEDO_MODELS:
        raise ValueError(f"albedo_model must be one of {', '.join(ALBEDO_MODELS)}; got {albedo_model!r}")
    a = as_float_array("albedo", albedo)
    m = as_float_array("mfp", mfp)
    a, m = np.broadcast_arrays(np.atleast_1d(a), np.atleast_1d(m))
    C = a.size
    for c in range(C):
        if not (np.isfinite(a[c]) and 0.0 < a[c] < 1.0):
            raise ValueError(f"albedo must be in (0, 1); got {a[c]!r}" + (f" (channel {c})" if C > 1 else ""))
        if not (np.isfinite(m[c]) and m[c] > 0):
            where = f" (channel {c})" if C > 1 else ""
            raise ValueError(f"mfp must be finite and > 0 mm; got {m[c]!r}{where}")
    eta = float(eta)
    if not (math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be finite and > 0; got {eta!r}")
    g = float(g)
    if not (-1.0 < g < 1.0):
        raise ValueError(f"g must be in (-1, 1); got {g!r}")
    ae = me = None
    if albedo_err is not None:
        ae = np.broadcast_to(np.atleast_1d(as_float_array("albedo_err", albedo_err)), a.shape)
        if np.any(~np.isfinite(ae) | (ae < 0)):
            raise ValueError("albedo_err must be finite and >= 0")
    if mfp_err is not None:
        me = np.broadcast_to(np.atleast_1d(as_float_array("mfp_err", mfp_err)), a.shape)
        if np.any(~np.isfinite(me) | (me < 0)):
            raise ValueError("mfp_err must be finite and >= 0 mm")
    if channels is None:
        channels = list("RGB") if C == 3 else [str(i) for i in range(C)]
    channels = [str(x) for x in channels]
    if len(channels) != C:
        raise ValueError(f"{len(channels)} channel names for {C} channels")
    tab = None
    if albedo_model == "mc":
        from .mc_table import mc_model

        tab = mc_model(eta, None if table is None else str(table))

    sa, ssp = np.empty(C), np.empty(C)
    cov = np.full((2 * C, 2 * C), np.nan)
    notes: list[str] = []
    poor = np.zeros(C, bool)
    uncertain = ae is not None or me is not None or albedo_model == "mc"
    for c in range(C):
        sa[c], ssp[c] = _convert(float(a[c]), float(m[c]), eta, g, definition, albedo_model, tab)
        if not uncertain:
            continue
        var_a = 0.0 if ae is None else float(ae[c]) ** 2
        if albedo_model == "mc":
            u = math.sqrt(sa[c] / (sa[c] + ssp[c]))
            _, rel = tab.total(u, with_error=True)
            var_a += (float(rel[0]) * float(a[c])) ** 2
        var_m = 0.0 if me is None else float(me[c]) ** 2
        J = np.empty((2, 2))
        ha = 1e-6 * min(a[c], 1 - a[c])
        hm = 1e-6 * m[c]
        p = np.array(_convert(float(a[c]) + ha, float(m[c]), eta, g, definition, albedo_model, tab))
        q = np.array(_convert(float(a[c]) - ha, float(m[c]), eta, g, definition, albedo_model, tab))
        J[:, 0] = (p - q) / (2 * ha)
        p = np.array(_convert(float(a[c]), float(m[c]) + hm, eta, g, definition, albedo_model, tab))
        q = np.array(_convert(float(a[c]), float(m[c]) - hm, eta, g, definition, albedo_model, tab))
        J[:, 1] = (p - q) / (2 * hm)
        cc = J @ np.diag([var_a, var_m]) @ J.T
        cov[2 * c:2 * c + 2, 2 * c:2 * c + 2] = cc
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(se, se)
    sa_se, ssp_se = se[0::2], se[1::2]
    for c in range(C):
        if not uncertain:
            break
        why = []
        if sa_se[c] > RELATIVE_ERROR_LIMIT * sa[c]:
            why.append(f"sigma_a relative error {sa_se[c] / sa[c]:.0%}")
        if ssp_se[c] > RELATIVE_ERROR_LIMIT * ssp[c]:
            why.append(f"sigma_s' relative error {ssp_se[c] / ssp[c]:.0%}")
        rho = corr[2 * c, 2 * c + 1]
        if (ae is not None or me is not None) and np.isfinite(rho) and abs(rho) > CORRELATION_LIMIT and why:
            why.append(f"corr {rho:+.3f}")
        if why:
            poor[c] = True
            notes.append(f"channel {channels[c]} is POORLY CONSTRAINED ({'; '.join(why)})")
    if not uncertain:
        notes.append("exact conversion: no uncertainties given (albedo_err, mfp_err), so none are reported")
    elif ae is None and me is None:
        notes.append("standard errors from the Monte Carlo table's statistical error only (no albedo_err, "
                     "mfp_err)")
    medium = Medium(sa, ssp / (1.0 - g), g=g, eta=eta)
    names = [f"{p}[{n}]" for n in channels for p in ("sigma_a", "sigma_s_prime")]
    model = f"albedo = {ALBEDO_MODELS[albedo_model]}; {DEFINITIONS[definition]}; eta {eta:g}, g {g:g}"
    inputs = {"albedo": a, "mfp": m, "albedo_err": ae, "mfp_err": me, "eta": eta, "g": g,
              "definition": definition,
              "albedo_model": albedo_model}
    return FitResult(kind="appearance", model=model, channels=channels, sigma_a=sa, sigma_s_prime=ssp,
                     sigma_a_stderr=sa_se, sigma_s_prime_stderr=ssp_se, parameters=names, covariance=cov,
                     correlation=corr, medium=medium, poorly_constrained=poor, notes=notes, inputs=inputs,
                     extra={"mfp_units": "mm"})
