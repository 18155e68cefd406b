"""Donner & Jensen 2005: total reflectance and transmittance of a slab against its thickness.

The multipole's totals (closed form) and the dipole's (one number: it has no bottom face) against
Monte Carlo and adding-doubling (iadpython, Prahl's method: an independent transport solution),
for two media with ℓ = 1/σ't = 1 mm (thickness in mm = in mean free paths): a weakly absorbing one
(α' = 0.99) and a more absorbing one (α' = 0.9). What diffusion models is the *scattered* light, so
every total here leaves out the unscattered beam (the specular reflection, the light that crosses
without scattering and what the bottom face reflects back unscattered).

Units: mm, mm⁻¹; totals are fractions of the incident power.
"""

from __future__ import annotations

import math

import numpy as np

from ..medium import Layer, Medium
from . import _donner2005 as dj
from ._core import Context, Output

ID = "d02"
PAPER = "donner2005"
NAME = "totals_vs_thickness"
TITLE = "Slab total R and T against thickness: multipole, dipole, Monte Carlo, adding-doubling"
PHOTONS = 2_000_000

MEDIA = {  # label: medium (σ't = 1 mm⁻¹ for both: ℓ = 1 mm)
    "α' = 0.99": Medium(sigma_a=0.01, sigma_s=0.99, g=0.0, eta=1.3),
    "α' = 0.9": Medium(sigma_a=0.1, sigma_s=0.9, g=0.0, eta=1.3),
}
THICKNESSES = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0, 30.0, 50.0)  # mm
N_ABOVE = N_BELOW = 1.0
D_FIT = 3.0            # mm: the comparison starts at d = 3ℓ (diffusion's claimed range)
MAX_REL_DRAWN = 0.2    # deviations are drawn where MC's relative error is below this
QUAD_PTS = 16          # adding-doubling quadrature (physics.md: 16 is safe, >20 is not in iadpython 0.5.3)


def _unscattered(m: Medium, d: float, n_out: float):
    """Fresnel R at normal incidence, and the unscattered R and T of a slab (multiple reflections)."""
    n = float(m.eta)
    F = ((n - n_out) / (n + n_out)) ** 2
    t = math.exp(-float(m.sigma_t) * d)
    den = 1.0 - F * F * t * t
    return F, (1.0 - F) ** 2 * F * t * t / den, (1.0 - F) ** 2 * t / den


def _adding_doubling(m: Medium, d: float):
    """Scattered R and T of the slab in air by iadpython (UR1, UT1 less the unscattered light)."""
    import iadpython

    st = float(m.sigma_t)
    s = iadpython.Sample(a=float(m.sigma_s) / st, b=st * d, g=float(m.g), n=float(m.eta), n_above=N_ABOVE,
                         n_below=N_BELOW, quad_pts=QUAD_PTS)
    UR1, UT1, _, _ = s.rt()
    F, Ru, Tu = _unscattered(m, d, N_ABOVE)
    return float(UR1) - F - Ru, float(UT1) - Tu


def _transport_decay(m: Medium) -> float:
    """Asymptotic decay constant ν [mm⁻¹] of the transport equation for isotropic scattering (g = 0):
    (c/2ν') ln((1 + ν')/(1 − ν')) = 1 with c = σs/σt, ν = ν'σt (diffusion's σtr approximates it)."""
    from scipy.optimize import brentq

    c, st = float(m.sigma_s) / float(m.sigma_t), float(m.sigma_t)
    k = brentq(lambda k: c / (2 * k) * math.log((1 + k) / (1 - k)) - 1.0, 1e-12, 1 - 1e-15)
    return k * st


