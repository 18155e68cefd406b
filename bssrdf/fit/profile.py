"""Fit σa and σ's per channel to a measured radial profile (Jensen et al. 2001, §5: the measurement of
scattering coefficients from the radial exitance around a focused beam).

The estimator
    Weighted least squares in log space (:func:`scipy.optimize.least_squares`, trust-region reflective):
    the residual of value i of channel c is

        (ln M_ic − ln s_c − ln R(r_i; σa_c, σ's_c)) / w_ic,    w_ic² = (σ_ic/M_ic)² + ε_ic²,

    with M the measurement, σ its standard error, ε the model's own relative error (the statistical error of
    the Monte Carlo table; 0 for the analytic models), s the scale factor of the measurement (1 unless
    ``unknown_scale``). The parameters are ln σ't and u = sqrt(1 − α') = sqrt(σa/σ't) per channel (bounded
    to the model's range; 1e-4 ≤ u ≤ 0.999 for the diffusion models, the table's range for ``mc``), and ln s.
    The start is the best point of a 48 × 30 grid in (σ't, u) under the model itself (the dipole for the
    multipole; the scale profiled out when unknown), from which the fit is refined.

Uncertainties
    The covariance is (JᵀJ)⁻¹ of the whitened residuals at the optimum (linearised), carried to σa = σ't u²,
    σ's = σ't (1 − u²) by the delta method. With uncertainties in the data, each channel's are scaled up by
    sqrt(χ²_red) of that channel when it exceeds 1 (the Birge ratio: a model that does not fit within the
    stated errors must not report errors as small as if it did); the reduced χ² and its p-value are reported
    either way. Without uncertainties, each channel's relative errors are taken equal and estimated from the
    scatter of its residuals (χ² is then not a test and is reported as n/a). A channel whose σa and σ's
    correlate beyond ±0.99, or whose relative standard error exceeds 30 %, is flagged as poorly constrained.

Points used
    Values ≤ 0 (a noisy far tail) cannot enter a log fit and are left out (and counted in the notes), and so
    are values whose standard error exceeds 20 % of the value (``max_relative_error``): their logarithm is
    biased low by about half their relative variance, and their weight, computed from the value itself,
    depends on the noise (in a Monte Carlo profile of skin1 blue, keeping them biased σa by +1 % and σ's by
    +2 %, 2.4 standard errors, and raised the reduced χ² from 1.0 to 2.0). With a single-scattering term,
    point values at r = 0 (where R_1 is infinite) are left out too. Annulus averages (Monte Carlo files) are
    fitted as averages of the model over the annulus.
"""

from __future__ import annotations

import math
import os
import time
import warnings

import numpy as np
from scipy import optimize, stats

from .._validate import positive_scalar
from ..medium import Medium
from .data import ProfileData, profile_from_arrays, read_profile
from .models import MODELS, bin_average, make_model
from .result import CORRELATION_LIMIT, RELATIVE_ERROR_LIMIT, FitError, FitResult

__all__ = ["fit_profile", "MIN_POINTS", "DEFAULT_ETA", "MAX_RELATIVE_ERROR"]

MIN_POINTS = 4        # usable values per channel (2 parameters + 2 degrees of freedom)
MAX_RELATIVE_ERROR = 0.2  # values less precise than this are left out of the log-space fit
DEFAULT_ETA = 1.3     # Jensen et al. 2001's index for most of their materials
MAX_NFEV = 300
LN_STP_BOUNDS = (math.log(1e-6), math.log(1e6))
LN_S_BOUNDS = (-60.0, 60.0)
SCALE_MODES = ("shared", "per-channel")


def _check_scale_mode(unknown_scale) -> str | None:
    if unknown_scale is None or unknown_scale is False:
        return None
    if unknown_scale is True:
        return "shared"
    if unknown_scale in SCALE_MODES:
        return unknown_scale
    raise ValueError(f"unknown_scale must be False, True, 'shared' or 'per-channel'; got {unknown_scale!r}")


