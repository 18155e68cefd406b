"""Plot of a profile fit: the data with the fitted model, and the normalised residuals.

Units: r in mm, profiles in mm⁻² (per unit incident power; divided by the fitted scale for measurements of
unknown scale).

>>> from bssrdf.fit import fit_profile, plot
>>> plot.save(fit_profile("profile.csv"), "fit.png")                 # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._io import atomic_write
from ..mc.plot import FORMATS, plot_format, write_temporary
from .result import FitResult

__all__ = ["figure", "save", "write_temporary", "plot_format", "FORMATS"]

COLOURS = ("#d62728", "#2ca02c", "#1f77b4", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f")


def figure(result: FitResult):
    """A matplotlib Figure (Agg, no pyplot state): top, the measured profile per channel (±1 standard error
    where given) with the fitted model at the same radii, on a log scale; bottom, the residuals
    (ln M − ln s·R_model)/w in units of each value's standard error (the fit's weights), with ±1 and ±3 bands.
    Values left out of the fit (≤ 0, outside [r_min, r_max]) are not shown.
    """
    if result.kind != "profile" or result.plot_data is None:
        raise ValueError("only profile fits (bssrdf.fit.fit_profile) have a fit plot")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    p = result.plot_data
    r, values, errors, use = p["r"], p["values"], p["errors"], p["use"]
    model, scale, w = p["model"], p["scale"], p["weights"]
    fig = Figure(figsize=(8.0, 6.4), layout="constrained")
    ax, ax_res = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1.0]})
    lo, hi = np.inf, 0.0
    for c, name in enumerate(p["channels"]):
        colour = COLOURS[c % len(COLOURS)]
        k = use[:, c]
        y = values[k, c] / scale[c]
        if errors is not None:
            e = errors[k, c] / scale[c]
            ax.errorbar(r[k], y, yerr=np.vstack([np.minimum(e, 0.9 * y), e]), fmt="o", ms=2.5, elinewidth=0.7,
                        capsize=0, color=colour, alpha=0.7, label=f"{name}: data")
        else:
            ax.plot(r[k], y, "o", ms=2.5, color=colour, alpha=0.7, label=f"{name}: data")
        ax.plot(r[k], model[k, c], "-", lw=1.3, color=colour,
                label=f"{name}: fit, σa {result.sigma_a[c]:.4g}, σ's {result.sigma_s_prime[c]:.4g} "
                      "mm$^{-1}$")
        res = (np.log(values[k, c]) - np.log(scale[c] * model[k, c])) / w[k, c]
        ax_res.plot(r[k], res, "o", ms=2.5, color=colour)
        lo, hi = min(lo, float(np.min(y))), max(hi, float(np.max(y)))
    ax.set_yscale("log")
    if np.isfinite(lo) and hi > 0:
        ax.set_ylim(max(lo * 0.5, hi * 1e-12), hi * 2.0)
    scaled = " (÷ fitted scale)" if result.scale is not None else ""
    ax.set_ylabel("radial exitance R(r) [mm$^{-2}$]" + scaled)
    ax.legend(fontsize=7, ncol=1)
    ax.grid(True, which="major", alpha=0.3)
    chi = ("" if result.chi2_reduced is None
           else f"; reduced χ² {result.chi2_reduced:.3g} ({result.dof} dof)")
    ax.set_title(result.model + chi, fontsize=8, wrap=True)
    for level, style in ((1, ":"), (3, "--")):
        for s in (-level, level):
            ax_res.axhline(s, color="0.5", ls=style, lw=0.8)
    ax_res.axhline(0.0, color="0.2", lw=0.8)
    ax_res.set_xlabel("distance from the beam r [mm]")
    ax_res.set_ylabel("residual [σ]")
    ax_res.grid(True, alpha=0.3)
    return fig


def save(result: FitResult, path: str | os.PathLike) -> Path:
    """Plot ``result`` (see :func:`figure`) to ``path`` (.png, .pdf or .svg), atomically."""
    target = Path(path)
    fmt = plot_format(target)
    fig = figure(result)
    with atomic_write(target) as tmp:
        fig.savefig(tmp, format=fmt, dpi=150)
    return target