def make(ctx: Context) -> Output:
    from ..profiles import dipole, layered, multipole

    data, units, runs = {"thickness": np.asarray(THICKNESSES)}, {"thickness": "mm"}, []
    rows = {}
    d_fine = np.geomspace(THICKNESSES[0], THICKNESSES[-1], 200)
    data["thickness_curve"] = d_fine
    units["thickness_curve"] = "mm"
    offset = 0
    with dj.caught_validity() as warned:
        for key, m in MEDIA.items():
            tau = float(layered.entry_transmittance([Layer(m, 1.0)], N_ABOVE))
            mc_R, mc_Re, mc_T, mc_Te = [], [], [], []
            for d in THICKNESSES:
                offset += 1
                res = ctx.simulate([Layer(m, d)], ctx.n_photons(), seed_offset=offset, r_max=d + 10.0,
                                   n_r=1, n_above=N_ABOVE, n_below=N_BELOW)
                runs.append((f"{key}, d = {d:g} mm", res))
                mc_R.append(res.R_diffuse - res.R_unscattered)
                mc_Re.append(res.stderr("R_diffuse"))
                mc_T.append(res.T_total - res.T_unscattered)
                mc_Te.append(res.stderr("T_total"))
            ad = np.array([_adding_doubling(m, d) for d in THICKNESSES])
            mp_R = tau * np.array([float(multipole.total_R(m, d, N_ABOVE, N_BELOW)) for d in THICKNESSES])
            mp_T = tau * np.array([float(multipole.total_T(m, d, N_ABOVE, N_BELOW)) for d in THICKNESSES])
            cR = tau * np.array([float(multipole.total_R(m, d, N_ABOVE, N_BELOW)) for d in d_fine])
            cT = tau * np.array([float(multipole.total_T(m, d, N_ABOVE, N_BELOW)) for d in d_fine])
            dip = tau * float(dipole.total_R_d(m, N_ABOVE))
            rows[key] = dict(mc_R=np.array(mc_R), mc_Re=np.array(mc_Re), mc_T=np.array(mc_T),
                             mc_Te=np.array(mc_Te), ad_R=ad[:, 0], ad_T=ad[:, 1], mp_R=mp_R, mp_T=mp_T,
                             cR=cR, cT=cT, dip=dip, tau=tau)
            tag = "a099" if "0.99" in key else "a09"
            for name in ("mc_R", "mc_Re", "mc_T", "mc_Te", "ad_R", "ad_T", "mp_R", "mp_T", "cR", "cT"):
                k = {"mc_Re": "mc_R_err", "mc_Te": "mc_T_err", "ad_R": "adding_doubling_R",
                     "ad_T": "adding_doubling_T", "mp_R": "multipole_R", "mp_T": "multipole_T",
                     "cR": "multipole_R_curve", "cT": "multipole_T_curve"}.get(name, name)
                data[f"{k}_{tag}"] = rows[key][name]
                units[f"{k}_{tag}"] = "fraction of incident power"
            data[f"dipole_R_{tag}"] = np.array(dip)
            units[f"dipole_R_{tag}"] = "fraction of incident power"

    # deviations over d ≥ D_FIT where MC's relative error < 10%
    th = np.asarray(THICKNESSES)
    lines, worst = [], (0.0, "")
    for key, r in rows.items():
        parts = []
        for q in ("R", "T"):
            mcv, err, mod, ad = r[f"mc_{q}"], r[f"mc_{q}e"], r[f"mp_{q}"], r[f"ad_{q}"]
            sel = (th >= D_FIT) & (mcv > 0) & (err < dj.MAX_REL_ERR * np.abs(mcv))
            if not np.any(sel):
                parts.append(f"{q}: no thickness with MC rel. error < {dj.MAX_REL_ERR:.0%}")
                continue
            dev = np.abs(mod[sel] / mcv[sel] - 1.0)
            i = int(np.argmax(dev))
            ad_dev = float(np.max(np.abs(ad[sel] / mcv[sel] - 1.0)))
            ad_z = float(np.max(np.abs(ad[sel] - mcv[sel]) / err[sel]))
            parts.append(f"{q} {dev[i]:.1%} at d = {th[sel][i]:g} mm (MC ± {err[sel][i] / mcv[sel][i]:.2%}; "
                         f"adding-doubling vs MC: ≤ {ad_dev:.1%}, |z| ≤ {ad_z:.1f})")
            if dev[i] > worst[0]:
                worst = (float(dev[i]), f"{dev[i]:.1%} ({key}, {q}, d = {th[sel][i]:g} mm, "
                                        f"MC ± {err[sel][i] / mcv[sel][i]:.2%})")
        lines.append(f"{key}: " + "; ".join(parts))
        thin = th < 2.0
        r["thin_R"] = float(np.max(np.abs(r["mp_R"][thin] / r["mc_R"][thin] - 1.0)))
        r["thin_T"] = float(np.max(np.abs(r["mp_T"][thin] / r["mc_T"][thin] - 1.0)))

    fig = _draw(rows, th, d_fine)
    max_dev = (f"multipole vs MC, totals for d ≥ {D_FIT:g} mm (= {D_FIT:g} ℓ), MC rel. error < "
               f"{dj.MAX_REL_ERR:.0%}: {worst[1]}" if worst[1] else "no thickness qualified")
    media = "; ".join(f"{k}: {dj.medium_text(m)}" for k, m in MEDIA.items())
    sig_tr = ", ".join(f"{float(m.sigma_tr):.4f}" for m in MEDIA.values())
    nu = ", ".join(f"{_transport_decay(m):.4f}" for m in MEDIA.values())
    m_abs = MEDIA["α' = 0.9"]
    n_ph = sorted({res.n_photons for _, res in runs})
    caption = (
        f"Total reflectance R and transmittance T of a slab in air (n above = n below = {N_ABOVE:g}) "
        f"against its thickness d = {', '.join(f'{d:g}' for d in THICKNESSES)} mm, for two media with "
        f"ℓ = 1/σ't = 1 mm "
        f"(d in mm = d in mean free paths). Media: {media}. Lines: the multipole's closed-form totals "
        f"(Donner & Jensen 2005) and the dipole's total R (Jensen 2001; independent of d), times the entry "
        f"transmittance {rows[next(iter(rows))]['tau']:.4f}. Crosses: adding-doubling (iadpython, "
        f"{QUAD_PTS} quadrature points; UR1 and UT1 less the analytic unscattered parts). Circles: Monte "
        f"Carlo (bssrdf.mc), ±1 standard error (smaller than the markers). All totals are of scattered "
        f"light only: without the specular reflection, the unscattered transmission and its unscattered "
        f"reflection from the bottom face (MC: R_diffuse − R_unscattered, T_total − T_unscattered); R "
        f"includes single scattering on both sides (the diffusion source stands for all orders). "
        f"Bottom: model/MC − 1 (lines: multipole, crosses: adding-doubling; shaded: ±1 MC standard "
        f"error; only where MC's relative error < {MAX_REL_DRAWN:.0%}). Grey: d < 2ℓ, where the "
        f"multipole clamps its source into the slab (z0 = d/2) and diffusion is not expected to hold "
        f"(largest |model/MC − 1| "
        f"there: " + ", ".join(f"{k}: R {r['thin_R']:.0%}, T {r['thin_T']:.0%}" for k, r in rows.items())
        + f"). Monte Carlo: {n_ph[0]:,} photons per thickness ({len(runs)} runs), seeds "
        f"{runs[0][1].seed}–{runs[-1][1].seed} in the order of the thicknesses listed, first medium "
        f"first. Deviation of the multipole from MC for d ≥ {D_FIT:g} mm where MC's relative error < "
        f"{dj.MAX_REL_ERR:.0%}: " + "; ".join(lines) + ". Deep transmittance of the more absorbing medium is "
        f"where diffusion fails: it decays like e^(−σtr d) with σtr = {sig_tr} mm⁻¹, while transport decays "
        f"like e^(−νd) with ν = {nu} mm⁻¹ (the isotropic transport eigenvalue; the two media in turn), "
        f"so the "
        f"diffusion T of the α' = 0.9 slab falls behind by a factor that grows like e^(d(σtr − ν)) "
        f"({math.exp(20 * (float(m_abs.sigma_tr) - _transport_decay(m_abs))):.2f} from the decay rates alone "
        f"at d = 20 mm)."
    )
    params = {"media": {k: dj.medium_params(m) for k, m in MEDIA.items()},
              "thicknesses_mm": list(THICKNESSES),
              "n_above": N_ABOVE, "n_below": N_BELOW, "quad_pts": QUAD_PTS, "d_fit_mm": D_FIT,
              "photons": [r.n_photons for _, r in runs], "seeds": [r.seed for _, r in runs],
              "validity_warnings": warned[:3]}
    return Output(fig, data, units, caption, max_dev, params)