class _Problem:
    """The least-squares problem: data, mask, weights, model and parameter layout."""

    def __init__(self, data: ProfileData, model, use: np.ndarray, scale_mode: str | None):
        self.data, self.model, self.use = data, model, use
        self.C = data.n_channels
        self.logM = np.log(np.where(use, data.values, 1.0))
        rel = (np.ones_like(data.values) if data.errors is None
               else data.errors / np.where(use, data.values, 1.0))
        self.rel_data = np.where(use, rel, 1.0)
        self.rel_model = np.zeros_like(self.rel_data)
        self.boost = np.ones(self.C)  # per-channel factor on the weights (Birge ratio, or scatter estimate)
        self.scale_mode = scale_mode
        self.n_scale = 0 if scale_mode is None else (1 if scale_mode == "shared" else self.C)
        self.P = 2 * self.C + self.n_scale
        lo_u, hi_u = model.u_bounds
        self.lb = np.concatenate([np.full(self.C, LN_STP_BOUNDS[0]), np.full(self.C, lo_u),
                                  np.full(self.n_scale, LN_S_BOUNDS[0])])
        self.ub = np.concatenate([np.full(self.C, LN_STP_BOUNDS[1]), np.full(self.C, hi_u),
                                  np.full(self.n_scale, LN_S_BOUNDS[1])])
        self.nfev = 0

    @property
    def w(self) -> np.ndarray:
        return np.sqrt(self.rel_data**2 + self.rel_model**2) * self.boost[None, :]

    def split(self, x):
        C = self.C
        stp, u = np.exp(x[:C]), x[C:2 * C]
        ls = np.zeros(C)
        if self.scale_mode == "shared":
            ls[:] = x[2 * C]
        elif self.scale_mode == "per-channel":
            ls = x[2 * C:]
        return stp * u * u, stp * (1.0 - u * u), ls

    def log_model(self, sa, ssp) -> np.ndarray:
        self.nfev += 1
        m = bin_average(self.model, self.data.r, self.data.bins, sa, ssp)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(m > 0, np.log(np.where(m > 0, m, 1.0)), -700.0)

    def residuals_of(self, x, lm=None) -> np.ndarray:
        sa, ssp, ls = self.split(x)
        if lm is None:
            lm = self.log_model(sa, ssp)
        res = (self.logM - ls[None, :] - lm) / self.w
        return res[self.use]

    def jacobian(self, x) -> np.ndarray:
        """Central differences, all channels at once (channel c's residuals depend on its own σ only)."""
        C = self.C
        J = np.zeros((int(self.use.sum()), self.P))
        w = self.w
        cols = []
        for block in (0, 1):
            sl = slice(block * C, (block + 1) * C)
            h = 1e-5 if block == 0 else 1e-6 + 1e-5 * x[sl]
            xp, xm = x.copy(), x.copy()
            xp[sl] = np.minimum(x[sl] + h, self.ub[sl])
            xm[sl] = np.maximum(x[sl] - h, self.lb[sl])
            lp = self.log_model(*self.split(xp)[:2])
            lmm = self.log_model(*self.split(xm)[:2])
            d = (lp - lmm) / (xp[sl] - xm[sl])[None, :]        # (N, C): d ln m / d x_c
            cols.append(d)
        # residual r_ic depends on x_c: dr/dx = −(d ln m/dx)/w
        idx = np.nonzero(self.use)  # (i, c) pairs in the order of residuals_of (row-major)
        rows = np.arange(idx[0].size)
        for block, d in enumerate(cols):
            J[rows, block * C + idx[1]] = -d[idx] / w[idx]
        if self.scale_mode == "shared":
            J[:, 2 * C] = -1.0 / w[idx]
        elif self.scale_mode == "per-channel":
            J[rows, 2 * C + idx[1]] = -1.0 / w[idx]
        return J


