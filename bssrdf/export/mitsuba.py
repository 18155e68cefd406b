"""Export a :class:`bssrdf.Medium` to Mitsuba 3: a ``homogeneous`` medium inside a ``dielectric`` boundary.

Mitsuba 3 parametrizes a homogeneous medium (``src/media/homogeneous.cpp``) by

* ``albedo``: the **single-scattering** albedo α = σs/σt (a float, or an RGB spectrum per channel);
* ``sigma_t``: the extinction coefficient σt = σa + σs, in inverse scene units after ``scale``;
* ``scale``: a float that multiplies ``sigma_t`` (and nothing else): the renderer uses
  σt_scene = ``sigma_t`` × ``scale`` per scene unit of length, and σs_scene = ``albedo`` × σt_scene.
  The albedo, the phase function and the boundary are unaffected by ``scale``;
* a nested phase function, here ``hg`` with the Henyey–Greenstein mean cosine ``g``.

The boundary is a ``dielectric`` BSDF (smooth Fresnel interface) with ``int_ior`` = η of the medium
and ``ext_ior`` = the index outside (1 by default), attached with the medium as ``interior`` to a
shape. Mitsuba's RGB variants (``scalar_rgb``, ``llvm_ad_rgb``, ...) use the three channels of an
RGB :class:`~bssrdf.Medium` as they are; spectral variants upsample them (an approximation).

Units. bssrdf's coefficients are in mm⁻¹. As everywhere in :mod:`bssrdf.export`, the argument
``scale`` is **scene units per millimetre** (1 for a scene modelled in mm, 0.1 in cm, 0.001 in
metres). The export writes the coefficients unchanged into ``sigma_t`` and the length of one scene
unit in mm, 1/``scale``, into Mitsuba's own ``scale`` attribute (10 for cm, 1000 for metres), which
is Mitsuba's convention ("when the scene is in meters and the coefficients are in inverse
millimeters, set scale to 1000").

Caveat (measured with Mitsuba 3.9.1, scalar_rgb): Mitsuba offsets spawned rays by about 1e-4 scene
units (more far from the origin), which in a metre scene is 0.1 mm, comparable with the mean free
paths of many materials. A 1.5 mm slab with σt = 3 mm⁻¹ rendered about 1% dark in a decimetre scene
and about 10% dark in a metre scene, and correct in mm and cm scenes. Model millimetre-scale
subsurface geometry in mm or cm units.

RGB extinction coefficients above 1 cannot be written as a plain ``rgb`` (Mitsuba checks that an
``rgb`` is a reflectance in [0, 1]), so a per-channel ``sigma_t`` is wrapped in a ``constvolume``
whose ``value`` is the RGB triple (unbounded there).

>>> import bssrdf
>>> d = mitsuba3_dict(bssrdf.Medium(sigma_a=0.1, sigma_s=1.9, g=0.5, eta=1.4))
>>> d["type"], d["bsdf"]["int_ior"], d["interior"]["sigma_t"], d["interior"]["phase"]["g"]
('cube', 1.4, 2.0, 0.5)
>>> parse_mitsuba3_xml(mitsuba3_xml(bssrdf.Medium(0.1, 1.9, 0.5, 1.4))).medium.sigma_s
array(1.9)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, NamedTuple

import numpy as np

from ..medium import Medium

__all__ = [
    "Mitsuba3Parsed",
    "mitsuba3_bsdf_dict",
    "mitsuba3_dict",
    "mitsuba3_medium_dict",
    "mitsuba3_xml",
    "parse_mitsuba3_dict",
    "parse_mitsuba3_xml",
]

DEFAULT_MEDIUM_ID = "bssrdf_medium"


class Mitsuba3Parsed(NamedTuple):
    """What :func:`parse_mitsuba3_xml` / :func:`parse_mitsuba3_dict` read back.

    ``medium`` holds σa = (1 − albedo)·sigma_t, σs = albedo·sigma_t, g and η = ``int_ior`` with
    ``sigma_t`` as written, i.e. *before* Mitsuba's ``scale`` (in mm⁻¹ for files written by this
    module); ``scale`` is in bssrdf's convention, scene units per mm (1 / Mitsuba's ``scale``), and
    ``ext_ior`` is returned beside it.
    """

    medium: Medium
    scale: float
    ext_ior: float


# -- helpers --------------------------------------------------------------------------------------
def _channels(medium: Medium) -> int:
    if not isinstance(medium, Medium):
        raise TypeError(f"expected a bssrdf.Medium, got {type(medium).__name__}")
    if medium.shape == ():
        return 1
    if medium.n_channels != 3:
        raise ValueError(f"Mitsuba 3 export takes a single-channel or an RGB (3-channel) medium; "
                         f"this one has {medium.n_channels} channels (export channels with "
                         "medium.channel(i), or convert to RGB first)")
    return 3


def _uniform(name: str, values: np.ndarray, what: str) -> float:
    """The one value of a parameter that Mitsuba takes as a single float."""
    flat = np.atleast_1d(values)
    if not np.all(flat == flat[0]):
        raise ValueError(f"{name} differs between channels ({flat.tolist()}); Mitsuba 3's {what} "
                         "takes one value: export each channel separately (medium.channel(i))")
    return float(flat[0])


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _fmt(x: float) -> str:
    """Shortest decimal that reads back to the same double."""
    return repr(float(x))


def _shape_type(shape: str | dict | None) -> str:
    if shape is None:
        return "cube"
    if isinstance(shape, str):
        return shape
    raise TypeError(f"shape must be a plugin name (str) here, got {type(shape).__name__}")


# -- dict -----------------------------------------------------------------------------------------
def _similar(medium: Medium, g: float | None) -> Medium:
    """``medium`` with one g for all channels: σ's = σs(1 − g) and σa kept (similarity relation)."""
    if g is None:
        return medium
    g = float(g)
    if not -1.0 < g < 1.0:
        raise ValueError(f"similarity_g must be in (-1, 1), got {g!r}")
    return Medium(medium.sigma_a, medium.sigma_s_prime / (1.0 - g), g, medium.eta)


