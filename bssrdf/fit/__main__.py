"""Fit measured materials: ``python -m bssrdf.fit {profile,totals,appearance} ...``.

``profile``     σa, σ's per channel from a radial exitance profile (CSV or bssrdf HDF5), by weighted least
                squares in log space with the dipole, multipole or Monte Carlo (``--model mc``) profile.
``totals``      σa, σ's from total reflectance and transmittance of a slab (inverse adding-doubling).
``appearance``  σa, σ's from a diffuse albedo and a mean free path, with the definition named.

Each prints the estimates with standard errors, correlations and goodness of fit; ``--out RESULT.json``
writes them (units, model, estimates, standard errors, correlation matrix, reduced χ², the Medium) and
``--medium-out MEDIUM.json`` the Medium alone (a medium file ``python -m bssrdf.export`` reads); ``profile
--plot FIT.png`` plots the fit and its residuals. Units: mm and mm⁻¹.

Exit status: 0 on success; 2 on bad input or a fit that cannot be done (one line ``bssrdf.fit: error: ...``
on stderr, no file written); 130 after Ctrl-C (nothing written).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from .._cli import CliError, Parser, check_writable, error, parse, quiet_broken_pipe, show_warnings
from .._io import temporary_beside

PROG = "bssrdf.fit"
STATUS_BAD_INPUT, STATUS_INTERRUPTED = 2, 130

EPILOG_PROFILE = """\
input (FILE):
  CSV: '#' comments, then a header with a radius column r_mm (or r_cm, r_um, r_m) and one column per
  channel; optional uncertainty columns <channel>_err (standard errors, same unit as the values). A comment
  '# units: mm^-2' (default; or cm^-2, m^-2, um^-2) gives the unit of the values; '# units: arbitrary' marks a
  relative measurement (then --unknown-scale is needed). Example:
      # units: mm^-2
      r_mm,R,R_err,G,G_err,B,B_err
      0.05,1.23,0.02,0.98,0.02,0.51,0.01
      ...
  HDF5: one or more bssrdf Monte Carlo results (python -m bssrdf.mc --out), one channel each, fitted as
  annulus averages; or a profile table of python -m bssrdf.export --format table.

models:
  dipole     Jensen et al. 2001: dipole R_d + exact single scattering R_1 (g = 0), semi-infinite
  multipole  Donner & Jensen 2005 slab R(r) (+ R_1), needs --thickness
  mc         Monte Carlo profiles tabulated over the reduced albedo (data/fit/mc_profile_table.h5),
             semi-infinite, g = 0, eta 1.0-1.5: right near the source, where diffusion is not
  --no-single fits the diffusion profile alone (multiple scattering only; dipole, multipole).

