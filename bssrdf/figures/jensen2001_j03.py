"""Jensen et al. 2001, Table 1 as a figure: the measured materials' dipole profiles and diffuse colours.

One panel per material of the table (:mod:`bssrdf.materials`, table ``jensen2001``): the dipole R_d(r) of
each RGB channel on a log scale, the material's σ's and σa per channel and its total diffuse reflectance
R_d (closed form), and a swatch of its diffuse colour: the three totals taken as linear RGB, clipped to
[0, 1] and encoded with the sRGB transfer curve (IEC 61966-2-1). Analytic only: no Monte Carlo.

Units: r in mm, σ in mm⁻¹, R_d(r) in mm⁻² per unit incident power; totals are fractions.
"""

from __future__ import annotations

import numpy as np

from .. import materials
from ..profiles import dipole
from ._core import Context, Output
from ._jensen2001 import linear_to_srgb, new_figure

ID = "j03"
PAPER = "jensen2001"
NAME = "measured_materials"
TITLE = "Measured materials of Jensen 2001 Table 1: dipole profiles per channel and diffuse colours"
PHOTONS = 1   # no Monte Carlo in this figure

R_MAX = 10.0          # [mm]
N_R = 400
DECADES = 6           # each panel shows this many decades below its peak
ALBEDO_DIFFUSIVE = 0.9  # channels with α' below this are dashed: diffusion is unreliable there (j01, j02)
CHANNELS = ("R", "G", "B")
LINE_COLOURS = ("#d62728", "#2ca02c", "#1f77b4")


def table_names() -> list[str]:
    """The materials of Jensen 2001 Table 1, in the order of the table file."""
    return [n for n in materials.names() if materials.entry(n).table == "jensen2001"]


def _fmt(values) -> str:
    return " ".join(f"{v:<7.3g}" for v in values)