def mitsuba3_medium_dict(medium: Medium, *, scale: float = 1.0, sample_emitters: bool = False,
                         similarity_g: float | None = None) -> dict:
    """The ``homogeneous`` medium (with its ``hg`` phase) as a dict for ``mitsuba.load_dict``.

    Parameters
    ----------
    medium : Medium
        Single-channel (floats) or RGB (``rgb`` albedo, ``constvolume`` RGB sigma_t); ``g`` must
        be the same in every channel (``hg`` takes one value).
    scale : float, default 1.0
        Scene units per mm (0.1 for a scene in cm); Mitsuba's ``scale`` attribute is written as
        1/``scale`` (the scene unit in mm), which multiplies ``sigma_t`` (σt in mm⁻¹), giving σt
        per scene unit.
    sample_emitters : bool, default False
        Mitsuba's flag for next-event estimation from inside the medium. Behind a ``dielectric``
        boundary shadow rays cannot reach any emitter, so Mitsuba's docs recommend turning it off.
    similarity_g : float, optional
        For media whose g differs between channels (``hg`` takes one g): export with this g and
        σs scaled per channel to keep σ's = σs(1 − g) and σa (the similarity relation: the same
        diffusion, different single scattering). Without it such a medium raises ValueError.
    """
    n = _channels(medium)
    medium = _similar(medium, similarity_g)
    scale = _check_positive("scale", scale)
    g = _uniform("g", medium.g, "hg phase function (or pass similarity_g)")
    if n == 1:
        albedo: Any = float(medium.albedo)
        sigma_t: Any = float(medium.sigma_t)
    else:
        albedo = {"type": "rgb", "value": [float(x) for x in medium.albedo]}
        sigma_t = {"type": "constvolume",
                   "value": {"type": "rgb", "value": [float(x) for x in medium.sigma_t]}}
    return {
        "type": "homogeneous",
        "albedo": albedo,
        "sigma_t": sigma_t,
        "scale": 1.0 / scale,  # Mitsuba's scale: mm per scene unit
        "sample_emitters": bool(sample_emitters),
        "phase": {"type": "hg", "g": g},
    }


def mitsuba3_bsdf_dict(medium: Medium, *, ext_ior: float = 1.0) -> dict:
    """The ``dielectric`` boundary: ``int_ior`` = η of the medium, ``ext_ior`` = index outside."""
    _channels(medium)
    eta = _uniform("eta", medium.eta, "dielectric int_ior")
    return {"type": "dielectric", "int_ior": eta, "ext_ior": _check_positive("ext_ior", ext_ior)}


