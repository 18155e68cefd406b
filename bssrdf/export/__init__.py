"""Renderer exports: parameter blocks (pbrt-v4, Mitsuba 3, Blender, OpenPBR, RenderMan) and profile tables.

Every renderer means something different by "albedo" and "mean free path" (1/σt in pbrt, 1/σtr in
RenderMan, a shaping radius in Cycles, a unitless radius in OpenPBR): :mod:`.conventions` makes each
conversion explicit, with its source, in both directions where it is invertible; :mod:`.formats`
writes (and reads back) the text and dictionaries; ``python -m bssrdf.export`` is the command line.

Lengths: ``scale`` (``--scale``) is **scene units per millimetre** everywhere in this package's
formats (1 for a scene in mm, 0.001 in metres); see each format for how it carries it.

Medium files
------------
A medium can be saved to and read from a small JSON (or TOML) file::

    {"format": "bssrdf.medium", "version": 1, "units": "mm^-1",
     "sigma_a": [0.0021, 0.0041, 0.0071], "sigma_s": [2.19, 2.62, 3.0], "g": 0.0, "eta": 1.5,
     "name": "marble"}

``sigma_a``, ``sigma_s`` [mm⁻¹] are required (a number or one per channel); ``g`` (default 0) and
``eta`` (default 1) are a number or one per channel; ``units`` must be ``"mm^-1"`` if given;
``name``, ``format`` and ``version`` are optional; other keys are errors. TOML files (``.toml``)
use the same keys at the top level.

Stack files
-----------
A layered stack is a TOML file with one ``[[layer]]`` table per layer, the Monte Carlo tracer's
format (:mod:`bssrdf.export.stack`: :func:`load_stack`); it exports to a profile table only
(:func:`bssrdf.export.table.layered_table`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .._io import atomic_write
from ..medium import Medium
from . import conventions, formats
from .formats import (
    blender,
    blender_script,
    openpbr,
    openpbr_mtlx,
    parse_blender_script,
    parse_openpbr_mtlx,
    parse_pbrt_v4,
    parse_renderman_rib,
    pbrt_v4,
    renderman,
    renderman_rib,
)

__all__ = [
    "conventions", "formats",
    "pbrt_v4", "parse_pbrt_v4", "blender", "blender_script", "parse_blender_script",
    "openpbr", "openpbr_mtlx", "parse_openpbr_mtlx", "renderman", "renderman_rib", "parse_renderman_rib",
    "save_medium", "load_medium", "medium_to_dict", "medium_from_dict",
    "write_table", "mitsuba3_dict", "mitsuba3_xml", "load_stack", "Stack",
]

MEDIUM_FORMAT = "bssrdf.medium"
MEDIUM_KEYS = ("format", "version", "units", "name", "sigma_a", "sigma_s", "g", "eta")


def __getattr__(name: str):
    # The table and Mitsuba 3 writers and the stack reader live in their own modules (imported on
    # first use).
    if name == "write_table":
        from .table import write_table
        return write_table
    if name in ("mitsuba3_dict", "mitsuba3_xml"):
        from . import mitsuba
        return getattr(mitsuba, name)
    if name in ("load_stack", "Stack"):
        from . import stack
        return getattr(stack, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def medium_to_dict(medium: Medium, name: str | None = None) -> dict:
    """The medium-file dictionary of ``medium`` (σ in mm⁻¹; see the module docstring)."""
    if not isinstance(medium, Medium):
        raise TypeError(f"medium must be a bssrdf.Medium; got {type(medium).__name__}")
    d = {"format": MEDIUM_FORMAT, "version": 1, "units": "mm^-1", **medium.to_dict()}
    if name is not None:
        d["name"] = str(name)
    return d


def medium_from_dict(d: dict, source: str = "medium") -> tuple[Medium, str | None]:
    """A :class:`Medium` (and its optional name) from a medium-file dictionary.

    Raises
    ------
    ValueError
        For unknown keys, missing σ, units other than mm⁻¹, or values a Medium rejects; the message
        starts with ``source``.
    """
    if not isinstance(d, dict):
        raise ValueError(f"{source}: expected a table/object of medium parameters; got {type(d).__name__}")
    unknown = sorted(set(d) - set(MEDIUM_KEYS))
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(MEDIUM_KEYS)}")
    if "format" in d and d["format"] != MEDIUM_FORMAT:
        raise ValueError(f"{source}: format must be {MEDIUM_FORMAT!r}; got {d['format']!r}")
    if "version" in d and d["version"] != 1:
        raise ValueError(f"{source}: unsupported version {d['version']!r} (this bssrdf reads version 1)")
    if "units" in d and str(d["units"]).replace(" ", "") not in ("mm^-1", "1/mm", "mm-1"):
        raise ValueError(f"{source}: units must be 'mm^-1'; got {d['units']!r} (convert the coefficients "
                         "to inverse millimetres)")
    missing = [k for k in ("sigma_a", "sigma_s") if k not in d]
    if missing:
        raise ValueError(f"{source}: missing {' and '.join(missing)} (mm^-1)")
    try:
        medium = Medium(d["sigma_a"], d["sigma_s"], g=d.get("g", 0.0), eta=d.get("eta", 1.0))
    except ValueError as e:
        raise ValueError(f"{source}: {e}") from None
    name = d.get("name")
    return medium, (None if name is None else str(name))


def save_medium(medium: Medium, path: str | os.PathLike, name: str | None = None) -> None:
    """Write ``medium`` as a JSON medium file (atomically: no partial file on failure)."""
    text = json.dumps(medium_to_dict(medium, name), indent=2) + "\n"
    with atomic_write(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def load_medium(path: str | os.PathLike) -> tuple[Medium, str | None]:
    """Read a JSON (or ``.toml``) medium file; returns the medium and its optional name.

    Raises
    ------
    ValueError
        If the file cannot be parsed or its contents are invalid (the message names the file).
    OSError
        If it cannot be read.
    """
    p = Path(path)
    raw = p.read_bytes()
    if p.suffix.lower() == ".toml":
        import tomllib

        try:
            d = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{str(p)!r} is not a valid TOML file (medium or stack): {e}") from None
    else:
        try:
            d = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{str(p)!r} is not a valid JSON medium file: {e}") from None
    if isinstance(d, dict) and str(d.get("format", "")).startswith("bssrdf.fit result"):
        return _medium_of_fit_result(d, repr(str(p)))
    return medium_from_dict(d, source=repr(str(p)))


def _medium_of_fit_result(d: dict, source: str) -> tuple[Medium, str | None]:
    """The fitted medium of a ``python -m bssrdf.fit ... --out RESULT.json`` file (its ``medium``
    entry, a medium-file dictionary), named after the fit; warns (``ExportWarning``) when the fit
    flagged channels as poorly constrained, since their coefficients are then uncertain."""
    import warnings

    from .conventions import ExportWarning

    if d.get("format") != "bssrdf.fit result 1":
        raise ValueError(f"{source}: unsupported fit result format {d.get('format')!r} (this bssrdf reads "
                         "'bssrdf.fit result 1')")
    if "medium" not in d:
        raise ValueError(f"{source}: the fit result has no 'medium' entry")
    medium, name = medium_from_dict(d["medium"], source=f"{source} (medium of the fit result)")
    flags = d.get("poorly_constrained") or []
    bad = [str(c) for c, f in zip(d.get("channels") or range(len(flags)), flags, strict=False) if f]
    if bad:
        warnings.warn(f"{source}: the fit flagged channel(s) {', '.join(bad)} as poorly constrained "
                      "(large correlation or uncertainty): the exported coefficients are uncertain",
                      ExportWarning, stacklevel=3)
    return medium, name or f"fit ({d.get('kind', 'result')})"


def _reject_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not allowed", name, 0)
