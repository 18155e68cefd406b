"""Helpers shared by the Jensen et al. 2001 figures (``jensen2001_j01.py`` ... ``j04``).

Annulus averages of analytic profiles (to compare them with Monte Carlo bins like for like), the
multiple-scattering part of a Monte Carlo profile, re-binning into wider annuli, largest deviations,
and the linear-RGB → sRGB mapping of the diffuse-colour swatches.

Units: r in mm, σ in mm⁻¹, profiles in mm⁻² per unit incident power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["annulus_average", "mc_multiple", "rebin", "geometric_groups", "Deviation", "largest_deviation",
           "linear_to_srgb", "new_figure", "errorbar_log", "fmt_photons"]

_GAUSS = np.polynomial.legendre.leggauss(8)


def annulus_average(fn, edges: np.ndarray) -> np.ndarray:
    """Average of the radial profile ``fn(r)`` [mm⁻²] over each annulus between ``edges`` [mm].

    ``fn`` takes radii (M,) and returns (M,) or (M, K). 8-point Gauss–Legendre quadrature of 2πr R(r) per
    annulus (exact for R ∝ 1/r, the single-scattering singularity at the source). Returns (N,) or (N, K).
    """
    edges = np.asarray(edges, dtype=np.float64)
    x, w = _GAUSS
    lo, hi = edges[:-1, None], edges[1:, None]
    rq = 0.5 * (hi - lo) * x[None, :] + 0.5 * (hi + lo)              # (N, Q)
    f = np.asarray(fn(rq.ravel()), dtype=np.float64)
    f = f.reshape(rq.shape + f.shape[1:])
    wq = 0.5 * (hi - lo) * w[None, :] * rq                            # ∫ r dr weights
    if f.ndim == 3:
        wq = wq[:, :, None]
    return np.sum(wq * f, axis=1) / (0.5 * (hi**2 - lo**2)).reshape((-1,) + (1,) * (f.ndim - 2))


def mc_multiple(result) -> tuple[np.ndarray, np.ndarray]:
    """R_r − R_r_single of a Monte Carlo result (photons scattered more than once) [mm⁻²] and its error.

    The error is the quadrature sum of the two tallies' standard errors: the tracer gives no covariance,
    and since R_r contains R_r_single this is conservative (it counts the single-scattering noise twice).
    """
    value = np.asarray(result.R_r) - np.asarray(result.R_r_single)
    err = np.hypot(result.stderr("R_r"), result.stderr("R_r_single"))
    return value, err


def geometric_groups(n_fine: int, first: int = 1, growth: float = 1.12) -> np.ndarray:
    """Indices into ``n_fine + 1`` uniform edges that group the bins into annuli growing by ``growth``.

    The first group holds ``first`` fine bins; each next one about ``growth`` times as many as the last
    (at least one more bin). Returns the group edges as indices (0 ... n_fine).
    """
    idx = [0]
    width = float(first)
    while idx[-1] < n_fine:
        step = max(1, int(round(width)))
        idx.append(min(n_fine, idx[-1] + step))
        width *= growth
    return np.asarray(idx)


def rebin(values: np.ndarray, errors: np.ndarray, edges: np.ndarray, idx: np.ndarray):
    """Area-weighted means of the bins between ``edges[idx[k]]`` and ``edges[idx[k+1]]`` with their errors.

    The errors of merged bins add in quadrature (bins are nearly independent; photons land in one bin).
    Returns (values, errors, new edges).
    """
    area = np.pi * (edges[1:] ** 2 - edges[:-1] ** 2)
    n = len(idx) - 1
    out, err = np.empty(n), np.empty(n)
    for k in range(n):
        s = slice(idx[k], idx[k + 1])
        a = area[s].sum()
        out[k] = (values[s] * area[s]).sum() / a
        err[k] = math.sqrt(((errors[s] * area[s]) ** 2).sum()) / a
    return out, err, np.asarray(edges)[idx]


@dataclass
class Deviation:
    """The largest |model/MC − 1| over the bins where the comparison is made."""

    value: float          # relative deviation (fraction), NaN if no bin qualified
    r: float              # where [mm]
    mc_rel_err: float     # the MC relative standard error there (fraction)
    n_bins: int           # bins compared
    r_lo: float           # compared range [mm]
    r_hi: float
    z: float = float("nan")  # that deviation in units of the MC standard error

    @property
    def z_max_text(self) -> str:
        return f"{abs(self.z):.2g} s.e." if np.isfinite(self.z) else "n/a"

    def text(self, unit: str = "mm") -> str:
        if not self.n_bins:
            return "no bin precise enough to compare"
        return (f"{100 * self.value:.2g}% at r = {self.r:.3g} {unit} (MC error there "
                f"{100 * self.mc_rel_err:.2g}%, so {self.z_max_text}; {self.n_bins} bins, "
                f"r {self.r_lo:.3g}–{self.r_hi:.3g} {unit})")


def largest_deviation(model: np.ndarray, mc: np.ndarray, err: np.ndarray, r: np.ndarray,
                      mask: np.ndarray, max_rel_err: float) -> Deviation:
    """Largest relative deviation of ``model`` from ``mc`` over bins in ``mask`` whose MC relative error
    is at most ``max_rel_err`` (bins beyond the first that fails are left out too: the noisy far tail)."""
    mc = np.asarray(mc, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(mc > 0, err / mc, np.inf)
    ok = np.asarray(mask, bool) & (rel <= max_rel_err)
    # stop at the first imprecise bin beyond the start of the range
    start = np.argmax(mask) if np.any(mask) else len(mc)
    bad = np.nonzero(np.asarray(mask, bool) & ~(rel <= max_rel_err) & (np.arange(len(mc)) >= start))[0]
    if bad.size:
        ok &= np.arange(len(mc)) < bad[0]
    if not np.any(ok):
        return Deviation(float("nan"), float("nan"), float("nan"), 0, float("nan"), float("nan"))
    dev = np.abs(model[ok] / mc[ok] - 1.0)
    k = int(np.argmax(dev))
    rel_k = float(rel[ok][k])
    return Deviation(float(dev[k]), float(r[ok][k]), rel_k, int(ok.sum()), float(r[ok].min()),
                     float(r[ok].max()), float(dev[k]) / rel_k if rel_k > 0 else float("nan"))


def linear_to_srgb(x) -> np.ndarray:
    """Linear RGB in [0, 1] → sRGB-encoded (IEC 61966-2-1 transfer curve), clipped to [0, 1] first."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1.0 / 2.4) - 0.055)


