"""Run the Monte Carlo tracer from the command line: ``python -m bssrdf.mc [RUN.toml] [options]``.

A run is described by a TOML file, by options, or by both (options override the file). It writes
the result to HDF5 (:meth:`bssrdf.mc.MCResult.save`: every tally with its standard error and
units, all inputs, seed, version and backend, plus the command line and the merged configuration
as TOML), prints :meth:`~bssrdf.mc.MCResult.summary` and optionally plots R_r, T_r and A_z.

Units: coefficients in mm⁻¹, lengths in mm, angles in degrees; R_r, T_r in mm⁻², A_z in mm⁻¹.

Examples::

    python -m bssrdf.mc --layer 0.1,10,0.9,1.4,inf --photons 1e6 --r-max 5 --plot skin.png
    python -m bssrdf.mc --material marble --channel r --thickness 2 --photons 1e6 --r-max 20
    python -m bssrdf.mc run.toml --seed 2 --out run_seed2.h5

TOML schema
-----------
Top-level keys are the options' long names with underscores: ``photons`` (whole number, 1e6
accepted), ``r_max`` [mm], ``n_r``, ``n_z``, ``z_max`` [mm], ``n_above``, ``n_below``,
``roughness_below`` (GGX α of the stack's bottom, in [0, 1]), ``incidence_angle`` [degrees],
``max_path_length`` [mm], ``seed``, ``backend`` ("auto", "cuda", "cpu"), ``precision`` ("single",
"double"), ``threads``, ``out`` and ``plot`` (file names, relative to the current directory).
``photons`` and ``r_max`` are required here or on the command line. Each layer, from the top down,
is a ``[[layer]]`` table, either of numbers ``sigma_a``, ``sigma_s`` [mm⁻¹], ``g``, ``eta`` and
``thickness`` [mm, default ``inf``: a semi-infinite base, last layer only], or of a measured
material: ``material`` (a name of :func:`bssrdf.materials.names`), ``channel`` ("r", "g", "b" or
0, 1, 2) and ``thickness``; either kind may give ``roughness``, the GGX α of the layer's top
interface (in [0, 1], default 0: smooth). Unknown keys are errors. ``--layer`` or ``--material``
options replace all ``[[layer]]`` tables.
An example (:data:`bssrdf.mc.config.EXAMPLE_TOML`, which a test runs) ends ``--help``.

Exit status: 0 on success; 2 on bad input (one line on stderr, no file written); 130 after
Ctrl-C (the photons traced so far are saved, marked partial, when there are any); 1 if a run's
energy check fails (a bug).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import textwrap
import warnings

from .._cli import CliError, Parser, check_writable, error, parse, quiet_broken_pipe, show_warnings
from .config import (
    EXAMPLE_TOML,
    KEYS,
    LAYER_KEYS,
    MATERIAL_KEYS,
    ConfigError,
    RunConfig,
    locate,
    parse_count,
    resolve,
)

PROG = "bssrdf.mc"
METAVARS = {"photons": "N", "r_max": "MM", "n_r": "N", "n_z": "N", "z_max": "MM", "n_above": "N",
            "n_below": "N", "roughness_below": "ALPHA", "incidence_angle": "DEG", "max_path_length": "MM",
            "seed": "N", "threads": "N", "out": "FILE.h5", "plot": "FILE"}
STATUS_BAD_INPUT, STATUS_BUG, STATUS_INTERRUPTED = 2, 1, 130


def _count(text: str) -> int:
    try:
        return parse_count(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _epilog() -> str:
    from_toml = textwrap.fill(", ".join(KEYS), width=88, initial_indent="    ", subsequent_indent="    ")
    layer = "\n".join(f"    {k:<10} {('[' + u + '] ') if u else ''}{d}" for k, (u, d) in LAYER_KEYS.items())
    material = "\n".join(f"    {k:<10} {('[' + u + '] ') if u else ''}{d}"
                         for k, (u, d) in MATERIAL_KEYS.items())
    example = "\n".join("  " + line if line else "" for line in EXAMPLE_TOML.splitlines())
    return (
        "units:\n"
        "  coefficients in mm^-1, lengths and radii in mm, angles in degrees; R_r, T_r in mm^-2 and\n"
        "  A_z in mm^-1 (per unit incident power); totals are fractions of the incident power.\n"
        "\n"
        "TOML file (RUN.toml):\n"
        "  Top-level keys are the options above with underscores for hyphens:\n"
        f"{from_toml}\n"
        "  (out and plot relative to the current directory). photons and r_max are required in the\n"
        "  file or on the command line; command-line options override the file. Each layer, from the\n"
        "  top down, is a [[layer]] table, either of numbers:\n"
        f"{layer}\n"
        "  or of one channel of a measured material:\n"
        f"{material}\n"
        "  Unknown keys are errors. --layer or --material options replace all [[layer]] tables.\n"
        "\n"
        "example RUN.toml:\n"
        f"{example}\n"
        "\n"
        "examples:\n"
        "  python -m bssrdf.mc --layer 0.1,10,0.9,1.4,inf --photons 1e6 --r-max 5 --plot skin.png\n"
        "  python -m bssrdf.mc --material marble --channel r --thickness 2 --photons 1e6 --r-max 20\n"
        "  python -m bssrdf.mc run.toml --seed 2 --out run_seed2.h5\n"
        "\n"
        "exit status: 0 success; 2 bad input (one line on stderr, no file written); 130 Ctrl-C (the\n"
        "photons traced so far are saved, marked partial; a second Ctrl-C stops at once, saving\n"
        "nothing); 1 failed energy check (a bug)."
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every option's help states its unit."""
    parser = Parser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Trace photon packets through a stack of plane-parallel layers (MCML conventions: a\n"
            "normally or obliquely incident pencil beam, Henyey-Greenstein scattering, Fresnel\n"
            "reflection at every interface) and write the tallies with their standard errors to\n"
            "HDF5: total and radially resolved reflectance R_r and transmittance T_r, absorption per\n"
            "layer and per depth A_z. The stack comes from --layer options, --material, or [[layer]]\n"
            "tables of a TOML file (see below)."
        ),
        epilog=_epilog(),
    )
    parser.add_argument("config", metavar="RUN.toml", nargs="?", default=None,
                        help="TOML file describing the run (schema below); options override its values")
    g = parser.add_argument_group("layers (from the top of the stack down)")
    g.add_argument("--layer", metavar="SA,SS,G,ETA,D", action="append", default=None,
                   help="one layer, repeatable: absorption coefficient sigma_a [mm^-1, >= 0], "
                        "scattering coefficient sigma_s [mm^-1, >= 0, not the reduced one], "
                        "Henyey-Greenstein g [-1 < g < 1], refractive index eta [> 0], thickness D "
                        "[mm, > 0; inf for a semi-infinite base, last layer only]. "
                        "Write --layer=-1,... if a value starts with '-'")
    g.add_argument("--material", metavar="NAME", default=None,
                   help="a single layer of a measured material from bssrdf.materials (e.g. marble, "
                        "skin1, wholemilk; case, spaces and hyphens ignored); needs --channel")
    g.add_argument("--channel", metavar="C", default=None,
                   help="the channel of --material: r, g or b (or red, green, blue, 0, 1, 2); the "
                        "tracer is monochrome")
    g.add_argument("--thickness", metavar="MM", type=float, default=None,
                   help="thickness of the --material layer in mm (> 0; default inf, semi-infinite)")

    g = parser.add_argument_group("run (each is also a top-level TOML key, with underscores)")
    for key, spec in KEYS.items():
        opt = "--" + key.replace("_", "-")
        default = spec.default_doc or (None if spec.default is None else str(spec.default))
        help_text = spec.help + (f" (default: {default})" if default else "")
        if spec.required:
            help_text += "; required here or in the TOML file"
        kwargs = {"default": None, "help": help_text}
        if spec.kind == "choice":
            kwargs["choices"] = spec.choices
        else:
            kwargs["metavar"] = METAVARS[key]
            kwargs["type"] = {"count": _count, "int": int, "float": float, "path": str}[spec.kind]
        g.add_argument(opt, **kwargs)
    g = parser.add_argument_group("output")
    g.add_argument("--no-plot", action="store_true",
                   help="write no plot, even if the TOML file names one")
    g.add_argument("--quiet", "-q", action="store_true",
                   help="print no summary, no progress bar and no list of files written (errors, "
                        "warnings and the Ctrl-C note still go to stderr)")
    return parser


