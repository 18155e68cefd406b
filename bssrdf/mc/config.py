"""The run configuration of ``python -m bssrdf.mc``: a TOML file and command-line options.

Units: coefficients in mm⁻¹, lengths in mm, angles in degrees.

A TOML file holds the top-level keys of :data:`KEYS` (every one optional except ``photons`` and
``r_max``, which the command line may give instead) and one ``[[layer]]`` table per layer, from
the top of the stack down. A layer is given either by its numbers::

    [[layer]]
    sigma_a = 0.1        # absorption coefficient, mm^-1, >= 0
    sigma_s = 10.0       # scattering coefficient (not the reduced one), mm^-1, >= 0
    g = 0.9              # Henyey-Greenstein mean cosine, in (-1, 1)
    eta = 1.4            # refractive index, > 0
    thickness = 0.5      # mm, > 0; inf (or omitted) for a semi-infinite base
    roughness = 0.2      # optional: GGX alpha of the layer's top interface, in [0, 1]; 0 (default): smooth

or by a material of :mod:`bssrdf.materials` and one of its channels (the tracer is monochrome)::

    [[layer]]
    material = "marble"  # bssrdf.materials.names(); case, spaces and hyphens are ignored
    channel = "r"        # r, g, b (or red, green, blue, 0, 1, 2)
    thickness = 2.0      # mm; default inf
    roughness = 0.0      # optional, as above

The bottom of the stack is rough with the top-level key ``roughness_below`` (GGX alpha, default 0).
Unknown keys are errors. Command-line options override the file's values; ``--layer`` or
``--material`` options replace all of its ``[[layer]]`` tables. :func:`resolve` merges the two
into a :class:`RunConfig`; :meth:`RunConfig.to_toml` writes the merged configuration back as
TOML (stored in the result file, so a run can be repeated from it).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ..medium import Layer, Medium

__all__ = ["ConfigError", "Key", "KEYS", "LAYER_KEYS", "MATERIAL_KEYS", "EXAMPLE_TOML", "RunConfig",
           "resolve", "locate", "parse_count", "parse_layer", "parse_channel", "material_layer", "read_toml"]

DEFAULT_OUT = "mc_result.h5"
CHANNEL_NAMES = {"r": 0, "red": 0, "g": 1, "green": 1, "b": 2, "blue": 2}
CHANNEL_LABELS = ("R", "G", "B")


class ConfigError(ValueError):
    """Invalid run configuration; the message is one line naming where the bad value came from."""


@dataclass(frozen=True)
class Key:
    """A top-level key of the TOML file, which is also the option ``--key-with-hyphens``.

    ``kind`` is ``"count"`` (a whole number, also written 1e6), ``"int"``, ``"float"``,
    ``"choice"`` (one of ``choices``) or ``"path"`` (a file name, relative to the current
    directory). ``default`` is the value used when neither the file nor the command line gives
    one (``None``: simulate()'s own default, described by ``default_doc``).
    """

    kind: str
    unit: str
    help: str
    default: Any = None
    default_doc: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()

    @property
    def unit_doc(self) -> str:
        return f" [{self.unit}]" if self.unit else ""


# Top-level keys, in the order of --help and of RunConfig.to_toml().
KEYS: dict[str, Key] = {
    "photons": Key("count", "", "number of photon packets to trace, >= 1; 1e6 and 1_000_000 notation "
                   "accepted", required=True),
    "r_max": Key("float", "mm", "outer radius of the radial tallies R_r, T_r, R_r_single, in mm (> 0)",
                 required=True),
    "n_r": Key("int", "", "number of radial bins, each r_max/n_r mm wide (>= 1)", default=100),
    "n_z": Key("int", "", "number of depth bins of the absorption tally A_z (>= 1)", default_doc="n_r"),
    "z_max": Key("float", "mm", "depth range [0, z_max] of A_z, in mm (> 0)",
                 default_doc="the stack's thickness, or r_max for a semi-infinite base"),
    "n_above": Key("float", "", "refractive index above the stack, the lit side (dimensionless, > 0)",
                   default=1.0),
    "n_below": Key("float", "", "refractive index below the stack (dimensionless, > 0)", default=1.0),
    "roughness_below": Key("float", "", "roughness of the bottom of the stack, as the GGX alpha of a "
                           "microfacet interface, in [0, 1] (dimensionless; 0: smooth; irrelevant for a "
                           "semi-infinite base); each layer's top is set by its roughness key", default=0.0),
    "incidence_angle": Key("float", "degrees", "angle of the pencil beam from the surface normal, in "
                           "degrees, in [0, 90)", default=0.0),
    "max_path_length": Key("float", "mm", "stop each photon after this path length in mm (> 0), e.g. "
                           "c t / n for a time gate; the weight left is tallied in W_cut",
                           default_doc="no limit"),
    "seed": Key("int", "", "key of the counter-based random generator (Philox4x32-10), 0 <= seed < 2^64; "
                "photon k of a run draws the same numbers on every backend", default=0),
    "backend": Key("choice", "", "where photons are traced: cuda (GPU through CuPy), cpu (C++ extension, "
                   "OpenMP threads) or auto (the GPU when CuPy finds one, else cpu)", default="auto",
                   choices=("auto", "cuda", "cpu")),
    "precision": Key("choice", "", "floating-point type of the transport arithmetic (tallies are exact "
                     "integers either way)", default="single", choices=("single", "double")),
    "threads": Key("int", "", "OpenMP threads of the cpu backend (>= 1)", default_doc="all cores"),
    "out": Key("path", "", "the HDF5 result file: tallies with standard errors and units, all inputs, "
               "seed, version, backend; replaced if it exists, written atomically", default=DEFAULT_OUT),
    "plot": Key("path", "", "also plot R_r and T_r [mm^-2] with error bars on a log scale against r [mm], "
                "and A_z [mm^-1] against depth [mm]; the format follows the extension: .png, .pdf, .svg",
                default_doc="no plot"),
}

# keys of a [[layer]] table given by numbers: name -> (unit, description)
LAYER_KEYS: dict[str, tuple[str, str]] = {
    "sigma_a": ("mm^-1", "absorption coefficient, >= 0"),
    "sigma_s": ("mm^-1", "scattering coefficient (not the reduced one), >= 0"),
    "g": ("", "Henyey-Greenstein mean cosine, in (-1, 1)"),
    "eta": ("", "refractive index, > 0"),
    "thickness": ("mm", "> 0; inf (the default) for a semi-infinite base, last layer only"),
    "roughness": ("", "GGX alpha of the layer's top interface, in [0, 1]; default 0 (smooth)"),
}
# the numbers of a --layer option (and the keys a [[layer]] table of numbers must have, but thickness)
LAYER_FIELDS = ("sigma_a", "sigma_s", "g", "eta", "thickness")
# keys of a [[layer]] table given by a material
MATERIAL_KEYS: dict[str, tuple[str, str]] = {
    "material": ("", "name from bssrdf.materials.names()"),
    "channel": ("", "r, g or b (also red, green, blue, 0, 1, 2): the tracer is monochrome"),
    "thickness": ("mm", "> 0; default inf (a semi-infinite base)"),
    "roughness": ("", "GGX alpha of the layer's top interface, in [0, 1]; default 0 (smooth)"),
}

EXAMPLE_TOML = """\
photons = 1e6          # photon packets
seed = 1
r_max = 5.0            # mm
n_r = 100
n_above = 1.0          # air above
n_below = 1.0          # air below
backend = "auto"
out = "skin_on_marble.h5"
plot = "skin_on_marble.png"

[[layer]]              # top layer: numbers
sigma_a = 0.1          # mm^-1
sigma_s = 10.0         # mm^-1
g = 0.9
eta = 1.4
thickness = 0.2        # mm
roughness = 0.1        # GGX alpha of the layer's top interface (optional; 0: smooth)

[[layer]]              # base: a measured material, red channel, semi-infinite
material = "marble"
channel = "r"
"""


# -- small parsers ------------------------------------------------------------------------------
def parse_count(text: str) -> int:
    """A whole number written as ``1000000``, ``1_000_000``, ``1e6`` or ``2.5e5``.

    Raises
    ------
    ValueError
        If ``text`` is not a finite whole number.
    """
    try:
        d = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"expected a whole number such as 1000000 or 1e6; got {text!r}") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise ValueError(f"expected a whole number such as 1000000 or 1e6; got {text!r}")
    return int(d)


def parse_layer(text: str, label: str = "--layer") -> Layer:
    """The layer of an option ``sigma_a,sigma_s,g,eta,thickness`` (mm⁻¹, mm⁻¹, -, -, mm).

    ``thickness`` may be ``inf`` (a semi-infinite base). Errors are :class:`ConfigError` whose
    message starts with ``label``.
    """
    fields = [f.strip() for f in text.split(",")]
    if len(fields) != 5:
        raise ConfigError(f"{label} {text!r}: expected 5 comma-separated numbers sigma_a,sigma_s,g,eta,"
                          f"thickness (mm^-1, mm^-1, -, -, mm); got {len(fields)} field"
                          f"{'s' if len(fields) != 1 else ''}")
    values = []
    for name, f in zip(LAYER_FIELDS, fields, strict=True):
        try:
            values.append(float(f))
        except ValueError:
            raise ConfigError(f"{label} {text!r}: {name} is not a number: {f!r}") from None
    sigma_a, sigma_s, g, eta, thickness = values
    try:
        return Layer(Medium(sigma_a, sigma_s, g, eta), thickness)
    except ValueError as e:
        raise ConfigError(f"{label} {text!r}: {e}") from None


def parse_channel(value: str | int, n_channels: int = 3) -> int:
    """Channel index of ``value``: ``"r"``/``"g"``/``"b"``, ``"red"``..., or 0, 1, 2 (int or text).

    Raises
    ------
    ValueError
        For anything else, or an index not below ``n_channels``.
    """
    if isinstance(value, bool):
        index = None
    elif isinstance(value, int):
        index = value
    elif isinstance(value, str):
        v = value.strip().lower()
        index = CHANNEL_NAMES.get(v, int(v) if v.isdigit() else None)
    else:
        index = None
    if index is None or not 0 <= index < n_channels:
        raise ValueError(f"channel must be r, g or b (or red, green, blue, 0, 1, 2); got {value!r}")
    return index


def material_layer(name: str, channel: str | int | None, thickness: float, label: str = "--material",
                   channel_label: str | None = None, thickness_label: str | None = None,
                   roughness: float = 0.0) -> tuple[Layer, str]:
    """A layer of one channel of material ``name``, and a line saying where it comes from.

    ``roughness`` is the GGX α of the layer's top interface (dimensionless, in [0, 1]).

    Errors (unknown material, missing or bad channel, bad thickness) are :class:`ConfigError`
    whose message starts with ``label`` (``channel_label``, ``thickness_label`` for those values
    when they came from elsewhere, e.g. ``--channel``).
    """
    from .. import materials

    try:
        entry = materials.entry(name)
    except KeyError as e:
        raise ConfigError(f"{label}: {e.args[0] if e.args else e}") from None
    n = entry.medium.n_channels
    if channel is None and n > 1:
        raise ConfigError(f"{label}: material {entry.name!r} has {n} channels (R, G, B) and the tracer is "
                          "monochrome: choose one with channel r, g or b (--channel)")
    try:
        index = 0 if channel is None else parse_channel(channel, n)
    except ValueError as e:
        raise ConfigError(f"{channel_label or label}: {e}") from None
    try:
        layer = Layer(entry.medium.channel(index), thickness, roughness)
    except ValueError as e:
        raise ConfigError(f"{thickness_label or label}: {e}") from None
    ch = CHANNEL_LABELS[index] if n == 3 else str(index)
    return layer, f"material {entry.name!r}, channel {ch} ({entry.source})"


def read_toml(path: str | os.PathLike) -> tuple[dict, str]:
    """The parsed TOML file at ``path`` and its text; any failure is one :class:`ConfigError` line."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigError("reading a TOML file needs Python >= 3.11 (tomllib) or the tomli "
                              "package on Python 3.10: pip install tomli") from None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read {os.fspath(path)!r}: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{os.fspath(path)}: not a UTF-8 text file ({e.reason} at byte {e.start})") \
            from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{os.fspath(path)}: malformed TOML: {e}") from None