def make(ctx: Context) -> Output:
    from matplotlib.patches import Rectangle

    names = table_names()
    ncols = 4
    nrows = -(-len(names) // ncols)
    fig = new_figure(figsize=(15.0, 3.55 * nrows + 0.6))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, sharex=True))
    r = np.linspace(0.0, R_MAX, N_R + 1)
    data = {"r": r}
    units = {"r": "mm"}
    table_rows, weak = [], []
    for i, name in enumerate(names):
        ax = axes.flat[i]
        e = materials.entry(name)
        m = e.medium
        prof = np.asarray(dipole.R_d(r, m, backend=ctx.backend))      # (N, 3)
        total = np.asarray(dipole.total_R_d(m))
        srgb = linear_to_srgb(total)
        ap = np.asarray(m.albedo_prime)
        for c in range(3):
            dashed = ap[c] < ALBEDO_DIFFUSIVE
            if dashed:
                weak.append(f"{e.name} {CHANNELS[c]} (α' = {ap[c]:.3g})")
            ax.plot(r, prof[:, c], "--" if dashed else "-", color=LINE_COLOURS[c], lw=1.4,
                    label=f"{CHANNELS[c]}")
        top = float(np.max(prof))
        ax.set_yscale("log")
        ax.set_ylim(top * 10.0**-DECADES, top * 3.0)
        ax.set_xlim(0.0, R_MAX)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(f"{e.name}  (η = {float(m.eta[0]):g})", fontsize=10.5, fontweight="bold")
        text = (f"σ's {_fmt(m.sigma_s_prime)}\nσa  {_fmt(m.sigma_a)}\nR_d {_fmt(total)}\n"
                f"(R G B; σ in mm⁻¹)")
        ax.text(0.03, 0.03, text, transform=ax.transAxes, fontsize=7.6, family="monospace", va="bottom",
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.8", "boxstyle": "round,pad=0.3"})
        ax.add_patch(Rectangle((0.76, 0.62), 0.21, 0.32, transform=ax.transAxes, facecolor=tuple(srgb),
                               edgecolor="0.3", lw=0.8, zorder=5))
        ax.text(0.865, 0.59, "diffuse colour", transform=ax.transAxes, fontsize=6.5, ha="center", va="top")
        if i % ncols == 0:
            ax.set_ylabel("R_d(r) [mm$^{-2}$]")
        if i // ncols == nrows - 1 or i + ncols >= len(names):
            ax.set_xlabel("r [mm]")
            ax.xaxis.set_tick_params(labelbottom=True)
        data[f"{name}/R_d"] = prof
        units[f"{name}/R_d"] = "mm^-2 (columns R, G, B)"
        data[f"{name}/total_R_d"] = total
        units[f"{name}/total_R_d"] = "1 (R, G, B)"
        data[f"{name}/srgb"] = srgb
        units[f"{name}/srgb"] = "sRGB-encoded, 0..1 (R, G, B)"
        data[f"{name}/sigma_s_prime"] = np.asarray(m.sigma_s_prime)
        units[f"{name}/sigma_s_prime"] = "mm^-1 (R, G, B)"
        data[f"{name}/sigma_a"] = np.asarray(m.sigma_a)
        units[f"{name}/sigma_a"] = "mm^-1 (R, G, B)"
        table_rows.append(f"{e.name}: σ's {', '.join(f'{v:g}' for v in m.sigma_s_prime)}; σa "
                          f"{', '.join(f'{v:g}' for v in m.sigma_a)} mm⁻¹; η {float(m.eta[0]):g}; R_d "
                          f"{', '.join(f'{v:.3f}' for v in total)}")
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=col, lw=1.6, label=f"channel {ch}")
               for ch, col in zip(CHANNELS, LINE_COLOURS, strict=True)]
    handles.append(Line2D([], [], color="0.3", ls="--", lw=1.4,
                          label=f"dashed: α' < {ALBEDO_DIFFUSIVE:g} (diffusion unreliable)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=9.5)
    fig.suptitle("Jensen et al. 2001, Table 1: dipole R_d(r) per channel and diffuse colour (total R_d per "
                 "channel → sRGB swatch)", fontsize=12)
    source = materials.entry(names[0]).source
    lines = [
        f"The {len(names)} measured materials of Jensen et al. 2001, Table 1 (bssrdf.materials, source: "
        f"{source}; reduced scattering σ's and absorption σa per RGB channel in mm⁻¹, η = 1.3 except marble "
        "1.5, air above; g is not measured and does not enter the dipole). Each panel: the dipole diffuse "
        f"reflectance profile R_d(r) [mm⁻² per unit incident power] of the R, G and B channels for r = 0–"
        f"{R_MAX:g} mm, on a log scale spanning {DECADES} decades below the panel's peak; the coefficients; "
        "the total diffuse reflectance R_d = (α'/2)(1 + e^(−(4/3)A sqrt(3(1−α'))))e^(−sqrt(3(1−α'))) per "
        "channel; and a swatch of the diffuse colour: the three totals taken as linear RGB (the table's "
        "channels treated as linear sRGB primaries, no white balance or exposure), clipped to [0, 1] and "
        "encoded with the sRGB transfer curve (12.92x below 0.0031308, else 1.055x^(1/2.4) − 0.055).",
        "Channels with a reduced albedo below " + f"{ALBEDO_DIFFUSIVE:g} are dashed: there the dipole is far "
        "from transport (j01, j02): " + (", ".join(weak) if weak else "none") + ".",
        "No Monte Carlo is run for this figure (0 photons, no seed): it is the analytic dipole of each "
        "material; j01 and j02 compare the dipole with Monte Carlo, j04 fits a simulated measurement.",
        "Values: " + "; ".join(table_rows) + ".",
    ]
    params = {"materials": names, "r_max_mm": R_MAX, "n_r": N_R, "albedo_diffusive": ALBEDO_DIFFUSIVE,
              "colour_mapping": "total R_d per channel as linear RGB, clipped to [0, 1], sRGB transfer curve",
              "monte_carlo": "none"}
    return Output(figure=fig, data=data, units=units, caption="\n\n".join(lines),
                  max_deviation="n/a: no Monte Carlo in this figure (analytic dipole only)",
                  parameters=params)
