"""Donner & Jensen 2005: the multipole against Monte Carlo for slabs 2, 6 and 20 mean free paths thick.

The paper's slab verification (3 rows × 2 columns): reflectance R(r) (left) and transmittance T(r)
(right) of one medium at three thicknesses, Monte Carlo against the multipole and, for R, Jensen's
dipole (which knows no bottom face). The paper's exact medium is not available here; this one is
a weakly absorbing isotropic scatterer with ℓ = 1/σ't = 1 mm, so r in mm is r in mean free paths.
See :mod:`bssrdf.figures._donner2005` for how model and Monte Carlo are compared.

Units: mm, mm⁻¹; profiles in mm⁻² per unit incident power.
"""

from __future__ import annotations

import numpy as np

from ..medium import Layer, Medium
from . import _donner2005 as dj
from ._core import Context, Output

ID = "d01"
PAPER = "donner2005"
NAME = "slab_profiles"
TITLE = "Slab R(r) and T(r): multipole vs dipole vs Monte Carlo (d = 2, 6, 20 mean free paths)"
PHOTONS = 10_000_000

MEDIUM = Medium(sigma_a=0.01, sigma_s=0.99, g=0.0, eta=1.3)   # σ't = 1 mm⁻¹: ℓ = 1 mm, α' = 0.99
THICKNESSES = (2.0, 6.0, 20.0)                                # mm = mean free paths
N_ABOVE = N_BELOW = 1.0
R_MAX, N_R = 20.0, 80                                         # tally: 0.25 mm bins
R_FIT = (3.0, 20.0)                                           # mm: beyond 3 ℓ of the beam


def make(ctx: Context) -> Output:
    from ..profiles import dipole, layered, multipole

    fig_r = np.linspace(0.0, R_MAX, 401)
    data, units = {}, {}
    runs, devs, notes = [], [], []
    with dj.caught_validity() as warned:
        R_dip_curve = np.ravel(dipole.R_d(fig_r, MEDIUM, N_ABOVE, backend=ctx.backend))
        for k, d in enumerate(THICKNESSES):
            layers = [Layer(MEDIUM, d)]
            res = ctx.simulate(layers, ctx.n_photons(), seed_offset=k + 1, r_max=R_MAX, n_r=N_R,
                               n_above=N_ABOVE, n_below=N_BELOW)
            runs.append((f"d = {d:g} mm", res))
            p = dj.mc_profiles(res)
            tau = float(layered.entry_transmittance(layers, N_ABOVE))

            def model(fn, d=d):
                return lambda r: np.ravel(fn(r, MEDIUM, d, N_ABOVE, N_BELOW, backend=ctx.backend))

            mR = tau * dj.annulus_means(model(multipole.R), p.edges)
            mT = tau * dj.annulus_means(model(multipole.T), p.edges)
            mD = tau * dj.annulus_means(
                lambda r: np.ravel(dipole.R_d(r, MEDIUM, N_ABOVE, backend=ctx.backend)), p.edges)
            cR = tau * model(multipole.R)(fig_r)
            cT = tau * model(multipole.T)(fig_r)
            dR = dj.deviation(p.R, p.R_err, mR, p.centers, *R_FIT)
            dT = dj.deviation(p.T, p.T_err, mT, p.centers, *R_FIT)
            dD = dj.deviation(p.R, p.R_err, mD, p.centers, *R_FIT)
            devs.append((d, dR, dT, dD))
            tag = f"d{d:g}mm"
            data.update({f"R_mc_{tag}": p.R, f"R_mc_err_{tag}": p.R_err, f"T_mc_{tag}": p.T,
                         f"T_mc_err_{tag}": p.T_err, f"R_multipole_bins_{tag}": mR,
                         f"T_multipole_bins_{tag}": mT, f"R_dipole_bins_{tag}": mD,
                         f"R_multipole_curve_{tag}": cR, f"T_multipole_curve_{tag}": cT})
            notes.append((d, tau, p, cR, cT, res, mR))
    data.update({"r_edges": notes[0][2].edges, "r_centers": notes[0][2].centers, "r_curve": fig_r,
                 "R_dipole_curve": notes[0][1] * R_dip_curve})
    for key in data:
        units[key] = "mm" if key.startswith("r_") else "mm^-2 per unit incident power"

    fig = _draw(notes, fig_r, notes[0][1] * R_dip_curve, ctx)

    overall = dj.worst([x for _, dR, dT, _ in devs for x in (dR, dT)])
    which = next(f"{'R' if x is dR else 'T'}, d = {d:g} mm" for d, dR, dT, _ in devs for x in (dR, dT)
                 if x is overall)
    max_dev = ("multipole vs MC: " + overall.text() + f" [{which}]" if overall.n_bins else
               "multipole vs MC: " + overall.text())
    per = "; ".join(f"d = {d:g} mm: R {_pct(dR)}, T {_pct(dT)}, dipole R {_pct(dD)}"
                    for d, dR, dT, dD in devs)
    tau = notes[0][1]
    caption = (
        f"Reflectance R(r) (left) and transmittance T(r) (right) of a slab in air (n above = n below = "
        f"{N_ABOVE:g}) at thicknesses d = {', '.join(f'{d:g}' for d in THICKNESSES)} mm "
        f"(= {', '.join(f'{d:g}' for d in THICKNESSES)} reduced mean free paths ℓ), "
        f"r from 0 to {R_MAX:g} mm, "
        f"log axis from {dj.Y_MAX:g} to {dj.Y_MIN:g} mm⁻². Medium: {dj.medium_text(MEDIUM)}. "
        f"Lines: the multipole (Donner & Jensen 2005, converged image/modal sum, bssrdf.profiles.multipole) "
        f"and, for R, the dipole (Jensen 2001; the same for every d, it ignores the bottom face), both "
        f"per unit power entering times the entry transmittance {tau:.4f} (1 − Fresnel at normal "
        f"incidence). Points: Monte Carlo (bssrdf.mc, MCML conventions, {N_R} bins of "
        f"{R_MAX / N_R:g} mm), ±1 standard error; R is the multiply scattered part R_r − R_r_single, "
        f"T is T_r less the unscattered beam (singly scattered transmission included); only bins with "
        f"relative error < 100% are drawn; at this photon count the tally resolves R and T (relative "
        f"error < 10%) down to {_floor(notes)}; below that only the models reach the axis's 1e-7. "
        f"Runs: {dj.mc_text(runs)}. Deviation |model/MC − 1| on the annulus means over r = "
        f"{R_FIT[0]:g}–{R_FIT[1]:g} mm (beyond 3ℓ, where diffusion is claimed to hold) in bins with MC "
        f"relative error < {dj.MAX_REL_ERR:.0%}: {per}. Near the beam (r < {R_FIT[0]:g} mm) diffusion "
        f"is not expected to hold: there MC/multipole for R ranges over {_near(notes)}."
    )
    params = {"medium": dj.medium_params(MEDIUM), "thicknesses_mm": list(THICKNESSES), "n_above": N_ABOVE,
              "n_below": N_BELOW, "r_max_mm": R_MAX, "n_r": N_R, "r_fit_mm": list(R_FIT),
              "entry_transmittance": tau, "photons": [r.n_photons for _, r in runs],
              "seeds": [r.seed for _, r in runs], "validity_warnings": warned}
    return Output(fig, data, units, caption, max_dev, params)


