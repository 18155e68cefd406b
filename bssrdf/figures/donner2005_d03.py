"""Donner & Jensen 2005: a slab with different refractive indices above and below.

The multipole gives each face its own extrapolated boundary, z_b = 2A(η)D with η the slab's index
over its neighbour's on that side. Here one slab (n = 1.4) lies under air and over air, glass
(n = 1.5: η_bottom = 0.93 < 1, the slab is the less dense side) or a dense substrate (n = 2.0:
η_bottom = 0.7), and R(r) and T(r) from the multipole are compared with Monte Carlo, which refracts
and reflects at each face with its real indices. See :mod:`bssrdf.figures._donner2005` for the comparison.

Units: mm, mm⁻¹; profiles in mm⁻² per unit incident power.
"""

from __future__ import annotations

import numpy as np

from ..medium import Layer, Medium
from . import _donner2005 as dj
from ._core import Context, Output

ID = "d03"
PAPER = "donner2005"
NAME = "index_mismatch"
TITLE = "Index mismatch: slab (n 1.4) under air over air, glass (1.5) or n 2.0; multipole vs Monte Carlo"
PHOTONS = 6_000_000

MEDIUM = Medium(sigma_a=0.02, sigma_s=1.98, g=0.0, eta=1.4)   # σ't 2 mm⁻¹: ℓ = 0.5 mm, α' 0.99
THICKNESS = 3.0                                               # mm = 6 ℓ
N_ABOVE = 1.0
N_BELOW = (1.0, 1.5, 2.0)
R_MAX, N_R = 10.0, 40                                         # tally: 0.25 mm bins
R_FIT = (1.5, 10.0)                                           # mm: beyond 3 ℓ
COLORS = ("C0", "C2", "C3")
STYLES = (("-", "o"), ("--", "s"), (":", "^"))


def make(ctx: Context) -> Output:
    from ..fresnel import A
    from ..profiles import layered, multipole

    layers = [Layer(MEDIUM, THICKNESS)]
    tau = float(layered.entry_transmittance(layers, N_ABOVE))
    fig_r = np.linspace(0.0, R_MAX, 401)
    data = {"r_curve": fig_r}
    cases, runs = [], []
    with dj.caught_validity() as warned:
        for k, nb in enumerate(N_BELOW):
            res = ctx.simulate(layers, ctx.n_photons(), seed_offset=k + 1, r_max=R_MAX, n_r=N_R,
                               n_above=N_ABOVE, n_below=nb)
            runs.append((f"n below {nb:g}", res))
            p = dj.mc_profiles(res)

            def model(fn, nb=nb):
                return lambda r: tau * np.ravel(fn(r, MEDIUM, THICKNESS, N_ABOVE, nb,
                                                   backend=ctx.backend))

            mR = dj.annulus_means(model(multipole.R), p.edges)
            mT = dj.annulus_means(model(multipole.T), p.edges)
            cR, cT = model(multipole.R)(fig_r), model(multipole.T)(fig_r)
            dR = dj.deviation(p.R, p.R_err, mR, p.centers, *R_FIT)
            dT = dj.deviation(p.T, p.T_err, mT, p.centers, *R_FIT)
            totals = (float(multipole.total_R(MEDIUM, THICKNESS, N_ABOVE, nb)) * tau,
                      float(multipole.total_T(MEDIUM, THICKNESS, N_ABOVE, nb)) * tau,
                      float(res.R_diffuse - res.R_unscattered), float(res.T_total - res.T_unscattered))
            cases.append(dict(nb=nb, p=p, mR=mR, mT=mT, cR=cR, cT=cT, dR=dR, dT=dT, res=res, totals=totals,
                              A_d=float(A(float(MEDIUM.eta) / nb))))
            tag = f"nb{nb:g}".replace(".", "p")
            data.update({f"R_mc_{tag}": p.R, f"R_mc_err_{tag}": p.R_err, f"T_mc_{tag}": p.T,
                         f"T_mc_err_{tag}": p.T_err, f"R_multipole_bins_{tag}": mR,
                         f"T_multipole_bins_{tag}": mT, f"R_multipole_curve_{tag}": cR,
                         f"T_multipole_curve_{tag}": cT})
    data.update({"r_edges": cases[0]["p"].edges, "r_centers": cases[0]["p"].centers})
    units = {k: "mm" if k.startswith("r_") else "mm^-2 per unit incident power" for k in data}

    fig = _draw(cases, fig_r)
    overall = dj.worst([c[q] for c in cases for q in ("dR", "dT")])
    which = next(f"{q[1]}, n below {c['nb']:g}" for c in cases for q in ("dR", "dT") if c[q] is overall)
    max_dev = "multipole vs MC: " + overall.text() + (f" [{which}]" if overall.n_bins else "")
    per = "; ".join(
        f"n below {c['nb']:g} (η_bottom {float(MEDIUM.eta) / c['nb']:.3g}, A_bottom {c['A_d']:.3g}): "
        f"R {_pct(c['dR'])}, T {_pct(c['dT'])}; totals model/MC R {c['totals'][0]:.4f}/{c['totals'][2]:.4f}, "
        f"T {c['totals'][1]:.4f}/{c['totals'][3]:.4f}" for c in cases)
    caption = (
        f"Reflectance R(r) and transmittance T(r) of one slab, d = {THICKNESS:g} mm, under air "
        f"(n above {N_ABOVE:g}) and over media of index n below = {', '.join(f'{n:g}' for n in N_BELOW)} "
        f"(semi-infinite, non-scattering; T is the power per area entering them). Medium: "
        f"{dj.medium_text(MEDIUM)}; d = {THICKNESS / float(MEDIUM.mfp):g} ℓ. Lines: the multipole (Donner "
        f"& Jensen 2005) with its own extrapolation distance at each face, times the entry transmittance "
        f"{tau:.4f}. Points: Monte Carlo (bssrdf.mc; {N_R} bins of {R_MAX / N_R:g} mm; ±1 standard "
        f"error): multiply scattered R_r − R_r_single, T_r less the unscattered beam; bottom row: MC/model "
        f"on the model's annulus means (bins with MC relative error < 50%). In the model a denser "
        f"substrate draws more light out of the bottom (T up, R down) through A(η) of the bottom face "
        f"(for η < 1, Donner's F_dr fit); the Monte Carlo refracts at the real "
        f"indices. Runs: {dj.mc_text(runs)}. Deviation |model/MC − 1| over "
        f"r = {R_FIT[0]:g}–{R_FIT[1]:g} mm (beyond 3ℓ) in bins with MC relative error < "
        f"{dj.MAX_REL_ERR:.0%}: {per}."
    )
    params = {"medium": dj.medium_params(MEDIUM), "thickness_mm": THICKNESS, "n_above": N_ABOVE,
              "n_below": list(N_BELOW), "r_max_mm": R_MAX, "n_r": N_R, "r_fit_mm": list(R_FIT),
              "entry_transmittance": tau, "photons": [r.n_photons for _, r in runs],
              "seeds": [r.seed for _, r in runs], "validity_warnings": warned}
    return Output(fig, data, units, caption, max_dev, params)


