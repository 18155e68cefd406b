"""The figure framework: what a figure module provides, and how its output is written.

A figure module (``bssrdf/figures/<paper>_<id>.py``, e.g. ``jensen2001_j01.py``) defines

    ID = "j01"                       # the figure's id (unique)
    PAPER = "jensen2001"             # or "donner2005": the output folder
    NAME = "dipole_vs_mc"            # file name part: <out>/<PAPER>/<ID>_<NAME>.png
    TITLE = "Dipole vs Monte Carlo"  # one line
    PHOTONS = 200_000                # default photons per Monte Carlo run (sized for a 2-core CPU)

    def make(ctx: Context) -> Output: ...

``make`` draws one matplotlib figure (Agg, no display needed), returns it with the data behind it
(arrays, written to ``<ID>_<NAME>.h5`` with units) and a caption: what the figure shows, every
parameter (σ in mm⁻¹, lengths in mm), photon counts and seeds, and the largest relative deviation
between model and Monte Carlo in the range where the paper claims agreement. The framework writes
``.png``, ``.pdf``, ``.h5`` and ``.txt`` (the caption) atomically.

Units: mm, mm⁻¹; profiles in mm⁻² per unit incident power.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_write

__all__ = ["Context", "Output", "FigureSpec", "registry", "make", "write", "show"]


@dataclass
class Context:
    """What a figure's ``make`` may use.

    Attributes
    ----------
    photons : int or None
        Photons per Monte Carlo run requested on the command line (``--photons``); None: the figure's
        default (``PHOTONS``). Use :meth:`n_photons`.
    backend : {"auto", "cuda", "cpu"}
        Where the Monte Carlo tracer and the profiles run.
    seed : int
        Base seed of the figure's Monte Carlo runs (each run adds its own offset, stated in the caption).
    progress : bool
        Whether Monte Carlo runs show progress bars.
    """

    photons: int | None = None
    backend: str = "auto"
    seed: int = 2026
    progress: bool = True
    default_photons: int = 100_000

    def n_photons(self, factor: float = 1.0) -> int:
        """Photons for one Monte Carlo run: ``--photons`` (or the figure's default) times ``factor``."""
        base = self.photons if self.photons is not None else self.default_photons
        return max(1, int(round(base * factor)))

    def simulate(self, layers, n_photons: int, *, seed_offset: int = 0, **kw):
        """:func:`bssrdf.mc.simulate` with this context's backend and seed (seed + ``seed_offset``)."""
        from .. import mc

        return mc.simulate(layers, n_photons, seed=self.seed + seed_offset, backend=self.backend,
                           progress=self.progress, **kw)


@dataclass
class Output:
    """A drawn figure, the data behind it and its caption."""

    figure: object                                   # matplotlib.figure.Figure
    data: dict[str, np.ndarray] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    caption: str = ""
    max_deviation: str = ""                          # one line, also in the caption
    parameters: dict = field(default_factory=dict)   # JSON-able, written into the .h5 attributes
    reference: str = "model vs Monte Carlo"          # what max_deviation compares


@dataclass(frozen=True)
class FigureSpec:
    id: str
    paper: str
    name: str
    title: str
    photons: int
    module: str

    def stem(self, out: str | os.PathLike) -> Path:
        return Path(out) / self.paper / f"{self.id}_{self.name}"

    def make(self, ctx: Context) -> Output:
        mod = importlib.import_module(self.module)
        return mod.make(ctx)


def registry() -> dict[str, FigureSpec]:
    """All figure modules of this package, by id, in id order."""
    from . import __path__ as pkg_path

    specs = {}
    for info in pkgutil.iter_modules(pkg_path):
        if info.name.startswith("_") or "_" not in info.name:
            continue
        modname = f"{__package__}.{info.name}"
        mod = importlib.import_module(modname)
        if not hasattr(mod, "make"):
            continue
        spec = FigureSpec(mod.ID, mod.PAPER, mod.NAME, mod.TITLE, int(mod.PHOTONS), modname)
        if spec.id in specs:
            raise RuntimeError(f"figure id {spec.id} is defined twice ({specs[spec.id].module}, {modname})")
        specs[spec.id] = spec
    return dict(sorted(specs.items()))


def make(figure_id: str, *, photons: int | None = None, backend: str = "auto", seed: int = 2026,
         progress: bool = True) -> Output:
    """Draw figure ``figure_id`` (e.g. "j01") and return it (nothing written)."""
    specs = registry()
    if figure_id not in specs:
        raise ValueError(f"unknown figure {figure_id!r}; known: {', '.join(specs)}")
    spec = specs[figure_id]
    ctx = Context(photons=photons, backend=backend, seed=seed, progress=progress,
                  default_photons=spec.photons)
    return spec.make(ctx)


def write(spec: FigureSpec, out: Output, directory: str | os.PathLike, *,
          seconds: float | None = None) -> Path:
    """Write ``<dir>/<paper>/<id>_<name>.{png,pdf,h5,txt}`` atomically; returns the stem."""
    import h5py

    from .. import __version__

    stem = spec.stem(directory)
    stem.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".png", ".pdf"):
        with atomic_write(stem.with_suffix(suffix)) as tmp:
            out.figure.savefig(tmp, format=suffix[1:], dpi=150 if suffix == ".png" else None,
                               bbox_inches="tight")
    with atomic_write(stem.with_suffix(".h5")) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["figure"] = f"{spec.id} {spec.title}"
            f.attrs["bssrdf_version"] = __version__
            f.attrs["parameters"] = json.dumps(out.parameters, default=float)
            f.attrs["caption"] = out.caption
            for key, value in out.data.items():
                d = f.create_dataset(key, data=np.asarray(value))
                if key in out.units:
                    d.attrs["units"] = out.units[key]
    text = f"{spec.id} {spec.title}\n\n{out.caption.strip()}\n"
    if out.max_deviation:
        text += f"\nLargest deviation, {out.reference}: {out.max_deviation}\n"
    if seconds is not None:
        text += f"\nMade in {seconds:.1f} s by bssrdf {__version__}.\n"
    with atomic_write(stem.with_suffix(".txt")) as tmp:
        tmp.write_text(text)
    return stem


def show(figure_id: str, **kw) -> Output:
    """Draw a figure in a notebook: :func:`make`, then print its caption; the figure displays itself."""
    t0 = time.perf_counter()
    out = make(figure_id, **kw)
    print(out.caption.strip())
    if out.max_deviation:
        print(f"\nLargest deviation, {out.reference}: {out.max_deviation}")
    print(f"({time.perf_counter() - t0:.1f} s)")
    return out
