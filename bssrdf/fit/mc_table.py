"""The Monte Carlo profile table behind ``--model mc``: reading, smoothing and interpolating it.

The table (``data/fit/mc_profile_table.h5``, made by ``data/fit/make_mc_profile_table.py`` with
:func:`bssrdf.mc.simulate`) holds the radial exitance of a normally incident pencil beam on a
semi-infinite medium with g = 0 under air, tallied in reduced mean free paths ρ = σ't r for
σ't = 1 mm⁻¹, at refractive indices η (``eta``) and reduced albedos α' = 1 − u² (``u``), as bin averages
over annuli, with their standard errors, and the total diffuse reflectance of each medium. A medium's
profile follows by similarity and scaling, R(r; σa, σ's, η) = σ't² R_table(σ't r; α', η) [mm⁻²].

How the table is turned into a smooth model
    1. Reference. Each bin is divided by the bin average of a reference profile close to it
       (:func:`table_reference`): the dipole of Jensen et al. 2001
       (:func:`bssrdf.profiles.dipole.R_d_reference`) with its far-field decay e^{−σtr ρ} replaced by
       transport's e^{−ν₀ρ} (:func:`nu0`), plus the exact single-scattering profile R_1 for g = 0
       (:mod:`bssrdf.profiles.single`). What is smoothed and interpolated is the correction factor
       c(ρ; u, η) = R_MC / reference: smooth, and nearly constant far from the source at every albedo.
    2. Smoothing. For each (η, u), ln c is fitted by weighted least squares (weights 1/σ², σ the relative
       standard error of the bin) with a cubic B-spline in ln ρ with ``N_KNOTS`` interior knots (at quantiles
       of the bins used), over the bins from the source out to the first bin whose relative error exceeds
       ``MAX_REL_ERR`` (or is empty). The spline's standard error at each bin (from the covariance of its
       coefficients, scaled up by sqrt(χ²/dof) when that exceeds 1) is kept as the model's statistical error.
    3. Far tail. Beyond that bin, and beyond the table's last bin (ρ = 50), ln c is held at its last fitted
       value: the profile follows the reference, whose decay is transport's e^{−ν₀ρ}. The tail's error is
       that of the last fitted bin, growing by 10 % per mean free path beyond it.
    4. Interpolation. The smoothed ln c is interpolated across η by a cubic spline, at the η asked for, once
       (:func:`interpolate_eta`: between nodes its error is the larger of the two rows' combined in
       quadrature with the difference between cubic and linear interpolation), and then by a bicubic spline
       (:class:`scipy.interpolate.RectBivariateSpline`) in (u, ln ρ). Inside the first bin (ρ < 0.01) ln c
       is held at its first value (both profiles are then dominated by single scattering, ∝ 1/ρ).
    The total diffuse reflectance R_MC(α', η) is interpolated the same way (its ratio to the dipole model's
    total R_d + ∫2πr R_1, cubic in u and η).

The measured interpolation error of this model (leaving one u node out, see ``tests/test_fit_mc_table.py``)
and the statistical error of the shipped table are stated in ``data/fit/README.md``.

Units: r in mm, σ in mm⁻¹, R in mm⁻²; inside the table ρ is dimensionless and R in units of σ't².
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.interpolate import BSpline, CubicSpline, RectBivariateSpline
from scipy.optimize import brentq

from ..medium import Medium
from ..profiles import dipole as _dipole
from ..profiles import single as _single

__all__ = ["TABLE_FORMAT", "table_path", "RawTable", "load_raw", "SingleScattering", "single_scattering",
           "MCProfileModel", "mc_model", "nu0", "reference_profile", "reference_total",
           "table_reference", "interpolate_eta"]

TABLE_FORMAT = "bssrdf.fit mc profile table 1"
TABLE_NAME = "mc_profile_table.h5"
N_KNOTS = 10         # interior knots of the smoothing spline in ln ρ
MAX_REL_ERR = 0.25   # bins beyond the first with a larger relative error are left to the tail rule
TAIL_ERR_GROWTH = 0.10  # relative error of the tail grows by this per mean free path beyond the data

_PKG_DIR = Path(__file__).resolve().parent.parent


def table_path() -> Path:
    """The table: ``$BSSRDF_MC_TABLE``, else the one in the package, else ``data/fit/`` of the checkout."""
    env = os.environ.get("BSSRDF_MC_TABLE")
    if env:
        return Path(env)
    for c in (_PKG_DIR / "_data" / "fit" / TABLE_NAME, _PKG_DIR.parent / "data" / "fit" / TABLE_NAME):
        if c.is_file():
            return c
    raise FileNotFoundError(f"the Monte Carlo profile table {TABLE_NAME} is missing (data/fit/; regenerate "
                            "it with python data/fit/make_mc_profile_table.py)")


@dataclass(frozen=True)
class RawTable:
    """The table as stored (see the module notes and ``data/fit/make_mc_profile_table.py``)."""

    path: str
    eta: np.ndarray            # (E,)
    u: np.ndarray              # (A,), sqrt(1 − α')
    rho_edges: np.ndarray      # (B + 1,)
    R: np.ndarray              # (E, A, B), σ't² units
    R_stderr: np.ndarray
    R_single: np.ndarray
    R_single_stderr: np.ndarray
    R_diffuse: np.ndarray      # (E, A)
    R_diffuse_stderr: np.ndarray
    photons: np.ndarray        # (E, A)
    attrs: dict

    @property
    def alpha_prime(self) -> np.ndarray:
        return 1.0 - self.u**2

    @property
    def rho_centers(self) -> np.ndarray:
        return 0.5 * (self.rho_edges[1:] + self.rho_edges[:-1])


@functools.lru_cache(maxsize=4)
def load_raw(path: str | None = None) -> RawTable:
    """Read the table (default :func:`table_path`); ValueError if it is not one."""
    import h5py

    p = str(table_path() if path is None else path)
    with h5py.File(p, "r") as f:
        if f.attrs.get("format") != TABLE_FORMAT:
            raise ValueError(f"{p!r} is not a bssrdf Monte Carlo profile table (format {TABLE_FORMAT!r})")
        get = lambda k: np.asarray(f[k][()], dtype=np.float64)  # noqa: E731
        return RawTable(path=p, eta=get("eta"), u=get("u"), rho_edges=get("rho_edges"), R=get("R"),
                        R_stderr=get("R_stderr"), R_single=get("R_single"),
                        R_single_stderr=get("R_single_stderr"), R_diffuse=get("R_diffuse"),
                        R_diffuse_stderr=get("R_diffuse_stderr"),
                        photons=np.asarray(f["photons"][()]),
                        attrs={k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()})


# -- single scattering, g = 0, by lookup ---------------------------------------------------------------
class SingleScattering:
    """Exact single-scattering exitance R_1(r) of a semi-infinite g = 0 medium under air, by lookup.

    R_1(r) = (σs/r) G(σt r; η) (Jensen et al. 2001, single-scattering term for a normally incident
    pencil beam; :mod:`bssrdf.profiles.single`), so one function G of a = σt r per η covers every
    medium. G is computed once with :func:`bssrdf.profiles.single.R_1` (σt = σs = 1) on 1200 values of
    a from 1e-8 to 60 and interpolated by a cubic spline of ln G in ln a (relative error below 1e-6,
    checked in the tests); G is constant below a = 1e-8 and R_1 is taken as 0 beyond a = 60
    (G < e^{−120}).
    """

    A_MIN, A_MAX = 1e-8, 60.0

    def __init__(self, eta: float):
        self.eta = float(eta)
        a = np.geomspace(self.A_MIN, self.A_MAX, 1200)
        unit = Medium(sigma_a=0.0, sigma_s=1.0, g=0.0, eta=self.eta)
        G = a * np.asarray(_single.R_1(a, unit, backend="numpy"))
        self._x0, self._x1 = math.log(self.A_MIN), math.log(self.A_MAX)
        self._spline = CubicSpline(np.log(a), np.log(G))
        self._G0 = float(G[0])

    def G(self, a) -> np.ndarray:
        """G(a) = a R_1(a) for σt = σs = 1."""
        a = np.asarray(a, dtype=np.float64)
        x = np.log(np.clip(a, self.A_MIN, self.A_MAX))
        out = np.exp(self._spline(x))
        return np.where(a > self.A_MAX, 0.0, out)

    def R_1(self, r, sigma_t, sigma_s) -> np.ndarray:
        """R_1(r) [mm⁻²] for radii r [mm] (> 0) and σt, σs [mm⁻¹] (broadcast)."""
        r = np.asarray(r, dtype=np.float64)
        return sigma_s / r * self.G(sigma_t * r)


@functools.lru_cache(maxsize=16)
def single_scattering(eta: float) -> SingleScattering:
    """The cached :class:`SingleScattering` lookup for η."""
    return SingleScattering(eta)


def reference_profile(r, sigma_a, sigma_s_prime, eta: float, single: bool = True) -> np.ndarray:
    """The dipole model R_d(r) (+ R_1(r), g = 0) [mm⁻²] at radii r (N,) for channels σa, σ's (K,) → (N, K).

    Jensen et al. 2001's dipole (:func:`bssrdf.profiles.dipole.R_d_reference`, the physics.md form) plus,
    with ``single``, its exact single-scattering term for a g = 0 medium (σs = σ's, σt = σ't; r > 0).
    """
    r = np.asarray(r, dtype=np.float64).ravel()
    sa = np.atleast_1d(np.asarray(sigma_a, dtype=np.float64))
    ssp = np.atleast_1d(np.asarray(sigma_s_prime, dtype=np.float64))
    out = _dipole.R_d_reference(r, sa, ssp, np.full(sa.shape, float(eta)))
    if single:
        out = out + single_scattering(float(eta)).R_1(r[:, None], sa + ssp, ssp)
    return out


@functools.lru_cache(maxsize=32)
def _single_total_per_albedo(eta: float) -> float:
    """∫2πr R_1 dr / α for g = 0 (:func:`bssrdf.profiles.single.total_R_1` is linear in α = σs/σt)."""
    return float(_single.total_R_1(Medium(sigma_a=0.0, sigma_s=1.0, g=0.0, eta=eta)))


def reference_total(u, eta: float) -> np.ndarray:
    """Total of the dipole model, R_d(α') + ∫2πr R_1 (g = 0), for α' = 1 − u² (closed form + quadrature)."""
    u = np.atleast_1d(np.asarray(u, dtype=np.float64))
    ap = 1.0 - u * u
    rd = np.asarray(_dipole.total_R_d(Medium(sigma_a=u * u, sigma_s=ap, g=0.0, eta=float(eta))))
    return rd + ap * _single_total_per_albedo(float(eta))


# -- the decay constant of transport --------------------------------------------------------------------
def _nu0_scalar(ap: float) -> float:
    if ap <= 0.0:
        return 1.0
    if ap >= 1.0:
        return 0.0
    # α artanh(ν)/ν = 1, written for t = artanh(ν): t coth(t) = 1/α, increasing from 1 at t = 0
    target = 1.0 / ap
    t = brentq(lambda t: (t / math.tanh(t) if t > 1e-8 else 1.0 + t * t / 3.0) - target, 0.0, target + 1.0,
               xtol=1e-300, rtol=1e-15, maxiter=500)
    return math.tanh(t)


@functools.lru_cache(maxsize=1)
def _nu0_spline():
    u = np.concatenate([[0.0], np.geomspace(1e-4, 0.999999, 400)])
    nu = np.array([_nu0_scalar(1.0 - x * x) if x > 0 else 0.0 for x in u])
    # ν₀/u is smooth (→ sqrt(3) as u → 0); interpolate it
    ratio = np.where(u > 0, nu / np.where(u > 0, u, 1.0), math.sqrt(3.0))
    return CubicSpline(u, ratio)


def nu0(u) -> np.ndarray:
    """Asymptotic decay constant ν₀ (units of σ't) of transport with isotropic scattering, α' = 1 − u².

    ν₀ solves α' artanh(ν₀)/ν₀ = 1 (Case & Zweifel, *Linear Transport Theory*, 1967); ν₀ → sqrt(3) u as
    u → 0 (the diffusion σtr). Interpolated from 400 exact roots (relative error < 1e-8).
    """
    u = np.asarray(u, dtype=np.float64)
    return u * _nu0_spline()(np.clip(u, 0.0, 0.999999))


def table_reference(r, sigma_a, sigma_s_prime, eta: float) -> np.ndarray:
    """The reference the table is divided by: R_d e^{−(ν₀ − σtr) r} + R_1 [mm⁻²], r (N,), σ (K,) → (N, K).

    The dipole part carries transport's asymptotic decay e^{−ν₀ r} instead of diffusion's e^{−σtr r}
    (ν₀ and σtr in units of σ't; see :func:`nu0`), so that the correction factor R_MC/reference stays
    nearly constant far from the source at every albedo, which is what makes it interpolate well in α'.
    """
    r = np.asarray(r, dtype=np.float64).ravel()
    sa = np.atleast_1d(np.asarray(sigma_a, dtype=np.float64))
    ssp = np.atleast_1d(np.asarray(sigma_s_prime, dtype=np.float64))
    stp = sa + ssp
    u = np.sqrt(sa / stp)
    decay = (nu0(u) - math.sqrt(3.0) * u) * stp                       # mm^-1
    rd = _dipole.R_d_reference(r, sa, ssp, np.full(sa.shape, float(eta)))
    rd = rd * np.exp(-decay[None, :] * r[:, None])
    return rd + single_scattering(float(eta)).R_1(r[:, None], stp, ssp)


# -- smoothing of one row -------------------------------------------------------------------------------
def _bin_average_reference(edges: np.ndarray, u: float, eta: float, n_gauss: int = 8) -> np.ndarray:
    """Annulus averages of R_ref (σ't = 1) over the bins ``edges``."""
    x, w = np.polynomial.legendre.leggauss(n_gauss)
    lo, hi = edges[:-1, None], edges[1:, None]
    r = 0.5 * (hi - lo) * x[None, :] + 0.5 * (hi + lo)
    f = table_reference(r.ravel(), u * u, 1.0 - u * u, eta).reshape(r.shape)
    integral = np.sum(0.5 * (hi - lo) * w[None, :] * 2.0 * np.pi * r * f, axis=1)
    return integral / (np.pi * (edges[1:] ** 2 - edges[:-1] ** 2))


@dataclass
class _Row:
    y: np.ndarray       # smoothed ln c at the bin centres
    err: np.ndarray     # its standard error (relative error of the model)
    n_fit: int          # bins used by the fit
    chi2_dof: float     # of the smoothing fit


def _smooth_row(raw: RawTable, i: int, j: int) -> _Row:
    edges = raw.rho_edges
    centers = raw.rho_centers
    u, eta = float(raw.u[j]), float(raw.eta[i])
    R, err = raw.R[i, j], raw.R_stderr[i, j]
    ref = _bin_average_reference(edges, u, eta)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(R > 0, err / R, np.inf)
    bad = np.flatnonzero(~(rel <= MAX_REL_ERR))
    n_fit = int(bad[0]) if bad.size else len(R)
    if n_fit < N_KNOTS + 6:
        raise ValueError(f"Monte Carlo table row eta {eta:g}, u {u:g}: only {n_fit} usable bins")
    x = np.log(centers[:n_fit])
    y = np.log(R[:n_fit] / ref[:n_fit])
    s = rel[:n_fit]
    k = 3
    interior = np.quantile(x, np.linspace(0.0, 1.0, N_KNOTS + 2)[1:-1])   # equal numbers of bins per span
    t = np.concatenate([[x[0]] * (k + 1), interior, [x[-1]] * (k + 1)])
    B = BSpline.design_matrix(x, t, k).toarray()
    Bw, yw = B / s[:, None], y / s
    coef, *_ = np.linalg.lstsq(Bw, yw, rcond=None)
    resid = yw - Bw @ coef
    dof = max(1, n_fit - len(coef))
    chi2_dof = float(resid @ resid / dof)
    cov = np.linalg.inv(Bw.T @ Bw) * max(1.0, chi2_dof)
    y_fit = B @ coef
    e_fit = np.sqrt(np.einsum("ij,jk,ik->i", B, cov, B))
    # the tail: ln c held at its last fitted value (the reference decays like transport, e^{−ν₀ρ})
    n = len(centers)
    yy, ee = np.empty(n), np.empty(n)
    yy[:n_fit], ee[:n_fit] = y_fit, e_fit
    rho_end = centers[n_fit - 1]
    tail = centers[n_fit:]
    yy[n_fit:] = y_fit[-1]
    ee[n_fit:] = e_fit[-1] + TAIL_ERR_GROWTH * (tail - rho_end)
    return _Row(yy, ee, n_fit, chi2_dof)


@functools.lru_cache(maxsize=4)
def _smoothed(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Smoothed ln c and its error (E, A, B), the bins used (E, A) and the smoothing χ²/dof (E, A)."""
    raw = load_raw(path)
    E, A, B = raw.R.shape
    Y, Err = np.empty((E, A, B)), np.empty((E, A, B))
    used, chi = np.empty((E, A), dtype=int), np.empty((E, A))
    for i in range(E):
        for j in range(A):
            row = _smooth_row(raw, i, j)
            Y[i, j], Err[i, j], used[i, j], chi[i, j] = row.y, row.err, row.n_fit, row.chi2_dof
    return Y, Err, used, chi


def smoothing_report(path: str | None = None) -> dict:
    """Per-row diagnostics of the smoothing (bins used, χ²/dof), for the data README and the tests."""
    raw = load_raw(None if path is None else str(path))
    _, _, used, chi = _smoothed(raw.path)
    return {"eta": raw.eta, "u": raw.u, "bins_used": used, "chi2_dof": chi,
            "rho_used_max": raw.rho_edges[used]}


def interpolate_eta(etas: np.ndarray, Y: np.ndarray, Err: np.ndarray, eta: float):
    """Rows ``Y`` (E, ...) given at ``etas`` (E,) at ``eta``: cubic spline, and the error of the result.

    At a node: that row and its error ``Err``. Between nodes: the larger error of the two neighbouring rows,
    combined in quadrature with the difference between the cubic and the linear interpolation (an estimate
    of the interpolation error; tests/test_fit_mc_table.py checks it by leaving a node out).
    """
    exact = np.flatnonzero(np.abs(etas - eta) < 1e-12)
    if exact.size:
        return Y[exact[0]], Err[exact[0]]
    y = CubicSpline(etas, Y, axis=0)(eta)
    k = int(np.clip(np.searchsorted(etas, eta), 1, len(etas) - 1))
    t = (eta - etas[k - 1]) / (etas[k] - etas[k - 1])
    y_lin = (1 - t) * Y[k - 1] + t * Y[k]
    return y, np.hypot(np.maximum(Err[k - 1], Err[k]), y - y_lin)


# -- the model at one η ---------------------------------------------------------------------------------
class MCProfileModel:
    """R(r; σa, σ's) of the Monte Carlo table at one refractive index η (air above), g = 0.

    Parameters
    ----------
    eta : float
        Refractive index of the medium, within the table's range (1.0–1.5 for the shipped table).
    path : str, optional
        A table file (default :func:`table_path`).
    exclude_u : int, optional
        Leave this α' node out of the interpolation (for measuring the interpolation error).
    """

    def __init__(self, eta: float, path: str | None = None, exclude_u: int | None = None):
        raw = load_raw(None if path is None else str(path))
        self.raw = raw
        eta = float(eta)
        lo, hi = float(raw.eta.min()), float(raw.eta.max())
        if not (lo - 1e-12 <= eta <= hi + 1e-12):
            raise ValueError(f"eta {eta:g} is outside the Monte Carlo table's range [{lo:g}, {hi:g}] "
                             "(regenerate the table with data/fit/make_mc_profile_table.py --eta ... for "
                             "other indices)")
        self.eta = eta
        Y, Err, _, _ = _smoothed(raw.path)
        keep = np.ones(len(raw.u), bool)
        if exclude_u is not None:
            keep[exclude_u] = False
        u = raw.u[keep]
        Y, Err = Y[:, keep], Err[:, keep]
        y_eta, e_eta = interpolate_eta(raw.eta, Y, Err, eta)
        self.u_nodes = u
        self.u_min, self.u_max = float(u.min()), float(u.max())
        x = np.log(raw.rho_centers)
        self._x0, self._x1 = float(x[0]), float(x[-1])
        self._rho_last = float(raw.rho_centers[-1])
        self._spline = RectBivariateSpline(u, x, y_eta, kx=3, ky=3, s=0)
        self._err = RectBivariateSpline(u, x, e_eta, kx=1, ky=1, s=0)
        # totals: ln(R_MC / R_ref,total), cubic in u (and η)
        ref_tot = self._reference_totals(raw.u)
        with np.errstate(divide="ignore"):
            z = np.log(raw.R_diffuse / ref_tot)
        ze = raw.R_diffuse_stderr / raw.R_diffuse
        z, ze = z[:, keep], ze[:, keep]
        z_eta, ze_eta = interpolate_eta(raw.eta, z, ze, eta)
        self._tot = CubicSpline(u, z_eta)
        self._tot_err = CubicSpline(u, ze_eta)

    # -- profile -------------------------------------------------------------------------------------------
    def _log_c(self, rho: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ln c(ρ, u) and its standard error; ρ, u broadcast to the same shape."""
        rho, u = np.broadcast_arrays(np.asarray(rho, float), np.asarray(u, float))
        x = np.log(np.maximum(rho, 1e-300))
        xc = np.clip(x, self._x0, self._x1)
        uc = np.clip(u, self.u_min, self.u_max)
        y = self._spline.ev(uc.ravel(), xc.ravel()).reshape(rho.shape)
        e = self._err.ev(uc.ravel(), xc.ravel()).reshape(rho.shape)
        beyond = rho > self._rho_last
        if np.any(beyond):
            e = e + TAIL_ERR_GROWTH * np.where(beyond, rho - self._rho_last, 0.0)
        return y, e

    def profile(self, r, sigma_a, sigma_s_prime, with_error: bool = False):
        """R(r) [mm⁻²] at radii r (N,) [mm, > 0] for channels σa, σ's (K,) [mm⁻¹] → (N, K).

        With ``with_error`` also the relative standard error of the model (the table's statistics).
        """
        r = np.asarray(r, dtype=np.float64).ravel()
        sa = np.atleast_1d(np.asarray(sigma_a, dtype=np.float64))
        ssp = np.atleast_1d(np.asarray(sigma_s_prime, dtype=np.float64))
        stp = sa + ssp
        u = np.sqrt(sa / stp)
        ref = table_reference(r, sa, ssp, self.eta)
        y, e = self._log_c(stp * r[:, None], u)
        out = ref * np.exp(y)
        return (out, e) if with_error else out

    def in_range(self, sigma_a, sigma_s_prime) -> np.ndarray:
        """Whether α' of each channel is inside the table's α' range."""
        sa, ssp = np.asarray(sigma_a, float), np.asarray(sigma_s_prime, float)
        u = np.sqrt(sa / (sa + ssp))
        return (u >= self.u_min - 1e-12) & (u <= self.u_max + 1e-12)

    def rho_valid(self) -> float:
        """ρ of the table's last bin centre (beyond it, the tail rule)."""
        return self._rho_last

    # -- totals --------------------------------------------------------------------------------------------
    def _reference_totals(self, u) -> np.ndarray:
        """Dipole model total R_d + ∫2πr R_1 for σ't = 1 at every table η (E, len(u))."""
        return np.stack([reference_total(u, float(eta)) for eta in self.raw.eta])

    def total(self, u, with_error: bool = False):
        """Total diffuse reflectance (specular excluded) of the medium α' = 1 − u² at this η."""
        u = np.atleast_1d(np.asarray(u, dtype=np.float64))
        ref = reference_total(u, self.eta)
        uc = np.clip(u, self.u_min, self.u_max)
        out = ref * np.exp(self._tot(uc))
        return (out, self._tot_err(uc)) if with_error else out


@functools.lru_cache(maxsize=8)
def mc_model(eta: float, path: str | None = None) -> MCProfileModel:
    """The cached :class:`MCProfileModel` for η (and table ``path``)."""
    return MCProfileModel(eta, path)
