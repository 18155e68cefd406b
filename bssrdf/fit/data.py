"""Measurements to fit: radial profiles (CSV or bssrdf HDF5) and slab totals (CSV).

Radial profile CSV
    Comment lines start with ``#``. A comment ``# units: U`` gives the unit of the profile values: ``mm^-2``
    (the default), ``cm^-2``, ``m^-2``, ``um^-2``, or ``arbitrary`` (a relative measurement: the fit then
    needs ``unknown_scale``). The first other line is the header: a radius column ``r_mm`` (or ``r_cm``,
    ``r_um``, ``r_m``; converted to mm), then one column per channel (any name, e.g. ``R,G,B`` or
    ``550nm``), each optionally followed anywhere by its uncertainty column ``<name>_err`` (or
    ``_stderr``, ``_sigma``): one standard error per value, in the unit of the values. Either every channel
    has an uncertainty column or none has. Every cell must be a finite number; radii ≥ 0.

Radial profile HDF5 (written by bssrdf)
    A Monte Carlo result (:meth:`bssrdf.mc.MCResult.save`): one channel, ``R_r`` with its standard errors,
    fitted as annulus averages over ``r_edges`` (so wide bins near the source are modelled exactly); give
    several files (same radial bins) for several channels. Or a profile table of
    :mod:`bssrdf.export.table` (R per channel on its radius grid, no uncertainties).

Totals CSV
    Columns ``R`` and ``T`` (total reflectance and transmittance, fractions of the incident power),
    optional ``R_err``, ``T_err`` (standard errors) and an optional label column (``channel``,
    ``wavelength_nm`` or ``name``: the first non-numeric or non-R/T column); one row per channel or
    wavelength.

Every problem raises ``ValueError`` with one line naming the file and, where there is one, the line.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ProfileData", "TotalsData", "read_profile", "read_totals", "profile_from_arrays"]

R_UNITS = {"r_mm": 1.0, "r_cm": 10.0, "r_um": 1e-3, "r_m": 1e3}
VALUE_UNITS = {"mm^-2": 1.0, "1/mm^2": 1.0, "mm-2": 1.0, "cm^-2": 1e-2, "1/cm^2": 1e-2, "cm-2": 1e-2,
               "m^-2": 1e-6, "1/m^2": 1e-6, "m-2": 1e-6, "um^-2": 1e6, "1/um^2": 1e6, "um-2": 1e6}
ARBITRARY = ("arbitrary", "relative", "a.u.", "au", "arb")
ERR_SUFFIXES = ("_err", "_stderr", "_sigma")


@dataclass
class ProfileData:
    """A radial profile measurement: ``values[i, c]`` at radius ``r[i]`` for channel ``c``.

    Attributes
    ----------
    r : ndarray (N,)
        Radii [mm] (annulus centres when ``bins`` is given).
    values : ndarray (N, C)
        Radial exitance [mm⁻² per unit incident power], or in arbitrary units when ``absolute`` is False.
    errors : ndarray (N, C) or None
        Standard errors of ``values`` (same unit), or None when the file gives none.
    channels : list of str
    bins : ndarray (N, 2) or None
        Inner and outer radius [mm] of each value's annulus when the values are annulus averages (Monte
        Carlo files), else None (point values at ``r``).
    absolute : bool
        False when the file says the values are in arbitrary units.
    meta : dict
        What the file says about the measurement (e.g. ``eta``, ``thickness`` of a Monte Carlo run).
    source : str
    """

    r: np.ndarray
    values: np.ndarray
    errors: np.ndarray | None
    channels: list[str]
    bins: np.ndarray | None = None
    absolute: bool = True
    meta: dict = field(default_factory=dict)
    source: str = ""

    @property
    def n_channels(self) -> int:
        return self.values.shape[1]

    def select(self, keep) -> ProfileData:
        """The rows where ``keep`` is True."""
        keep = np.asarray(keep, bool)
        errors = None if self.errors is None else self.errors[keep]
        return ProfileData(self.r[keep], self.values[keep], errors,
                           list(self.channels), None if self.bins is None else self.bins[keep], self.absolute,
                           dict(self.meta), self.source)


def _fail(source: str, message: str, line: int | None = None) -> ValueError:
    where = f"{source}:{line}" if line is not None else source
    return ValueError(f"{where}: {message}")


def _read_text(path: Path) -> str:
    if not path.exists():
        raise ValueError(f"{str(path)!r}: no such file")
    if path.is_dir():
        raise ValueError(f"{str(path)!r}: is a directory, not a measurement file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{str(path)!r}: cannot read ({e.strerror or e})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{str(path)!r}: not a text (CSV) file") from None


def _csv_rows(text: str, source: str):
    """Comments (list of str), header (list of str, its line number), rows [(line, cells)]."""
    comments, header, header_line, rows = [], None, None, []
    for ln, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments.append(stripped[1:].strip())
            continue
        cells = next(csv.reader(io.StringIO(line)))
        cells = [c.strip() for c in cells]
        if header is None:
            header, header_line = cells, ln
        else:
            rows.append((ln, cells))
    if header is None:
        raise _fail(source, "empty file (no header line and no data)")
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise _fail(source, f"duplicate column name(s) {', '.join(dup)}", header_line)
    if not rows:
        raise _fail(source, "no data rows after the header")
    return comments, header, header_line, rows


def _number(cell: str, source: str, ln: int, column: str) -> float:
    try:
        v = float(cell)
    except ValueError:
        raise _fail(source, f"column {column!r}: {cell!r} is not a number", ln) from None
    if not math.isfinite(v):
        raise _fail(source, f"column {column!r}: {cell!r} is not a finite number (NaN or inf)", ln)
    return v


def _table(header, rows, source, columns) -> dict[str, np.ndarray]:
    out = {c: np.empty(len(rows)) for c in columns}
    idx = {c: header.index(c) for c in columns}
    for k, (ln, cells) in enumerate(rows):
        if len(cells) != len(header):
            raise _fail(source, f"{len(cells)} values but the header has {len(header)} columns", ln)
        for c in columns:
            out[c][k] = _number(cells[idx[c]], source, ln, c)
    return out


def _units_comment(comments: list[str], source: str) -> tuple[float, bool]:
    """(factor to mm⁻², absolute) from a ``# units: ...`` comment."""
    for c in comments:
        m = re.match(r"units?\s*[:=]\s*(.+)$", c, flags=re.IGNORECASE)
        if not m:
            continue
        unit = m.group(1).strip().lower().replace(" ", "").replace("µ", "u").replace("−", "-")
        if unit in ARBITRARY:
            return 1.0, False
        if unit in VALUE_UNITS:
            return VALUE_UNITS[unit], True
        raise _fail(source, f"unknown unit {m.group(1).strip()!r} in the units comment; use one of mm^-2, "
                            "cm^-2, m^-2, um^-2 or arbitrary")
    return 1.0, True


