"""Multipole diffusion profiles of a finite slab (Donner & Jensen 2005).

Donner & Jensen, *Light Diffusion in Multi-Layered Translucent Materials*, SIGGRAPH 2005
(DOI 10.1145/1073204.1073308). A slab 0 ≤ z ≤ d lit at z = 0 is modelled by an infinite
series of dipoles mirrored in the two extrapolated boundaries, z_b0 = 2A(η_top)D above the
top face and z_bd = 2A(η_bottom)D below the bottom face, each face with its own relative index
(η_top = n_slab/n_above, η_bottom = n_slab/n_below). For i = −n…n, with L = d + z_b0 + z_bd:

    z_{r,i} = 2iL + z_0,   z_{v,i} = 2iL − z_0 − 2z_b0
    R(r) = α'/(4π) Σ_i [ S(z_{r,i}) − S(z_{v,i}) ]
    T(r) = α'/(4π) Σ_i [ S(d − z_{r,i}) − S(d − z_{v,i}) ]
    S(z) = z (1 + σtr δ) e^{−σtr δ} / δ³,   δ = sqrt(r² + z²)

i = 0 alone is Jensen's dipole. Units: σ in mm⁻¹, r and d in mm, R and T in mm⁻².

Number of dipoles, and the modal sum
    ``n_dipoles=None`` (default) evaluates the converged series. Far from the beam the image
    sum is ill-conditioned (for r ≫ L the profile decays like e^{−κ₁r}, κ₁ = sqrt(σtr² + (π/L)²),
    much faster than each dipole, and the terms cancel: a factor ~1e6 at r = 30 mm in 3 mm of
    marble), so far from the beam the same boundary-value problem is summed over the slab's modes,

        R(r) = α'/(πL) Σ_{n≥1} k_n cos(k_n z_b0) sin(k_n ζ₀) K₀(κ_n r),
        T(r) = α'/(πL) Σ_{n≥1} (−1)^{n+1} k_n cos(k_n z_bd) sin(k_n ζ₀) K₀(κ_n r),

    k_n = nπ/L, κ_n = sqrt(σtr² + k_n²), ζ₀ = z_0 + z_b0 (exact for the same Dirichlet
    problem; the tests check that both sums agree). The modal sum takes over at
    r_m = max(L/2, 2/(κ₁ − σtr)), where the images begin to cancel (by e² there); below r_m pairs
    are added
    until the estimated remainder is below ``rtol`` (default 1e-8) of the sum at every radius
    asked for (sampled from min(r) to max(r)): see :func:`n_pairs_needed`. Weak absorption
    needs many pairs; "about ten" is not a rule.
    An integer ``n_dipoles`` evaluates exactly the truncated image sum i = −n…n at every r
    (the paper's model with a fixed count), without the modal sum.

Thin slabs (source depth)
    The paper places the real source at z_0 = ℓ = 1/σ't. For d < 2ℓ bssrdf clamps it into
    the slab, z_0 = min(ℓ, d/2), and emits a :class:`DiffusionValidityWarning`: at d → ℓ the
    unclamped T(r) near r = 0 diverges like 1/(d − ℓ)² and for d < ℓ it is negative (σ's 1.3,
    σa 0.02 mm⁻¹, d 0.7 mm: T(0) ≈ −24 mm⁻²). The clamp is continuous in d, leaves d ≥ 2ℓ
    untouched and matches the mean depth of first interaction (d/2) in the thin-slab limit.
    It keeps R and T finite; it does not make diffusion accurate for slabs a mean free path
    thick (compare with the Monte Carlo tracer there). When the top boundary's extrapolation
    distance exceeds the rest of the slab (z_b0 > d + z_bd, thin slabs under a strong index
    mismatch) the model's R(r) turns negative far from the beam; a result with negative values
    warns.

Totals
    :func:`total_R` and :func:`total_T` integrate the profiles over the plane in closed form:
    each source integrates to ∫2πr S(z) dr = 2π sign(z) e^{−σtr|z|}, and the infinite series of
    images sums as a geometric series, so the totals of the converged profiles are exact to
    rounding (and reduce to the classical diffusion result R + T = 1 when σa = 0).

The kernels compiled for the CPU and GPU are in ``cuda/include/bssrdf/multipole.h``; the NumPy
functions here are the float64 reference.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import k0

from .. import backend as _backend
from .._validate import positive_scalar
from ..fresnel import A
from ..medium import Medium
from ._common import (
    channel_vector,
    check_medium,
    out_shape,
    radii,
    relative_eta,
    warn_validity,
)

__all__ = ["R", "T", "total_R", "total_T", "n_pairs_needed", "source_depth",
           "multipole_reference", "DEFAULT_RTOL", "N_MAX"]

DEFAULT_RTOL = 1e-8
N_MAX = 100_000
MODAL_TAIL = 40.0  # modal terms kept while r (kappa_n - kappa_1) <= 40 (as K0Rule<double>::tail)


class _Geometry:
    """Per-channel quantities of the image series (arrays of shape (C,))."""

    def __init__(self, sigma_a, sigma_s_prime, eta_top, eta_bottom, d):
        sigma_t_prime = sigma_a + sigma_s_prime
        self.alpha_prime = sigma_s_prime / sigma_t_prime
        self.sigma_tr = np.sqrt(3.0 * sigma_a * sigma_t_prime)
        D = 1.0 / (3.0 * sigma_t_prime)
        self.ell = 1.0 / sigma_t_prime
        self.z_0 = np.minimum(self.ell, 0.5 * d)
        self.z_b0 = 2.0 * A(eta_top) * D
        self.z_bd = 2.0 * A(eta_bottom) * D
        self.L = d + self.z_b0 + self.z_bd
        self.d = d

    @property
    def mode_radius(self):
        """r_m = max(L/2, 2/(κ₁ − σtr)): where the modal sum takes over (multipole.h)."""
        k1 = np.pi / self.L
        gap = k1**2 / (np.sqrt(self.sigma_tr**2 + k1**2) + self.sigma_tr)
        return np.maximum(0.5 * self.L, 2.0 / gap)

    def positions(self, i):
        """Signed depths (z_r, z_v) of dipole i (i broadcasts against the channels)."""
        shift = 2.0 * i * self.L
        return shift + self.z_0, shift - self.z_0 - 2.0 * self.z_b0


def _source(z, sigma_tr, r2):
    delta = np.sqrt(r2 + z * z)
    return z * (1.0 + sigma_tr * delta) * np.exp(-sigma_tr * delta) / delta**3


def _dipole(geo: _Geometry, i, r2, transmit: bool):
    """Contribution of dipole i without the α'/(4π) factor."""
    z_r, z_v = geo.positions(i)
    if transmit:
        z_r, z_v = geo.d - z_r, geo.d - z_v
    return _source(z_r, geo.sigma_tr, r2) - _source(z_v, geo.sigma_tr, r2)