def mitsuba3_dict(medium: Medium, *, scale: float = 1.0, shape: str | dict | None = "cube",
                  ext_ior: float = 1.0, to_world=None, sample_emitters: bool = False,
                  similarity_g: float | None = None) -> dict:
    """A shape filled with ``medium`` behind a dielectric boundary, as a dict for ``mitsuba.load_dict``.

    Parameters
    ----------
    medium : Medium
        σa, σs [mm⁻¹], g, η; one channel or RGB (see :func:`mitsuba3_medium_dict`).
    scale : float, default 1.0
        Scene units per mm (1 for a scene in mm, 0.001 in metres); Mitsuba's ``scale`` attribute
        becomes 1/``scale``.
    shape : str or dict, default "cube"
        The shape plugin's name, or a whole shape dict (e.g. ``{"type": "obj", "filename": ...}``),
        to which ``"bsdf"`` and ``"interior"`` are added (a copy; the argument is not modified).
    ext_ior : float, default 1.0
        Refractive index outside the boundary (``dielectric``'s ``ext_ior``).
    to_world : mitsuba.ScalarTransform4f or array_like (4, 4), optional
        The shape's ``to_world`` (replaces one given in a ``shape`` dict).
    sample_emitters : bool, default False
    similarity_g : float, optional
        See :func:`mitsuba3_medium_dict`.

    Returns
    -------
    dict
        ``{"type": shape, ["to_world": ...,] "bsdf": {dielectric}, "interior": {homogeneous}}``;
        ``mitsuba.load_dict`` loads it as a shape, or put it into a scene dict.
    """
    out = dict(shape) if isinstance(shape, dict) else {"type": _shape_type(shape)}
    if "type" not in out:
        raise ValueError("a shape dict needs a 'type'")
    if to_world is not None:
        out["to_world"] = _to_world_for_dict(to_world)
    out["bsdf"] = mitsuba3_bsdf_dict(medium, ext_ior=ext_ior)
    out["interior"] = mitsuba3_medium_dict(medium, scale=scale, sample_emitters=sample_emitters,
                                           similarity_g=similarity_g)
    return out


def _to_world_for_dict(to_world):
    if isinstance(to_world, (list, tuple, np.ndarray)):
        matrix = np.asarray(to_world, dtype=float)
        if matrix.shape != (4, 4):
            raise ValueError(f"to_world must be a 4x4 matrix, got shape {matrix.shape}")
        import mitsuba as mi  # only needed to build a transform object from a matrix

        return mi.ScalarTransform4f(matrix.tolist())
    return to_world  # a Mitsuba transform already


def _value_of(entry: Any, name: str) -> np.ndarray:
    """A float / ``rgb`` / ``constvolume`` entry of a Mitsuba dict as a float array."""
    if isinstance(entry, (int, float)):
        return np.asarray(float(entry))
    if isinstance(entry, dict):
        kind = entry.get("type")
        if kind == "rgb":
            return np.asarray([float(x) for x in entry["value"]])
        if kind == "constvolume":
            return _value_of(entry["value"], name)
        if kind == "srgb":
            return np.asarray([float(x) for x in entry["color"]])
    raise ValueError(f"cannot read {name!r} from {entry!r} (expected a float, an 'rgb' or a "
                     "'constvolume' of one)")


def _medium_from(albedo: np.ndarray, sigma_t: np.ndarray, g: float, eta: float) -> Medium:
    albedo, sigma_t = np.broadcast_arrays(albedo, sigma_t)
    sigma_s = albedo * sigma_t
    sigma_a = np.maximum(sigma_t - sigma_s, 0.0)
    return Medium(sigma_a=sigma_a, sigma_s=sigma_s, g=g, eta=eta)