def _pct(dev) -> str:
    return f"{dev.worst:.1%} (MC ± {dev.mc_rel_err:.1%})" if dev.n_bins else "— (no bin)"


def _draw(cases, fig_r):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 7.5), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True, height_ratios=(2.0, 1.0))
    for c, color, (ls, marker) in zip(cases, COLORS, STYLES, strict=True):
        p = c["p"]
        lab = f"n below {c['nb']:g}"
        for col, q in enumerate(("R", "T")):
            ax, axr = axes[0, col], axes[1, col]
            curve = c[f"c{q}"]
            ax.plot(fig_r, np.where(curve > 0, curve, np.nan), ls, color=color, lw=1.4,
                    label=f"multipole, {lab}")
            mc, err = (p.R, p.R_err) if q == "R" else (p.T, p.T_err)
            dj.plot_mc(ax, p.centers, mc, err, color=color, label=f"Monte Carlo, {lab}", marker=marker)
            dj.plot_ratio(axr, p.centers, mc, err, c[f"m{q}"], color=color, marker=marker)
    for col, q in enumerate(("R", "T")):
        ax, axr = axes[0, col], axes[1, col]
        dj.log_axis(ax, 1e-6, 1.0)
        ax.set_ylabel(f"{q}(r) [mm⁻²]")
        ax.set_title(("reflectance (multiple scattering)" if q == "R" else "transmittance (scattered)"),
                     fontsize=9)
        ax.axvspan(0.0, R_FIT[0], color="0.9", zorder=0, lw=0)
        axr.axvspan(0.0, R_FIT[0], color="0.9", zorder=0, lw=0)
        axr.axhline(1.0, color="k", lw=0.6)
        axr.set_ylim(0.6, 1.4)
        axr.set_ylabel("MC / multipole")
        axr.set_xlabel("r [mm]")
        axr.grid(True, lw=0.3, alpha=0.5)
        ax.set_xlim(0.0, R_MAX)
    axes[0, 0].legend(fontsize=7.5, loc="upper right")
    fig.suptitle(f"Donner & Jensen 2005: index mismatch, slab n {float(MEDIUM.eta):g}, d {THICKNESS:g} mm, "
                 f"air above (grey: r < 3ℓ, not compared)", fontsize=10)
    return fig