def _images(geo: _Geometry, r, n: int, transmit: bool):
    """Image sum i = −n…n at flat radii r (N,) → (N, C)."""
    r2 = (np.asarray(r, dtype=np.float64) ** 2)[:, None]
    total = np.zeros((r2.shape[0], geo.L.size))
    for i in range(-n, n + 1):
        total += _dipole(geo, float(i), r2, transmit)
    return geo.alpha_prime / (4.0 * np.pi) * total


def _modes(geo: _Geometry, r, transmit: bool):
    """Modal sum at flat radii r (N,) > 0 → (N, C), with SciPy's K0."""
    r = np.asarray(r, dtype=np.float64)[:, None]
    L, s2 = geo.L, geo.sigma_tr**2
    kappa_1 = np.sqrt(s2 + (np.pi / L) ** 2)
    total = np.zeros((r.shape[0], L.size))
    n = 1
    while True:
        k = n * np.pi / L
        kappa = np.sqrt(s2 + k * k)
        keep = (n == 1) | (r * (kappa - kappa_1) <= MODAL_TAIL)
        if not np.any(keep):
            break
        face = (1.0 if n % 2 else -1.0) * np.cos(k * geo.z_bd) if transmit else np.cos(k * geo.z_b0)
        with np.errstate(over="ignore", invalid="ignore"):
            term = k * face * np.sin(k * (geo.z_0 + geo.z_b0)) * k0(kappa * r)
        total += np.where(keep, term, 0.0)
        n += 1
    return geo.alpha_prime / (np.pi * L) * total