def parse_mitsuba3_dict(d: dict) -> Mitsuba3Parsed:
    """Read back a :func:`mitsuba3_dict` shape dict (or a ``homogeneous`` medium dict, η = 1)."""
    if d.get("type") == "homogeneous":
        med, bsdf = d, {}
    else:
        if "interior" not in d:
            raise ValueError("no 'interior' medium in this dict")
        med, bsdf = d["interior"], d.get("bsdf", {})
    if med.get("type") != "homogeneous":
        raise ValueError(f"interior medium is {med.get('type')!r}, expected 'homogeneous'")
    if bsdf and bsdf.get("type") != "dielectric":
        raise ValueError(f"boundary bsdf is {bsdf.get('type')!r}, expected 'dielectric'")
    phase = med.get("phase", {"type": "isotropic"})
    if phase.get("type") not in ("hg", "isotropic"):
        raise ValueError(f"phase function {phase.get('type')!r} is not 'hg' or 'isotropic'")
    g = float(phase.get("g", 0.8)) if phase["type"] == "hg" else 0.0  # Mitsuba's hg default: 0.8
    medium = _medium_from(_value_of(med.get("albedo", 0.75), "albedo"),
                          _value_of(med.get("sigma_t", 1.0), "sigma_t"),
                          g, _ior(bsdf.get("int_ior", 1.5046) if bsdf else 1.0))
    return Mitsuba3Parsed(medium, 1.0 / float(med.get("scale", 1.0)),
                          _ior(bsdf.get("ext_ior", 1.000277)) if bsdf else 1.0)


def _ior(value) -> float:
    if isinstance(value, str):
        raise ValueError(f"named IOR {value!r} is not supported; give a number")
    return float(value)


# -- XML ------------------------------------------------------------------------------------------
def _xml_value(tag_name: str, values: np.ndarray, indent: str) -> str:
    if values.ndim == 0:
        return f'{indent}<float name="{tag_name}" value="{_fmt(values)}"/>'
    triple = ", ".join(_fmt(x) for x in values)
    return f'{indent}<rgb name="{tag_name}" value="{triple}"/>'


def mitsuba3_xml(medium: Medium, *, scale: float = 1.0, shape: str | None = "cube", ext_ior: float = 1.0,
                 to_world=None, medium_id: str = DEFAULT_MEDIUM_ID, sample_emitters: bool = False,
                 similarity_g: float | None = None, version: str | None = "3.0.0") -> str:
    """The same as :func:`mitsuba3_dict` in Mitsuba 3's XML scene format.

    Returns a ``<shape type=shape>`` element holding the ``dielectric`` ``<bsdf>`` and the
    ``<medium type="homogeneous" name="interior" id=medium_id>`` (with ``<phase type="hg">``).
    ``version`` (default "3.0.0") is written as the root's ``version`` attribute, so that
    ``mitsuba.load_string`` loads the text on its own; pass ``None`` to paste it into a ``<scene>``.
    ``to_world`` is an optional 4×4 matrix (array_like), written as ``<matrix name="to_world">``.
    The other parameters are those of :func:`mitsuba3_dict`.
    """
    medium = _similar(medium, similarity_g)
    d = mitsuba3_medium_dict(medium, scale=scale, sample_emitters=sample_emitters)
    b = mitsuba3_bsdf_dict(medium, ext_ior=ext_ior)
    if not medium_id or any(c in medium_id for c in '<>&"\' '):
        raise ValueError(f"medium_id must be a non-empty XML-safe identifier, got {medium_id!r}")
    kind = _shape_type(shape)
    ver = f' version="{version}"' if version else ""
    lines = [f'<shape type="{kind}"{ver}>']
    if to_world is not None:
        matrix = np.asarray(to_world, dtype=float)
        if matrix.shape != (4, 4):
            raise ValueError(f"to_world must be a 4x4 matrix, got shape {matrix.shape}")
        lines.append(f'    <transform name="to_world"><matrix value="'
                     f'{" ".join(_fmt(x) for x in matrix.ravel())}"/></transform>')
    lines += [
        '    <bsdf type="dielectric">',
        f'        <float name="int_ior" value="{_fmt(b["int_ior"])}"/>',
        f'        <float name="ext_ior" value="{_fmt(b["ext_ior"])}"/>',
        "    </bsdf>",
        f'    <medium type="homogeneous" name="interior" id="{medium_id}">',
        "        <!-- albedo: single-scattering albedo sigma_s/sigma_t; sigma_t in mm^-1; "
        "Mitsuba multiplies sigma_t by scale = the scene unit in mm -->",
        _xml_value("albedo", medium.albedo, " " * 8),
    ]
    if medium.shape == ():
        lines.append(_xml_value("sigma_t", medium.sigma_t, " " * 8))
    else:
        lines += ['        <volume type="constvolume" name="sigma_t">',
                  _xml_value("value", medium.sigma_t, " " * 12),
                  "        </volume>"]
    lines += [
        f'        <float name="scale" value="{_fmt(d["scale"])}"/>',
        f'        <boolean name="sample_emitters" value="{str(d["sample_emitters"]).lower()}"/>',
        '        <phase type="hg">',
        f'            <float name="g" value="{_fmt(d["phase"]["g"])}"/>',
        "        </phase>",
        "    </medium>",
        "</shape>",
    ]
    return "\n".join(lines) + "\n"