def new_figure(**kw):
    """A matplotlib Figure (constrained layout) without pyplot state or a backend switch: it draws headless,
    saves to PNG/PDF, and displays in a notebook whose inline backend is on (``%matplotlib inline``)."""
    from matplotlib.figure import Figure

    kw.setdefault("layout", "constrained")
    return Figure(**kw)


def errorbar_log(ax, x, y, err, **kw):
    """Points with ±1 standard error on a log axis (lower bars clipped above 0); empty bins left out."""
    x, y, err = (np.asarray(a, dtype=np.float64) for a in (x, y, err))
    ok = np.isfinite(y) & (y > 0)
    lower = np.minimum(err[ok], 0.9 * y[ok])
    kw.setdefault("fmt", "o")
    kw.setdefault("ms", 2.5)
    kw.setdefault("elinewidth", 0.7)
    kw.setdefault("capsize", 0)
    return ax.errorbar(x[ok], y[ok], yerr=np.vstack([lower, err[ok]]), **kw)


def fmt_photons(n: int) -> str:
    """1,000,000 → '1e6' style when round, else with separators."""
    if n >= 10_000 and n % 10 ** int(math.log10(n)) == 0:
        return f"{n / 10 ** int(math.log10(n)):g}e{int(math.log10(n))}"
    return f"{n:,}"