# -- the merged configuration -------------------------------------------------------------------
@dataclass
class RunConfig:
    """Everything a run needs: layers, :data:`KEYS` values, and where each came from.

    ``values`` maps every key of :data:`KEYS` to its value (``None``: simulate()'s default);
    ``origins`` maps the keys set by the user to ``"--option"`` or the TOML file's name;
    ``layer_labels`` names where each layer came from (for messages), ``layer_sources``
    describes each (numbers, or material and channel).
    """

    layers: tuple[Layer, ...]
    values: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)
    layer_labels: tuple[str, ...] = ()
    layer_sources: tuple[str, ...] = ()
    toml_path: str | None = None
    toml_text: str | None = None

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"RunConfig has no attribute {name!r}")

    def simulate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`bssrdf.mc.simulate` (all but ``progress``)."""
        v = self.values
        kw = {"layers": self.layers, "n_photons": v["photons"], "n_threads": v["threads"]}
        for key in ("n_above", "n_below", "roughness_below", "r_max", "n_r", "n_z", "z_max", "seed",
                    "backend", "incidence_angle", "max_path_length", "precision"):
            kw[key] = v[key]
        return kw

    def to_toml(self) -> str:
        """This configuration as a TOML file that :func:`resolve` reads back to the same run."""
        lines = ["# bssrdf.mc run configuration: lengths in mm, coefficients in mm^-1, angles in degrees"]
        for key in KEYS:
            value = self.values.get(key)
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
        for layer, source in zip(self.layers, self.layer_sources, strict=True):
            lines += ["", f"[[layer]]  # {source}"]
            for key, value in layer.to_dict().items():
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {value!r} as TOML")


def _unknown(key: str, known: Sequence[str], where: str, what: str) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return ConfigError(f"{where}: unknown {what} {key!r}{hint}; known: {', '.join(known)}")


def _toml_scalar(key: str, value: Any, where: str) -> Any:
    """Check the TOML type of top-level ``key``; ranges are simulate()'s to check."""
    spec = KEYS[key]
    kind = spec.kind
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "count":
        if number and (isinstance(value, int) or (math.isfinite(value) and value.is_integer())):
            return int(value)
        raise ConfigError(f"{where}: {key} must be a whole number (e.g. 1000000 or 1e6); got {value!r}")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: {key} must be an integer; got {value!r}")
    if kind == "float":
        if number:
            return float(value)
        raise ConfigError(f"{where}: {key} must be a number{spec.unit_doc}; got {value!r}")
    if kind == "choice":
        if isinstance(value, str) and value in spec.choices:
            return value
        raise ConfigError(f"{where}: {key} must be one of {', '.join(spec.choices)}; got {value!r}")
    if kind == "path":
        if isinstance(value, str) and value.strip():
            return value
        raise ConfigError(f"{where}: {key} must be a non-empty file name (a string); got {value!r}")
    raise AssertionError(kind)


