"""Export a material for a renderer: ``python -m bssrdf.export MATERIAL_OR_FILE --format FORMAT``.

The input is a material name (:func:`bssrdf.materials.names`), a medium file (JSON or TOML, see
:mod:`bssrdf.export`) or a stack file (TOML with ``[[layer]]`` tables, the Monte Carlo tracer's
format: :mod:`bssrdf.export.stack`) or a fit result (``python -m bssrdf.fit ... --out RESULT.json``:
its fitted medium; poorly constrained channels warn). A stack goes to
``--format table`` only (the layered R(r), and T(r) when its last layer is finite:
:func:`bssrdf.export.table.layered_table`); the other formats describe one homogeneous medium.
The output goes to ``--out FILE`` (written atomically) or, for text formats, to stdout. See
``--help`` for the formats, the definitions each uses, and units.

Exit status: 0 on success; 2 on bad input (one line ``bssrdf.export: error: ...`` on stderr, no
file written).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from pathlib import Path

from .._cli import CliError, Parser, check_writable, error, parse, quiet_broken_pipe, show_warnings
from .._io import atomic_write

PROG = "bssrdf.export"
FORMATS = ("table", "pbrt-v4", "mitsuba3", "blender", "openpbr", "renderman")
CHANNELS = {"r": 0, "g": 1, "b": 2, "0": 0, "1": 1, "2": 2}
TABLE_SUFFIXES = {".h5": "hdf5", ".hdf5": "hdf5", ".csv": "csv"}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Export a material's scattering parameters for a renderer, with the renderer's own\n"
            "meaning of albedo and mean free path made explicit in the output.\n"
            "\n"
            "formats:\n"
            "  table      R(r) per channel with sampling CDFs (HDF5 .h5/.hdf5 or CSV .csv; needs --out):\n"
            "             the dipole, a slab's R(r) and T(r) (--thickness), or a layered stack's\n"
            "             R(r) and T(r) (a stack file; Donner & Jensen 2005)\n"
            "  pbrt-v4    a 'subsurface' material block: sigma_a, sigma_s [mm^-1] with pbrt's\n"
            "             \"float scale\" = mm per scene unit, eta, g\n"
            "  mitsuba3   a 'homogeneous' medium (single-scattering albedo, sigma_t) in a 'dielectric'\n"
            "             boundary: XML (default) or the mi.load_dict dictionary (--out FILE.json)\n"
            "  blender    Principled BSDF, Random Walk (Skin): Base Color = dipole total diffuse\n"
            "             reflectance R_d, Subsurface Radius x Scale = 1/sigma_tr, IOR = eta,\n"
            "             Anisotropy = g: a bpy script (default) or the settings (--out FILE.json)\n"
            "  openpbr    subsurface_color = R_d, subsurface_radius x subsurface_radius_scale =\n"
            "             1/sigma_tr: a MaterialX document (default) or JSON (--out FILE.json)\n"
            "  renderman  PxrSurface Jensen dipole: subsurfaceColor = R_d, subsurfaceDmfp x\n"
            "             subsurfaceDmfpColor = 1/sigma_tr: RIB (default) or JSON (--out FILE.json)\n"
            "\n"
            "R_d is the classical dipole total diffuse reflectance R_d(alpha', eta) (Jensen et al.\n"
            "2001) and sigma_tr = sqrt(3 sigma_a sigma_t'); all assume air (n = 1) outside.\n"
            "\n"
            "Units: bssrdf's coefficients are in mm^-1. --scale is the number of scene units per\n"
            "millimetre (1 for a scene in mm, 0.1 in cm, 0.001 in metres); lengths are written in\n"
            "scene units and coefficients per scene unit (each output says how it carries this)."
        ),
        epilog=(
            "input:\n"
            "  a material name (bssrdf.materials.names(); case, spaces, hyphens ignored), or a medium\n"
            "  file, JSON or .toml: {\"sigma_a\": [..], \"sigma_s\": [..], \"g\": .., \"eta\": ..,\n"
            "  \"units\": \"mm^-1\"} (sigma in mm^-1; g default 0, eta default 1; optional \"name\").\n"
            "  Or a stack file (.toml, the Monte Carlo tracer's: python -m bssrdf.mc --help): one\n"
            "  [[layer]] table per layer from the top down (sigma_a, sigma_s [mm^-1], g, eta,\n"
            "  thickness [mm; inf or omitted for a semi-infinite base], roughness [GGX alpha], or\n"
            "  material and channel; without channel, or with per-channel lists, all channels), and\n"
            "  n_above, n_below, roughness_below at the top level; the tracer's run keys (photons,\n"
            "  r_max, ...) are ignored. A stack exports to --format table only; T(r) is written\n"
            "  when the last layer is finite.\n"
            "  Fit results (python -m bssrdf.fit ... --out RESULT.json) export their fitted medium\n"
            "  (a warning names channels the fit flagged as poorly constrained).\n"
            "\n"
            "examples:\n"
            "  python -m bssrdf.export marble --format pbrt-v4\n"
            "  python -m bssrdf.export skin1 --format blender --scale 0.001 --out skin1.py\n"
            "  python -m bssrdf.export marble --format table --out marble.h5\n"
            "  python -m bssrdf.export skin_stack.toml --format table --out skin_stack.h5\n"
            "  python -m bssrdf.export my_medium.json --format renderman --scale 0.1\n"
            "\n"
            "Errors (unknown format or material, a scale <= 0, an unwritable path, a malformed\n"
            "stack file, a stack with a format other than table) are reported on one line with\n"
            "exit status 2; no output file is left behind."
        ),
    )
    parser.add_argument("source", metavar="MATERIAL_OR_FILE",
                        help="material name from bssrdf.materials.names(), a medium file (.json/.toml), or "
                             "a stack file (.toml with [[layer]] tables; --format table only)")
    parser.add_argument("--format", "-f", required=True, choices=FORMATS, metavar="FORMAT",
                        help="one of: " + ", ".join(FORMATS))
    parser.add_argument("--out", "-o", metavar="FILE", default=None,
                        help="output file (written atomically). Without it, text formats print to stdout. "
                             "FILE.json writes the dictionary form of mitsuba3/blender/openpbr/renderman; "
                             "table needs FILE.h5, .hdf5 or .csv")
    parser.add_argument("--scale", metavar="UNITS_PER_MM", type=float, default=1.0,
                        help="scene units per millimetre (finite, > 0; default 1: the scene is in mm)")
    parser.add_argument("--channel", metavar="C", default=None, choices=sorted(CHANNELS),
                        help="export one channel only (r, g, b or 0, 1, 2), written as grey")
    parser.add_argument("--name", metavar="NAME", default=None,
                        help="name of the material in the output (default: the material's name)")
    parser.add_argument("--thickness", metavar="MM", type=float, default=None,
                        help="table only: slab thickness in mm (> 0); omit for a semi-infinite medium "
                             "(not with a stack file, whose layers carry their thicknesses)")
    return parser


# -- input ----------------------------------------------------------------------------------------
def resolve_input(source: str):
    """(medium, name) from a material name or a medium file, or (Stack, name) from a stack file."""
    from .. import materials
    from . import load_medium
    from .stack import is_stack_file, load_stack

    path = Path(source)
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        raise CliError(f"{source!r}: HDF5 inputs (Monte Carlo results) are not supported; give a material "
                       "name, a medium or stack file (.json/.toml) or a fit result (.json)")
    if is_stack_file(path):
        try:
            return load_stack(path), path.stem
        except ValueError as e:
            raise CliError(str(e)) from None
    if path.is_file():
        try:
            medium, name = load_medium(path)
        except OSError as e:
            raise CliError(f"cannot read {source!r}: {e.strerror or e}") from None
        except ValueError as e:
            raise CliError(str(e)) from None
        return medium, (name or path.stem)
    if suffix in (".json", ".toml") or os.sep in source or (os.altsep and os.altsep in source):
        raise CliError(f"medium file {source!r} does not exist")
    try:
        entry = materials.entry(source)
    except KeyError as e:
        raise CliError((e.args[0] if e.args else str(e)) + " (or give a medium file, .json/.toml)") from None
    return entry.medium, entry.name


def _check_out(out: str, fmt: str) -> str:
    """The output kind ('json', 'text', 'hdf5', 'csv'); checks the folder is writable."""
    path = check_writable(out)
    suffix = path.suffix.lower()
    if fmt == "table":
        if suffix not in TABLE_SUFFIXES:
            raise CliError("--format table writes HDF5 or CSV: --out must end in .h5, .hdf5 or .csv; "
                           f"got {out!r}")
        kind = TABLE_SUFFIXES[suffix]
    elif suffix == ".json":
        if fmt == "pbrt-v4":
            raise CliError("--format pbrt-v4 is text only: use --out FILE.pbrt (or no --out for stdout)")
        kind = "json"
    else:
        kind = "text"
    return kind


# -- output ---------------------------------------------------------------------------------------
def render(fmt: str, medium, units_per_mm: float, name: str, kind: str) -> str:
    """The text of a non-table export (``kind`` 'json' or 'text')."""
    from . import formats

    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "bssrdf_material"
    if safe[0].isdigit():
        safe = "m_" + safe
    if fmt == "pbrt-v4":
        return formats.pbrt_v4(medium, units_per_mm, name=name)
    if fmt == "mitsuba3":
        from . import mitsuba

        if kind == "json":
            return formats.to_json(mitsuba.mitsuba3_dict(medium, scale=units_per_mm))
        return mitsuba.mitsuba3_xml(medium, scale=units_per_mm)
    if fmt == "blender":
        if kind == "json":
            return formats.to_json(formats.blender(medium, units_per_mm))
        return formats.blender_script(medium, units_per_mm, name=name)
    if fmt == "openpbr":
        if kind == "json":
            return formats.to_json(formats.openpbr(medium, units_per_mm))
        return formats.openpbr_mtlx(medium, units_per_mm, name=safe)
    if fmt == "renderman":
        if kind == "json":
            return formats.to_json(formats.renderman(medium, units_per_mm))
        return formats.renderman_rib(medium, units_per_mm, name=name)
    raise CliError(f"unknown format {fmt!r}")  # pragma: no cover - argparse checks choices


def _write_text(out: str, text: str) -> None:
    try:
        with atomic_write(out) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot write {out!r}: {e.strerror or e}") from None


def _write_table(medium, out: str, kind: str, thickness, units_per_mm: float) -> None:
    """Tabulate a Medium (dipole or slab) or a Stack (layered) into ``out``."""
    from .stack import Stack

    try:
        from .table import write_table
    except ImportError as e:  # pragma: no cover - the table module ships with the package
        raise CliError(f"the table export is not available: {e}") from None
    try:
        if isinstance(medium, Stack):
            write_table(medium.layers, out, scale=units_per_mm, fmt=kind, **medium.kwargs())
        else:
            write_table(medium, out, thickness=thickness, scale=units_per_mm, fmt=kind)
    except OSError as e:
        raise CliError(f"cannot write {out!r}: {e.strerror or e}") from None


def run(args) -> str | None:
    """Do the export; returns the text for stdout (None when a file was written)."""
    if not (math.isfinite(args.scale) and args.scale > 0):
        raise CliError(f"--scale (scene units per mm) must be finite and > 0; got {args.scale!r}")
    if args.thickness is not None:
        if args.format != "table":
            raise CliError("--thickness applies to --format table only")
        if not (math.isfinite(args.thickness) and args.thickness > 0):
            raise CliError(f"--thickness must be finite and > 0 mm; got {args.thickness!r}")
    if args.format == "table" and args.out is None:
        raise CliError("--format table writes a file: give --out FILE.h5 (or .hdf5, .csv)")
    kind = _check_out(args.out, args.format) if args.out is not None else "text"

    from .stack import Stack

    medium, name = resolve_input(args.source)
    if isinstance(medium, Stack):
        if args.format != "table":
            raise CliError(f"{args.source!r} is a layered stack: --format {args.format} describes one "
                           "homogeneous medium; a stack exports to --format table only")
        if args.thickness is not None:
            raise CliError("--thickness does not apply to a stack file: its [[layer]] tables carry the "
                           "thicknesses")
    if args.channel is not None:
        i = CHANNELS[args.channel]
        what = "stack" if isinstance(medium, Stack) else "medium"
        if i >= medium.n_channels:
            raise CliError(f"--channel {args.channel}: the {what} has {medium.n_channels} channel(s)")
        medium = medium.channel(i)
        name = f"{name}_{'rgb'[i]}"
    if args.name is not None:
        name = args.name

    if args.format == "table":
        _write_table(medium, args.out, kind, args.thickness, args.scale)
        return None
    text = render(args.format, medium, args.scale, name, kind)
    if args.out is None:
        return text
    _write_text(args.out, text)
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 error)."""
    args = parse(build_parser(), argv, PROG)
    if isinstance(args, int):
        return args

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            text = run(args)
    except CliError as e:
        return error(PROG, e)
    except (ValueError, TypeError) as e:
        return error(PROG, e)
    show_warnings(PROG, caught)
    try:
        if text is not None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            print(f"wrote {args.out}")
    except BrokenPipeError:
        quiet_broken_pipe()
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

