"""Text and dictionary exports of a :class:`~bssrdf.Medium` for pbrt-v4, Blender, OpenPBR and RenderMan.

Each producer has a parser that reads its output back, so that an export can be checked by a round
trip. Numbers are written with Python's shortest round-trip ``repr``, so a parsed value equals the
written float exactly.

``scale`` is always **scene units per millimetre** (``units_per_mm``: 1 for a scene modelled in mm,
0.1 in cm, 0.001 in metres), the ``--scale`` of ``python -m bssrdf.export``. Each format states in
its output how it carries that length (see :mod:`bssrdf.export.conventions` for the definitions).
A medium is RGB (3 channels) or single-channel (written as grey).
"""

from __future__ import annotations

import ast
import json
import math
import re
import textwrap
import warnings
import xml.etree.ElementTree as ET
from typing import Any, NamedTuple

import numpy as np

from ..medium import Medium
from . import conventions as cv

__all__ = [
    "pbrt_v4", "parse_pbrt_v4", "PbrtParsed",
    "blender", "blender_script", "parse_blender_script",
    "openpbr", "openpbr_mtlx", "parse_openpbr_mtlx",
    "renderman", "renderman_rib", "parse_renderman_rib",
    "to_json", "BLENDER_SUBSURFACE_METHOD",
]

BLENDER_SUBSURFACE_METHOD = "RANDOM_WALK_SKIN"