def _draw(rows, th, d_fine):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 7.5), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True, height_ratios=(2.2, 1.0))
    colors = ("C0", "C3")
    for (key, r), c in zip(rows.items(), colors, strict=True):
        for col, q in enumerate(("R", "T")):
            ax = axes[0, col]
            ax.plot(d_fine, r[f"c{q}"], "-", color=c, lw=1.3, label=f"multipole, {key}")
            if q == "R":
                ax.axhline(r["dip"], ls="--", color=c, lw=1.0, label=f"dipole, {key}")
            ax.plot(th, r[f"ad_{q}"], "x", color=c, ms=7, mew=1.2, label=f"adding-doubling, {key}")
            ax.errorbar(th, r[f"mc_{q}"], yerr=r[f"mc_{q}e"], fmt="o", mfc="none", ms=6, color=c, lw=0,
                        elinewidth=0.8, label=f"Monte Carlo, {key}")
            axr = axes[1, col]
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = r[f"mc_{q}e"] / r[f"mc_{q}"]
                ok = (r[f"mc_{q}"] > 0) & (rel < MAX_REL_DRAWN)
                axr.plot(th[ok], r[f"mp_{q}"][ok] / r[f"mc_{q}"][ok] - 1.0, "-", color=c, lw=1.2)
                axr.plot(th[ok], r[f"ad_{q}"][ok] / r[f"mc_{q}"][ok] - 1.0, "x:", color=c, ms=5, lw=0.8)
                axr.fill_between(th[ok], -rel[ok], rel[ok], color=c, alpha=0.15, lw=0)
    axes[0, 0].set_ylabel("total diffuse reflectance R")
    axes[0, 1].set_ylabel("total diffuse transmittance T")
    axes[0, 0].set_ylim(0.0, 0.9)
    axes[0, 1].set_yscale("log")
    axes[0, 1].set_ylim(1e-6, 1.0)
    from matplotlib.lines import Line2D

    style = [Line2D([], [], color="k", lw=1.3, label="multipole"),
             Line2D([], [], color="k", ls="--", lw=1.0, label="dipole (R only)"),
             Line2D([], [], color="k", marker="x", lw=0, ms=7, label="adding-doubling"),
             Line2D([], [], color="k", marker="o", mfc="none", lw=0, ms=6, label="Monte Carlo")]
    media = [Line2D([], [], color=c, lw=4, label=f"{key}") for key, c in zip(rows, colors, strict=True)]
    axes[0, 0].legend(handles=style, fontsize=7.5, loc="upper left", ncol=2)
    axes[0, 1].legend(handles=media, fontsize=8, loc="lower left", title="medium", title_fontsize=8)
    ylims = {0: 0.15, 1: 0.6}
    for col, ax in enumerate(axes[1]):
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_ylim(-ylims[col], ylims[col])
        ax.set_ylabel("model / MC − 1")
        ax.set_xlabel("slab thickness d [mm] (= mean free paths ℓ)")
    for ax in axes.ravel():
        ax.set_xscale("log")
        ax.axvspan(th[0] * 0.9, 2.0, color="0.9", zorder=0, lw=0)
        ax.grid(True, which="major", lw=0.3, alpha=0.5)
    axes[0, 0].set_title("reflectance (scattered light, per incident power)", fontsize=9)
    axes[0, 1].set_title("transmittance (scattered light, per incident power)", fontsize=9)
    fig.suptitle("Donner & Jensen 2005: slab totals against thickness (grey: d < 2ℓ, source clamped)",
                 fontsize=10)
    return fig