def _read_profile_csv(path: Path) -> ProfileData:
    source = repr(str(path))
    text = _read_text(path)
    comments, header, header_line, rows = _csv_rows(text, source)
    r_cols = [h for h in header if h.lower() in R_UNITS]
    if len(r_cols) != 1:
        raise _fail(source, "the header needs exactly one radius column r_mm (or r_cm, r_um, r_m); got "
                            f"columns {', '.join(header)}", header_line)
    r_col = r_cols[0]
    err_of: dict[str, str] = {}
    channels = []
    for h in header:
        if h == r_col:
            continue
        base = next((h[: -len(s)] for s in ERR_SUFFIXES if h.lower().endswith(s)), None)
        if base is not None:
            if base not in header:
                raise _fail(source, f"uncertainty column {h!r} has no channel column {base!r}", header_line)
            err_of[base] = h
        else:
            channels.append(h)
    if not channels:
        raise _fail(source, "no channel columns besides the radius column", header_line)
    if err_of and set(err_of) != set(channels):
        missing = [c for c in channels if c not in err_of]
        raise _fail(source, f"channel(s) {', '.join(missing)} have no uncertainty column; give one for every "
                            "channel or for none", header_line)
    cols = _table(header, rows, source, [r_col, *channels, *err_of.values()])
    r = cols[r_col] * R_UNITS[r_col.lower()]
    if np.any(r < 0):
        k = int(np.flatnonzero(r < 0)[0])
        raise _fail(source, f"negative radius {cols[r_col][k]:g} in column {r_col!r}", rows[k][0])
    factor, absolute = _units_comment(comments, source)
    values = np.column_stack([cols[c] for c in channels]) * factor
    errors = None
    if err_of:
        errors = np.column_stack([cols[err_of[c]] for c in channels]) * factor
        bad = ~(errors > 0)
        if np.any(bad):
            k, c = (int(x[0]) for x in np.nonzero(bad))
            raise _fail(source, f"uncertainty {cols[err_of[channels[c]]][k]:g} in column "
                                f"{err_of[channels[c]]!r} must be > 0", rows[k][0])
    order = np.argsort(r, kind="stable")
    return ProfileData(r[order], values[order], None if errors is None else errors[order], channels,
                       absolute=absolute, source=str(path))