def _num(x: float) -> str:
    """Shortest round-trip text of a float (``repr``); integers keep a trailing ``.0``."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot export the non-finite value {x!r}")
    return repr(x)


def _rgb(values) -> list[float]:
    """Three floats: an RGB channel vector, or one value repeated (grey)."""
    v = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if v.size == 1:
        v = np.repeat(v, 3)
    if v.size != 3:
        raise ValueError(f"renderer exports need an RGB (3-channel) or single-channel medium; got {v.size} "
                         "channels (export one channel with Medium.channel(i))")
    return [float(x) for x in v]


def _medium(medium) -> Medium:
    if not isinstance(medium, Medium):
        raise TypeError(f"medium must be a bssrdf.Medium; got {type(medium).__name__}")
    _rgb(medium.sigma_a)  # channel count check
    return medium


def _quote(name: str) -> str:
    if not isinstance(name, str) or '"' in name or "\n" in name:
        raise ValueError(f"material name must be a string without quotes or newlines; got {name!r}")
    return name


def to_json(d: dict) -> str:
    """A dictionary export as JSON text (floats round-trip exactly)."""
    return json.dumps(d, indent=2) + "\n"


# -- pbrt-v4 -----------------------------------------------------------------------------------------
def pbrt_v4(medium: Medium, scale: float = 1.0, name: str | None = None) -> str:
    """A pbrt-v4 ``subsurface`` material block, ready to paste into a scene file.

    The coefficients are written in mm⁻¹ as ``"rgb sigma_a"``/``"rgb sigma_s"`` and pbrt's own
    ``"float scale"`` carries the unit: pbrt multiplies σ by ``scale`` (pbrt-v4
    ``SubsurfaceMaterial::GetBSSRDF``: ``sig_a = scale * sigma_a``), so ``scale`` = 1/units_per_mm
    gives σ per scene unit (renderer_conventions.md row "pbrt-v4 subsurface"; see
    :func:`bssrdf.export.conventions.pbrt_sigma`). Parameter names and defaults are those of pbrt-v4
    src/pbrt/materials.cpp ``SubsurfaceMaterial::Create`` ("sigma_a", "sigma_s", "scale",
    "eta" (default 1.33), "g" (default 0)). ``eta`` assumes air outside. pbrt takes one ``g`` and one
    ``eta``: per-channel g becomes the mean with σ's kept per channel (an :class:`ExportWarning`),
    per-channel η is an error. RGB values are upsampled to spectra by pbrt (``RGBUnboundedSpectrum``).

    Parameters
    ----------
    medium : Medium
        RGB or single-channel; σ in mm⁻¹.
    scale : float, default 1.0
        Scene units per millimetre (> 0).
    name : str, optional
        With a name, a ``MakeNamedMaterial`` block (use it with ``NamedMaterial "name"``); without,
        a ``Material "subsurface"`` statement that applies to the shapes that follow it.

    Returns
    -------
    str
        The block, with comments stating the units.
    """
    _medium(medium)
    upm = cv.check_units_per_mm(scale)
    sigma_a, sigma_s, g = cv.pbrt_sigma(medium, 1.0)  # mm^-1; the unit goes into pbrt's scale
    eta = cv.common_value("eta", medium.eta, target="pbrt-v4")
    params = [
        ("rgb sigma_a", _rgb(sigma_a)),
        ("rgb sigma_s", _rgb(sigma_s)),
        ("float scale", [1.0 / upm]),
        ("float eta", [eta]),
        ("float g", [g]),
    ]
    lines = [
        "# bssrdf export for pbrt-v4 (subsurface material, sigma_a/sigma_s form).",
        "# sigma_a, sigma_s in mm^-1; pbrt multiplies them by \"scale\" = mm per scene unit "
        f"(1/{_num(upm)} scene units per mm),",
        "# so the coefficients pbrt uses are per scene unit. eta = n_material (air outside);",
        "# g = Henyey-Greenstein mean cosine.",
    ]
    indent = "    "
    if name is None:
        lines.append('Material "subsurface"')
    else:
        lines += [f'MakeNamedMaterial "{_quote(name)}"', f'{indent}"string type" [ "subsurface" ]']
    for key, values in params:
        lines.append(f'{indent}"{key}" [ ' + " ".join(_num(v) for v in values) + " ]")
    return "\n".join(lines) + "\n"


class PbrtParsed(NamedTuple):
    """What :func:`parse_pbrt_v4` reads: σ as written (multiply by ``scale`` for per-scene-unit)."""

    sigma_a: np.ndarray
    sigma_s: np.ndarray
    g: float
    eta: float
    scale: float
    name: str | None

    def medium(self, units_per_mm: float = 1.0) -> Medium:
        """The medium in mm⁻¹: σ·scale·units_per_mm (:func:`conventions.medium_from_pbrt_sigma`)."""
        return cv.medium_from_pbrt_sigma(self.sigma_a, self.sigma_s, self.g, self.eta, units_per_mm,
                                         self.scale)


_PBRT_TOKEN = re.compile(r'"([^"]*)"|(\[)|(\])|([^\s\[\]"#]+)|(#[^\n]*)')


def parse_pbrt_v4(text: str) -> PbrtParsed:
    """Read the first subsurface material of a pbrt-v4 scene fragment (``Material`` or ``MakeNamedMaterial``).

    Understands the parameter syntax of pbrt-v4 scene files (``"type name" [ values ]`` or a bare
    value, ``#`` comments). Missing parameters take pbrt-v4's defaults (scale 1, eta 1.33, g 0);
    ``sigma_a`` and ``sigma_s`` are required (the other three ways pbrt allows are not read).

    Raises
    ------
    ValueError
        If there is no subsurface material or a parameter is malformed.
    """
    tokens: list[tuple[str, str]] = []
    for m in _PBRT_TOKEN.finditer(text):
        if m.group(5) is not None:  # a comment
            continue
        if m.group(1) is not None:
            tokens.append(("str", m.group(1)))
        elif m.group(2):
            tokens.append(("[", "["))
        elif m.group(3):
            tokens.append(("]", "]"))
        else:
            tokens.append(("word", m.group(4)))
    i, start, name = 0, None, None
    while i < len(tokens):
        kind, val = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "word" and val == "Material" and nxt == ("str", "subsurface"):
            start = i + 2
            break
        if kind == "word" and val == "MakeNamedMaterial" and nxt[0] == "str":
            name, start = nxt[1], i + 2
            break
        i += 1
    if start is None:
        raise ValueError('no pbrt-v4 subsurface material (Material "subsurface" or MakeNamedMaterial) found')
    params: dict[str, tuple[str, list[str]]] = {}
    j = start
    while j < len(tokens) and tokens[j][0] == "str":
        decl = tokens[j][1].split()
        if len(decl) != 2:
            raise ValueError(f"malformed pbrt parameter declaration {tokens[j][1]!r}")
        j += 1
        values: list[str] = []
        if j < len(tokens) and tokens[j][0] == "[":
            j += 1
            while j < len(tokens) and tokens[j][0] != "]":
                values.append(tokens[j][1])
                j += 1
            if j == len(tokens):
                raise ValueError(f"unterminated [ ] after {' '.join(decl)!r}")
            j += 1
        elif j < len(tokens):
            values.append(tokens[j][1])
            j += 1
        params[decl[1]] = (decl[0], values)
    if name is not None and params.get("type", ("", [""]))[1] != ["subsurface"]:
        raise ValueError(f"named material {name!r} is not of type \"subsurface\"")

    def floats(key: str, n: int | None, default=None):
        if key not in params:
            if default is None:
                raise ValueError(f"pbrt subsurface material has no {key!r}")
            return default
        try:
            out = [float(v) for v in params[key][1]]
        except ValueError:
            raise ValueError(f"pbrt parameter {key!r} has non-numeric values {params[key][1]}") from None
        if n is not None and len(out) != n:
            raise ValueError(f"pbrt parameter {key!r} needs {n} values; got {len(out)}")
        return out

    return PbrtParsed(np.array(floats("sigma_a", 3)), np.array(floats("sigma_s", 3)),
                      floats("g", 1, [0.0])[0], floats("eta", 1, [1.33])[0], floats("scale", 1, [1.0])[0],
                      name)


# -- Blender (Cycles) -----------------------------------------------------------------------------------
def blender(medium: Medium, scale: float = 1.0) -> dict[str, Any]:
    """Principled BSDF settings (Blender 4.x socket names) for Cycles' Random Walk (Skin) method.

    Convention (renderer_conventions.md row "Cycles Random Walk (Skin)"; see
    :func:`bssrdf.export.conventions.cycles_skin_color_radius`): ``Base Color`` = the dipole total
    diffuse reflectance R_d(α', η) (scene-linear), ``Subsurface Radius`` × ``Subsurface Scale`` =
    1/σtr in scene units, so that Cycles' radius adjustment (× sqrt(3(1 − α'))) gives back the
    medium's σ't. The radius is normalised to a largest channel of 1 and the scale carries the
    length (largest 1/σtr [mm] × units_per_mm). ``Subsurface IOR`` (and the surface ``IOR``) = η,
    ``Subsurface Anisotropy`` = g, ``Subsurface Weight`` = 1. Cycles clamps the subsurface IOR to
    [1.01, 3.8] and the anisotropy to [0, 0.9]: values outside give an :class:`ExportWarning`.

    Returns
    -------
    dict
        ``{"node": "ShaderNodeBsdfPrincipled", "subsurface_method": "RANDOM_WALK_SKIN",
        "inputs": {socket name: value}, "definition": ..., "units": ...}``.
    """
    _medium(medium)
    upm = cv.check_units_per_mm(scale)
    color, radius = cv.cycles_skin_color_radius(medium, upm)
    r = np.array(_rgb(radius))
    length = float(np.max(r))
    eta = cv.common_value("eta", medium.eta, target="Blender")
    g = cv.common_value("g", medium.g, average=True, target="Blender")
    if not 1.01 <= eta <= 3.8:
        warnings.warn(f"Blender: Cycles clamps Subsurface IOR to [1.01, 3.8]; eta = {eta:g}",
                      cv.ExportWarning, stacklevel=2)
    if not 0.0 <= g <= 0.9:
        warnings.warn(f"Blender: Cycles clamps Subsurface Anisotropy to [0, 0.9]; g = {g:g}",
                      cv.ExportWarning, stacklevel=2)
    return {
        "node": "ShaderNodeBsdfPrincipled",
        "subsurface_method": BLENDER_SUBSURFACE_METHOD,
        "inputs": {
            "Base Color": _rgb(color) + [1.0],
            "Subsurface Weight": 1.0,
            "Subsurface Radius": (r / length).tolist(),
            "Subsurface Scale": length,
            "Subsurface IOR": eta,
            "Subsurface Anisotropy": g,
            "IOR": eta,
        },
        "definition": ("Cycles Random Walk (Skin): Base Color = classical dipole total diffuse reflectance "
                       "R_d(alpha', eta); Subsurface Radius * Subsurface Scale = diffuse mean free path "
                       "1/sigma_tr in scene units"),
        "units": f"scene units per mm = {_num(upm)}",
    }


_BLENDER_SCRIPT = '''"""Apply bssrdf's {what} to the active object's material in Blender 4.x (Cycles).

