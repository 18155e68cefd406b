"""σa and σ's of a slab from its total reflectance and transmittance, by inverse adding-doubling.

Forward model
    Adding-doubling (van de Hulst 1980; Prahl, Keijzer, Jacques & Welch, *A Monte Carlo model of light
    propagation in tissue* / Prahl et al., Appl. Opt. 32, 559 (1993), with Fresnel boundaries), computed by
    Prahl's ``iadpython`` (a runtime dependency, pinned to 0.5.3: ``Sample(a, b, g, n, n_above, n_below,
    quad_pts).rt()``), with 16 quadrature points (the release's default of 4 is about 2e-3 off; above ~20 its
    quadrature weights lose precision). For a normally incident collimated beam it gives UR1, the total
    reflectance *including* the specular reflection at the top surface, and UT1, the total transmittance
    *including* the unscattered beam; ``unscattered_rt()`` gives those unscattered parts.

What R and T mean
    By default R = UR1 and T = UT1: what an integrating sphere collects with the specular reflection and the
    unscattered transmission kept in (iad's M_R and M_T with its defaults, no sphere corrections:
    ``iad -r 0.4 -t 0.1 -d 1`` → μa 0.4673, μs' 3.9317 mm⁻¹ for a 1 mm slab with matched boundaries, the
    example of iad's README, which the tests reproduce). ``specular_included=False`` fits R without the
    unscattered reflection (specular port open), ``unscattered_included=False`` T without the unscattered
    transmission (diffuse transmittance).

The inversion
    Two equations, two unknowns (ln σa, ln σ's; g given): :func:`scipy.optimize.least_squares` from a start
    given by diffusion theory (the multipole totals of Donner & Jensen 2005 plus the unscattered parts), or,
    when that fails, from the best of a coarse adding-doubling grid; it must then reproduce R and T to 1e-6,
    as iad does. Inconsistent data (R + T > 1, a T larger than a non-absorbing slab of that thickness could
    give) fail with the reason.

Uncertainties
    With standard errors of R and T (``R_err``, ``T_err``, independent), the covariance of (σa, σ's) is
    J⁻¹ diag(R_err², T_err²) J⁻ᵀ, J = ∂(R, T)/∂(σa, σ's) at the solution. Without them the inversion is exact
    and no standard error is given; the result's ``extra["sensitivity"]`` holds J⁻¹ (how much σa and σ's move
    per unit change of R and T), and a Jacobian close to singular marks the row as poorly constrained.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
from scipy import optimize

from .._validate import positive_scalar
from ..medium import Medium
from .result import CORRELATION_LIMIT, RELATIVE_ERROR_LIMIT, FitError, FitResult

__all__ = ["fit_totals", "forward_totals", "QUAD_POINTS"]

QUAD_POINTS = 16
TOLERANCE = 1e-6   # |R_model − R|, |T_model − T| at the solution
LN_MUA_BOUNDS = (math.log(1e-9), math.log(1e4))
LN_MUS_BOUNDS = (math.log(1e-6), math.log(1e5))


def _iad():
    try:
        import iadpython
    except ImportError as e:  # pragma: no cover - a dependency
        raise RuntimeError("fit_totals needs iadpython (pip install iadpython==0.5.3)") from e
    return iadpython


def forward_totals(sigma_a: float, sigma_s_prime: float, thickness: float, *, eta: float = 1.4,
                   g: float = 0.0, n_above: float = 1.0, n_below: float = 1.0, specular_included: bool = True,
                   unscattered_included: bool = True, quad_pts: int = QUAD_POINTS) -> tuple[float, float]:
    """Total reflectance and transmittance of a slab by adding-doubling (``iadpython``).

    Parameters
    ----------
    sigma_a, sigma_s_prime : float
        σa and σ's = σs(1 − g) [mm⁻¹].
    thickness : float
        Slab thickness [mm].
    eta : float, default 1.4
        Refractive index of the slab; ``n_above``, ``n_below`` those of its neighbours (1.0: air).
    g : float, default 0.0
        Henyey–Greenstein mean cosine.
    specular_included, unscattered_included : bool, default True
        Whether R includes the unscattered (specular) reflection and T the unscattered transmission.

    Returns
    -------
    (R, T) : fractions of the incident power of a normally incident collimated beam.
    """
    iad = _iad()
    sigma_s = sigma_s_prime / (1.0 - g)
    mu_t = sigma_a + sigma_s
    a = sigma_s / mu_t if mu_t > 0 else 0.0
    s = iad.Sample(a=a, b=mu_t * thickness, g=g, d=thickness, n=eta, n_above=n_above, n_below=n_below,
                   quad_pts=quad_pts)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ur1, ut1, _, _ = s.rt()
        R, T = float(ur1), float(ut1)
        if not (specular_included and unscattered_included):
            ru, tu = s.unscattered_rt()
            if not specular_included:
                R -= float(ru)
            if not unscattered_included:
                T -= float(tu)
    return R, T


def _diffusion_start(R, T, d, eta, g, n_above, n_below) -> np.ndarray | None:
    """(ln σa, ln σ's) matching R, T with the multipole totals + unscattered parts (a start only)."""
    from ..fresnel import F_r
    from ..profiles import multipole

    spec = float(F_r(1.0, eta / n_above))

    def f(x):
        sa, ssp = math.exp(x[0]), math.exp(x[1])
        m = Medium.from_reduced(sa, ssp, g=0.0, eta=eta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rd = float(multipole.total_R(m, d, n_above=n_above, n_below=n_below))
            td = float(multipole.total_T(m, d, n_above=n_above, n_below=n_below))
        tu = (1 - spec) * math.exp(-(sa + ssp / (1 - g)) * d)
        return [spec + (1 - spec) * rd - R, tu + (1 - spec) * td - T]

    best = None
    for x0 in ([math.log(0.1 / d), math.log(5.0 / d)], [math.log(0.01 / d), math.log(1.0 / d)],
               [math.log(1.0 / d), math.log(20.0 / d)]):
        try:
            sol = optimize.least_squares(f, x0, bounds=(LN_MUA_BOUNDS[0], LN_MUA_BOUNDS[1]), method="trf",
                                         xtol=1e-8, max_nfev=200)
        except (ValueError, FloatingPointError):
            continue
        if best is None or sol.cost < best.cost:
            best = sol
    return None if best is None or not np.all(np.isfinite(best.x)) else best.x


def _invert(R, T, d, eta, g, n_above, n_below, spec_in, unsc_in, start=None):
    """Solve forward(x) = (R, T); returns (x, residuals, evaluations)."""
    calls = [0]

    def fwd(x):
        calls[0] += 1
        return forward_totals(math.exp(x[0]), math.exp(x[1]), d, eta=eta, g=g, n_above=n_above,
                              n_below=n_below,
                              specular_included=spec_in, unscattered_included=unsc_in)

    def resid(x):
        r, t = fwd(x)
        return np.array([r - R, t - T])

    lb = np.array([LN_MUA_BOUNDS[0], LN_MUS_BOUNDS[0]])
    ub = np.array([LN_MUA_BOUNDS[1], LN_MUS_BOUNDS[1]])
    starts = [s for s in (start, _diffusion_start(R, T, d, eta, g, n_above, n_below)) if s is not None]
    best = None
    for x0 in starts + [None]:
        if x0 is None:  # coarse adding-doubling grid
            grid = [(math.log(a_ / d), math.log(s_ / d)) for a_ in (0.003, 0.03, 0.3, 3.0)
                    for s_ in (0.3, 3.0, 30.0)]
            x0 = min(grid, key=lambda x: float(np.sum(resid(np.asarray(x)) ** 2)))
        x0 = np.clip(np.asarray(x0, float), lb, ub)
        sol = optimize.least_squares(resid, x0, bounds=(lb, ub), method="trf", x_scale=1.0, diff_step=1e-6,
                                     ftol=1e-14, xtol=1e-12, gtol=1e-14, max_nfev=100)
        if best is None or sol.cost < best.cost:
            best = sol
        if np.max(np.abs(sol.fun)) < TOLERANCE:
            break
    return best.x, best.fun, calls[0], fwd


def _check_rt(name: str, v) -> np.ndarray:
    a = np.atleast_1d(np.asarray(v, dtype=np.float64))
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a number or a 1-D sequence of numbers; got {v!r}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN); got {a.tolist()}")
    return a


def fit_totals(R, T, thickness: float, *, eta: float = 1.4, g: float = 0.0, n_above: float = 1.0,
               n_below: float = 1.0, R_err=None, T_err=None, specular_included: bool = True,
               unscattered_included: bool = True, labels=None, progress: bool | None = None) -> FitResult:
    """σa and σ's from total reflectance R and transmittance T of a slab (inverse adding-doubling).

    Parameters
    ----------
    R, T : float or array_like (C,)
        Total reflectance and transmittance of a normally incident collimated beam, fractions in [0, 1]
        (one per channel or wavelength; see the module notes for what they include).
    thickness : float
        Slab thickness d [mm], > 0.
    eta : float, default 1.4
        Refractive index of the slab; ``n_above``, ``n_below`` (default 1.0, air) those of its neighbours
        (``eta = n_above = n_below`` gives matched boundaries).
    g : float, default 0.0
        Henyey–Greenstein mean cosine (totals of a slab hardly depend on g at fixed σ's; it is not fitted).
    R_err, T_err : float or array_like, optional
        Standard errors of R and T; without them no standard errors are reported.
    specular_included, unscattered_included : bool, default True
        Whether R includes the specular reflection and T the unscattered transmission.
    labels : list of str, optional
        Channel names (default "0", "1", ...).
    progress : bool, optional
        Show a progress bar over the rows (default: once the inversion has taken 2 s).

    Returns
    -------
    FitResult
        σa, σ's per channel, their standard errors and correlation (with R_err, T_err), the Medium
        (σs = σ's/(1 − g)); ``extra`` holds the fitted R, T and the sensitivity matrices.

    Raises
    ------
    ValueError
        Inconsistent data (R or T outside [0, 1], R + T > 1, T = 0), bad parameters.
    FitError
        When no (σa, σ's) reproduces R and T (e.g. T above what a non-absorbing slab transmits).
    """
    t0 = time.perf_counter()
    Rv, Tv = _check_rt("R", R), _check_rt("T", T)
    if Rv.shape != Tv.shape:
        raise ValueError(f"R and T must have the same number of values; got {Rv.size} and {Tv.size}")
    C = Rv.size
    d = positive_scalar("thickness", thickness, unit="mm")
    eta = positive_scalar("eta", eta)
    n_above, n_below = positive_scalar("n_above", n_above), positive_scalar("n_below", n_below)
    g = float(g)
    if not (-1 < g < 1):
        raise ValueError(f"g must be in (-1, 1); got {g!r}")
    errs = None
    if (R_err is None) != (T_err is None):
        raise ValueError("give both R_err and T_err, or neither")
    if R_err is not None:
        Re = np.broadcast_to(_check_rt("R_err", R_err), Rv.shape).astype(float)
        Te = np.broadcast_to(_check_rt("T_err", T_err), Tv.shape).astype(float)
        if np.any(Re <= 0) or np.any(Te <= 0):
            raise ValueError("R_err and T_err must be > 0")
        errs = (Re, Te)
    labels = [str(x) for x in (labels if labels is not None else range(C))]
    if len(labels) != C:
        raise ValueError(f"{len(labels)} labels for {C} values")
    for c in range(C):
        where = f" ({labels[c]})" if C > 1 else ""
        if not (0.0 < Rv[c] < 1.0):
            raise ValueError(f"R{where} must be in (0, 1); got {Rv[c]:g}")
        if not (0.0 < Tv[c] < 1.0):
            raise ValueError(f"T{where} must be in (0, 1) (T = 0 cannot separate absorption from "
                             f"scattering); got {Tv[c]:g}")
        if Rv[c] + Tv[c] > 1.0:
            raise ValueError(f"inconsistent measurement{where}: R + T = {Rv[c] + Tv[c]:.4g} > 1 (a slab "
                             "cannot reflect and transmit more than it receives)")

    sa, ssp = np.empty(C), np.empty(C)
    sa_se, ssp_se = np.full(C, np.nan), np.full(C, np.nan)
    cov = np.full((2 * C, 2 * C), np.nan)
    R_fit, T_fit = np.empty(C), np.empty(C)
    sens, poor, notes = [], np.zeros(C, bool), []
    calls = 0
    start = None
    bar = None
    if progress is not False and C > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=C, unit="row", delay=0 if progress else 2.0, desc="inverse adding-doubling",
                   leave=False)
    for c in range(C):
        if bar is not None:
            bar.update(0 if c == 0 else 1)
        x, fun, n, fwd = _invert(float(Rv[c]), float(Tv[c]), d, eta, g, n_above, n_below, specular_included,
                                 unscattered_included, start)
        calls += n
        if np.max(np.abs(fun)) > TOLERANCE:
            where = f" ({labels[c]})" if C > 1 else ""
            raise FitError(f"no sigma_a, sigma_s' reproduce R = {Rv[c]:g}, T = {Tv[c]:g}{where} for a {d:g} "
                           f"mm slab (eta {eta:g}; closest: R {Rv[c] + fun[0]:.4g}, T {Tv[c] + fun[1]:.4g}): "
                           "check the thickness, the indices and what R and T include")
        start = x
        sa[c], ssp[c] = math.exp(x[0]), math.exp(x[1])
        R_fit[c], T_fit[c] = Rv[c] + fun[0], Tv[c] + fun[1]
        # J = d(R, T)/d(σa, σ's) by central differences in ln σ
        J = np.empty((2, 2))
        for k in range(2):
            h = 1e-4
            xp, xm = x.copy(), x.copy()
            xp[k] += h
            xm[k] -= h
            J[:, k] = (np.array(fwd(xp)) - np.array(fwd(xm))) / (2 * h) / math.exp(x[k])
        calls += 4
        try:
            Jinv = np.linalg.inv(J)
        except np.linalg.LinAlgError:
            Jinv = np.full((2, 2), np.inf)
        sens.append(Jinv)
        if not np.all(np.isfinite(Jinv)) or np.linalg.cond(J * np.array([[sa[c], ssp[c]]])) > 1e6:
            poor[c] = True
            notes.append(f"channel {labels[c]} is POORLY CONSTRAINED: R and T hardly change in some "
                         "direction of (sigma_a, sigma_s') here")
        if errs is not None:
            S = np.diag([errs[0][c] ** 2, errs[1][c] ** 2])
            cc = Jinv @ S @ Jinv.T
            cov[2 * c:2 * c + 2, 2 * c:2 * c + 2] = cc
            sa_se[c], ssp_se[c] = math.sqrt(cc[0, 0]), math.sqrt(cc[1, 1])
            rho = cc[0, 1] / (sa_se[c] * ssp_se[c])
            why = []
            if abs(rho) > CORRELATION_LIMIT:
                why.append(f"corr(sigma_a, sigma_s') = {rho:+.3f}")
            if sa_se[c] > RELATIVE_ERROR_LIMIT * sa[c]:
                why.append(f"sigma_a relative error {sa_se[c] / sa[c]:.0%}")
            if ssp_se[c] > RELATIVE_ERROR_LIMIT * ssp[c]:
                why.append(f"sigma_s' relative error {ssp_se[c] / ssp[c]:.0%}")
            if why and not poor[c]:
                poor[c] = True
                notes.append(f"channel {labels[c]} is POORLY CONSTRAINED by R, T and their errors "
                             f"({'; '.join(why)})")
        if x[0] <= LN_MUA_BOUNDS[0] + 1e-6:
            notes.append(f"channel {labels[c]}: sigma_a at its lower limit (no absorption resolved: R + T ≈ "
                         "1)")
    if bar is not None:
        bar.close()
    if errs is None:
        notes.append("no uncertainties of R and T given (R_err, T_err): the inversion is exact and has no "
                     "standard errors; extra['sensitivity'] holds d(sigma_a, sigma_s')/d(R, T)")
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(se, se)
    names = [f"{p}[{n}]" for n in labels for p in ("sigma_a", "sigma_s_prime")]
    medium = Medium(sa, ssp / (1.0 - g), g=g, eta=eta)
    what = (f"R {'with' if specular_included else 'without'} the specular reflection, T "
            f"{'with' if unscattered_included else 'without'} the unscattered transmission")
    model = (f"inverse adding-doubling (iadpython, {QUAD_POINTS} quadrature points): slab {d:g} mm, eta "
             f"{eta:g}, n_above {n_above:g}, n_below {n_below:g}, g {g:g}; {what}")
    inputs = {"R": Rv, "T": Tv, "R_err": None if errs is None else errs[0],
              "T_err": None if errs is None else errs[1],
              "thickness": d, "eta": eta, "g": g, "n_above": n_above, "n_below": n_below,
              "specular_included": specular_included, "unscattered_included": unscattered_included}
    extra = {"R_fit": R_fit, "T_fit": T_fit, "sensitivity": np.array(sens),
             "sensitivity_units": "mm^-1 per unit of R (column 0) and T (column 1); rows sigma_a, sigma_s'",
             "forward_evaluations": calls, "wall_time_s": time.perf_counter() - t0}
    return FitResult(kind="totals", model=model, channels=labels, sigma_a=sa, sigma_s_prime=ssp,
                     sigma_a_stderr=sa_se, sigma_s_prime_stderr=ssp_se, parameters=names, covariance=cov,
                     correlation=corr, medium=medium, poorly_constrained=poor, notes=notes, inputs=inputs,
                     extra=extra)