def _read_profile_hdf5(paths: list[Path]) -> ProfileData:
    import h5py

    parts = []
    for p in paths:
        source = repr(str(p))
        if not p.exists():
            raise ValueError(f"{source}: no such file")
        try:
            with h5py.File(p, "r") as f:
                fmt = f.attrs.get("format")
                fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        except OSError:
            raise ValueError(f"{source}: not a readable HDF5 file") from None
        if fmt == "bssrdf.mc result 1":
            from ..mc import load

            res = load(p)
            if res.partial:
                pass  # an interrupted run is still a measurement; its errors say how good
            L0 = res.layers[0]
            meta = {"eta": float(L0.medium.eta), "g": float(L0.medium.g), "n_above": res.n_above,
                    "n_below": res.n_below, "thickness": None if L0.semi_infinite else L0.thickness,
                    "layers": len(res.layers), "photons": res.n_photons,
                    "incidence_angle": res.incidence_angle}
            parts.append((res.r_edges, res.R_r[:, None], res.stderr("R_r")[:, None], [p.stem], meta))
        elif fmt == "bssrdf profile table 1":
            from ..export.table import read_table

            t = read_table(p)
            if len(paths) > 1:
                raise ValueError(f"{source}: a profile table holds all its channels; give it alone")
            R = np.asarray(t.R, float).reshape(len(t.r), -1) * t.scale**2
            r = np.asarray(t.r, float) / t.scale
            eta = np.atleast_1d(t.eta)
            meta = {"eta": float(eta[0]) if np.all(eta == eta[0]) else None,
                    "thickness": t.thickness, "model": t.model}
            names = list("RGB") if R.shape[1] == 3 else [str(i) for i in range(R.shape[1])]
            return ProfileData(r, R, None, names, meta=meta,
                               source=str(p))
        else:
            raise ValueError(f"{source}: not a bssrdf Monte Carlo result or profile table (HDF5 format "
                             f"attribute {fmt!r})")
    edges = parts[0][0]
    for p, part in zip(paths[1:], parts[1:], strict=True):
        if part[0].shape != edges.shape or not np.allclose(part[0], edges, rtol=1e-12, atol=0):
            raise ValueError(f"{str(p)!r}: its radial bins differ from those of {str(paths[0])!r}; channels "
                             "must share one set of bins")
    values = np.concatenate([p[1] for p in parts], axis=1)
    errors = np.concatenate([p[2] for p in parts], axis=1)
    metas = [p[4] for p in parts]
    meta = dict(metas[0])
    for key in ("eta", "thickness", "n_above", "n_below", "g"):
        vals = {m[key] for m in metas}
        meta[key] = metas[0][key] if len(vals) == 1 else None
    centers = 0.5 * (edges[1:] + edges[:-1])
    names = [p[3][0] for p in parts]
    if len(set(names)) != len(names):
        names = [f"{n}[{i}]" for i, n in enumerate(names)]
    bins = np.stack([edges[:-1], edges[1:]], axis=1).astype(float)
    return ProfileData(centers, values, errors, names, bins=bins, meta=meta,
                       source=", ".join(str(p) for p in paths))