def multipole_reference(r, sigma_a, sigma_s_prime, eta_top, eta_bottom, d, n, modes, transmit):
    """NumPy float64 R(r) (``transmit`` false) or T(r) [mm⁻²]: flat r (N,), channels (C,).

    Image sum with ``n`` pairs; with ``modes`` true the modal sum for r ≥ r_m (per channel).
    """
    geo = _Geometry(sigma_a, sigma_s_prime, eta_top, eta_bottom, float(d))
    r = np.asarray(r, dtype=np.float64)
    out = _images(geo, r, int(n), bool(transmit))
    if modes:
        far = r[:, None] >= geo.mode_radius
        rows = np.any(far, axis=1)
        if np.any(rows):
            out[rows] = np.where(far[rows], _modes(geo, r[rows], bool(transmit)), out[rows])
    return out


def source_depth(medium: Medium, thickness: float) -> np.ndarray:
    """Depth z_0 = min(ℓ, d/2) of the real source [mm] (ℓ = 1/σ't); see the module notes."""
    d = positive_scalar("thickness", thickness, unit="mm")
    return np.minimum(check_medium(medium).mfp, 0.5 * d)


def _sample_radii(r) -> np.ndarray:
    """A few radii spanning [min(r), max(r)] on which convergence is judged (r NumPy or CuPy;
    only its min and max leave the device)."""
    if r.size == 0:
        return np.zeros(1)
    lo, hi = float(r.min()), float(r.max())
    pts = [lo, hi]
    if hi > 0:
        pts += list(np.geomspace(max(lo, hi * 1e-6), hi, 24))
    return np.unique(np.asarray(pts))