# -- outputs ------------------------------------------------------------------------------------
def _check_outputs(cfg: RunConfig) -> str | None:
    """Check that the result (and plot) can be written; the plot's format."""
    from . import plot

    out = check_writable(cfg.out, "the result")
    if cfg.plot is None:
        return None
    try:
        fmt = plot.plot_format(cfg.plot)
    except ValueError as e:
        raise CliError(str(e)) from None
    if check_writable(cfg.plot, "the plot").resolve() == out.resolve():
        raise CliError(f"--out and --plot name the same file {cfg.plot!r}")
    return fmt


class _WriteError(Exception):
    """Writing an output failed: ``path`` and the OSError."""

    def __init__(self, path: str, error: OSError):
        super().__init__(f"cannot write {path!r}: {error.strerror or error}")


def _write(result, cfg: RunConfig, fmt: str | None, written: list[str]) -> None:
    """Plot into a temporary file, save the result, then rename the plot: both files or neither."""
    from . import plot

    tmp = None
    try:
        if cfg.plot is not None:
            try:
                tmp = plot.write_temporary(plot.figure(result), cfg.plot, fmt)
            except OSError as e:
                raise _WriteError(cfg.plot, e) from None
        try:
            result.save(cfg.out)
        except OSError as e:
            raise _WriteError(cfg.out, e) from None
        written.append(cfg.out)
        if tmp is not None:
            try:
                os.replace(tmp, cfg.plot)
            except OSError as e:
                raise _WriteError(cfg.plot, e) from None
            tmp = None
            written.append(cfg.plot)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


