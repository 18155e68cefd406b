"""Jensen et al. 2001: the dipole against Monte Carlo, R(r) of a semi-infinite medium.

Three reduced albedos α' (``ALBEDOS``) of a medium with σ't = 1 mm⁻¹ (so r in mm is r in reduced mean
free paths ℓ = 1/σ't), g = 0, η = 1.3 under air. Each panel: the Monte Carlo profile (all scattering
orders, R_r) and its multiple-scattering part (R_r − R_r_single), both with ±1 standard error per bin;
the dipole R_d(r) (multiple scattering), and the exact single-scattering profile R_1(r). Below, the
ratios model / Monte Carlo, with the models averaged over each Monte Carlo bin.

Units: r in mm (= ℓ), profiles in mm⁻² per unit incident power.
"""

from __future__ import annotations

import numpy as np

from ..medium import Layer, Medium
from ..profiles import dipole, single
from ._core import Context, Output
from ._jensen2001 import annulus_average, errorbar_log, largest_deviation, mc_multiple, new_figure

ID = "j01"
PAPER = "jensen2001"
NAME = "dipole_vs_mc"
TITLE = "Dipole vs Monte Carlo: R(r) of a semi-infinite medium at three reduced albedos"
PHOTONS = 8_000_000

ALBEDOS = (0.99, 0.9, 0.5)   # reduced albedo α' = σ's/σ't
SIGMA_T_PRIME = 1.0          # σ't [mm⁻¹]: r in mm equals r in reduced mean free paths
G = 0.0                      # HG mean cosine (σs = σ's)
ETA = 1.3                    # relative index, air above
R_MAX = 10.0                 # [mm] = 10 ℓ
N_R = 200                    # Monte Carlo bins (0.05 mm = 0.05 ℓ wide)
R_AGREE = 3.0                # [mm]: the dipole is compared beyond 3 ℓ ("a few mean free paths")
MAX_REL_ERR = 0.05           # bins with a larger Monte Carlo relative error are not compared
COLOURS = {"mc": "#1f77b4", "mult": "#2ca02c", "dipole": "#d62728", "single": "#9467bd", "sum": "#ff7f0e"}


def medium(alpha_prime: float) -> Medium:
    """The medium of one panel: σa = (1 − α')σ't, σ's = α'σ't [mm⁻¹], g, η."""
    return Medium.from_reduced((1.0 - alpha_prime) * SIGMA_T_PRIME, alpha_prime * SIGMA_T_PRIME, g=G, eta=ETA)


