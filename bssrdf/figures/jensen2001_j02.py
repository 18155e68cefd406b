"""Jensen et al. 2001: total diffuse reflectance R_d against the reduced albedo α'.

For η = 1.0, 1.3 and 1.5 (air above): the closed form of the dipole,
R_d(α') = (α'/2)(1 + e^{−(4/3)A sqrt(3(1−α'))}) e^{−sqrt(3(1−α'))}
(:func:`bssrdf.export.conventions.dipole_total_reflectance`); the dipole profile integrated numerically,
∫₀^∞ 2πr R_d(r) dr (adaptive quadrature of :func:`bssrdf.profiles.dipole.R_d_reference`: an independent
check of the closed form); and Monte Carlo (``R_diffuse``, all scattering orders, and ``R_diffuse −
R_single``, multiple scattering), each with its standard error, of a semi-infinite medium with σ't = 1 mm⁻¹
and g = 0 (R_d depends on α' and η only).

Units: σ in mm⁻¹, r in mm; reflectances are fractions of the incident power.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

from ..export.conventions import dipole_total_reflectance
from ..medium import Layer, Medium
from ..profiles import dipole
from ._core import Context, Output
from ._jensen2001 import new_figure

ID = "j02"
PAPER = "jensen2001"
NAME = "total_reflectance_vs_albedo"
TITLE = "Total diffuse reflectance vs reduced albedo: closed form, integrated dipole, Monte Carlo"
PHOTONS = 1_000_000

ETAS = (1.0, 1.3, 1.5)
MC_ALBEDOS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
QUAD_ALBEDOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
SIGMA_T_PRIME = 1.0   # [mm⁻¹]; R_d depends on α' and η only
G = 0.0
AP_AGREE = 0.9        # compared over α' ≥ 0.9: translucent materials, where diffusion is expected to hold
COLOURS = {1.0: "#1f77b4", 1.3: "#2ca02c", 1.5: "#d62728"}


def medium(alpha_prime: float, eta: float) -> Medium:
    """σa = (1 − α')σ't, σ's = α'σ't [mm⁻¹], g = 0, η."""
    return Medium.from_reduced((1.0 - alpha_prime) * SIGMA_T_PRIME, alpha_prime * SIGMA_T_PRIME, g=G, eta=eta)


def integrated_dipole(alpha_prime: float, eta: float) -> float:
    """∫₀^∞ 2πr R_d(r) dr of the dipole profile (adaptive quadrature, relative tolerance 1e-10)."""
    sa = np.array([(1.0 - alpha_prime) * SIGMA_T_PRIME])
    ssp, e = np.array([alpha_prime * SIGMA_T_PRIME]), np.array([eta])

    def f(r: float) -> float:
        return 2.0 * np.pi * r * float(dipole.R_d_reference(np.array([r]), sa, ssp, e)[0, 0])

    value, _ = integrate.quad(f, 0.0, np.inf, limit=500, epsabs=0.0, epsrel=1e-10)
    return value


def make(ctx: Context) -> Output:
    n = ctx.n_photons()
    ap_fine = np.concatenate([np.linspace(0.1, 0.98, 177), np.linspace(0.981, 0.9999, 80)])
    ap_mc, ap_q = np.asarray(MC_ALBEDOS), np.asarray(QUAD_ALBEDOS)
    fig = new_figure(figsize=(13.0, 5.6))
    ax, axr = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1.0]})
    data = {"alpha_prime_fine": ap_fine, "alpha_prime_mc": ap_mc, "alpha_prime_quadrature": ap_q}
    units = {k: "1" for k in data}
    seeds, wall, quad_dev = [], 0.0, 0.0
    dev_all, dev_mult, dev_all_hi, dev_mult_hi = {}, {}, {}, {}
    k = 0
    for eta in ETAS:
        c = COLOURS[eta]
        closed = dipole_total_reflectance(ap_fine, eta)
        quad = np.array([integrated_dipole(a, eta) for a in ap_q])
        closed_q = dipole_total_reflectance(ap_q, eta)
        quad_dev = max(quad_dev, float(np.max(np.abs(quad / closed_q - 1.0))))
        tot, tot_e, mult, mult_e = (np.empty(len(ap_mc)) for _ in range(4))
        for i, a in enumerate(ap_mc):
            res = ctx.simulate([Layer(medium(a, eta), float("inf"))], n, seed_offset=k, r_max=1.0, n_r=1)
            seeds.append(res.seed)
            wall += res.wall_time
            k += 1
            tot[i], tot_e[i] = res.R_diffuse, res.stderr("R_diffuse")
            mult[i] = res.R_diffuse - res.R_single
            mult_e[i] = np.hypot(res.stderr("R_diffuse"), res.stderr("R_single"))
        closed_mc = dipole_total_reflectance(ap_mc, eta)

        ax.plot(ap_fine, closed, "-", color=c, lw=1.5)
        ax.plot(ap_q, quad, "x", color=c, ms=6, mew=1.3)
        ax.errorbar(ap_mc, tot, yerr=tot_e, fmt="o", color=c, ms=4, capsize=0)
        ax.errorbar(ap_mc, mult, yerr=mult_e, fmt="s", color=c, mfc="none", ms=4.5, capsize=0)

        x = 1.0 - ap_mc
        r_all, r_mult = closed_mc / tot, closed_mc / mult
        axr.errorbar(x, r_all, yerr=r_all * tot_e / tot, fmt="o-", color=c, ms=4, lw=1.0, capsize=0)
        axr.errorbar(x, r_mult, yerr=r_mult * mult_e / mult, fmt="s--", color=c, mfc="none", ms=4.5, lw=1.0,
                     capsize=0)
        hi = ap_mc >= AP_AGREE
        dev_all[eta] = float(np.max(np.abs(r_all - 1)))
        dev_mult[eta] = float(np.max(np.abs(r_mult - 1)))
        dev_all_hi[eta] = (float(np.max(np.abs(r_all[hi] - 1))),
                           float(ap_mc[hi][np.argmax(np.abs(r_all[hi] - 1))]),
                           float(np.max(tot_e[hi] / tot[hi])))
        dev_mult_hi[eta] = (float(np.max(np.abs(r_mult[hi] - 1))),
                            float(ap_mc[hi][np.argmax(np.abs(r_mult[hi] - 1))]),
                            float(np.max(mult_e[hi] / mult[hi])))
        tag = f"eta_{eta:g}"
        for key, value, unit in (("closed_form", closed, "1"), ("integrated_dipole", quad, "1"),
                                 ("mc_R_diffuse", tot, "1"), ("mc_R_diffuse_stderr", tot_e, "1"),
                                 ("mc_multiple", mult, "1"), ("mc_multiple_stderr", mult_e, "1")):
            data[f"{tag}/{key}"] = value
            units[f"{tag}/{key}"] = unit

    ax.set_xlabel("reduced albedo α' = σ's / σ't")
    ax.set_ylabel("total diffuse reflectance R_d (fraction of incident power)")
    ax.set_xlim(0.08, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, alpha=0.3)
    from matplotlib.lines import Line2D

    eta_handles = [Line2D([], [], color=COLOURS[e], lw=3, label=f"η = {e:g}") for e in ETAS]
    style = [Line2D([], [], color="0.2", ls="-", label="dipole, closed form"),
             Line2D([], [], color="0.2", ls="none", marker="x", mew=1.3, label="∫2πr R_d(r) dr, quadrature"),
             Line2D([], [], color="0.2", ls="none", marker="o", ms=4, label="Monte Carlo, all orders"),
             Line2D([], [], color="0.2", ls="none", marker="s", mfc="none", ms=4.5,
                    label="Monte Carlo, multiple scattering")]
    ax.add_artist(ax.legend(handles=eta_handles, fontsize=8.5, loc="upper left", title="index"))
    ax.legend(handles=style, fontsize=8.5, loc="upper left", bbox_to_anchor=(0.2, 1.0))
    ax.set_title("R_d(α'): lines closed form, × quadrature of the profile, points Monte Carlo", fontsize=10)
    axr.set_xscale("log")
    axr.invert_xaxis()
    axr.axhline(1.0, color="0.3", lw=0.8)
    axr.axvspan(1e-4, 1.0 - AP_AGREE, color="0.85", alpha=0.5, lw=0)
    axr.set_xlim(1.0, 5e-4)
    axr.set_xlabel("1 − α' (log scale; α' → 1 to the right)")
    axr.set_ylabel("dipole closed form / Monte Carlo")
    axr.set_yscale("log")
    axr.grid(True, which="both", alpha=0.3)
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    axr.yaxis.set_major_locator(FixedLocator([0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 30]))
    axr.yaxis.set_major_formatter(ScalarFormatter())
    axr.yaxis.set_minor_formatter(NullFormatter())
    ratio_style = [Line2D([], [], color="0.2", ls="-", marker="o", ms=4, label="dipole / MC all orders"),
                   Line2D([], [], color="0.2", ls="--", marker="s", mfc="none", ms=4.5,
                          label="dipole / MC multiple scattering"),
                   Patch(color="0.85", alpha=0.5, label=f"α' ≥ {AP_AGREE:g} (deviation reported)")]
    axr.add_artist(axr.legend(handles=eta_handles, fontsize=8.5, loc="upper right", title="index"))
    axr.legend(handles=ratio_style, fontsize=8.5, loc="upper right", bbox_to_anchor=(0.8, 1.0))
    axr.set_title("ratios, ±1 standard error of Monte Carlo", fontsize=10)
    fig.suptitle("Jensen et al. 2001: total diffuse reflectance vs reduced albedo (semi-infinite, "
                 f"g = {G:g}; {n:,} photons per Monte Carlo point, seeds {seeds[0]}–{seeds[-1]})",
                 fontsize=11)

    def each(d, fmt) -> str:
        return "; ".join(f"η {eta:g}: " + fmt(d[eta]) for eta in ETAS)

    hi_fmt = lambda t: f"{100 * t[0]:.3g}% at α' = {t[1]:g} (MC error ≤ {100 * t[2]:.2g}%)"  # noqa: E731
    max_dev = (f"α' ≥ {AP_AGREE:g}, dipole closed form vs Monte Carlo all orders: "
               + each(dev_all_hi, lambda t: f"{100 * t[0]:.3g}%")
               + "; vs MC multiple scattering: " + each(dev_mult_hi, lambda t: f"{100 * t[0]:.3g}%"))
    lines = [
        "Total diffuse reflectance of a semi-infinite medium under air against its reduced albedo α', "
        "for η = " + ", ".join(f"{e:g}" for e in ETAS) + ": the dipole's closed form R_d(α') = (α'/2)(1 + "
        "e^(−(4/3)A sqrt(3(1−α'))))e^(−sqrt(3(1−α'))) with A from the polynomial F_dr (lines); the dipole "
        f"profile R_d(r) integrated numerically, ∫2πr R_d(r) dr (adaptive quadrature to r = ∞, × at "
        f"{len(ap_q)} albedos: an independent check of the closed form; largest relative difference "
        f"{quad_dev:.1g}); Monte Carlo "
        f"(bssrdf.mc, normally incident pencil beam, smooth Fresnel boundary) at {len(ap_mc)} albedos α' = "
        + ", ".join(f"{a:g}" for a in ap_mc) + f", σ't = {SIGMA_T_PRIME:g} mm⁻¹ (σa = 1 − α', "
        f"σ's = α' mm⁻¹), g = {G:g}: R_diffuse (all scattering orders, filled) and R_diffuse − R_single "
        "(multiple scattering, open; error the quadrature sum of the two tallies'), ±1 standard error "
        "(64 batches; mostly smaller than the markers). Right: the closed form divided by each Monte Carlo "
        "total.",
        f"Monte Carlo: {len(seeds)} runs of {n:,} photons each, seeds {seeds[0]}–{seeds[-1]} (in the order "
        f"η {', '.join(f'{e:g}' for e in ETAS)}, then α' ascending), {wall:.1f} s of tracing in all.",
        f"Largest relative deviation for α' ≥ {AP_AGREE:g} (translucent materials, where diffusion is "
        "expected to hold), dipole vs Monte Carlo all orders: " + each(dev_all_hi, hi_fmt)
        + "; vs Monte Carlo multiple scattering: " + each(dev_mult_hi, hi_fmt) + ".",
        "Over the whole range α' ≥ 0.1: vs all orders " + each(dev_all, lambda v: f"{100 * v:.3g}%")
        + "; vs multiple scattering " + each(dev_mult, lambda v: f"{100 * v:.3g}%") + ".",
        "Reading: the dipole's total tracks the Monte Carlo total of all orders (its source at depth ℓ "
        "stands for the first scattering too) far better than the multiple-scattering part it is meant to "
        "model; the gap grows as α' drops, and is largest for η = 1.5.",
    ]
    params = {"etas": list(ETAS), "mc_albedos": list(MC_ALBEDOS), "quadrature_albedos": list(QUAD_ALBEDOS),
              "sigma_t_prime_mm^-1": SIGMA_T_PRIME, "g": G, "photons_per_run": n, "seeds": seeds,
              "alpha_prime_agree": AP_AGREE, "backend": ctx.backend, "quadrature_max_rel_diff": quad_dev}
    return Output(figure=fig, data=data, units=units, caption="\n\n".join(lines), max_deviation=max_dev,
                  parameters=params)