Run it in Blender's Text Editor or with ``blender --python FILE``. It sets the Principled BSDF
subsurface inputs below on the active material (creating a material and a Principled BSDF if
there are none). Units: {units}.
{definition}.
"""

import bpy

SETTINGS = {settings}


def apply(settings=SETTINGS):
    obj = bpy.context.active_object
    if obj is None:
        raise RuntimeError("select an object first")
    mat = obj.active_material
    if mat is None:
        mat = bpy.data.materials.new({name})
        if obj.data is not None and hasattr(obj.data, "materials"):
            obj.data.materials.append(mat)
        obj.active_material = mat
    mat.use_nodes = True
    nodes = mat.node_tree.nodes
    node = next((n for n in nodes if n.type == "BSDF_PRINCIPLED"), None)
    if node is None:
        node = nodes.new(settings["node"])
        out = next((n for n in nodes if n.type == "OUTPUT_MATERIAL"), None)
        if out is None:
            out = nodes.new("ShaderNodeOutputMaterial")
        mat.node_tree.links.new(node.outputs["BSDF"], out.inputs["Surface"])
    node.subsurface_method = settings["subsurface_method"]
    for socket, value in settings["inputs"].items():
        node.inputs[socket].default_value = value
    return mat


if __name__ == "__main__":
    apply()
'''


def blender_script(medium: Medium, scale: float = 1.0, name: str = "bssrdf material") -> str:
    """A small ``bpy`` script applying :func:`blender` settings to the active object's material.

    The settings are a Python literal ``SETTINGS = {...}`` (read back by
    :func:`parse_blender_script`); ``name`` names a material the script creates when the object
    has none.
    """
    settings = blender(medium, scale)
    return _BLENDER_SCRIPT.format(what=f"material {name!r}", units=settings["units"],
                                  definition=textwrap.fill(settings["definition"], 96),
                                  settings=repr(settings), name=repr(str(name)))


def parse_blender_script(text: str) -> dict[str, Any]:
    """The ``SETTINGS`` literal of a script from :func:`blender_script` (``ast.literal_eval``)."""
    tree = ast.parse(text)
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "SETTINGS"):
            return ast.literal_eval(node.value)
    raise ValueError("no SETTINGS = {...} in the Blender script")


# -- OpenPBR / MaterialX -------------------------------------------------------------------------------
def openpbr(medium: Medium, scale: float = 1.0) -> dict[str, Any]:
    """OpenPBR Surface subsurface inputs (see :func:`bssrdf.export.conventions.openpbr_subsurface`).

    ``subsurface_color`` = dipole R_d(α', η); ``subsurface_radius`` [scene units] ×
    ``subsurface_radius_scale`` (colour, largest channel 1) = 1/σtr; ``subsurface_scatter_anisotropy``
    = g; ``specular_ior`` = η (air outside). The returned dict also states the definition and units.
    """
    _medium(medium)
    upm = cv.check_units_per_mm(scale)
    params = cv.openpbr_subsurface(medium, upm)
    params["subsurface_color"] = _rgb(params["subsurface_color"])
    params["subsurface_radius_scale"] = _rgb(params["subsurface_radius_scale"])
    params["specular_ior"] = cv.common_value("eta", medium.eta, target="OpenPBR")
    return {
        "inputs": params,
        "definition": ("subsurface_color = classical dipole total diffuse reflectance R_d(alpha', eta) "
                       "(RenderMan/appleseed albedo); subsurface_radius * subsurface_radius_scale = diffuse "
                       "mean free path 1/sigma_tr in scene units"),
        "units": f"scene units per mm = {_num(upm)}",
    }


_MTLX_TYPES = {"subsurface_weight": "float", "subsurface_color": "color3", "subsurface_radius": "float",
               "subsurface_radius_scale": "color3", "subsurface_scatter_anisotropy": "float",
               "specular_ior": "float"}


def openpbr_mtlx(medium: Medium, scale: float = 1.0, name: str = "bssrdf_material") -> str:
    """A MaterialX 1.39 document with an ``open_pbr_surface`` carrying :func:`openpbr`'s inputs."""
    d = openpbr(medium, scale)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"MaterialX names are letters, digits and underscores; got {name!r}")
    lines = ['<?xml version="1.0"?>',
             f"<!-- bssrdf export. {d['definition']}. {d['units']}. -->",
             '<materialx version="1.39">',
             f'  <open_pbr_surface name="{name}_surface" type="surfaceshader">']
    for key, typ in _MTLX_TYPES.items():
        value = d["inputs"][key]
        text = ", ".join(_num(v) for v in value) if isinstance(value, list) else _num(value)
        lines.append(f'    <input name="{key}" type="{typ}" value="{text}" />')
    lines += ["  </open_pbr_surface>",
              f'  <surfacematerial name="{name}" type="material">',
              f'    <input name="surfaceshader" type="surfaceshader" nodename="{name}_surface" />',
              "  </surfacematerial>",
              "</materialx>"]
    return "\n".join(lines) + "\n"


