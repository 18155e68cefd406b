"""Helpers shared by the Donner & Jensen 2005 figures (``donner2005_d01.py`` … ``d05``).

What every comparison here does, as in :mod:`bssrdf.profiles.layered_check`:

- the diffusion model (per unit power *entering* the top) is multiplied by the entry transmittance
  of the top interface (:func:`bssrdf.profiles.layered.entry_transmittance`), so that it is per unit
  *incident* power like the Monte Carlo tallies, and averaged over each radial bin of the tracer
  (area-weighted annulus means, Gauss–Legendre);
- Monte Carlo R(r) is the multiply scattered part, R_r − R_r_single (the diffusion models stand for
  multiple scattering); Monte Carlo T(r) is T_r less the unscattered beam (which lands in the first
  bin at normal incidence); singly scattered transmission stays in it (the tracer does not tally it
  apart; it is negligible beyond a few mean free paths of the axis);
- the deviation is the largest |model/MC − 1| over the bins in a stated range of r where the
  tally's relative standard error is below ``MAX_REL_ERR``.

Units: mm, mm⁻¹; profiles in mm⁻² per unit incident power.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

MAX_REL_ERR = 0.10     # bins whose MC relative standard error is below this enter the deviation
PER_BIN = 16           # Gauss–Legendre points per annulus for the model's bin means
Y_MIN, Y_MAX = 1e-7, 1.0


def annulus_means(f, edges, per_bin: int = PER_BIN) -> np.ndarray:
    """Area-weighted mean of f(r) over each annulus [edges[i], edges[i+1]] (f vectorised over r)."""
    edges = np.asarray(edges, dtype=np.float64)
    x, w = np.polynomial.legendre.leggauss(per_bin)
    a, b = edges[:-1, None], edges[1:, None]
    r = 0.5 * (b - a) * (x[None, :] + 1.0) + a
    vals = np.reshape(np.asarray(f(r.ravel()), dtype=np.float64), r.shape)
    return np.sum(w * vals * r, axis=1) * (b - a)[:, 0] / (b * b - a * a)[:, 0]


@dataclass
class MCProfiles:
    """Monte Carlo radial profiles as compared with diffusion [mm⁻² per unit incident power]."""

    edges: np.ndarray
    R: np.ndarray            # multiply scattered: R_r − R_r_single
    R_err: np.ndarray        # standard error of R_r
    T: np.ndarray            # T_r less the unscattered beam
    T_err: np.ndarray

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])


def mc_profiles(res) -> MCProfiles:
    """The multiply scattered R(r) and the scattered T(r) of a run (module notes)."""
    edges = np.asarray(res.r_edges, dtype=np.float64)
    T = np.array(res.T_r, dtype=np.float64)
    T[0] -= float(res.T_unscattered) / (math.pi * edges[1] ** 2)
    T[0] = max(T[0], 0.0)
    return MCProfiles(edges, np.asarray(res.R_r - res.R_r_single, dtype=np.float64),
                      np.asarray(res.stderr("R_r"), dtype=np.float64), T,
                      np.asarray(res.stderr("T_r"), dtype=np.float64))


@dataclass
class Deviation:
    """Largest |model/MC − 1| over the compared bins (NaN when no bin qualifies)."""

    worst: float
    r_at: float
    n_bins: int
    r_lo: float
    r_hi: float
    mc_rel_err: float = math.nan   # MC's relative standard error in the worst bin

    def text(self, what: str = "") -> str:
        head = f"{what} " if what else ""
        rng = f"r {self.r_lo:g}–{self.r_hi:g} mm"
        if self.n_bins == 0:
            return f"{head}no bin in {rng} with MC rel. error < {MAX_REL_ERR:.0%}"
        return (f"{head}{self.worst:.1%} at r = {self.r_at:.2f} mm (MC ± {self.mc_rel_err:.1%} there; "
                f"{self.n_bins} bin{'' if self.n_bins == 1 else 's'}, {rng})")


def deviation(mc, err, model, centers, r_lo: float, r_hi: float,
              max_rel: float = MAX_REL_ERR) -> Deviation:
    """Largest |model/MC − 1| over bins with r_lo ≤ centre ≤ r_hi and MC relative error < max_rel."""
    mc, err, model, centers = (np.asarray(a, dtype=np.float64) for a in (mc, err, model, centers))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(mc > 0, err / mc, np.inf)
        sel = (centers >= r_lo) & (centers <= r_hi) & (rel < max_rel) & (model > 0)
        dev = np.abs(model / mc - 1.0)
    if not np.any(sel):
        return Deviation(math.nan, math.nan, 0, r_lo, r_hi)
    i = np.flatnonzero(sel)[np.argmax(dev[sel])]
    return Deviation(float(dev[i]), float(centers[i]), int(sel.sum()), r_lo, r_hi, float(rel[i]))


def worst(devs) -> Deviation:
    """The largest of several deviations (ignoring those without bins)."""
    valid = [d for d in devs if d.n_bins]
    if not valid:
        return devs[0]
    return max(valid, key=lambda d: d.worst)


def plot_mc(ax, centers, y, err, *, color, label=None, marker="o", ms=3.0):
    """MC points with ±1 standard error on a log axis: only bins whose value is positive and whose
    relative error is below 100% (what the tally resolves); lower bars clipped above 0."""
    y = np.asarray(y, dtype=np.float64)
    err = np.asarray(err, dtype=np.float64)
    ok = (y > 0) & (err < y)
    if not np.any(ok):
        return None
    lower = np.minimum(err[ok], 0.95 * y[ok])
    return ax.errorbar(centers[ok], y[ok], yerr=np.vstack([lower, err[ok]]), fmt=marker, ms=ms,
                       mfc="none", mew=0.8, lw=0, elinewidth=0.7, capsize=0, color=color, label=label)


def plot_ratio(ax, centers, mc, err, model, *, color, label=None, marker="o", max_rel: float = 0.5):
    """MC/model with ±1 standard error (bins with MC relative error below ``max_rel``)."""
    mc, err, model = (np.asarray(a, dtype=np.float64) for a in (mc, err, model))
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (mc > 0) & (model > 0) & (err < max_rel * mc)
    if not np.any(ok):
        return None
    ratio = mc[ok] / model[ok]
    return ax.errorbar(centers[ok], ratio, yerr=err[ok] / model[ok], fmt=marker, ms=3.0, mfc="none",
                       mew=0.8, lw=0.6, elinewidth=0.7, capsize=0, color=color, label=label)


@contextmanager
def caught_validity():
    """Collect the diffusion models' validity warnings (yielded list of messages)."""
    from ..profiles._common import DiffusionValidityWarning

    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DiffusionValidityWarning)
        yield seen
    for w in caught:
        if issubclass(w.category, DiffusionValidityWarning):
            msg = str(w.message)
            if msg not in seen:
                seen.append(msg)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def medium_text(m) -> str:
    """σa, σs [mm⁻¹], g, η and the derived σ't, ℓ = 1/σ't of a single-channel medium."""
    sa, ss, g, eta = (float(np.ravel(v)[0]) for v in (m.sigma_a, m.sigma_s, m.g, m.eta))
    stp = sa + ss * (1.0 - g)
    return (f"σa {sa:g}, σs {ss:g} mm⁻¹, g {g:g}, η {eta:g} (σ's {ss * (1 - g):g} mm⁻¹, "
            f"ℓ = 1/σ't {1 / stp:.3g} mm, α' {ss * (1 - g) / stp:.3g})")


def medium_params(m) -> dict:
    return {k: float(np.ravel(getattr(m, k))[0]) for k in ("sigma_a", "sigma_s", "g", "eta")}


def mc_text(runs) -> str:
    """'N photons, seed S' for each (label, result) run."""
    return "; ".join(f"{label}: {res.n_photons:,} photons, seed {res.seed}" for label, res in runs)


def log_axis(ax, y_min: float = Y_MIN, y_max: float = Y_MAX):
    ax.set_yscale("log")
    ax.set_ylim(y_min, y_max)
    ax.grid(True, which="major", lw=0.3, alpha=0.5)
