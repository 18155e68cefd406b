"""The measured-material database.

Two published tables, read from ``data/materials/`` (each file states its source and units in
its header, and every row carries a ``source`` tag):

- ``jensen2001.csv``: Jensen et al. 2001, Table 1: σ's and σa per RGB channel [mm⁻¹], η.
  g is not measured; media are built with :meth:`Medium.from_reduced` (g = 0).
- ``narasimhan2006.csv``: Narasimhan et al. 2006 (dilution): σs, σa [mm⁻¹] and HG g per RGB
  channel for the undiluted media; η = 1.33 assumed (not measured).

>>> from bssrdf import materials
>>> materials.get("marble").sigma_s_prime
array([2.19, 2.62, 3.  ])
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from .medium import Medium

__all__ = ["names", "get", "entry", "Entry", "data_dir"]

_PKG_DIR = Path(__file__).resolve().parent


def data_dir() -> Path:
    """Directory of the material tables (inside an installed wheel, or ``data/materials``)."""
    for c in (_PKG_DIR / "_data" / "materials", _PKG_DIR.parent / "data" / "materials"):
        if (c / "jensen2001.csv").is_file():
            return c
    raise FileNotFoundError("bssrdf's material tables are missing (data/materials)")


@dataclass(frozen=True)
class Entry:
    """One row of a material table: the medium, where it comes from, its table."""

    name: str
    medium: Medium
    source: str
    table: str


def _normalise(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower()).replace("&", "and")


def _rows(path: Path):
    with path.open(newline="") as f:
        yield from csv.DictReader(line for line in f if not line.startswith("#"))


def _rgb(row: dict, prefix: str) -> list[float]:
    return [float(row[f"{prefix}_{c}"]) for c in "RGB"]


@functools.lru_cache(maxsize=1)
def _database() -> dict[str, Entry]:
    db: dict[str, Entry] = {}
    folder = data_dir()
    for row in _rows(folder / "jensen2001.csv"):
        medium = Medium.from_reduced(_rgb(row, "sigma_a"), _rgb(row, "sigma_s_prime"), g=0.0,
                                     eta=float(row["eta"]))
        db[_normalise(row["name"])] = Entry(row["name"], medium, row["source"], "jensen2001")
    for row in _rows(folder / "narasimhan2006.csv"):
        medium = Medium(_rgb(row, "sigma_a"), _rgb(row, "sigma_s"), g=_rgb(row, "g"),
                        eta=float(row["eta"]))
        key = _normalise(row["name"])
        if key in db:
            raise RuntimeError(f"material name {key!r} appears in two tables")
        db[key] = Entry(row["name"], medium, row["source"], "narasimhan2006")
    return db


def names() -> list[str]:
    """All material names, sorted."""
    return sorted(_database())


def entry(name: str) -> Entry:
    """The table entry for ``name`` (case, spaces and hyphens are ignored).

    Raises
    ------
    KeyError
        For an unknown name; the message lists close matches.
    """
    if not isinstance(name, str):
        raise KeyError(f"material name must be a string; got {name!r}")
    key = _normalise(name)
    db = _database()
    if key not in db:
        close = difflib.get_close_matches(key, db.keys(), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown material {name!r}{hint} (bssrdf.materials.names() lists all "
                       f"{len(db)})")
    return db[key]


def get(name: str) -> Medium:
    """The :class:`~bssrdf.Medium` of material ``name`` (RGB channels, mm⁻¹)."""
    return entry(name).medium