def _grid_start(prob: _Problem, grid_model) -> np.ndarray:
    """Best (ln σ't, u[, ln s]) on a 48 × 30 grid in (σ't, u) under ``grid_model``.

    Without a scale each channel takes its own best grid point. With a scale, ln s is profiled out in
    closed form (the weighted mean of ln M − ln R): per channel for ``per-channel``; for ``shared``, each
    channel's χ² is a parabola in ln s about its own optimum at every grid point, and the common ln s is
    the one that minimises the sum over channels of the per-channel minima over the grid.
    """
    data, C = prob.data, prob.C
    r_pos = data.r[data.r > 0]
    r_lo = float(r_pos.min()) if r_pos.size else float(data.r.max()) * 1e-3
    r_hi = float(data.r.max())
    stp_grid = np.geomspace(0.05 / r_hi, 20.0 / r_lo, 48)
    lo_u, hi_u = prob.model.u_bounds
    u_grid = np.geomspace(max(lo_u, 2e-3), hi_u, 30)
    S, U = np.meshgrid(stp_grid, u_grid, indexing="ij")
    S, U = S.ravel(), U.ravel()
    sa, ssp = S * U * U, S * (1 - U * U)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = bin_average(grid_model, data.r, data.bins, sa, ssp)            # (N, G)
        lm = np.where(m > 0, np.log(np.where(m > 0, m, 1.0)), -700.0)
    x0 = np.empty(prob.P)
    w = prob.w
    chi_min, ls_opt, curv = [], [], []
    for c in range(C):
        use = prob.use[:, c]
        wc = w[use, c][:, None]
        diff = prob.logM[use, c][:, None] - lm[use]                        # (n, G)
        if prob.scale_mode is None:
            chi = np.sum((diff / wc) ** 2, axis=0)
            ls = np.zeros_like(chi)
        else:
            wt = 1.0 / wc**2
            ls = np.sum(diff * wt, axis=0) / np.sum(wt)                     # profiled ln s per grid point
            chi = np.sum(((diff - ls[None, :]) / wc) ** 2, axis=0)
        chi = np.where(np.isfinite(chi), chi, np.inf)
        chi_min.append(chi)
        ls_opt.append(ls)
        curv.append(float(np.sum(1.0 / wc**2)))
    if prob.scale_mode == "shared":
        per = list(zip(chi_min, ls_opt, curv, strict=True))
        cands = np.unique(np.concatenate([ls[np.argsort(ch)[:20]] for ch, ls, _ in per]))
        total = [sum(float(np.min(ch + a * (ls - L) ** 2)) for ch, ls, a in per) for L in cands]
        L = float(cands[int(np.argmin(total))])
        for c in range(C):
            k = int(np.argmin(chi_min[c] + curv[c] * (ls_opt[c] - L) ** 2))
            x0[c], x0[C + c] = math.log(S[k]), U[k]
        x0[2 * C] = L
    else:
        for c in range(C):
            k = int(np.argmin(chi_min[c]))
            x0[c], x0[C + c] = math.log(S[k]), U[k]
            if prob.scale_mode == "per-channel":
                x0[2 * C + c] = ls_opt[c][k]
    return np.clip(x0, prob.lb, prob.ub)


def _solve(prob: _Problem, x0: np.ndarray) -> optimize.OptimizeResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = optimize.least_squares(prob.residuals_of, x0, jac=prob.jacobian, bounds=(prob.lb, prob.ub),
                                     method="trf", x_scale="jac", ftol=1e-10, xtol=1e-10, gtol=1e-10,
                                     max_nfev=MAX_NFEV)
    if sol.status <= 0 or not np.all(np.isfinite(sol.x)) or not np.isfinite(sol.cost):
        raise FitError(f"the {prob.model.name} fit did not converge ({sol.message.rstrip('.')}, after "
                       f"{sol.nfev} evaluations); check the data, --r-min/--r-max and the model")
    return sol


def _as_data(data, r_min, r_max) -> ProfileData:
    if isinstance(data, ProfileData):
        d = data
    elif isinstance(data, (str, os.PathLike)) or (isinstance(data, (list, tuple)) and data
                                                   and all(isinstance(p, (str, os.PathLike)) for p in data)):
        d = read_profile(data)
    elif isinstance(data, tuple) and len(data) in (2, 3):
        d = profile_from_arrays(*data)
    else:
        raise TypeError("data must be a ProfileData, a file path (or a list of HDF5 paths), or a tuple (r, "
                        "values[, errors])")
    if not np.all(np.isfinite(d.r)) or np.any(d.r < 0):
        raise ValueError("radii must be finite and >= 0 mm")
    if not np.all(np.isfinite(d.values)):
        raise ValueError("the profile contains NaN or infinite values")
    if d.errors is not None and not np.all(np.isfinite(d.errors) & (d.errors > 0)):
        raise ValueError("the uncertainties must be finite and > 0")
    keep = np.ones(d.r.size, bool)
    if r_min is not None:
        keep &= d.r >= _nonneg("r_min", r_min)
    if r_max is not None:
        keep &= d.r <= positive_scalar("r_max", r_max, unit="mm")
    if r_min is not None and r_max is not None and float(r_min) >= float(r_max):
        raise ValueError(f"r_min ({float(r_min):g} mm) must be below r_max ({float(r_max):g} mm)")
    return d.select(keep)