def _n_for(geo: _Geometry, r_sample, transmit: bool, rtol: float, n_max: int,
           modes: bool) -> int:
    r = np.asarray(r_sample, dtype=np.float64)[:, None]
    # radii served by the modal sum need no images
    served = (r >= geo.mode_radius) if modes else np.zeros(r.shape[:1] + geo.L.shape, bool)
    if np.all(served):
        return 0
    r2 = r**2
    s = _dipole(geo, 0.0, r2, transmit)
    t_prev = np.abs(s)
    ok_prev = np.zeros_like(served)
    chunk = 16
    n0 = 1
    while n0 <= n_max:
        idx = np.arange(n0, min(n0 + chunk, n_max + 1), dtype=np.float64)[:, None, None]
        pair = _dipole(geo, idx, r2, transmit) + _dipole(geo, -idx, r2, transmit)
        partial = s + np.cumsum(pair, axis=0)
        t = np.abs(pair)
        t_before = np.concatenate([t_prev[None], t[:-1]], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(t_before > 0, t / t_before, 0.0)
            tail = np.where(rho < 1.0, t / (1.0 - rho), np.inf)
        ok = (tail <= rtol * np.abs(partial)) | ((t == 0) & (rho < 1.0)) | served
        # two consecutive n must pass, so that one accidentally tiny term cannot stop the sum
        ok_before = np.concatenate([ok_prev[None], ok[:-1]], axis=0)
        done = np.all(ok & ok_before, axis=(1, 2))
        if np.any(done):
            return int(n0 + np.argmax(done))
        s, t_prev, ok_prev = partial[-1], t[-1], ok[-1]
        n0 += chunk
    warnings.warn(f"multipole series not converged to rtol={rtol:g} with {n_max} dipole pairs "
                  "(very weak absorption?); results use n_max", RuntimeWarning, stacklevel=4)
    return n_max


def n_pairs_needed(r, medium: Medium, thickness: float, n_above=1.0, n_below=1.0, *,
                   transmit: bool = False, rtol: float = DEFAULT_RTOL, n_max: int = N_MAX,
                   modes: bool = True) -> int:
    """Number n of dipole pairs (dipoles i = −n…n) that converges the image sum at radii ``r``.

    Pairs are added until, at every sampled radius and channel, the last pair's contribution
    t_n (dipoles +n and −n together) plus a geometric estimate of the remainder,
    t_n ρ/(1 − ρ) with ρ = t_n/t_{n−1}, is at most ``rtol`` times the partial sum, for two
    consecutive n. Radii are sampled between min(r) and max(r); with ``modes`` (the default,
    as in :func:`R`) radii ≥ r_m are left to the modal sum.

    Parameters
    ----------
    r : array_like
        Radii [mm] the profile will be evaluated at.
    medium, thickness, n_above, n_below
        As in :func:`R`.
    transmit : bool, default False
        Judge the convergence of T(r) instead of R(r).
    rtol : float, default 1e-8
        Relative tolerance on the series remainder.
    n_max : int, default 100000
        Upper limit; reaching it warns.
    modes : bool, default True
        Whether radii ≥ r_m are served by the modal sum.
    """
    check_medium(medium)
    d = positive_scalar("thickness", thickness, unit="mm")
    geo = _Geometry(*_channels(medium, n_above, n_below), d)
    return _n_for(geo, _sample_radii(radii(r)), transmit, rtol, int(n_max), modes)


def _channels(medium: Medium, n_above, n_below):
    return (channel_vector(medium.sigma_a), channel_vector(medium.sigma_s_prime),
            channel_vector(relative_eta(medium, n_above, "n_above")),
            channel_vector(relative_eta(medium, n_below, "n_below")))


def _check_n_dipoles(n_dipoles) -> int | None:
    if n_dipoles is None:
        return None
    if isinstance(n_dipoles, bool) or not isinstance(n_dipoles, (int, np.integer)) or n_dipoles < 0:
        raise ValueError(f"n_dipoles must be None or an integer >= 0 (pairs on each side of the "
                         f"central dipole); got {n_dipoles!r}")
    return int(n_dipoles)


def _warn_thin(medium: Medium, d: float) -> None:
    thin = 0.5 * d < medium.mfp
    if np.any(thin):
        warn_validity(
            f"slab thickness {d:g} mm is below 2 reduced mean free paths (2/sigma_t' = "
            f"{np.round(2 * np.atleast_1d(medium.mfp), 4).tolist()} mm): the multipole source is "
            "clamped to mid-slab, z_0 = d/2; diffusion is inaccurate for such thin slabs")


def _profile(r, medium, thickness, n_above, n_below, n_dipoles, backend, transmit):
    check_medium(medium)
    d = positive_scalar("thickness", thickness, unit="mm")
    n = _check_n_dipoles(n_dipoles)
    r = radii(r)
    channels = _channels(medium, n_above, n_below)
    _warn_thin(medium, d)
    modes = n is None
    if modes:
        n = _n_for(_Geometry(*channels, d), _sample_radii(r), transmit, DEFAULT_RTOL, N_MAX, True)
    scalars = [_backend.Scalar(d, "T"), _backend.Scalar(n, "i"), _backend.Scalar(int(modes), "i"),
               _backend.Scalar(int(transmit), "i")]
    out = _backend.evaluate("multipole", r, channels, scalars=scalars,
                            reference=multipole_reference, out_shape=out_shape(r, medium),
                            backend=backend)
    if bool((out < 0).any()):
        warn_validity(f"the multipole {'T' if transmit else 'R'}(r) is negative at "
                      f"{int((out < 0).sum())} of {out.size} values: the diffusion model fails for "
                      f"this slab (d = {d:g} mm; see bssrdf.profiles.multipole notes)")
    return out


def R(r, medium: Medium, thickness: float, n_above=1.0, n_below=1.0, n_dipoles=None,
      backend: str = "auto"):
    """Diffuse reflectance profile R(r) of a slab [mm⁻²] (Donner & Jensen 2005).

    Exitance at the lit face, at distance ``r`` from a normally incident pencil beam of unit
    power, multiple scattering only.

    Parameters
    ----------
    r : array_like (NumPy or CuPy)
        Distances from the point of incidence [mm], finite and ≥ 0.
    medium : Medium
        The slab's material (σ't > 0); ``medium.eta`` is the slab's index.
    thickness : float
        Slab thickness d [mm], > 0.
    n_above, n_below : float or array_like, default 1.0
        Refractive indices of the media above (lit side) and below the slab.
    n_dipoles : int or None, default None
        Dipole pairs n on each side of the central dipole (2n + 1 dipoles); None chooses n by
        the convergence criterion of :func:`n_pairs_needed`.
    backend : {"auto", "cuda", "cpu", "numpy"}, default "auto"

    Returns
    -------
    Array of shape ``r.shape + medium.shape``, same kind (NumPy/CuPy) as ``r``.

    Warns
    -----
    DiffusionValidityWarning
        When d < 2/σ't and the source is clamped into the slab (module notes).
    """
    return _profile(r, medium, thickness, n_above, n_below, n_dipoles, backend, False)


def T(r, medium: Medium, thickness: float, n_above=1.0, n_below=1.0, n_dipoles=None,
      backend: str = "auto"):
    """Diffuse transmittance profile T(r) of a slab [mm⁻²] (Donner & Jensen 2005).

    Exitance at the far face, at lateral distance ``r`` from the beam. Parameters and
    result as in :func:`R`.
    """
    return _profile(r, medium, thickness, n_above, n_below, n_dipoles, backend, True)


def _series_total(geo: _Geometry, a, n: int | None):
    """Σ_i sign(a + 2iL) e^{−σtr|a + 2iL|} over i = −n…n (all i when n is None)."""
    sigma, L = geo.sigma_tr, geo.L
    if n is not None:
        i = np.arange(-n, n + 1, dtype=np.float64)[:, None]
        x = a + 2.0 * i * L
        return np.sum(np.sign(x) * np.exp(-sigma * np.abs(x)), axis=0)
    ap = np.mod(a, 2.0 * L)  # the images sit at ap + 2kL (k >= 0) and ap - 2L - 2kL
    with np.errstate(divide="ignore", invalid="ignore"):
        num = -np.expm1(-2.0 * sigma * (L - ap))
        den = -np.expm1(-2.0 * sigma * L)
        geometric = np.exp(-sigma * ap) * num / den
    return np.where(sigma * L > 0, geometric, (L - ap) / L)


def _total(medium, thickness, n_above, n_below, n_dipoles, transmit):
    check_medium(medium)
    d = positive_scalar("thickness", thickness, unit="mm")
    n = _check_n_dipoles(n_dipoles)
    geo = _Geometry(*_channels(medium, n_above, n_below), d)
    _warn_thin(medium, d)
    a_r, a_v = geo.z_0, -geo.z_0 - 2.0 * geo.z_b0  # the i = 0 positions
    if transmit:
        a_r, a_v = d - a_r, d - a_v
    total = 0.5 * geo.alpha_prime * (_series_total(geo, a_r, n) - _series_total(geo, a_v, n))
    return total.reshape(medium.shape)


def total_R(medium: Medium, thickness: float, n_above=1.0, n_below=1.0, n_dipoles=None):
    """Total diffuse reflectance ∫2πr R(r) dr of the slab, in closed form.

    ``n_dipoles=None`` sums the infinite series (the converged profile's total, exact to
    rounding); an integer sums the dipoles i = −n…n, i.e. the total of that truncated profile.
    Returns shape ``medium.shape``.
    """
    return _total(medium, thickness, n_above, n_below, n_dipoles, False)


def total_T(medium: Medium, thickness: float, n_above=1.0, n_below=1.0, n_dipoles=None):
    """Total diffuse transmittance ∫2πr T(r) dr of the slab, in closed form (see :func:`total_R`)."""
    return _total(medium, thickness, n_above, n_below, n_dipoles, True)