def _panel(ctx: Context, axes, k: int, ap: float, n: int, r_fine: np.ndarray, data: dict,
           units: dict) -> dict:
    """Run one albedo, draw its two panels, store its arrays; returns what the caption needs."""
    m = medium(ap)
    res = ctx.simulate([Layer(m, float("inf"))], n, seed_offset=k, r_max=R_MAX, n_r=N_R)
    rc, edges = res.r_centers, res.r_edges
    mult, mult_err = mc_multiple(res)
    total, total_err = np.asarray(res.R_r), np.asarray(res.stderr("R_r"))
    single_mc, single_err = np.asarray(res.R_r_single), np.asarray(res.stderr("R_r_single"))
    dip_bins = annulus_average(lambda r: dipole.R_d(r, m, backend="numpy"), edges)
    s1_bins = annulus_average(lambda r: single.R_1(r, m, backend="numpy"), edges)
    dip = np.asarray(dipole.R_d(r_fine, m, backend=ctx.backend))
    s1 = np.asarray(single.R_1(r_fine, m, backend=ctx.backend))

    ax = axes[0, k]
    errorbar_log(ax, rc, total, total_err, color=COLOURS["mc"], ms=2.0, alpha=0.8,
                 label="Monte Carlo, all orders (R_r)")
    errorbar_log(ax, rc, mult, mult_err, color=COLOURS["mult"], ms=2.0, alpha=0.8,
                 label="Monte Carlo, multiple scattering (R_r − R_r,single)")
    ax.plot(r_fine, dip, "-", color=COLOURS["dipole"], lw=1.5, label="dipole R_d(r)")
    ax.plot(r_fine, s1, "--", color=COLOURS["single"], lw=1.3, label="single scattering R_1(r)")
    ax.plot(r_fine, dip + s1, ":", color=COLOURS["sum"], lw=1.5, label="dipole + R_1")
    ax.set_yscale("log")
    pos = total[total > 0]
    top = max(float(np.max(dip)), float(pos.max()) if pos.size else 0.0)
    bottom = float(pos.min()) if pos.size else top * 1e-6
    ax.set_ylim(max(bottom / 2, top * 1e-8), top * 3)
    ax.set_title(f"α' = {ap:g}: σa = {float(m.sigma_a):.3g}, σ's = {float(m.sigma_s_prime):.3g} "
                 f"mm$^{{-1}}$, η = {ETA:g}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    if k == 0:
        ax.set_ylabel("R(r) [mm$^{-2}$]")
        ax.legend(fontsize=7.5, loc="upper right")

    axr = axes[1, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        ok_m, ok_t = mult > 0, total > 0
        ratio_m = np.where(ok_m, dip_bins / mult, np.nan)
        ratio_t = np.where(ok_t, (dip_bins + s1_bins) / total, np.nan)
        band = np.where(ok_m, mult_err / mult, np.nan)
    axr.fill_between(rc, 1 - band, 1 + band, where=ok_m, color=COLOURS["mult"], alpha=0.15, lw=0,
                     label="±1 s.e. of Monte Carlo (multiple)")
    axr.plot(rc, ratio_m, "-", color=COLOURS["dipole"], lw=1.2, label="dipole / MC multiple")
    axr.plot(rc, ratio_t, "-", color=COLOURS["sum"], lw=1.2, label="(dipole + R_1) / MC all orders")
    axr.axhline(1.0, color="0.3", lw=0.8)
    axr.axvline(R_AGREE, color="0.5", ls=":", lw=1.0)
    axr.set_ylim(0.0, 2.5 if ap >= 0.9 else 5.0)
    axr.set_xlabel("r [mm] = r/ℓ  (σ't = 1 mm$^{-1}$)")
    axr.grid(True, which="major", alpha=0.3)
    if k == 0:
        axr.set_ylabel("model / Monte Carlo")
        axr.legend(fontsize=7.5, loc="upper right")

    beyond = rc >= R_AGREE
    dev = largest_deviation(dip_bins, mult, mult_err, rc, beyond, MAX_REL_ERR)
    axr.set_title(f"beyond {R_AGREE:g} ℓ, dipole vs MC multiple: largest "
                  + (f"{100 * dev.value:.2g}% (r = {dev.r:.3g} ℓ)" if dev.n_bins else "n/a (noise)"),
                  fontsize=8.5)
    inner = (rc < R_AGREE) & np.isfinite(band) & (band <= MAX_REL_ERR)
    near = (np.nan,) * 4
    if np.any(inner):
        q, rq = ratio_m[inner], rc[inner]
        near = (float(q.min()), float(rq[q.argmin()]), float(q.max()), float(rq[q.argmax()]))

    tag = f"alpha_{ap:g}"
    arrays = {"r_edges": edges, "mc_R_r": total, "mc_R_r_stderr": total_err, "mc_R_r_single": single_mc,
              "mc_R_r_single_stderr": single_err, "mc_multiple": mult, "mc_multiple_stderr": mult_err,
              "dipole_bin_average": dip_bins, "single_bin_average": s1_bins, "dipole": dip, "single": s1}
    for key, value in arrays.items():
        data[f"{tag}/{key}"] = value
        units[f"{tag}/{key}"] = "mm" if key == "r_edges" else "mm^-2"
    return {
        "alpha": ap, "seed": res.seed, "photons": res.n_photons, "time": res.wall_time, "dev": dev,
        "dev_total": largest_deviation(dip_bins + s1_bins, total, total_err, rc, beyond, MAX_REL_ERR),
        "dev_single": largest_deviation(s1_bins, single_mc, single_err, rc, rc > 0, MAX_REL_ERR),
        "near": near,
        "totals": (float(dipole.total_R_d(m)), res.R_diffuse, res.stderr("R_diffuse"),
                   res.R_diffuse - res.R_single,
                   float(np.hypot(res.stderr("R_diffuse"), res.stderr("R_single")))),
    }


def _caption(runs: list[dict]) -> list[str]:
    def each(fn) -> str:
        return "; ".join(f"α' {p['alpha']:g}: {fn(p)}" for p in runs)

    lo_hi = "{:.2f} at {:.2g} ℓ, {:.2f} at {:.2g} ℓ"
    return [
        "R(r) of a semi-infinite medium lit by a normally incident pencil beam, for reduced albedos α' = "
        + ", ".join(f"{a:g}" for a in ALBEDOS) + f": σ't = {SIGMA_T_PRIME:g} mm⁻¹ (σa = 1 − α', σ's = α' "
        "mm⁻¹; r in mm equals r in reduced mean free paths ℓ), "
        f"g = {G:g} (σs = σ's), η = {ETA:g} under air (n = 1). Curves: the dipole R_d(r) (multiple "
        "scattering), the exact single-scattering profile R_1(r) and their sum. Points: Monte Carlo "
        f"(bssrdf.mc, MCML conventions, smooth Fresnel boundary), {N_R} bins of {R_MAX / N_R:g} mm to "
        f"r = {R_MAX:g} mm, ±1 standard error (64 batches): all scattering orders (R_r) and multiple "
        "scattering (R_r − R_r_single; its error the quadrature sum of the two tallies', conservative). "
        "Bottom: model / Monte Carlo, the models averaged over each bin.",
        "Monte Carlo runs: "
        + each(lambda p: f"{p['photons']:,} photons, seed {p['seed']}, {p['time']:.1f} s") + ".",
        f"Largest relative deviation, dipole vs Monte Carlo multiple scattering, beyond r = {R_AGREE:g} ℓ "
        f"(where diffusion is expected to hold), over bins whose Monte Carlo relative error is ≤ "
        f"{100 * MAX_REL_ERR:g}% (out to the first bin that is not): "
        + each(lambda p: p["dev"].text("ℓ")) + ".",
        "Dipole + R_1 vs Monte Carlo all orders, same range: "
        + each(lambda p: p["dev_total"].text("ℓ")) + ".",
        "Check of the tally: R_1 vs the Monte Carlo single-scattering tally, largest deviation "
        + each(lambda p: p["dev_single"].text("ℓ")) + " (an exact model: the deviations are statistical).",
        "Totals (fractions of the incident power): "
        + each(lambda p: "dipole {:.4f}, Monte Carlo all orders {:.4f} ± {:.1g}, multiple scattering "
               "{:.4f} ± {:.1g}".format(*p["totals"])) + ".",
        f"Near the source (r < {R_AGREE:g} ℓ), dipole / Monte Carlo multiple scattering, lowest and highest "
        f"(bins with MC error ≤ {100 * MAX_REL_ERR:g}%): "
        + each(lambda p: lo_hi.format(*p["near"]) if np.isfinite(p["near"][0]) else "n/a (noise)")
        + ". The dipole is a far-field model: it fails within a few ℓ of the source and, away from α' → 1, "
        "also in the tail, whose decay e^(−σtr r) differs from transport's.",
    ]


def make(ctx: Context) -> Output:
    n = ctx.n_photons()
    fig = new_figure(figsize=(13.5, 7.6))
    axes = fig.subplots(2, len(ALBEDOS), sharex=True, gridspec_kw={"height_ratios": [2.3, 1.0]})
    r_fine = np.linspace(0.01, R_MAX, 600)
    data = {"r_fine": r_fine}
    units = {"r_fine": "mm (= reduced mean free paths, sigma_t' = 1 mm^-1)"}
    runs = [_panel(ctx, axes, k, ap, n, r_fine, data, units) for k, ap in enumerate(ALBEDOS)]
    fig.suptitle(f"Jensen et al. 2001: dipole vs Monte Carlo (semi-infinite, σ't = {SIGMA_T_PRIME:g} "
                 f"mm$^{{-1}}$, g = {G:g}, η = {ETA:g}; {n:,} photons per albedo, seeds "
                 f"{runs[0]['seed']}–{runs[-1]['seed']})", fontsize=11)
    max_dev = (f"dipole vs Monte Carlo multiple scattering at r ≥ {R_AGREE:g} ℓ (bins with MC error ≤ "
               f"{100 * MAX_REL_ERR:g}%): " + "; ".join(
                   f"α' {p['alpha']:g}: " + (f"{100 * p['dev'].value:.3g}%" if p["dev"].n_bins else "n/a")
                   for p in runs))
    params = {"albedos": list(ALBEDOS), "sigma_t_prime_mm^-1": SIGMA_T_PRIME, "g": G, "eta": ETA,
              "r_max_mm": R_MAX, "n_r": N_R, "photons_per_run": n, "seeds": [p["seed"] for p in runs],
              "totals_dipole_mc_all_mc_multiple": [[p["totals"][i] for i in (0, 1, 3)] for p in runs],
              "r_agree_mm": R_AGREE, "max_rel_err": MAX_REL_ERR, "backend": ctx.backend}
    return Output(figure=fig, data=data, units=units, caption="\n\n".join(_caption(runs)),
                  max_deviation=max_dev, parameters=params)