estimator: weighted least squares in log space; standard errors from the covariance at the optimum, scaled
up by sqrt(reduced chi^2) where it exceeds 1; without uncertainties in the data, from the scatter of the
residuals. A channel with |corr(sigma_a, sigma_s')| > 0.99 or a relative error > 30% is reported as POORLY
CONSTRAINED.

examples:
  python -m bssrdf.fit profile marble.csv --eta 1.5 --model mc --out marble_fit.json --plot marble_fit.png
  python -m bssrdf.fit profile r.h5 g.h5 b.h5 --model mc --r-min 0.1
  python -m bssrdf.fit profile photo.csv --unknown-scale --model dipole
"""

EPILOG_TOTALS = """\
R and T are the total reflectance (including the specular reflection) and the total transmittance
(including the unscattered beam) of a normally incident collimated beam, as iad's M_R and M_T without
sphere corrections; --no-specular / --no-unscattered exclude those parts. The forward model is adding-
doubling (iadpython, 16 quadrature points).

input: --R and --T (one value each, or one per channel), or a CSV file with columns R, T, optional
R_err, T_err and a label column (e.g. wavelength_nm), one row per channel or wavelength.

examples:
  python -m bssrdf.fit totals --R 0.4 --T 0.1 --thickness 1 --eta 1.0
  python -m bssrdf.fit totals spectrum.csv --thickness 2 --eta 1.4 --out fit.json
"""

EPILOG_APPEARANCE = """\
definitions of the mean free path (--definition):
  sigma_t             mfp = 1/sigma_t (pbrt)
  sigma_tr            mfp = 1/sigma_tr = 1/sqrt(3 sigma_a sigma_t'), the diffuse mean free path (RenderMan
                      dmfp, appleseed, Cycles Random Walk (Skin) radius)
  burley              normalized-diffusion shaping distance d = l/s(A), s = 1.9 - A + 3.5 (A - 0.8)^2,
                      l = 1/sigma_t' (Christensen & Burley 2015, as Cycles)
  burley-searchlight  the same with s = 1.85 - A + 7 |A - 0.8|^3
  burley-dmfp         the same with s = 3.5 + 100 (A - 0.33)^4 and l = 1/sigma_tr (as appleseed)
albedo models (--albedo-model): the albedo is the total diffuse reflectance of the semi-infinite medium,
  mc      from the Monte Carlo table (all scattering orders, g = 0; default)
  dipole  the classical dipole total R_d(alpha', eta) (Jensen et al. 2001; RenderMan, appleseed, Cycles)

examples:
  python -m bssrdf.fit appearance --albedo 0.83 0.79 0.75 --mfp 8.51 5.57 3.95 --eta 1.5 --albedo-model dipole
  python -m bssrdf.fit appearance --albedo 0.8 --mfp 1.2 --definition burley --out skin.json
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                    description=__doc__.split("\n\n")[1] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", metavar="{profile,totals,appearance}", parser_class=Parser)
    sub.required = True

    def common(p):
        g = p.add_argument_group("output")
        g.add_argument("--out", metavar="RESULT.json", default=None,
                       help="write the result as JSON (units, model, estimates, standard errors, correlation "
                            "matrix, reduced chi^2, the Medium), atomically")
        g.add_argument("--medium-out", metavar="MEDIUM.json", default=None,
                       help="write the fitted Medium as a medium file (sigma in mm^-1) for python -m "
                            "bssrdf.export")
        g.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors and warnings")

    p = sub.add_parser("profile", help="fit a radial exitance profile", epilog=EPILOG_PROFILE,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Fit sigma_a and sigma_s' per channel to a measured radial exitance "
                                   "profile.")
    p.add_argument("files", metavar="FILE", nargs="+", help="CSV file, or bssrdf HDF5 file(s) (see below)")
    p.add_argument("--model", choices=("dipole", "multipole", "mc"), default="dipole",
                   help="forward model (default: dipole)")
    p.add_argument("--eta", type=float, default=None, metavar="N",
                   help="refractive index of the material, air above (default: the file's, else 1.3)")
    p.add_argument("--thickness", type=float, default=None, metavar="MM",
                   help="slab thickness in mm (multipole only)")
    p.add_argument("--n-below", type=float, default=1.0, metavar="N",
                   help="refractive index below the slab (multipole only; default 1.0)")
    p.add_argument("--r-min", type=float, default=None, metavar="MM", help="fit only radii >= this [mm]")
    p.add_argument("--r-max", type=float, default=None, metavar="MM", help="fit only radii <= this [mm]")
    p.add_argument("--unknown-scale", action="store_true",
                   help="the absolute scale of the measurement is unknown: fit one scale factor for all "
                        "channels too")
    p.add_argument("--per-channel-scale", action="store_true",
                   help="fit one scale factor per channel (each channel's calibration unknown)")
    p.add_argument("--max-rel-err", type=float, default=0.2, metavar="F",
                   help="leave out values whose standard error exceeds this fraction of the value (default "
                        "0.2; their log is biased); 'inf' keeps all")
    p.add_argument("--no-single", action="store_true",
                   help="dipole/multipole without the single-scattering term (diffusion alone)")
    p.add_argument("--plot", metavar="FIT.png", default=None,
                   help="plot the fit and its residuals (.png, .pdf or .svg)")
    common(p)

    p = sub.add_parser("totals", help="invert total reflectance and transmittance of a slab",
                       epilog=EPILOG_TOTALS, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="sigma_a and sigma_s' of a slab from its total reflectance and "
                                   "transmittance (inverse adding-doubling).")
    p.add_argument("file", metavar="CSV", nargs="?", default=None, help="CSV of R, T per channel/wavelength")
    p.add_argument("--R", type=float, nargs="+", default=None, metavar="R",
                   help="total reflectance (fraction)")
    p.add_argument("--T", type=float, nargs="+", default=None, metavar="T",
                   help="total transmittance (fraction)")
    p.add_argument("--R-err", type=float, nargs="+", default=None, metavar="E", help="standard error of R")
    p.add_argument("--T-err", type=float, nargs="+", default=None, metavar="E", help="standard error of T")
    p.add_argument("--thickness", type=float, required=True, metavar="MM", help="slab thickness [mm]")
    p.add_argument("--eta", type=float, default=1.4, metavar="N",
                   help="refractive index of the slab (default 1.4)")
    p.add_argument("--g", type=float, default=0.0, metavar="G", help="Henyey-Greenstein g (default 0)")
    p.add_argument("--n-above", type=float, default=1.0, metavar="N",
                   help="index above the slab (default 1.0)")
    p.add_argument("--n-below", type=float, default=1.0, metavar="N",
                   help="index below the slab (default 1.0)")
    p.add_argument("--no-specular", action="store_true",
                   help="R excludes the specular (unscattered) reflection")
    p.add_argument("--no-unscattered", action="store_true", help="T excludes the unscattered transmission")
    common(p)

    p = sub.add_parser("appearance", help="albedo and mean free path to sigma_a, sigma_s'",
                       epilog=EPILOG_APPEARANCE, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="sigma_a and sigma_s' per channel from a diffuse albedo and a mean free "
                                   "path.")
    p.add_argument("--albedo", type=float, nargs="+", required=True, metavar="A",
                   help="total diffuse reflectance per channel, in (0, 1)")
    p.add_argument("--mfp", type=float, nargs="+", required=True, metavar="MM",
                   help="mean free path per channel [mm] (meaning: --definition)")
    p.add_argument("--eta", type=float, default=1.3, metavar="N", help="refractive index (default 1.3)")
    from .appearance import ALBEDO_MODELS, DEFINITIONS

    p.add_argument("--definition", choices=tuple(DEFINITIONS), default="sigma_tr",
                   help="what the mean free path means (default sigma_tr; see below)")
    p.add_argument("--albedo-model", choices=tuple(ALBEDO_MODELS), default="mc",
                   help="what the albedo means (default mc; see below)")
    p.add_argument("--g", type=float, default=0.0, metavar="G", help="g of the Medium written (default 0)")
    p.add_argument("--albedo-err", type=float, nargs="+", default=None, metavar="E",
                   help="standard error of the albedo")
    p.add_argument("--mfp-err", type=float, nargs="+", default=None, metavar="MM",
                   help="standard error of the mfp [mm]")
    common(p)
    return parser


# -- outputs -------------------------------------------------------------------------------------------
def _check_outputs(args) -> list[tuple[str, str]]:
    """(path, what) of every output, checked writable and distinct before any work is done."""
    outs = []
    if args.out is not None:
        outs.append((args.out, "the result"))
    if args.medium_out is not None:
        outs.append((args.medium_out, "the medium"))
    if getattr(args, "plot", None) is not None:
        from .plot import plot_format

        try:
            plot_format(args.plot)
        except ValueError as e:
            raise CliError(str(e)) from None
        outs.append((args.plot, "the plot"))
    seen = {}
    for path, what in outs:
        p = check_writable(path, what).resolve()
        if p in seen:
            raise CliError(f"{seen[p]} and {what} would both be written to {path!r}")
        seen[p] = what
    for path, _ in outs:
        if any(Path(path).resolve() == Path(f).resolve() for f in args.files_or_inputs):
            raise CliError(f"output {path!r} would overwrite an input file")
    return outs


def _write_all(result, args) -> list[str]:
    """Write every output to a temporary beside it, then rename them all: all files or none."""
    temps: list[tuple[Path, str]] = []
    try:
        if args.out is not None:
            tmp = temporary_beside(args.out)
            temps.append((tmp, args.out))
            tmp.write_text(result.to_json(), encoding="utf-8")
        if args.medium_out is not None:
            from ..export import medium_to_dict

            tmp = temporary_beside(args.medium_out)
            temps.append((tmp, args.medium_out))
            source = result.inputs.get("source")
            name = f"fit of {Path(source).name}" if source else f"bssrdf.fit {result.kind}"
            tmp.write_text(json.dumps(medium_to_dict(result.medium, name), indent=2) + "\n", encoding="utf-8")
        if getattr(args, "plot", None) is not None:
            from .plot import figure, plot_format

            fig = figure(result)
            tmp = temporary_beside(args.plot)
            temps.append((tmp, args.plot))
            fig.savefig(tmp, format=plot_format(args.plot), dpi=150)
        for tmp, target in temps:
            os.replace(tmp, target)
        return [t for _, t in temps]
    except OSError as e:
        where = getattr(e, "filename", None) or "an output"
        raise CliError(f"cannot write {where!r}: {e.strerror or e}") from None
    finally:
        for tmp, _ in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass


# -- commands ------------------------------------------------------------------------------------------
def _run_profile(args):
    from .profile import fit_profile

    return fit_profile(args.files if len(args.files) > 1 else args.files[0], model=args.model, eta=args.eta,
                       thickness=args.thickness, n_below=args.n_below, r_min=args.r_min, r_max=args.r_max,
                       unknown_scale="per-channel" if args.per_channel_scale else args.unknown_scale,
                       single_scattering=not args.no_single,
                       max_relative_error=None if args.max_rel_err == float("inf") else args.max_rel_err)


def _run_totals(args):
    from .data import read_totals
    from .totals import fit_totals

    if args.file is not None:
        if args.R is not None or args.T is not None:
            raise CliError("give either a CSV file or --R and --T, not both")
        if args.R_err is not None or args.T_err is not None:
            raise CliError("with a CSV file, give the uncertainties as its R_err and T_err columns")
        data = read_totals(args.file)
        R, T, Re, Te, labels = data.R, data.T, data.R_err, data.T_err, data.labels
    else:
        if args.R is None or args.T is None:
            raise CliError("give --R and --T (or a CSV file)")
        if len(args.R) != len(args.T):
            raise CliError(f"--R has {len(args.R)} values but --T has {len(args.T)}")
        R, T, Re, Te, labels = args.R, args.T, args.R_err, args.T_err, None
        if len(R) == 3:
            labels = list("RGB")
    return fit_totals(R, T, args.thickness, eta=args.eta, g=args.g, n_above=args.n_above,
                      n_below=args.n_below,
                      R_err=Re, T_err=Te, specular_included=not args.no_specular,
                      unscattered_included=not args.no_unscattered, labels=labels,
                      progress=None if not args.quiet else False)


def _run_appearance(args):
    from .appearance import from_appearance

    n = len(args.albedo)
    if len(args.mfp) != n:
        raise CliError(f"--albedo has {n} values but --mfp has {len(args.mfp)}; give one per channel")
    for name, v in (("--albedo-err", args.albedo_err), ("--mfp-err", args.mfp_err)):
        if v is not None and len(v) not in (1, n):
            raise CliError(f"{name} needs 1 or {n} values; got {len(v)}")
    return from_appearance(args.albedo, args.mfp, eta=args.eta, definition=args.definition,
                           albedo_model=args.albedo_model, g=args.g, albedo_err=args.albedo_err,
                           mfp_err=args.mfp_err)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 2 bad input or failed fit, 130 interrupted)."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; nothing written", file=sys.stderr)
        return STATUS_INTERRUPTED


def _main(argv: list[str]) -> int:
    args = parse(build_parser(), argv, PROG)
    if isinstance(args, int):
        return args
    args.files_or_inputs = getattr(args, "files", None) or [f for f in [getattr(args, "file", None)] if f]
    run = {"profile": _run_profile, "totals": _run_totals, "appearance": _run_appearance}[args.command]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _check_outputs(args)
            result = run(args)
            written = _write_all(result, args)
        except (CliError, ValueError, TypeError, RuntimeError) as e:
            return error(PROG, e)
        except OSError as e:  # e.g. the Monte Carlo table is missing, an unreadable HDF5 file
            return error(PROG, e)
    show_warnings(PROG, caught)
    try:
        if not args.quiet:
            print(result.summary())
            print("\n".join(f"wrote {p}" for p in written))
            sys.stdout.flush()
    except BrokenPipeError:
        quiet_broken_pipe()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
