"""The result of a Monte Carlo run: tallies, their standard errors and everything that made them.

Units: lengths in mm; ``R_r``, ``T_r``, ``R_r_single`` per unit area [mm⁻²] and ``A_z`` per unit
depth [mm⁻¹], all per unit incident power; total tallies are fractions of the incident power.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_write
from ..medium import Layer, Medium

__all__ = ["MCResult", "load", "TALLIES"]

# name -> (unit, description); the order is the order of the HDF5 file and of summary().
TALLIES: dict[str, tuple[str, str]] = {
    "R_specular": ("1", "specular reflectance at the top surface (smooth top: Fresnel's, exact, no error; "
                   "rough top: tallied, with its error)"),
    "R_diffuse": ("1", "all weight leaving through the top after entering the stack"),
    "R_unscattered": ("1", "part of R_diffuse that never scattered (reflected by interfaces below)"),
    "R_single": ("1", "part of R_diffuse that scattered exactly once"),
    "T_total": ("1", "all weight leaving through the bottom"),
    "T_unscattered": ("1", "part of T_total that never scattered"),
    "A_total": ("1", "absorbed weight, all layers"),
    "A_layers": ("1", "absorbed weight per layer"),
    "W_cut": ("1", "weight of photons stopped at max_path_length"),
    "roulette_net": ("1", "weight Russian roulette added minus weight it removed (expectation 0)"),
    "R_r": ("mm^-2", "diffuse reflectance per unit area in radial bins r_edges"),
    "T_r": ("mm^-2", "transmittance per unit area in radial bins r_edges"),
    "R_r_single": ("mm^-2", "R_r of photons that scattered exactly once"),
    "A_z": ("mm^-1", "absorbed weight per unit depth in bins z_edges"),
    "A_outside_z": ("1", "absorbed weight deeper than z_edges[-1] (not in A_z)"),
}


@dataclass
class MCResult:
    """Tallies of a Monte Carlo run (see :func:`bssrdf.mc.simulate`), with standard errors.

    Every tally of :data:`TALLIES` is an attribute (float or NumPy array); ``stderr(name)``
    gives its standard error, estimated from the spread of ``n_batches`` independent batches of
    photons. ``r_edges`` [mm] bin the radial tallies (distance from the point of entry) and
    ``z_edges`` [mm] the depth tally.

    ``partial`` is True when the run was interrupted (Ctrl-C): the tallies then describe the
    ``n_photons`` photons traced, of ``n_requested``.

    The roughness of the interfaces (GGX α, dimensionless) is each layer's ``roughness`` (its top)
    and ``roughness_below`` (the bottom of the stack).
    """

    layers: tuple[Layer, ...]
    n_above: float
    n_below: float
    incidence_angle: float
    max_path_length: float | None
    r_edges: np.ndarray
    z_edges: np.ndarray
    tallies: dict[str, np.ndarray | float]
    errors: dict[str, np.ndarray | float]
    n_photons: int
    n_requested: int
    seed: int
    backend: str
    precision: str
    wall_time: float
    events: int
    n_batches: int
    partial: bool = False
    version: str = ""
    device: str = ""
    extra: dict = field(default_factory=dict)
    roughness_below: float = 0.0

    # -- tallies as attributes ---------------------------------------------------------------
    def __getattr__(self, name: str):
        tallies = self.__dict__.get("tallies")
        if tallies is not None and name in tallies:
            return tallies[name]
        raise AttributeError(f"MCResult has no attribute {name!r}")

    def stderr(self, name: str) -> np.ndarray | float:
        """Standard error of tally ``name`` (same shape and units as the tally)."""
        if name not in self.tallies:
            raise KeyError(f"unknown tally {name!r}; tallies: {', '.join(self.tallies)}")
        return self.errors[name]

    @property
    def r_centers(self) -> np.ndarray:
        """Centres of the radial bins [mm]."""
        return 0.5 * (self.r_edges[1:] + self.r_edges[:-1])

    @property
    def z_centers(self) -> np.ndarray:
        """Centres of the depth bins [mm]."""
        return 0.5 * (self.z_edges[1:] + self.z_edges[:-1])

    @property
    def energy_balance(self) -> float:
        """R_specular + R_diffuse + T_total + A_total (1 up to roulette's zero-mean net and W_cut)."""
        return float(self.R_specular + self.R_diffuse + self.T_total + self.A_total)

    @property
    def rough(self) -> bool:
        """True when some interface of the run has a roughness (GGX α > 0)."""
        return self.roughness_below > 0 or any(L.roughness > 0 for L in self.layers)

    @property
    def photons_per_second(self) -> float:
        return self.n_photons / self.wall_time if self.wall_time > 0 else float("nan")

    def summary(self) -> str:
        """A short human-readable table of the totals with their standard errors."""
        state = f"PARTIAL: {self.n_photons} of {self.n_requested} photons" if self.partial else \
            f"{self.n_photons} photons"
        lines = [f"Monte Carlo, {state}, seed {self.seed}, backend {self.backend} ({self.precision}), "
                 f"{self.wall_time:.3g} s ({self.photons_per_second:.3g} photons/s)"]
        names = ["R_specular", "R_diffuse", "R_single", "T_total", "T_unscattered", "A_total",
                 "W_cut", "roulette_net"]
        for name in names:
            v, e = self.tallies[name], self.errors[name]
            lines.append(f"  {name:<14s} {v:.6f} ± {e:.6f}")
        for i, (a, e) in enumerate(zip(self.A_layers, self.errors["A_layers"], strict=True)):
            lines.append(f"  A_layers[{i}]    {a:.6f} ± {e:.6f}")
        lines.append(f"  R_s+R_d+T+A    {self.energy_balance:.6f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"MCResult(n_photons={self.n_photons}, R_diffuse={self.R_diffuse:.5g}, "
                f"T_total={self.T_total:.5g}, A_total={self.A_total:.5g}, backend={self.backend!r}"
                f"{', partial' if self.partial else ''})")

    # -- files ---------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the result to an HDF5 file, atomically (a temporary file renamed into place).

        Every tally is a dataset with attributes ``units`` and ``description`` and a sibling
        ``<name>_stderr``; inputs and provenance are attributes of the root group, the layers a
        table ``layers`` (sigma_a, sigma_s [mm⁻¹], g, eta, thickness [mm], roughness: GGX α of the
        layer's top interface) and the attribute ``roughness_below`` (GGX α of the stack's bottom).
        """
        import h5py

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = "bssrdf.mc result 1"
                f.attrs["bssrdf_version"] = self.version
                f.attrs["units"] = "lengths mm, coefficients mm^-1, R_r/T_r mm^-2, A_z mm^-1"
                for key in ("n_above", "n_below", "roughness_below", "incidence_angle", "n_photons",
                            "n_requested",
                            "seed", "backend", "precision", "wall_time", "events", "n_batches",
                            "partial", "device"):
                    f.attrs[key] = getattr(self, key)
                f.attrs["seed"] = str(self.seed)  # may exceed int64
                f.attrs["incidence_angle_units"] = "degrees"
                f.attrs["max_path_length"] = (np.nan if self.max_path_length is None
                                              else self.max_path_length)
                for k, v in self.extra.items():
                    if k in f.attrs:
                        raise ValueError(f"MCResult.extra: {k!r} would overwrite a standard attribute")
                    f.attrs[k] = v
                layers = np.array([(float(L.medium.sigma_a), float(L.medium.sigma_s),
                                    float(L.medium.g), float(L.medium.eta), L.thickness, L.roughness)
                                   for L in self.layers],
                                  dtype=[("sigma_a", "f8"), ("sigma_s", "f8"), ("g", "f8"),
                                         ("eta", "f8"), ("thickness", "f8"), ("roughness", "f8")])
                d = f.create_dataset("layers", data=layers)
                d.attrs["units"] = ("sigma_a, sigma_s: mm^-1; thickness: mm (inf: semi-infinite); "
                                    "roughness: GGX alpha of the layer's top interface, dimensionless")
                for name, edges in (("r_edges", self.r_edges), ("z_edges", self.z_edges)):
                    f.create_dataset(name, data=edges).attrs["units"] = "mm"
                for name, (unit, desc) in TALLIES.items():
                    d = f.create_dataset(name, data=self.tallies[name])
                    d.attrs["units"] = unit
                    d.attrs["description"] = desc
                    e = f.create_dataset(f"{name}_stderr", data=self.errors[name])
                    e.attrs["units"] = unit
                    e.attrs["description"] = f"standard error of {name}"
        return target


def load(path: str | os.PathLike) -> MCResult:
    """Read a result written by :meth:`MCResult.save`.

    Files written before rough interfaces existed (no ``roughness`` column, no ``roughness_below``)
    read as smooth: roughness 0.
    """
    import h5py

    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != "bssrdf.mc result 1":
            raise ValueError(f"{path}: not a bssrdf Monte Carlo result file")
        a = f.attrs
        rows = f["layers"][()]
        rough = "roughness" in (rows.dtype.names or ())
        layers = tuple(Layer(Medium(row["sigma_a"], row["sigma_s"], row["g"], row["eta"]),
                             float(row["thickness"]), float(row["roughness"]) if rough else 0.0)
                       for row in rows)
        tallies, errors = {}, {}
        for name in TALLIES:
            v = f[name][()]
            tallies[name] = float(v) if np.ndim(v) == 0 else np.asarray(v)
            e = f[f"{name}_stderr"][()]
            errors[name] = float(e) if np.ndim(e) == 0 else np.asarray(e)
        mpl = float(a["max_path_length"])
        known = {"format", "bssrdf_version", "units", "n_above", "n_below", "roughness_below",
                 "incidence_angle", "n_photons", "n_requested", "seed", "backend", "precision", "wall_time",
                 "events", "n_batches", "partial", "device", "incidence_angle_units", "max_path_length"}
        return MCResult(
            layers=layers, n_above=float(a["n_above"]), n_below=float(a["n_below"]),
            incidence_angle=float(a["incidence_angle"]),
            max_path_length=None if np.isnan(mpl) else mpl,
            r_edges=f["r_edges"][()], z_edges=f["z_edges"][()], tallies=tallies, errors=errors,
            n_photons=int(a["n_photons"]), n_requested=int(a["n_requested"]), seed=int(a["seed"]),
            backend=str(a["backend"]), precision=str(a["precision"]), wall_time=float(a["wall_time"]),
            events=int(a["events"]), n_batches=int(a["n_batches"]), partial=bool(a["partial"]),
            version=str(a["bssrdf_version"]), device=str(a["device"]),
            extra={k: a[k] for k in a if k not in known},
            roughness_below=float(a.get("roughness_below", 0.0)),
        )
