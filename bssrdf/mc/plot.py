"""Plots of a Monte Carlo result: radial profiles R_r, T_r and the depth profile A_z, with error bars.

Units: r and z in mm, R_r and T_r in mm⁻² and A_z in mm⁻¹ (per unit incident power).

>>> from bssrdf.mc import load, plot
>>> plot.save(load("mc_result.h5"), "mc_result.png")              # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._io import atomic_write, temporary_beside
from .result import MCResult

__all__ = ["FORMATS", "plot_format", "figure", "save", "write_temporary"]

FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
COLOURS = {"R_r": "#1f77b4", "T_r": "#d62728", "A_z": "#2ca02c"}
DECADES = 12  # a log axis shows at most this many decades below the peak


def plot_format(path: str | os.PathLike) -> str:
    """The matplotlib format of ``path`` from its extension (.png, .pdf, .svg).

    Raises
    ------
    ValueError
        For another extension.
    """
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the plot format of {os.fspath(path)!r}: its name must end in one of "
                         f"{', '.join(FORMATS)}")
    return fmt


def _positive(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def _errorbar_log(ax, x, y, err, label: str, colour: str) -> tuple[float, float] | None:
    """Points with ±1 standard error on a log axis (lower bars clipped above 0); (min, max) of y."""
    y = _positive(y)
    if not np.any(np.isfinite(y)):
        return None
    err = np.nan_to_num(np.asarray(err, dtype=np.float64), nan=0.0)
    lower = np.minimum(err, 0.9 * np.nan_to_num(y, nan=0.0))
    ax.errorbar(x, y, yerr=np.vstack([lower, err]), fmt="o-", ms=2.5, lw=1.0, elinewidth=0.8,
                capsize=0, color=colour, label=label)
    return float(np.nanmin(y)), float(np.nanmax(y))


def _log_limits(ax, ranges) -> None:
    ranges = [r for r in ranges if r is not None]
    if not ranges:
        ax.text(0.5, 0.5, "no weight tallied", transform=ax.transAxes, ha="center", va="center")
        return
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    ax.set_yscale("log")
    ax.set_ylim(max(lo, hi * 10.0**-DECADES) / 2.0, hi * 2.0)


def _layers_text(result: MCResult) -> str:
    parts = []
    for L in result.layers:
        m = L.medium
        d = "inf" if L.semi_infinite else f"{L.thickness:g}"
        parts.append(f"({float(m.sigma_a):g}, {float(m.sigma_s):g}, {float(m.g):g}, {float(m.eta):g}; {d})")
    return " / ".join(parts)


def figure(result: MCResult, title: str | None = None):
    """A matplotlib Figure (Agg, no pyplot state) of ``result``: R_r and T_r, and A_z.

    Left: diffuse reflectance ``R_r`` and transmittance ``T_r`` [mm⁻²] against the distance r
    [mm] from the point of entry (bin centres), with ±1 standard error, on a log scale. Right:
    absorbed weight per unit depth ``A_z`` [mm⁻¹] against depth z [mm], with the interfaces
    between layers as dotted lines. Empty bins are left out.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 4.4), layout="constrained")
    ax_r, ax_z = fig.subplots(1, 2)

    r = result.r_centers
    ranges = [_errorbar_log(ax_r, r, result.R_r, result.stderr("R_r"), "R(r), diffuse reflectance",
                            COLOURS["R_r"])]
    if np.any(np.asarray(result.T_r) > 0):
        ranges.append(_errorbar_log(ax_r, r, result.T_r, result.stderr("T_r"),
                                    "T(r), transmittance", COLOURS["T_r"]))
    _log_limits(ax_r, ranges)
    ax_r.set_xlim(0.0, float(result.r_edges[-1]))
    ax_r.set_xlabel("distance from the point of entry r [mm]")
    ax_r.set_ylabel("exitance per unit area [mm$^{-2}$]")
    ax_r.set_title(f"R_diffuse = {result.R_diffuse:.4g} ± {result.stderr('R_diffuse'):.2g}, "
                   f"T_total = {result.T_total:.4g} ± {result.stderr('T_total'):.2g}", fontsize=9)
    if any(x is not None for x in ranges):
        ax_r.legend(fontsize=8)
    ax_r.grid(True, which="major", alpha=0.3)

    z = result.z_centers
    ranges = [_errorbar_log(ax_z, z, result.A_z, result.stderr("A_z"), "A(z), absorbed",
                            COLOURS["A_z"])]
    _log_limits(ax_z, ranges)
    z_max = float(result.z_edges[-1])
    depth = 0.0
    for L in result.layers[:-1]:
        depth += L.thickness
        if depth < z_max:
            ax_z.axvline(depth, color="0.4", ls=":", lw=1.0)
    ax_z.set_xlim(0.0, z_max)
    ax_z.set_xlabel("depth z [mm]")
    ax_z.set_ylabel("absorbed weight per unit depth [mm$^{-1}$]")
    outside = f", {result.A_outside_z:.3g} deeper than {z_max:g} mm" if result.A_outside_z > 0 else ""
    ax_z.set_title(f"A_total = {result.A_total:.4g} ± {result.stderr('A_total'):.2g}{outside}",
                   fontsize=9)
    ax_z.grid(True, which="major", alpha=0.3)

    if title is None:
        state = (f"PARTIAL, {result.n_photons:,} of {result.n_requested:,} photons" if result.partial
                 else f"{result.n_photons:,} photons")
        title = (f"Monte Carlo: {state}, seed {result.seed}, {result.backend}\n"
                 f"layers (sigma_a, sigma_s [mm$^{{-1}}$], g, eta; d [mm]): {_layers_text(result)}")
    fig.suptitle(title, fontsize=10)
    return fig


def write_temporary(fig, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write ``fig`` to a new hidden temporary file beside ``path``; the caller renames or removes it."""
    target = Path(path)
    fmt = fmt or plot_format(target)
    tmp = temporary_beside(target)
    try:
        fig.savefig(tmp, format=fmt, dpi=150)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def save(result: MCResult, path: str | os.PathLike, title: str | None = None) -> Path:
    """Plot ``result`` (see :func:`figure`) to ``path`` (.png, .pdf or .svg), atomically."""
    target = Path(path)
    fmt = plot_format(target)
    fig = figure(result, title)
    with atomic_write(target) as tmp:
        fig.savefig(tmp, format=fmt, dpi=150)
    return target
