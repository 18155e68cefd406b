"""Print and plot the diffusion profiles of a measured material.

``python -m bssrdf.profiles MATERIAL [--thickness MM] [--out FILE.png]`` (also installed as
``bssrdf-profiles``). Without ``--thickness`` the medium is semi-infinite and the Jensen et
al. 2001 dipole is used; with it, the Donner & Jensen 2005 multipole of a slab. See
``--help`` for every option and its unit.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._cli import CliError, check_writable, error, quiet_broken_pipe, show_warnings
from .._io import atomic_write

PROG = "bssrdf.profiles"
CHANNELS = ("R", "G", "B")
PLOT_COLOURS = ("#d62728", "#2ca02c", "#1f77b4")  # red, green, blue
PLOT_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
PLOT_POINTS = 400
TABLE_RADII = 8
R_MAX_LENGTHS = 10.0  # default r_max: this many decay lengths of the slowest-decaying channel
R_MAX_CLIP = (1.0, 100.0)  # mm

# (attribute of Medium, label, unit)
PROPERTIES = (
    ("sigma_a", "sigma_a", "mm^-1"),
    ("sigma_s", "sigma_s", "mm^-1"),
    ("g", "g", "-"),
    ("eta", "eta", "-"),
    ("sigma_s_prime", "sigma_s'", "mm^-1"),
    ("sigma_t_prime", "sigma_t'", "mm^-1"),
    ("albedo_prime", "albedo'", "-"),
    ("sigma_tr", "sigma_tr", "mm^-1"),
    ("D", "D", "mm"),
    ("mfp", "mfp = 1/sigma_t'", "mm"),
)


# -- command line -----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Print the parameters, total diffuse reflectance (and transmittance) and radial\n"
            "profiles of a measured material, per RGB channel, and optionally plot them.\n"
            "\n"
            "Without --thickness the medium is semi-infinite and the dipole of Jensen et al.\n"
            "2001 is used (R(r) and total R_d). With --thickness the medium is a slab and the\n"
            "multipole of Donner & Jensen 2005 is used (R(r), T(r), total R and T).\n"
            "\n"
            "Units: lengths and radii in mm, coefficients in mm^-1, profiles R(r), T(r) in\n"
            "mm^-2 (exitance per unit incident power of a normally incident pencil beam);\n"
            "totals are fractions of the incident power. Multiple scattering only."
        ),
        epilog=(
            "examples:\n"
            "  python -m bssrdf.profiles marble\n"
            "  python -m bssrdf.profiles marble --thickness 1 --out marble.png\n"
            "  python -m bssrdf.profiles skin1 --n-outside 1.33 --r-max 20 --out skin1.pdf\n"
            "  python -m bssrdf.profiles --list\n"
            "\n"
            "Errors (unknown material, bad values, unwritable output) are reported on one\n"
            "line with exit status 2; no output file is left behind."
        ),
    )
    parser.add_argument(
        "material", metavar="MATERIAL", nargs="?",
        help="material name from bssrdf.materials.names() (see --list); case, spaces and "
             "hyphens are ignored, e.g. 'marble', 'Skin1', 'regular milk'",
    )
    parser.add_argument(
        "--thickness", metavar="MM", type=float, default=None,
        help="slab thickness d in mm (finite, > 0); selects the multipole slab model. "
             "Omit for a semi-infinite medium (dipole model)",
    )
    parser.add_argument(
        "--n-outside", metavar="N", type=float, default=1.0,
        help="refractive index of the surrounding medium (dimensionless, > 0; default 1.0, "
             "air). The relative index is eta = n_material / N. For a slab it is used both "
             "above (lit side) and below",
    )
    parser.add_argument(
        "--r-max", metavar="MM", type=float, default=None,
        help=f"largest radius of the table and plot, in mm (> 0). Default: "
             f"{R_MAX_LENGTHS:g} decay lengths of the slowest-decaying channel, clipped to "
             f"[{R_MAX_CLIP[0]:g}, {R_MAX_CLIP[1]:g}] mm; the decay length is 1/sigma_tr "
             "(mm) for a semi-infinite medium and 1/sqrt(sigma_tr^2 + (pi/L)^2) for a slab, "
             "L = d + extrapolation distances (the far-field decay of the slab's first mode)",
    )
    parser.add_argument(
        "--backend", choices=("auto", "cuda", "cpu", "numpy"), default="auto",
        help="where the profiles are computed: 'cuda' (CuPy GPU kernels), 'cpu' (C++ "
             "extension), 'numpy' (float64 reference), or 'auto' (default: the first "
             "available of cuda, cpu, numpy)",
    )
    parser.add_argument(
        "--out", metavar="FILE", default=None,
        help="also write a plot of R(r) (and T(r), dashed, for a slab) on a log scale, "
             "in mm^-2 against r in mm; the format follows the extension: "
             + ", ".join(PLOT_FORMATS) + ". Written atomically (no partial file on failure)",
    )
    parser.add_argument(
        "--list", action="store_true",
        help="print all material names, one per line, and exit",
    )
    return parser


def _finite_positive(name: str, value: float | None, unit: str, hint: str = "") -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise CliError(f"{name} must be finite and > 0{' ' + unit if unit else ''}; "
                       f"got {value!r}{hint}")


def _plot_format(out: str) -> str:
    path = Path(out)
    fmt = PLOT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CliError(f"cannot tell the plot format of {out!r}: its name must end in one of "
                       f"{', '.join(PLOT_FORMATS)}")
    check_writable(out, "plot")
    return fmt


# -- computation ------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    source: str
    medium: object
    thickness: float | None
    n_outside: float
    backend: str
    r_max: float
    r_max_default: bool
    totals: dict[str, np.ndarray] = field(default_factory=dict)
    table_r: np.ndarray | None = None
    table: dict[str, np.ndarray] = field(default_factory=dict)
    plot_r: np.ndarray | None = None
    plot: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def model(self) -> str:
        if self.thickness is None:
            return "dipole (Jensen et al. 2001), semi-infinite medium"
        return f"multipole (Donner & Jensen 2005), slab d = {self.thickness:g} mm"


def default_r_max(medium, thickness: float | None, n_outside: float) -> float:
    """Default largest radius [mm]: R_MAX_LENGTHS decay lengths, clipped to R_MAX_CLIP."""
    from ..fresnel import A

    sigma_tr = np.atleast_1d(medium.sigma_tr)
    if thickness is None:
        kappa = sigma_tr
    else:
        eta = np.atleast_1d(medium.eta / n_outside)
        L = thickness + 4.0 * A(eta) * np.atleast_1d(medium.D)  # z_b0 + z_bd, same index
        kappa = np.sqrt(sigma_tr**2 + (np.pi / L) ** 2)
    with np.errstate(divide="ignore"):
        lengths = R_MAX_LENGTHS / kappa
    return float(np.clip(np.max(lengths), *R_MAX_CLIP))


def table_radii(r_max: float) -> np.ndarray:
    """0 and r_max/64, r_max/32, ..., r_max (TABLE_RADII radii, mm)."""
    return np.concatenate([[0.0], r_max * 2.0 ** -np.arange(TABLE_RADII - 2, -1, -1.0)])


def compute(args) -> Result:
    from .. import backend as _backend
    from .. import materials
    from . import dipole, multipole

    try:
        entry = materials.entry(args.material)
    except KeyError as e:
        raise CliError(e.args[0] if e.args else str(e)) from None
    medium = entry.medium
    try:
        chosen = _backend.resolve(args.backend)
    except RuntimeError as e:
        raise CliError(str(e)) from None

    d, n_out = args.thickness, args.n_outside
    r_max = args.r_max if args.r_max is not None else default_r_max(medium, d, n_out)
    res = Result(entry.name, entry.source, medium, d, n_out, chosen, r_max,
                 args.r_max is None)
    res.table_r = table_radii(r_max)
    res.plot_r = np.linspace(0.0, r_max, PLOT_POINTS)
    be = args.backend
    if d is None:
        res.totals["R_d"] = dipole.total_R_d(medium, n_out)
        for key, r in (("table", res.table_r), ("plot", res.plot_r)):
            getattr(res, key)["R"] = dipole.R_d(r, medium, n_out, backend=be)
    else:
        res.totals["R"] = multipole.total_R(medium, d, n_out, n_out)
        res.totals["T"] = multipole.total_T(medium, d, n_out, n_out)
        for key, r in (("table", res.table_r), ("plot", res.plot_r)):
            getattr(res, key)["R"] = multipole.R(r, medium, d, n_out, n_out, backend=be)
            getattr(res, key)["T"] = multipole.T(r, medium, d, n_out, n_out, backend=be)
    return res


# -- report -----------------------------------------------------------------------------------
def _row(label: str, unit: str, values, fmt: str = "{:>13.6g}") -> str:
    cells = "".join(fmt.format(float(v)) for v in np.atleast_1d(values))
    return f"  {label:<18} {unit:<7}{cells}"


def report(res: Result) -> str:
    m = res.medium
    n_ch = m.n_channels
    names = CHANNELS if n_ch == 3 else tuple(f"ch{i}" for i in range(n_ch))
    head = f"  {'':<18} {'':<7}" + "".join(f"{c:>13}" for c in names)
    lines = [
        f"material   {res.name}  ({res.source})",
        f"model      {res.model}",
        f"n_outside  {res.n_outside:g} (relative index eta/n_outside = "
        + ", ".join(f"{e:.6g}" for e in np.atleast_1d(m.eta / res.n_outside)) + ")",
        f"backend    {res.backend}",
        "",
        "medium parameters and derived quantities",
        head,
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        lines += [_row(label, unit, getattr(m, attr)) for attr, label, unit in PROPERTIES]
    lines += ["", "total diffuse " + ("reflectance" if res.thickness is None
                                      else "reflectance and transmittance")
              + " (fraction of incident power)", head]
    total_labels = {"R_d": "total R_d", "R": "total R", "T": "total T"}
    lines += [_row(total_labels[k], "-", v) for k, v in res.totals.items()]

    note = "default: " if res.r_max_default else ""
    lines += ["", f"radial profiles in mm^-2 (r_max = {res.r_max:.4g} mm, {note}"
              + (f"{R_MAX_LENGTHS:g} decay lengths" if res.r_max_default else "--r-max") + ")"]
    what = {"R": "R(r), diffuse reflectance", "T": "T(r), diffuse transmittance"}
    for key, values in res.table.items():
        lines += [f"  {what[key]}",
                  f"  {'r [mm]':>10}" + "".join(f"{c:>13}" for c in names)]
        for r, row in zip(res.table_r, np.asarray(values).reshape(len(res.table_r), -1),
                          strict=True):
            lines.append(f"  {r:>10.4g}" + "".join(f"{float(v):>13.4e}" for v in row))
    return "\n".join(lines)


# -- plot -------------------------------------------------------------------------------------
def _positive(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def plot(res: Result, out: str, fmt: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.8), layout="constrained")
    ax = fig.add_subplot()
    n_ch = res.medium.n_channels
    names = ("red", "green", "blue") if n_ch == 3 else tuple(f"channel {i}" for i in range(n_ch))
    colours = PLOT_COLOURS if n_ch == 3 else (None,) * n_ch
    peak, floor = 0.0, np.inf
    for key, style in (("R", "-"), ("T", "--")):
        if key not in res.plot:
            continue
        values = np.asarray(res.plot[key]).reshape(len(res.plot_r), -1)
        for i in range(n_ch):
            y = _positive(values[:, i])
            if np.any(np.isfinite(y)):
                peak, floor = max(peak, np.nanmax(y)), min(floor, np.nanmin(y))
            ax.plot(res.plot_r, y, style, color=colours[i], lw=1.6,
                    label=f"{key}(r), {names[i]}")
    if peak > 0:
        ax.set_yscale("log")
        # keep the plot readable: at most 15 decades below the peak
        ax.set_ylim(max(floor, peak * 1e-15) / 2.0, peak * 2.0)
    ax.set_xlim(0.0, res.r_max)
    ax.set_xlabel("radius r [mm]")
    ax.set_ylabel("radial exitance [mm$^{-2}$]")
    ax.set_title(f"{res.name}: {res.model}\n"
                 f"n_outside = {res.n_outside:g}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(ncol=2 if len(res.plot) > 1 else 1, fontsize=9)

    try:
        with atomic_write(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150)
    except OSError as e:
        raise CliError(f"cannot write plot to {out!r}: {e.strerror or e}") from None


# -- entry point ------------------------------------------------------------------------------
def _error(message: str) -> int:
    return error(PROG, message)


def _show_warnings(caught) -> None:
    show_warnings(PROG, caught)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a malformed option (2, message already printed)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)

    from .. import materials

    if args.list:
        print("\n".join(materials.names()))
        return 0
    if args.material is None:
        try:
            parser.error("the following arguments are required: MATERIAL (or use --list)")
        except SystemExit as e:
            return int(e.code)

    try:
        _finite_positive("--thickness", args.thickness, "mm",
                         " (omit --thickness for a semi-infinite medium)")
        _finite_positive("--n-outside", args.n_outside, "")
        _finite_positive("--r-max", args.r_max, "mm")
        fmt = _plot_format(args.out) if args.out is not None else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = compute(args)
            text = report(res)
            if args.out is not None:
                plot(res, args.out, fmt)
    except CliError as e:
        return _error(str(e))
    except ValueError as e:
        return _error(str(e))

    _show_warnings(caught)
    try:
        print(text)
        if args.out is not None:
            print(f"\nwrote {args.out}")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        quiet_broken_pipe()
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