def _nonneg(name, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0 mm; got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be finite and >= 0 mm; got {value!r}")
    return v


def fit_profile(data, *, model: str = "dipole", eta: float | None = None, thickness: float | None = None,
                n_below: float = 1.0, r_min: float | None = None, r_max: float | None = None,
                unknown_scale: bool | str = False, single_scattering: bool = True,
                max_relative_error: float | None = MAX_RELATIVE_ERROR,
                table: str | os.PathLike | None = None) -> FitResult:
    """Fit σa and σ's per channel to a radial exitance profile.

    Parameters
    ----------
    data : ProfileData, path, list of HDF5 paths, or (r, values[, errors])
        The measurement: see :mod:`bssrdf.fit.data` for the files; arrays are r [mm] (N,), values (N,) or
        (N, C) [mm⁻² per unit incident power], errors (standard errors, like values).
    model : {"dipole", "multipole", "mc"}, default "dipole"
        The forward model (:mod:`bssrdf.fit.models`): the Jensen 2001 dipole (+ exact single scattering),
        the Donner & Jensen 2005 multipole for a slab of ``thickness``, or the Monte Carlo table (accurate
        near the source, where diffusion is not).
    eta : float, optional
        Refractive index of the material (air above). Default: the one stated by the file (Monte Carlo
        results), else 1.3.
    thickness : float, optional
        Slab thickness [mm] (``multipole`` only; the others are semi-infinite).
    n_below : float, default 1.0
        Index below the slab (``multipole`` only).
    r_min, r_max : float, optional
        Fit only radii in [r_min, r_max] [mm].
    unknown_scale : bool or {"shared", "per-channel"}, default False
        Fit a scale factor of the measurement too: one for all channels (True or "shared") or one per
        channel. Required when the file says its values are in arbitrary units.
    single_scattering : bool, default True
        Add the exact single-scattering profile to the dipole/multipole (the measured exitance includes it);
        False fits the diffusion profile alone, as a multiple-scattering-only model.
    max_relative_error : float or None, default 0.2
        Leave out values whose standard error exceeds this fraction of the value (data with uncertainties
        only; None keeps all): in log space such a value is biased (E[ln M] < ln E[M]) and its weight,
        computed from the value itself, unreliable.
    table : path, optional
        The Monte Carlo table for ``mc`` (default: the shipped one, :func:`bssrdf.fit.mc_table.table_path`).

    Returns
    -------
    FitResult
        Estimates with standard errors and correlations, reduced χ², the Medium (g = 0, σs = σ's).

    Raises
    ------
    ValueError
        Bad input (named), too few usable points, a measurement in arbitrary units without
        ``unknown_scale``.
    FitError
        The fit did not converge, or (``mc``) the estimate lies outside the table.

    Notes
    -----
    Similarity: the models are for g = 0 (the Monte Carlo table is traced with g = 0 and the single-
    scattering term uses an isotropic phase function); diffusion depends on σ's only, so σ's is what a profile
    determines, and the Medium returned has g = 0, σs = σ's. For a strongly forward-scattering material this
    is an approximation the fit cannot see through, and not only near the source: on Monte Carlo profiles of
    a g = 0.8 medium (σa 0.05, σ's 1.5 mm⁻¹, η 1.3, r ≤ 6 mm) the ``mc`` fit gave σa 0.042 ± 0.002 with a
    reduced χ² of 60 (flagged) over all radii, and σa 0.036 ± 0.0003, σ's 1.85 mm⁻¹ with a reduced χ² of 1.3
    (not flagged) beyond 1 mm, while for g = 0 it returns the medium within its errors. Read such estimates
    as those of the similar g = 0 medium. Module notes: estimator, uncertainties, points used.
    """
    t0 = time.perf_counter()
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    scale_mode = _check_scale_mode(unknown_scale)
    d = _as_data(data, r_min, r_max)
    notes: list[str] = []
    file_eta = d.meta.get("eta")
    if eta is None:
        eta = float(file_eta) if file_eta is not None else DEFAULT_ETA
        if file_eta is not None:
            notes.append(f"eta {eta:g} taken from the file")
    eta = positive_scalar("eta", eta)
    if model == "multipole":
        if thickness is None:
            raise ValueError("the multipole model needs the slab thickness (thickness in mm)")
        thickness = positive_scalar("thickness", thickness, unit="mm")
    elif thickness is not None:
        raise ValueError(f"thickness applies to the multipole model only; the {model} model is of a "
                         "semi-infinite medium (use model 'multipole' for a slab)")
    n_below = positive_scalar("n_below", n_below)
    file_thickness = d.meta.get("thickness")
    if model != "multipole" and file_thickness is not None:
        notes.append(f"the file describes a slab {file_thickness:g} mm thick; the {model} model is "
                     "semi-infinite")
    if d.meta.get("g") not in (None, 0.0):
        notes.append(f"the file's medium has g = {d.meta['g']:g}; the models assume g = 0 (similarity: σ's "
                     "is what is fitted; for large g the estimates can be biased by tens of per cent: see "
                     "fit_profile's notes)")
    if not d.absolute and scale_mode is None:
        raise ValueError("the measurement is in arbitrary units: fit its scale too (unknown_scale, "
                         "--unknown-scale)")
    if d.n_channels == 0 or d.r.size == 0:
        raise ValueError(f"no data points to fit (after r_min/r_max: {d.r.size} radii)")

    m = make_model(model, eta, thickness, n_below, single_scattering, table)
    use = d.values > 0
    n_nonpos = (~use).sum(axis=0)
    if m.single and d.bins is None:
        at0 = d.r == 0
        if np.any(at0):
            notes.append(f"{int(at0.sum())} value(s) at r = 0 left out (the single-scattering term is "
                         "infinite there; annulus averages are not)")
            use &= ~at0[:, None]
    for c, name in enumerate(d.channels):
        if n_nonpos[c]:
            notes.append(f"channel {name}: {int(n_nonpos[c])} value(s) <= 0 left out (a log fit needs "
                         "positive values)")
    if d.errors is not None and max_relative_error is not None:
        limit = positive_scalar("max_relative_error", max_relative_error)
        with np.errstate(divide="ignore", invalid="ignore"):
            noisy = use & ~(d.errors <= limit * d.values)
        for c, name in enumerate(d.channels):
            if noisy[:, c].any():
                notes.append(f"channel {name}: {int(noisy[:, c].sum())} value(s) with a relative error above "
                             f"{limit:g} left out (their log is biased and their weight unreliable)")
        use &= ~noisy
    n_use = use.sum(axis=0)
    for c, name in enumerate(d.channels):
        if n_use[c] < MIN_POINTS:
            raise ValueError(f"too few points: channel {name} has {int(n_use[c])} usable value(s) (positive, "
                             f"in [r_min, r_max]); the fit needs at least {MIN_POINTS}")

    prob = _Problem(d, m, use, scale_mode)
    if model == "multipole":
        # the grid under the dipole (the multipole is too slow for 1440 media), refined with the dipole
        from .models import DipoleModel

        dip = _Problem(d, DipoleModel(eta, single=m.single), use, scale_mode)
        x = np.clip(_solve(dip, _grid_start(dip, dip.model)).x, prob.lb, prob.ub)
    else:
        x = _grid_start(prob, m)
    sol = _solve(prob, x)
    if model == "mc":
        # the table's statistical error at the estimate, added in quadrature; refit
        sa, ssp, _ = prob.split(sol.x)
        prob.rel_model = np.nan_to_num(bin_average(m, d.r, d.bins, sa, ssp, relative_error=True), nan=0.0)
        sol = _solve(prob, sol.x)

    has_errors = d.errors is not None
    res = prob.residuals_of(sol.x)
    n_par_c = 2 + (1 if scale_mode == "per-channel" else 0)
    chan_of = np.nonzero(use)[1]
    chi2_c = np.bincount(chan_of, weights=res**2, minlength=prob.C)
    dof_c = np.maximum(n_use - n_par_c - (1.0 / prob.C if scale_mode == "shared" else 0.0), 1e-9)
    chi2 = float(res @ res)
    dof = int(res.size - prob.P)
    if dof < 1:
        raise ValueError(f"too few points: {res.size} values for {prob.P} parameters")
    if has_errors:
        red_c = chi2_c / dof_c
        chi2_red = chi2 / dof
        p_value = float(stats.chi2.sf(chi2, dof))
        prob.boost = np.sqrt(np.maximum(1.0, red_c))
        if np.any(red_c > 1.0):
            inflated = [f"{n} ({math.sqrt(v):.3g}x)" for n, v in zip(d.channels, red_c, strict=True)
                        if v > 1.0]
            notes.append("standard errors scaled up by sqrt(reduced chi^2) where it exceeds 1: "
                         + ", ".join(inflated))
        if p_value < 1e-3:
            notes.append(f"the {model} model does not describe the data within their uncertainties (reduced "
                         f"chi^2 {chi2_red:.3g}, p = {p_value:.2g})")
    else:
        red_c = None
        chi2_red = p_value = None
        prob.boost = np.sqrt(np.maximum(chi2_c / dof_c, 1e-300))
        notes.append("the data have no uncertainties: each channel's relative errors are estimated from the "
                     "scatter of its residuals (rms of ln residuals: "
                     + ", ".join(f"{n} {b:.2g}" for n, b in zip(d.channels, prob.boost, strict=True)) + ")")
        sol = _solve(prob, sol.x)

    # covariance of (ln σ't, u, ln s) → (σa, σ's, s)
    J = prob.jacobian(sol.x)
    C = prob.C
    sa, ssp, ls = prob.split(sol.x)
    stp, u = sa + ssp, sol.x[C:2 * C]
    active = np.zeros(prob.P, bool)
    if hasattr(sol, "active_mask"):
        active = sol.active_mask != 0
    cov_x = _covariance(J)
    G = np.zeros((prob.P, prob.P))       # d(linear)/d(x)
    for c in range(C):
        G[c, c], G[c, C + c] = sa[c], 2 * stp[c] * u[c]             # σa = σ't u²
        G[C + c, c], G[C + c, C + c] = ssp[c], -2 * stp[c] * u[c]   # σ's = σ't (1 − u²)
    for k in range(prob.n_scale):
        G[2 * C + k, 2 * C + k] = math.exp(sol.x[2 * C + k])
    cov = G @ cov_x @ G.T
    # reorder to (σa[c], σ's[c]) per channel, then scales
    order = [k for c in range(C) for k in (c, C + c)] + list(range(2 * C, prob.P))
    cov = cov[np.ix_(order, order)]
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(se, se)
    names = [f"{p}[{n}]" for n in d.channels for p in ("sigma_a", "sigma_s_prime")]
    if scale_mode == "shared":
        names.append("scale")
    elif scale_mode == "per-channel":
        names += [f"scale[{n}]" for n in d.channels]
    sa_se, ssp_se = se[0:2 * C:2], se[1:2 * C:2]

    # limits of the model
    lo_u, hi_u = m.u_bounds
    at_bound = []
    for c, name in enumerate(d.channels):
        if active[C + c] or u[c] <= lo_u * (1 + 1e-6) or u[c] >= hi_u * (1 - 1e-6):
            at_bound.append((name, u[c]))
    if at_bound:
        if model == "mc":
            name, uc = at_bound[0]
            raise FitError(f"the mc fit of channel {name} ran to the edge of the Monte Carlo table (alpha' = "
                           f"{1 - uc * uc:.6g}; the table covers alpha' {1 - hi_u**2:.4g} to "
                           f"{1 - lo_u**2:.6g}): the material is outside the table (try --model dipole)")
        for name, uc in at_bound:
            notes.append(f"channel {name}: the estimate sits at the model's limit alpha' = {1 - uc * uc:.6g} "
                         "(sigma_a is not resolved: read it as an upper bound of the order of its standard "
                         "error)")
    if np.any(active[:C]):
        raise FitError("the fit ran to the limit of sigma_t' (1e-6 or 1e6 mm^-1): the data do not constrain "
                       "it")

    poor = np.zeros(C, bool)
    ca = np.array([corr[2 * c, 2 * c + 1] for c in range(C)])
    for c, name in enumerate(d.channels):
        why = []
        if not np.isfinite(ca[c]) or abs(ca[c]) > CORRELATION_LIMIT:
            why.append(f"corr(sigma_a, sigma_s') = {ca[c]:+.3f}")
        for label, v, e in (("sigma_a", sa[c], sa_se[c]), ("sigma_s'", ssp[c], ssp_se[c])):
            if not np.isfinite(e) or e > RELATIVE_ERROR_LIMIT * v:
                why.append(f"{label} relative error {e / v:.0%}" if np.isfinite(e)
                           else f"{label} undetermined")
        if any(name == b[0] for b in at_bound):
            why.append("at the model's limit")
        if why:
            poor[c] = True
            notes.append(f"channel {name} is POORLY CONSTRAINED by these data ({'; '.join(why)}): do not "
                         "trust its numbers beyond their stated errors")

    if model == "mc":
        rho = stp[None, :] * (d.r[:, None] if d.bins is None else d.bins[:, 1:2])
        beyond = (rho > m.table.rho_valid()) & use
        if np.any(beyond):
            notes.append(f"{int(beyond.sum())} value(s) lie beyond the table's {m.table.rho_valid():.3g} "
                         "mean free paths, where the model follows the transport decay rule (mc_table notes)")
    # validity warnings of the model at the estimate (e.g. thin slabs for the multipole)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if model == "multipole":
            from ..profiles import multipole as _mp

            _mp.R(d.r, Medium.from_reduced(sa, ssp, eta=eta), thickness, n_below=n_below, backend="numpy")
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in notes:
            notes.append(text)

    scale = scale_se = None
    if scale_mode is not None:
        scale = np.exp(sol.x[2 * C:])
        scale_se = se[2 * C:]
    lm_fit = prob.log_model(sa, ssp)
    medium = Medium.from_reduced(sa, ssp, g=0.0, eta=eta)
    wall = time.perf_counter() - t0
    inputs = {"source": d.source, "model": model, "eta": eta, "thickness": thickness,
              "n_below": n_below if model == "multipole" else None, "r_min": r_min, "r_max": r_max,
              "unknown_scale": scale_mode, "single_scattering": m.single if model != "mc" else None,
              "n_points": n_use.tolist(), "annulus_averages": d.bins is not None,
              "uncertainties_given": has_errors}
    extra = {"chi2_reduced_per_channel": None if red_c is None else red_c.tolist(),
             "chi2_per_channel": chi2_c.tolist(), "function_evaluations": prob.nfev, "wall_time_s": wall}
    plot = {"r": d.r, "values": d.values, "errors": d.errors, "use": use, "model": np.exp(lm_fit),
            "scale": np.exp(ls), "weights": prob.w, "channels": list(d.channels), "bins": d.bins}
    return FitResult(kind="profile", model=m.describe(), channels=list(d.channels), sigma_a=sa,
                     sigma_s_prime=ssp,
                     sigma_a_stderr=sa_se, sigma_s_prime_stderr=ssp_se, parameters=names, covariance=cov,
                     correlation=corr, medium=medium, chi2=chi2 if has_errors else None, dof=dof,
                     chi2_reduced=chi2_red, p_value=p_value, scale=scale, scale_stderr=scale_se,
                     poorly_constrained=poor, notes=notes, inputs=inputs, extra=extra, plot_data=plot)


def _covariance(J: np.ndarray) -> np.ndarray:
    """(JᵀJ)⁻¹ by SVD; directions the data do not constrain get infinite variance."""
    _, s, Vt = np.linalg.svd(J, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.full((J.shape[1], J.shape[1]), np.inf)
    tol = s[0] * max(J.shape) * np.finfo(float).eps * 1e3
    with np.errstate(divide="ignore"):
        inv = np.where(s > tol, 1.0 / s**2, np.inf)
    if np.all(np.isfinite(inv)):
        return (Vt.T * inv) @ Vt
    cov = (Vt.T * np.where(np.isfinite(inv), inv, 0.0)) @ Vt
    bad = np.abs(Vt[~np.isfinite(inv)]).sum(axis=0) > 1e-8
    cov[bad, :] = np.inf
    cov[:, bad] = np.inf
    return cov