def read_profile(paths) -> ProfileData:
    """Read a radial profile from a CSV file or from one or more bssrdf HDF5 files (module notes)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no measurement file given")
    suffixes = {p.suffix.lower() for p in paths}
    if suffixes <= {".h5", ".hdf5"}:
        return _read_profile_hdf5(paths)
    if len(paths) > 1:
        raise ValueError("several files are accepted only as bssrdf HDF5 results (one channel each); give "
                         "one CSV file with a column per channel")
    return _read_profile_csv(paths[0])


def profile_from_arrays(r, values, errors=None, channels=None, r_edges=None, absolute: bool = True,
                        meta: dict | None = None) -> ProfileData:
    """A :class:`ProfileData` from arrays (r [mm] (N,), values (N,) or (N, C) [mm⁻²], errors like values)."""
    from .._validate import as_float_array

    r = as_float_array("r", r).ravel()
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2 or v.shape[0] != r.size:
        raise ValueError(f"values must have shape (N,) or (N, C) with N = len(r) = {r.size}; got {v.shape}")
    e = None
    if errors is not None:
        e = np.asarray(errors, dtype=np.float64)
        if e.ndim == 1:
            e = e[:, None]
        if e.shape != v.shape:
            raise ValueError(f"errors must have the shape of values {v.shape}; got {e.shape}")
    if channels is None:
        channels = list("RGB") if v.shape[1] == 3 else [str(i) for i in range(v.shape[1])]
    if len(channels) != v.shape[1]:
        raise ValueError(f"{len(channels)} channel names for {v.shape[1]} channels")
    bins = None
    if r_edges is not None:
        edges = np.asarray(r_edges, dtype=np.float64)
        if edges.shape != (r.size + 1,):
            raise ValueError(f"r_edges must have N + 1 = {r.size + 1} values; got {edges.shape}")
        bins = np.stack([edges[:-1], edges[1:]], axis=1)
    return ProfileData(r, v, e, list(channels), bins=bins, absolute=absolute, meta=dict(meta or {}),
                       source="arrays")


# -- totals -------------------------------------------------------------------------------------------
@dataclass
class TotalsData:
    """Total reflectance ``R`` and transmittance ``T`` of a slab per row (channel or wavelength)."""

    R: np.ndarray
    T: np.ndarray
    R_err: np.ndarray | None
    T_err: np.ndarray | None
    labels: list[str]
    source: str = ""


def read_totals(path) -> TotalsData:
    """Read slab totals from a CSV file (module notes)."""
    path = Path(path)
    source = repr(str(path))
    text = _read_text(path)
    _, header, header_line, rows = _csv_rows(text, source)
    low = [h.lower() for h in header]
    for need in ("r", "t"):
        if need not in low:
            raise _fail(source, "the header needs columns R and T (and optionally R_err, T_err, a label); "
                                f"got {', '.join(header)}", header_line)
    name = {h.lower(): h for h in header}
    numeric = [name["r"], name["t"]]
    errs = [name[k] for k in ("r_err", "t_err") if k in name]
    if len(errs) == 1:
        raise _fail(source, "give both R_err and T_err, or neither", header_line)
    labels_col = next((h for h in header if h.lower() not in ("r", "t", "r_err", "t_err")), None)
    cols = _table(header, rows, source, numeric + errs)
    if labels_col is not None:
        i = header.index(labels_col)
        labels = [cells[i] if i < len(cells) else "" for _, cells in rows]
    else:
        labels = [str(k) for k in range(len(rows))]
    R, T = cols[name["r"]], cols[name["t"]]
    R_err = T_err = None
    if errs:
        R_err, T_err = cols[name["r_err"]], cols[name["t_err"]]
    return TotalsData(R, T, R_err, T_err, labels, source=str(path))
