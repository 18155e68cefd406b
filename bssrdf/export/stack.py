"""Stack files: a layered stack for ``python -m bssrdf.export STACK.toml --format table``.

A stack file is the TOML file of the Monte Carlo tracer (:mod:`bssrdf.mc.config`, ``python -m
bssrdf.mc --help``), read with the tracer's own code, so one file serves both: one ``[[layer]]``
table per layer from the top of the stack down, each given by its numbers or by a measured
material and channel, and the indices around the stack at the top level::

    n_above = 1.0          # refractive index above the stack (lit side), > 0
    n_below = 1.0          # below it, > 0 (unused on a semi-infinite base)
    roughness_below = 0.0  # GGX alpha of the bottom interface, in [0, 1] (optional)

    [[layer]]
    sigma_a = 0.1          # mm^-1
    sigma_s = 10.0         # mm^-1 (not the reduced one)
    g = 0.9
    eta = 1.4
    thickness = 0.2        # mm; inf (or omitted) for a semi-infinite base, last layer only
    roughness = 0.1        # GGX alpha of the layer's top interface (optional; 0: smooth)

    [[layer]]
    material = "marble"    # bssrdf.materials.names()
    channel = "r"          # optional here: without it, all the material's channels

Units: σ in mm⁻¹, thicknesses in mm. The tracer's run keys (``photons``, ``r_max``, ``n_r``,
``seed``, ``out``, ...) are type-checked as the tracer does and otherwise ignored: ``r_max`` there
is the radius of the tracer's tallies, not the table's. Unknown keys are errors.

Beyond what the monochrome tracer reads, the export also accepts (such a file is then for the
export only): a material layer without ``channel`` (all of the material's channels), and
``sigma_a``, ``sigma_s``, ``g``, ``eta`` given as lists, one value per channel. Single-channel
layers are broadcast to the channels of the others; layers with different channel counts are an
error. ``roughness`` and ``roughness_below`` are read here whether or not the tracer's
configuration knows them yet.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..mc import config as _config
from ..mc.config import KEYS, LAYER_KEYS, MATERIAL_KEYS, ConfigError, read_toml
from ..medium import Layer, Medium, check_roughness

__all__ = ["Stack", "load_stack", "is_stack_file", "stack_from_dict", "STACK_KEYS"]

# top-level keys the export uses (the tracer's others are checked and ignored)
STACK_KEYS = ("layer", "n_above", "n_below", "roughness_below")
_PER_CHANNEL = ("sigma_a", "sigma_s", "g", "eta")


@dataclass(frozen=True)
class Stack:
    """A stack of layers and what surrounds it, as read from a stack file.

    Attributes
    ----------
    layers : tuple of bssrdf.Layer
        From the top down (σ in mm⁻¹, thickness in mm, roughness the GGX α of each top interface);
        all with the same channels.
    n_above, n_below : float
        Refractive indices above (lit side) and below the stack (dimensionless, > 0).
    roughness_below : float
        GGX α of the bottom interface (dimensionless, in [0, 1]).
    """

    layers: tuple[Layer, ...]
    n_above: float = 1.0
    n_below: float = 1.0
    roughness_below: float = 0.0

    @property
    def n_channels(self) -> int:
        """Number of channels of the layers' media."""
        return self.layers[0].medium.n_channels

    def channel(self, i: int) -> Stack:
        """The same stack with every layer's medium reduced to channel ``i``."""
        layers = tuple(Layer(L.medium.channel(i), L.thickness, L.roughness) for L in self.layers)
        return Stack(layers, self.n_above, self.n_below, self.roughness_below)

    def kwargs(self) -> dict:
        """Keyword arguments of :func:`bssrdf.export.table.layered_table` and the layered profiles."""
        return {"n_above": self.n_above, "n_below": self.n_below, "roughness_below": self.roughness_below}