def parse_openpbr_mtlx(text: str) -> dict[str, Any]:
    """The inputs of the first ``open_pbr_surface`` in a MaterialX document (floats or lists)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise ValueError(f"not a MaterialX document: {e}") from None
    node = root.find("open_pbr_surface")
    if node is None:
        raise ValueError("no open_pbr_surface in the MaterialX document")
    out: dict[str, Any] = {}
    for inp in node.findall("input"):
        values = [float(v) for v in inp.get("value", "").split(",")]
        out[inp.get("name")] = values if inp.get("type") == "color3" else values[0]
    return out


# -- RenderMan (PxrSurface) ----------------------------------------------------------------------------
def renderman(medium: Medium, scale: float = 1.0) -> dict[str, Any]:
    """PxrSurface subsurface parameters for the Jensen dipole model.

    Convention (renderer_conventions.md row "RenderMan PxrSurface"; see
    :func:`bssrdf.export.conventions.renderman_albedo_mfp`): ``subsurfaceColor`` = dipole total
    diffuse reflectance R_d(α', η); ``subsurfaceDmfp`` × ``subsurfaceDmfpColor`` = 1/σtr in scene
    units (``subsurfaceDmfp`` the longest channel's, the colour normalised to a largest channel of 1).
    ``subsurfaceType`` 0 selects the Jensen dipole; ``subsurfaceGain`` 1. η (air outside) and g go
    into the returned ``info`` (the dipole convention depends on η through A; PxrSurface's
    ``subsurfaceDirectionality`` is for its path-traced mode, not set).
    """
    _medium(medium)
    upm = cv.check_units_per_mm(scale)
    albedo, mfp = cv.renderman_albedo_mfp(medium, upm)
    m = np.array(_rgb(mfp))
    dmfp = float(np.max(m))
    return {
        "bxdf": "PxrSurface",
        "params": {
            "subsurfaceType": 0,
            "subsurfaceGain": 1.0,
            "subsurfaceColor": _rgb(albedo),
            "subsurfaceDmfp": dmfp,
            "subsurfaceDmfpColor": (m / dmfp).tolist(),
        },
        "info": {"eta": cv.common_value("eta", medium.eta, target="RenderMan"),
                 "g": cv.common_value("g", medium.g, average=True, target="RenderMan")},
        "definition": ("Jensen dipole: subsurfaceColor = classical dipole total diffuse reflectance "
                       "R_d(alpha', eta); subsurfaceDmfp * subsurfaceDmfpColor = diffuse mean free path "
                       "1/sigma_tr in scene units"),
        "units": f"scene units per mm = {_num(upm)}",
    }


_RIB_TYPES = {"subsurfaceType": "int", "subsurfaceGain": "float", "subsurfaceColor": "color",
              "subsurfaceDmfp": "float", "subsurfaceDmfpColor": "color"}


def renderman_rib(medium: Medium, scale: float = 1.0, name: str = "bssrdf_material") -> str:
    """A RIB ``Bxdf "PxrSurface"`` statement with :func:`renderman`'s parameters."""
    d = renderman(medium, scale)
    lines = [f"# bssrdf export. {d['definition']}.",
             f"# {d['units']}; eta = {_num(d['info']['eta'])} (air outside), g = {_num(d['info']['g'])}.",
             f'Bxdf "PxrSurface" "{_quote(name)}"']
    for key, typ in _RIB_TYPES.items():
        value = d["params"][key]
        if typ == "int":
            text = str(int(value))
        else:
            text = " ".join(_num(v) for v in value) if isinstance(value, list) else _num(value)
        lines.append(f'    "{typ} {key}" [ {text} ]')
    return "\n".join(lines) + "\n"


def parse_renderman_rib(text: str) -> dict[str, Any]:
    """The parameters of the first ``Bxdf "PxrSurface"`` in RIB text (floats, ints or lists)."""
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    m = re.search(r'Bxdf\s+"PxrSurface"\s+"[^"]*"', body)
    if m is None:
        raise ValueError('no Bxdf "PxrSurface" in the RIB text')
    out: dict[str, Any] = {}
    for pm in re.finditer(r'"(\w+)\s+(\w+)"\s*\[([^\]]*)\]', body[m.end():]):
        typ, key, values = pm.group(1), pm.group(2), pm.group(3).split()
        if typ == "int":
            out[key] = int(values[0])
        elif typ == "color":
            out[key] = [float(v) for v in values]
        else:
            out[key] = float(values[0])
    return out