def _toml_layer(table: Any, where: str) -> tuple[Layer, str]:
    """The layer of one ``[[layer]]`` table and a description of it."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: must be a table ([[layer]] with keys); got {table!r}")
    if "material" in table:
        for key in table:
            if key not in MATERIAL_KEYS:
                if key in LAYER_KEYS:
                    raise ConfigError(f"{where}: give either material (with channel, thickness) or "
                                      f"sigma_a, sigma_s, g, eta, thickness; got material and {key}")
                raise _unknown(key, list(MATERIAL_KEYS), where, "key")
        name = table["material"]
        if not isinstance(name, str):
            raise ConfigError(f"{where}: material must be a string; got {name!r}")
        thickness = _layer_number(table, "thickness", where, math.inf)
        roughness = _layer_number(table, "roughness", where, 0.0)
        return material_layer(name, table.get("channel"), thickness, label=where, roughness=roughness)
    for key in table:
        if key not in LAYER_KEYS:
            raise _unknown(key, list(LAYER_KEYS) + ["material", "channel"], where, "key")
    missing = [k for k in LAYER_FIELDS if k != "thickness" and k not in table]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)} (a layer needs sigma_a, sigma_s [mm^-1], "
                          "g, eta and thickness [mm, default inf], or material and channel)")
    sa, ss, g, eta = (_layer_number(table, k, where) for k in ("sigma_a", "sigma_s", "g", "eta"))
    thickness = _layer_number(table, "thickness", where, math.inf)
    roughness = _layer_number(table, "roughness", where, 0.0)
    try:
        layer = Layer(Medium(sa, ss, g, eta), thickness, roughness)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None
    return layer, "numbers"


def _layer_number(table: Mapping, key: str, where: str, default: float | None = None) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        unit = LAYER_KEYS[key][0]
        raise ConfigError(f"{where}: {key} must be a number{f' [{unit}]' if unit else ''}"
                          f"{' (inf for a semi-infinite base)' if key == 'thickness' else ''}; got {value!r}")
    return float(value)


def resolve(
    toml_path: str | None = None,
    options: Mapping[str, Any] | None = None,
    layers: Sequence[str] = (),
    material: str | None = None,
    channel: str | None = None,
    thickness: float | None = None,
) -> RunConfig:
    """Merge a TOML file and command-line options into a :class:`RunConfig`.

    Parameters
    ----------
    toml_path : str, optional
        The TOML file (schema in this module's docstring).
    options : mapping, optional
        Values of :data:`KEYS` from the command line, already of the right type; ``None``
        values are ignored. They override the file's.
    layers : sequence of str
        ``--layer`` texts ``sigma_a,sigma_s,g,eta,thickness`` (mm⁻¹, mm⁻¹, -, -, mm).
    material, channel, thickness : optional
        ``--material NAME --channel C --thickness MM`` (one layer; thickness default inf).
        ``layers`` or ``material`` replace the file's ``[[layer]]`` tables.

    Raises
    ------
    ConfigError
        For any invalid input, with one line naming the file or option it came from. Ranges of
        the top-level values are left to :func:`bssrdf.mc.simulate`.
    """
    values: dict[str, Any] = {k: spec.default for k, spec in KEYS.items()}
    origins: dict[str, str] = {}
    layer_objs: list[Layer] = []
    labels: list[str] = []
    sources: list[str] = []
    text = None

    if toml_path is not None:
        data, text = read_toml(toml_path)
        name = os.fspath(toml_path)
        for key, value in data.items():
            if key == "layer":
                continue
            if key not in KEYS:
                if key in ("layers", "n_photons", "n_threads"):
                    hint = {"layers": "layer", "n_photons": "photons", "n_threads": "threads"}[key]
                    raise ConfigError(f"{name}: unknown key {key!r} (did you mean {hint}?)")
                if key in LAYER_KEYS or key in MATERIAL_KEYS:
                    raise ConfigError(f"{name}: {key} belongs in a [[layer]] table, not at the top level")
                raise _unknown(key, list(KEYS) + ["layer"], name, "key")
            values[key] = _toml_scalar(key, value, name)
            origins[key] = name
        tables = data.get("layer", [])
        if not isinstance(tables, list):
            raise ConfigError(f"{name}: layer must be an array of tables: write each layer as [[layer]]")
        for i, table in enumerate(tables):
            where = f"{name}: [[layer]] {i + 1}"
            layer, source = _toml_layer(table, where)
            layer_objs.append(layer)
            labels.append(where)
            sources.append(source)

    for key, value in (options or {}).items():
        if key not in KEYS:
            raise KeyError(key)
        if value is not None:
            values[key] = value
            origins[key] = "--" + key.replace("_", "-")

    if material is None:
        for opt, v in (("--channel", channel), ("--thickness", thickness)):
            if v is not None:
                raise ConfigError(f"{opt} applies to --material: give --material NAME")
    if layers and material is not None:
        raise ConfigError("give either --layer options or --material, not both (a TOML file can stack "
                          "materials and numbers: see --help)")
    if layers:
        layer_objs = [parse_layer(t, f"--layer #{i + 1}") for i, t in enumerate(layers)]
        labels = [f"--layer #{i + 1} {t!r}" for i, t in enumerate(layers)]
        sources = ["numbers"] * len(layers)
    elif material is not None:
        layer, source = material_layer(material, channel, math.inf if thickness is None else thickness,
                                       label=f"--material {material!r}", channel_label="--channel",
                                       thickness_label="--thickness")
        layer_objs, labels, sources = [layer], [f"--material {material!r}"], [source]

    if not layer_objs:
        raise ConfigError("no layers: give --layer sigma_a,sigma_s,g,eta,thickness, --material NAME "
                          "--channel C, or [[layer]] tables in a TOML file (see --help)")
    for key, spec in KEYS.items():
        if spec.required and values[key] is None:
            opt = "--" + key.replace("_", "-")
            raise ConfigError(f"{opt} is required ({key} in a TOML file): {spec.help}")
    for key in ("out", "plot"):
        if values[key] is not None and not str(values[key]).strip():
            raise ConfigError(f"{origins.get(key, key)}: {key} must be a non-empty file name")
    return RunConfig(tuple(layer_objs), values, origins, tuple(labels), tuple(sources),
                     None if toml_path is None else os.fspath(toml_path), text)


_NAME = re.compile(r"^([A-Za-z_]+)(\[(\d+)\])?(.*)$", re.S)
_PARAM_TO_KEY = {"n_photons": "photons", "n_threads": "threads"}


def locate(message: str, config: RunConfig) -> str:
    """Name where the value behind a :func:`simulate` ``ValueError`` came from.

    ``"r_max must be ..."`` becomes ``"--r-max must be ..."`` or ``"run.toml: r_max must be ..."``,
    ``"layers[1]: ..."`` names that layer's option or table; other messages are returned as they are.
    """
    m = _NAME.match(message)
    if m is None:
        return message
    name, index, rest = m.group(1), m.group(3), m.group(4)
    if name == "layers" and index is not None:
        i = int(index)
        if 0 <= i < len(config.layer_labels):
            return f"{config.layer_labels[i]}{rest}"
        return message
    key = _PARAM_TO_KEY.get(name, name)
    origin = config.origins.get(key)
    if origin is None or index is not None:
        return message
    if origin.startswith("--"):
        return f"{origin}{rest}"
    return f"{origin}: {key}{rest}"