def is_stack_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a readable ``.toml`` file with ``[[layer]]`` tables (or a ``layers`` key,
    which :func:`load_stack` then reports as a misspelling)."""
    p = Path(path)
    if p.suffix.lower() != ".toml" or not p.is_file():
        return False
    try:
        data, _ = read_toml(p)
    except ConfigError:
        return False
    return "layer" in data or "layers" in data


def load_stack(path: str | os.PathLike) -> Stack:
    """Read a stack file (module notes).

    Raises
    ------
    ConfigError (a ValueError)
        For an unreadable or malformed file, unknown keys, missing or invalid values; one line that
        names the file (and the ``[[layer]]`` table) where the problem is.
    """
    data, _ = read_toml(path)
    return stack_from_dict(data, os.fspath(path))


def stack_from_dict(data: Mapping, source: str = "stack") -> Stack:
    """A :class:`Stack` from the parsed TOML of a stack file; errors name ``source``."""
    values = {"n_above": 1.0, "n_below": 1.0, "roughness_below": 0.0}
    for key, value in data.items():
        if key == "layer":
            continue
        if key == "roughness_below":
            values[key] = _number(value, f"{source}: roughness_below", "GGX alpha, in [0, 1]")
            try:
                values[key] = check_roughness("roughness_below", values[key])
            except ValueError as e:
                raise ConfigError(f"{source}: {e}") from None
            continue
        if key == "layers":
            raise ConfigError(f"{source}: unknown key 'layers' (did you mean layer? write each layer as "
                              "a [[layer]] table)")
        if key in LAYER_KEYS or key in MATERIAL_KEYS or key == "roughness":
            raise ConfigError(f"{source}: {key} belongs in a [[layer]] table, not at the top level")
        if key not in KEYS:
            raise _config._unknown(key, list(STACK_KEYS) + [k for k in KEYS if k not in STACK_KEYS],
                                   source, "key")
        checked = _config._toml_scalar(key, value, source)  # the tracer's type check
        if key in ("n_above", "n_below"):
            if not (math.isfinite(checked) and checked > 0):
                raise ConfigError(f"{source}: {key} (a refractive index) must be finite and > 0; "
                                  f"got {value!r}")
            values[key] = checked
    tables = data.get("layer")
    if tables is None:
        raise ConfigError(f"{source}: no layers: give one [[layer]] table per layer, from the top down")
    if not isinstance(tables, list):
        raise ConfigError(f"{source}: layer must be an array of tables: write each layer as [[layer]]")
    if not tables:
        raise ConfigError(f"{source}: no layers: give one [[layer]] table per layer, from the top down")
    layers = [_layer(t, f"{source}: [[layer]] {i + 1}") for i, t in enumerate(tables)]
    for i, L in enumerate(layers[:-1]):
        if L.semi_infinite:
            raise ConfigError(f"{source}: [[layer]] {i + 1}: thickness must be finite and > 0 mm; only the "
                              "last layer may be semi-infinite (thickness inf or omitted)")
    return Stack(_common_channels(layers, source), **values)


# -- layers ---------------------------------------------------------------------------------------
def _layer(table, where: str) -> Layer:
    """One ``[[layer]]`` table: the tracer's reader, plus roughness and the export's extensions."""
    if not isinstance(table, Mapping):
        return _config._toml_layer(table, where)[0]  # raises its message
    t = dict(table)
    roughness = _number(t.pop("roughness", 0.0), f"{where}: roughness", "GGX alpha, in [0, 1]")
    if "material" in t and "channel" not in t and set(t) <= set(MATERIAL_KEYS):
        layer = _material_all_channels(t, where)
    elif "material" not in t and any(isinstance(t.get(k), list) for k in _PER_CHANNEL):
        layer = _per_channel_numbers(t, where)
    else:
        layer = _config._toml_layer(t, where)[0]
    try:
        return Layer(layer.medium, layer.thickness, roughness)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


def _number(value, what: str, doc: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number ({doc}); got {value!r}")
    return float(value)


def _material_all_channels(t: dict, where: str) -> Layer:
    """A material layer without ``channel``: every channel of the material."""
    from .. import materials

    name = t["material"]
    if not isinstance(name, str):
        raise ConfigError(f"{where}: material must be a string; got {name!r}")
    try:
        entry = materials.entry(name)
    except KeyError as e:
        raise ConfigError(f"{where}: {e.args[0] if e.args else e}") from None
    thickness = _config._layer_number(t, "thickness", where, math.inf)
    try:
        return Layer(entry.medium, thickness)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


def _per_channel_numbers(t: dict, where: str) -> Layer:
    """A layer of numbers some of which are lists (one per channel): each channel is read by the
    tracer's reader, then the channels are joined."""
    if isinstance(t.get("thickness"), list):
        raise ConfigError(f"{where}: thickness must be one number [mm], not a list")
    lengths = {k: len(t[k]) for k in _PER_CHANNEL if isinstance(t.get(k), list)}
    if len(set(lengths.values())) != 1 or 0 in lengths.values():
        listing = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        raise ConfigError(f"{where}: per-channel lists must be non-empty and of one length; got {listing}")
    n = next(iter(lengths.values()))
    per = [_config._toml_layer({k: (v[c] if k in lengths else v) for k, v in t.items()},
                               f"{where} (channel {c})")[0] for c in range(n)]
    medium = Medium(*(np.array([float(getattr(L.medium, k)) for L in per]) for k in _PER_CHANNEL))
    return Layer(medium, per[0].thickness)


def _common_channels(layers: list[Layer], source: str) -> tuple[Layer, ...]:
    """The layers with one channel shape: single-channel layers broadcast to the others' channels."""
    if all(L.medium.shape == () for L in layers):
        return tuple(layers)
    C = max(L.medium.n_channels for L in layers)
    if any(L.medium.n_channels not in (1, C) for L in layers):
        listing = ", ".join(f"[[layer]] {i + 1}: {L.medium.n_channels}" for i, L in enumerate(layers))
        raise ConfigError(f"{source}: layers have different channel counts ({listing}); give every "
                          "layer one value, or one value per channel of the others")
    out = []
    for L in layers:
        m = L.medium
        if m.shape != (C,):
            m = Medium(*(np.full(C, float(np.ravel(getattr(m, k))[0])) for k in _PER_CHANNEL))
        out.append(Layer(m, L.thickness, L.roughness))
    return tuple(out)