def _xml_number(elem: ET.Element) -> np.ndarray:
    value = elem.get("value", "")
    if elem.tag == "float":
        return np.asarray(float(value))
    if elem.tag == "rgb":
        parts = [p for p in value.replace(",", " ").split() if p]
        if len(parts) == 1:
            parts *= 3
        if len(parts) != 3:
            raise ValueError(f"<rgb> needs 3 values, got {value!r}")
        return np.asarray([float(p) for p in parts])
    if elem.tag == "volume" and elem.get("type") == "constvolume":
        inner = [c for c in elem if c.get("name") == "value"]
        if not inner:
            raise ValueError("<volume type='constvolume'> without a 'value'")
        return _xml_number(inner[0])
    raise ValueError(f"cannot read <{elem.tag} name={elem.get('name')!r}> as a number or RGB")


def _named(parent: ET.Element, name: str) -> ET.Element | None:
    for child in parent:
        if child.get("name") == name:
            return child
    return None


def parse_mitsuba3_xml(text: str, medium_id: str | None = None) -> Mitsuba3Parsed:
    """Read back σa, σs, g, η (and ``scale``, ``ext_ior``) from Mitsuba 3 XML.

    Takes the text of :func:`mitsuba3_xml`, alone or inside a ``<scene>``: the first
    ``<medium type="homogeneous">`` (or the one with ``id=medium_id``) and the ``dielectric``
    ``<bsdf>`` of the shape that holds it (η = 1 without one). ``sigma_t`` is read as written (before
    ``scale``; see :class:`Mitsuba3Parsed`). Defaults of missing parameters are Mitsuba's
    (albedo 0.75, sigma_t 1, scale 1, hg g 0.8, no phase = isotropic).
    """
    root = ET.fromstring(text)
    parent_of = {child: parent for parent in root.iter() for child in parent}
    media = [e for e in root.iter("medium") if e.get("type") == "homogeneous"
             and (medium_id is None or e.get("id") == medium_id)]
    if not media:
        raise ValueError("no <medium type='homogeneous'>" + (f" with id {medium_id!r}" if medium_id else ""))
    med = media[0]
    albedo = _named(med, "albedo")
    sigma_t = _named(med, "sigma_t")
    scale = _named(med, "scale")
    phase = next((c for c in med if c.tag == "phase"), None)
    g = 0.0
    if phase is not None:
        if phase.get("type") == "hg":
            g_el = _named(phase, "g")
            g = float(g_el.get("value")) if g_el is not None else 0.8
        elif phase.get("type") != "isotropic":
            raise ValueError(f"phase function {phase.get('type')!r} is not 'hg' or 'isotropic'")
    int_ior, ext_ior = 1.0, 1.0
    holder = parent_of.get(med)
    if holder is not None and holder.tag == "shape":
        bsdf = next((c for c in holder if c.tag == "bsdf"), None)
        if bsdf is not None:
            if bsdf.get("type") != "dielectric":
                raise ValueError(f"boundary bsdf is {bsdf.get('type')!r}, expected 'dielectric'")
            i_el, e_el = _named(bsdf, "int_ior"), _named(bsdf, "ext_ior")
            int_ior = _ior_xml(i_el, 1.5046)
            ext_ior = _ior_xml(e_el, 1.000277)
    medium = _medium_from(_xml_number(albedo) if albedo is not None else np.asarray(0.75),
                          _xml_number(sigma_t) if sigma_t is not None else np.asarray(1.0),
                          g, int_ior)
    return Mitsuba3Parsed(medium, 1.0 / float(scale.get("value")) if scale is not None else 1.0, ext_ior)


def _ior_xml(elem: ET.Element | None, default: float) -> float:
    if elem is None:
        return default
    if elem.tag != "float":
        raise ValueError(f"named IOR {elem.get('value')!r} is not supported; give a number")
    return float(elem.get("value"))