def _floor(notes) -> str:
    """Smallest MC value with relative error < 10%, per run."""
    out = []
    for d, _tau, p, *_ in notes:
        vals = [v[(v > 0) & (e < 0.1 * v)] for v, e in ((p.R, p.R_err), (p.T, p.T_err))]
        lo = [f"{x.min():.1e} mm⁻²" if x.size else "no bin" for x in vals]
        out.append(f"d {d:g} mm: R {lo[0]}, T {lo[1]}")
    return "; ".join(out)


def _near(notes) -> str:
    parts = []
    for d, _tau, p, *_, mR in notes:
        near = (p.centers < R_FIT[0]) & (p.R > 0)
        ratio = p.R[near] / mR[near]
        parts.append(f"{ratio.min():.2f}–{ratio.max():.2f} (d {d:g} mm)")
    return ", ".join(parts)


def _pct(dev) -> str:
    return f"{dev.worst:.1%} (MC ± {dev.mc_rel_err:.1%})" if dev.n_bins else "— (no bin)"


def _draw(notes, fig_r, dip, ctx):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 11.0), layout="constrained")
    axes = fig.subplots(len(notes), 2, sharex=True)
    for row, (d, _tau, p, cR, cT, res, _mR) in enumerate(notes):
        axR, axT = axes[row]
        axR.plot(fig_r, np.where(cR > 0, cR, np.nan), "-", color="C0", lw=1.3, label="multipole")
        axR.plot(fig_r, dip, "--", color="C2", lw=1.1, label="dipole")
        dj.plot_mc(axR, p.centers, p.R, p.R_err, color="k", label="Monte Carlo (multiple scattering)")
        axT.plot(fig_r, np.where(cT > 0, cT, np.nan), "-", color="C3", lw=1.3, label="multipole")
        dj.plot_mc(axT, p.centers, p.T, p.T_err, color="k", label="Monte Carlo (scattered)")
        for ax, what in ((axR, "R(r)"), (axT, "T(r)")):
            dj.log_axis(ax)
            ax.set_xlim(0.0, fig_r[-1])
            ax.set_ylabel(f"{what} [mm⁻²]")
            ax.set_title(f"{what}, d = {d:g} mm = {d / float(MEDIUM.mfp):g} ℓ  ({res.n_photons:,} photons)",
                         fontsize=9)
            ax.axvspan(0.0, R_FIT[0], color="0.9", zorder=0, lw=0)
        if row == 0:
            axR.legend(fontsize=8, loc="upper right")
            axT.legend(fontsize=8, loc="upper right")
    for ax in axes[-1]:
        ax.set_xlabel("r [mm]")
    fig.suptitle("Donner & Jensen 2005: slab profiles, multipole vs Monte Carlo (grey: r < 3ℓ, not compared)",
                 fontsize=10)
    return fig