# -- entry point --------------------------------------------------------------------------------
def _error(message: object, status: int = STATUS_BAD_INPUT) -> int:
    return error(PROG, message, status)


def _show_warnings(caught) -> None:
    show_warnings(PROG, caught)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 2 bad input, 130 interrupted, 1 bug)."""
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

    try:
        cfg = resolve(args.config, {key: getattr(args, key) for key in KEYS}, args.layer or (),
                      args.material, args.channel, args.thickness)
        if args.no_plot:
            if args.plot is not None:
                raise CliError("give either --plot or --no-plot, not both")
            cfg.values["plot"] = None
        fmt = _check_outputs(cfg)
    except (ConfigError, CliError) as e:
        return _error(e)

    from . import EnergyConservationError, simulate

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = simulate(**cfg.simulate_kwargs(), progress=False if args.quiet else None)
        except EnergyConservationError as e:
            return _error(f"{e} (a bug: please report it with this command line)", STATUS_BUG)
        except ValueError as e:
            return _error(locate(str(e), cfg))
        except RuntimeError as e:  # e.g. backend cuda without a GPU
            return _error(e)
        except KeyboardInterrupt:
            print(f"\n{PROG}: interrupted before any photon was traced to the end; nothing written",
                  file=sys.stderr)
            return STATUS_INTERRUPTED

    result.extra["command_line"] = "python -m bssrdf.mc " + shlex.join(argv)
    result.extra["config_toml"] = cfg.to_toml()
    if cfg.toml_text is not None:
        result.extra["input_toml_file"] = os.path.abspath(cfg.toml_path)
        result.extra["input_toml"] = cfg.toml_text

    written: list[str] = []
    try:
        _write(result, cfg, fmt, written)
    except _WriteError as e:
        return _error(f"{e}" + (f" (wrote {', '.join(written)})" if written else ""))
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted while writing; "
              + (f"wrote only {', '.join(written)}" if written else "nothing written"), file=sys.stderr)
        return STATUS_INTERRUPTED

    _show_warnings(caught)
    try:
        if not args.quiet:
            print(result.summary())
            print("\n".join(f"wrote {p}" for p in written))
            sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        quiet_broken_pipe()
    if result.partial:
        few = ("; too few batches finished for standard errors (they are NaN)" if result.n_batches < 2
               else f"; standard errors from the {result.n_batches} batches finished")
        print(f"{PROG}: interrupted (Ctrl-C): saved the {result.n_photons} of {result.n_requested} photons "
              f"traced so far to {cfg.out}, marked partial{few}", file=sys.stderr)
        return STATUS_INTERRUPTED
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
