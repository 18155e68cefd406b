"""The layered diffusion model against the Monte Carlo tracer: cases, comparison, report.

``python -m bssrdf.profiles.layered_check [--photons N] [--out paper_figures/layered_validation.md]``
traces each case of :data:`CASES` with :func:`bssrdf.mc.simulate` and writes a Markdown table of the
relative errors of :mod:`bssrdf.profiles.layered` against it (and a CSV of the profiles beside it).
``tests/test_layered_mc.py`` runs the same comparison with fewer photons and asserts bounds.

What is compared, per case (diffusion model × entry transmittance, against Monte Carlo):

- totals: the model's total reflectance R̂(0) against MC's diffuse reflectance (all orders of
  scattering: the diffusion source stands in for all of them, tests/test_mc_physics.py), and T̂(0)
  against MC's transmittance less its unscattered part;
- profiles: the model's R(r) averaged over each annulus against MC's multiply scattered R_r − R_r_single,
  T(r) against T_r, over ``r_fit`` (mm), the radii where diffusion is expected to hold: beyond a few
  reduced mean free paths of the beam, and where the tally's relative error is small. The pooled ratio
  is ∑MC·area / ∑model·area over those bins; the worst bin is the largest |MC/model − 1|.

Units: mm, mm⁻¹; profiles in mm⁻² per unit incident power.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..medium import Layer, Medium
from . import layered

INF = float("inf")


@dataclass(frozen=True)
class Case:
    """A stack, its surroundings, what is expected of diffusion, and the radii compared [mm]."""

    name: str
    layers: tuple[Layer, ...]
    n_above: float = 1.0
    n_below: float = 1.0
    roughness_below: float = 0.0
    r_max: float = 10.0
    n_r: int = 20
    r_fit: tuple[float, float] = (2.0, 8.0)
    diffusive: bool = True         # False: a case where diffusion is expected to fail
    note: str = ""


def _m(sigma_a, sigma_s, g=0.0, eta=1.4) -> Medium:
    return Medium(sigma_a, sigma_s, g, eta)


CASES: dict[str, Case] = {c.name: c for c in [
    Case("two, mismatched",
         (Layer(_m(0.05, 2.0, 0.0, 1.4), 1.5), Layer(_m(0.02, 1.0, 0.0, 1.33), INF)),
         note="n 1.4 over 1.33, in air"),
    Case("two, on glass",
         (Layer(_m(0.02, 3.0, 0.0, 1.3), 2.0), Layer(_m(0.1, 1.5, 0.0, 1.5), 3.0)), n_below=1.5,
         note="finite stack over glass"),
    Case("three, forward scattering",
         (Layer(_m(0.1, 8.0, 0.5, 1.45), 0.8), Layer(_m(0.02, 2.0, 0.0, 1.35), 2.0),
          Layer(_m(0.05, 1.0, 0.0, 1.5), 3.0)), n_below=1.2,
         note="g 0.5 on top; indices 1.45/1.35/1.5, 1.2 below"),
    Case("two, rough top",
         (Layer(_m(0.05, 2.0, 0.0, 1.4), 1.5, roughness=0.3), Layer(_m(0.02, 1.0, 0.0, 1.33), INF)),
         note="case 1 with a GGX α 0.3 top"),
    Case("three, rough inside",
         (Layer(_m(0.1, 8.0, 0.5, 1.45), 0.8), Layer(_m(0.02, 2.0, 0.0, 1.35), 2.0, roughness=0.5),
          Layer(_m(0.05, 1.0, 0.0, 1.5), 3.0)), n_below=1.2, roughness_below=0.2,
         note="case 3 with α 0.5 between layers 1 and 2 and α 0.2 at the bottom"),
    Case("thin top (d = ℓ/2)",
         (Layer(_m(0.05, 2.0, 0.0, 1.4), 0.2), Layer(_m(0.02, 1.0, 0.0, 1.33), INF)),
         diffusive=False, note="top 0.2 mm = 0.4 ℓ: the source is clamped mid-layer"),
    Case("absorbing top (α' = 0.5)",
         (Layer(_m(1.0, 1.0, 0.0, 1.4), 1.5), Layer(_m(0.02, 1.0, 0.0, 1.33), INF)),
         diffusive=False, note="σa = σ's in the top layer"),
]}


@dataclass
class Comparison:
    case: Case
    R_mc: float
    R_mc_err: float
    R_model: float
    T_mc: float
    T_mc_err: float
    T_model: float
    R_ratio: float              # pooled MC/model over r_fit
    R_ratio_err: float
    R_worst: float              # largest |MC/model − 1| over r_fit bins
    T_ratio: float = math.nan
    T_ratio_err: float = math.nan
    T_worst: float = math.nan
    photons: int = 0
    seconds: float = 0.0
    profiles: dict = field(default_factory=dict)

    @property
    def R_total_error(self) -> float:
        return self.R_model / self.R_mc - 1.0

    @property
    def T_total_error(self) -> float:
        return self.T_model / self.T_mc - 1.0 if self.T_mc > 0 else math.nan


def _annulus_means(f, edges, per_bin: int = 64):
    """Mean of f(r) over each annulus [edges[i], edges[i+1]] (area-weighted, Gauss–Legendre)."""
    x, w = np.polynomial.legendre.leggauss(per_bin)
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        r = 0.5 * (b - a) * (x + 1) + a
        out.append(np.sum(w * f(r) * r) * 0.5 * (b - a) * 2 / (b * b - a * a))
    return np.asarray(out)


def _pooled(mc, err, model, edges, sel):
    area = np.pi * (edges[1:] ** 2 - edges[:-1] ** 2)
    ratio = np.sum(mc[sel] * area[sel]) / np.sum(model[sel] * area[sel])
    ratio_err = math.sqrt(np.sum((err[sel] * area[sel]) ** 2)) / np.sum(model[sel] * area[sel])
    worst = float(np.max(np.abs(mc[sel] / model[sel] - 1.0)))
    return float(ratio), ratio_err, worst


def compare(case: Case, n_photons: int, seed: int = 1, backend: str = "auto") -> Comparison:
    """Trace ``case`` with ``n_photons`` and compare it with the layered model (module notes)."""
    from .. import mc

    t0 = time.perf_counter()
    kw = dict(n_above=case.n_above, n_below=case.n_below)
    if case.roughness_below:
        kw["roughness_below"] = case.roughness_below
    res = mc.simulate(list(case.layers), n_photons, r_max=case.r_max, n_r=case.n_r, seed=seed,
                      backend=backend, progress=False, **kw)
    seconds = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau = float(layered.entry_transmittance(case.layers, case.n_above))
        args = (case.layers, case.n_above, case.n_below, case.roughness_below)
        R_model = tau * float(layered.total_R(*args))
        T_model = tau * float(layered.total_T(*args))
        edges = res.r_edges
        model_R = tau * _annulus_means(lambda r: np.ravel(layered.R(r, *args, backend="numpy")), edges)
        model_T = tau * _annulus_means(lambda r: np.ravel(layered.T(r, *args, backend="numpy")), edges)
    centers = 0.5 * (edges[1:] + edges[:-1])
    sel = (centers >= case.r_fit[0]) & (centers <= case.r_fit[1])
    mR = res.R_r - res.R_r_single
    out = Comparison(case, R_mc=float(res.R_diffuse), R_mc_err=float(res.stderr("R_diffuse")),
                     R_model=R_model, T_mc=float(res.T_total - res.T_unscattered),
                     T_mc_err=float(res.stderr("T_total")), T_model=T_model, R_ratio=math.nan,
                     R_ratio_err=math.nan, R_worst=math.nan,
                     photons=res.n_photons, seconds=seconds)
    out.R_ratio, out.R_ratio_err, out.R_worst = _pooled(mR, res.stderr("R_r"), model_R, edges, sel)
    if T_model > 0:
        out.T_ratio, out.T_ratio_err, out.T_worst = _pooled(res.T_r, res.stderr("T_r"), model_T, edges, sel)
    out.profiles = {"r_center_mm": centers, "R_mc_multiple": mR, "R_mc_err": res.stderr("R_r"),
                    "R_model": model_R, "T_mc": res.T_r, "T_mc_err": res.stderr("T_r"), "T_model": model_T}
    return out


def table(rows: list[Comparison]) -> str:
    """Markdown table of the relative errors (model/MC − 1 for totals; MC/model for profiles)."""
    lines = ["| case | diffusion expected | R total MC | model/MC − 1 | T total MC | model/MC − 1 | "
             "R(r) MC/model (pooled) | worst bin | T(r) MC/model (pooled) | worst bin | r compared (mm) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in rows:
        t_tot = f"{c.T_mc:.4f} ± {c.T_mc_err:.4f}" if c.T_mc > 0 else "0"
        t_err = f"{c.T_total_error:+.1%}" if c.T_mc > 0 else "—"
        t_prof = f"{c.T_ratio:.3f} ± {c.T_ratio_err:.3f}" if math.isfinite(c.T_ratio) else "—"
        t_worst = f"{c.T_worst:.0%}" if math.isfinite(c.T_worst) else "—"
        lines.append(
            f"| {c.case.name} | {'yes' if c.case.diffusive else 'no'} | {c.R_mc:.4f} ± {c.R_mc_err:.4f} | "
            f"{c.R_total_error:+.1%} | {t_tot} | {t_err} | {c.R_ratio:.3f} ± {c.R_ratio_err:.3f} | "
            f"{c.R_worst:.0%} | {t_prof} | {t_worst} | {c.case.r_fit[0]:g}–{c.case.r_fit[1]:g} |")
    return "\n".join(lines)


def _describe(c: Case) -> str:
    parts = []
    for i, L in enumerate(c.layers):
        m = L.medium
        parts.append(f"{i + 1}: σa {float(m.sigma_a):g}, σs {float(m.sigma_s):g} mm⁻¹, g {float(m.g):g}, "
                     f"n {float(m.eta):g}, d {L.thickness:g} mm" + (f", top α {L.roughness:g}" if L.roughness
                                                                      else ""))
    tail = f"; n above {c.n_above:g}, below {c.n_below:g}"
    if c.roughness_below:
        tail += f", bottom α {c.roughness_below:g}"
    return "; ".join(parts) + tail + (f" — {c.note}" if c.note else "")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bssrdf.profiles.layered_check",
                                description="The layered diffusion model against the Monte Carlo tracer.")
    p.add_argument("--photons", type=float, default=2e6, help="photons per case (default %(default)g)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backend", default="auto", help="Monte Carlo backend: auto, cpu or cuda")
    p.add_argument("--cases", default=";".join(CASES), help="case names separated by ';' (default: all)")
    p.add_argument("--out", default="paper_figures/layered_validation.md", help="Markdown report (and .csv)")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.cases.split(";") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown or args.photons < 1:
        print(f"layered_check: error: unknown cases {unknown} or photons < 1", file=sys.stderr)
        return 2
    from pathlib import Path

    from .._cli import CliError, check_writable
    from .._io import atomic_write

    try:   # before any work is done: the default folder is made, anything else must exist
        if args.out == p.get_default("out"):
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        check_writable(args.out, "the report")
        check_writable(args.out.rsplit(".", 1)[0] + ".csv", "the profiles")
    except (CliError, OSError) as e:
        print(f"layered_check: error: {e}", file=sys.stderr)
        return 2
    rows = []
    for n in names:
        c = compare(CASES[n], int(args.photons), args.seed, args.backend)
        print(f"{n}: {c.photons} photons, {c.seconds:.1f} s; R total {c.R_total_error:+.2%}, "
              f"R(r) {c.R_ratio:.3f} ± {c.R_ratio_err:.3f}", flush=True)
        rows.append(c)
    import datetime

    from .. import __version__

    text = ["# Layered diffusion (Donner & Jensen 2005) against Monte Carlo", "",
            f"bssrdf {__version__}, {datetime.date.today()}: `python -m bssrdf.profiles.layered_check "
            f"--photons {args.photons:g} --seed {args.seed}` (backend {args.backend}).", "",
            "Model: `bssrdf.profiles.layered` × entry transmittance. Monte Carlo: `bssrdf.mc.simulate` "
            "(MCML conventions, rough interfaces by GGX visible-normal sampling). Totals: model R̂(0) "
            "against MC's diffuse reflectance (all orders), T̂(0) against MC's scattered transmittance. "
            "Profiles: MC's multiply scattered R(r) (T(r)) over the model's annulus means, pooled over "
            "the radii in the last column (± one standard error of MC), and the worst single bin. "
            "Errors are ± 1 standard error of the Monte Carlo estimate.", "",
            table(rows), "", "Cases:", ""]
    text += [f"- **{c.case.name}**: {_describe(c.case)}" for c in rows]
    with atomic_write(args.out) as tmp:
        tmp.write_text("\n".join(text) + "\n")
    csv = args.out.rsplit(".", 1)[0] + ".csv"
    with atomic_write(csv) as tmp:
        with open(tmp, "w") as f:
            f.write("# layered model vs Monte Carlo profiles; r in mm, profiles in mm^-2 per unit incident "
                    "power\ncase,r_center_mm,R_mc_multiple,R_mc_err,R_model,T_mc,T_mc_err,T_model\n")
            for c in rows:
                P = c.profiles
                for i in range(len(P["r_center_mm"])):
                    f.write(f"{c.case.name}," + ",".join(f"{P[k][i]:.6e}" for k in (
                        "r_center_mm", "R_mc_multiple", "R_mc_err", "R_model", "T_mc", "T_mc_err",
                        "T_model")) + "\n")
    print(f"wrote {args.out} and {csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
