"""Mitsuba 3 export (bssrdf.export.mitsuba): round trips, and renders by Mitsuba 3 itself against bssrdf.mc.

The render tests measure the total reflectance (specular + diffuse) of a slab at normal incidence.
By reciprocity the directional-hemispherical reflectance for incidence along the normal equals the
hemispherical-directional one: under a uniform sky of radiance 1 the radiance leaving the slab
along the normal *is* R_specular + R_diffuse for a normally incident beam, and for a laterally
infinite slab it is the same at every point (translation invariance). So the scene is the exported
slab (200 mm wide, τ ≈ 4) under a ``constant`` emitter, with a black floor just below it (nothing
comes back from below, as with n_below = 1 in the tracer), seen straight down by an orthographic
camera over a 2 mm window at its centre; the mean of the pixels is R and their scatter its error.
A ``directional`` emitter would not do: it is a delta light, and behind a smooth dielectric (a delta
BSDF) no path can reach it. The sky seen in the mirror reflection gives the specular term.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import bssrdf
from bssrdf.export.mitsuba import (
    mitsuba3_dict,
    mitsuba3_xml,
    parse_mitsuba3_dict,
    parse_mitsuba3_xml,
)

GRAY = bssrdf.Medium(sigma_a=0.1, sigma_s=2.0, g=0.5, eta=1.4)
# Same extinction in every channel (σt = 3 mm⁻¹), different albedos: checks the channel mapping
# without the heavy-tailed noise of Mitsuba's spectral distance sampling for chromatic σt.
RGB = bssrdf.Medium(sigma_a=[0.03, 0.3, 0.9], sigma_s=[2.97, 2.7, 2.1], g=0.3, eta=1.4)


def _media():
    out = [GRAY, RGB, bssrdf.Medium(0.0, 0.0, 0.0, 1.0), bssrdf.Medium(1.0, 0.0, -0.2, 2.0)]
    out += [m for m in _materials() if np.all(m.g == m.g[0])]
    return out


def _materials():
    return [bssrdf.materials.get(name) for name in bssrdf.materials.names()]


def _assert_same_medium(a: bssrdf.Medium, b: bssrdf.Medium) -> None:
    assert a.shape == b.shape
    for name in ("sigma_a", "sigma_s", "g", "eta"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-15,
                                   err_msg=name)


# -- round trips and values (no Mitsuba needed) ---------------------------------------------------
@pytest.mark.parametrize("medium", _media(), ids=repr)
def test_dict_round_trip(medium):
    back = parse_mitsuba3_dict(mitsuba3_dict(medium, scale=0.1, ext_ior=1.33))  # a scene in cm
    _assert_same_medium(back.medium, medium)
    assert back.scale == pytest.approx(0.1, rel=1e-15) and back.ext_ior == 1.33


@pytest.mark.parametrize("medium", _media(), ids=repr)
def test_xml_round_trip(medium):
    text = mitsuba3_xml(medium, scale=0.001, ext_ior=1.33, to_world=np.diag([2.0, 3.0, 0.5, 1.0]))
    back = parse_mitsuba3_xml(text)
    _assert_same_medium(back.medium, medium)
    assert back.scale == pytest.approx(0.001, rel=1e-15) and back.ext_ior == 1.33


def test_xml_inside_a_scene_by_id():
    scene = ('<scene version="3.0.0">\n'
             + mitsuba3_xml(GRAY, medium_id="a", version=None)
             + mitsuba3_xml(RGB, medium_id="b", version=None, ext_ior=1.1)
             + "</scene>\n")
    assert 'version' not in mitsuba3_xml(GRAY, version=None).splitlines()[0]
    _assert_same_medium(parse_mitsuba3_xml(scene).medium, GRAY)
    back = parse_mitsuba3_xml(scene, medium_id="b")
    _assert_same_medium(back.medium, RGB)
    assert back.ext_ior == 1.1


def test_dict_values_are_mitsubas_parametrization():
    d = mitsuba3_dict(GRAY, scale=0.001)  # scene in metres: 0.001 scene units per mm
    assert d["type"] == "cube"
    assert d["bsdf"] == {"type": "dielectric", "int_ior": 1.4, "ext_ior": 1.0}
    med = d["interior"]
    assert med["type"] == "homogeneous"
    assert med["albedo"] == pytest.approx(2.0 / 2.1, rel=1e-15)   # single-scattering albedo σs/σt
    assert med["sigma_t"] == pytest.approx(2.1, rel=1e-15)         # σt in mm^-1 ...
    assert med["scale"] == pytest.approx(1000.0, rel=1e-15)        # ... times mm per scene unit
    assert med["phase"] == {"type": "hg", "g": 0.5}
    assert med["sample_emitters"] is False
    rgb = mitsuba3_dict(RGB, shape={"type": "sphere", "radius": 2.0})["interior"]
    assert rgb["albedo"]["type"] == "rgb"
    np.testing.assert_allclose(rgb["albedo"]["value"], RGB.albedo, rtol=1e-15)
    assert rgb["sigma_t"]["type"] == "constvolume"
    np.testing.assert_allclose(rgb["sigma_t"]["value"]["value"], [3.0, 3.0, 3.0], rtol=1e-15)


def test_xml_text():
    text = mitsuba3_xml(RGB, shape="sphere", medium_id="skin")
    assert text.startswith('<shape type="sphere" version="3.0.0">')
    assert '<medium type="homogeneous" name="interior" id="skin">' in text
    albedo = re.search(r'<rgb name="albedo" value="([^"]*)"/>', text).group(1)
    np.testing.assert_allclose([float(x) for x in albedo.split(",")], [0.99, 0.9, 0.7], rtol=1e-15)
    assert '<volume type="constvolume" name="sigma_t">' in text
    assert '<float name="int_ior" value="1.4"/>' in text
    assert '<phase type="hg">' in text and '<float name="g" value="0.3"/>' in text


def test_channel_dependent_g_needs_similarity_g():
    varied = [m for m in _materials() if not np.all(m.g == m.g[0])]
    assert varied, "expected some tabulated materials with per-channel g"
    for m in varied:
        with pytest.raises(ValueError, match="similarity_g"):
            mitsuba3_dict(m)
        g = float(np.mean(m.g))
        for back in (parse_mitsuba3_dict(mitsuba3_dict(m, similarity_g=g)).medium,
                     parse_mitsuba3_xml(mitsuba3_xml(m, similarity_g=g)).medium):
            np.testing.assert_allclose(back.g, g, rtol=1e-15)
            np.testing.assert_allclose(back.sigma_a, m.sigma_a, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(back.sigma_s_prime, m.sigma_s_prime, rtol=1e-12, atol=1e-15)


def test_rejects_what_mitsuba_cannot_hold():
    with pytest.raises(ValueError, match="g differs"):
        mitsuba3_dict(bssrdf.Medium([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], g=[0.0, 0.1, 0.2]))
    with pytest.raises(ValueError, match="eta differs"):
        mitsuba3_xml(bssrdf.Medium([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], eta=[1.3, 1.4, 1.5]))
    with pytest.raises(ValueError, match="2 channels"):
        mitsuba3_dict(bssrdf.Medium([1.0, 1.0], [1.0, 1.0]))
    with pytest.raises(ValueError, match="scale"):
        mitsuba3_dict(GRAY, scale=0.0)
    with pytest.raises(ValueError, match="ext_ior"):
        mitsuba3_xml(GRAY, ext_ior=-1.0)
    with pytest.raises(TypeError):
        mitsuba3_dict(object())


# -- Mitsuba 3 itself -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mi():
    mitsuba = pytest.importorskip("mitsuba", reason="Mitsuba 3 (pip install mitsuba) is not installed")
    if "scalar_rgb" not in mitsuba.variants():
        pytest.skip("this Mitsuba build has no scalar_rgb variant")
    mitsuba.set_variant("scalar_rgb")
    return mitsuba


def test_mitsuba_loads_both_forms(mi):
    shape = mi.load_dict(mitsuba3_dict(RGB, scale=0.1))
    params = mi.traverse(shape)
    assert params["bsdf.eta"] == pytest.approx(1.4)
    assert params["interior_medium.scale"] == pytest.approx(10.0)
    np.testing.assert_allclose(np.array(params["interior_medium.albedo.value.value"]), RGB.albedo,
                               rtol=1e-6)
    np.testing.assert_allclose(np.array(params["interior_medium.sigma_t.value.value"]), RGB.sigma_t,
                               rtol=1e-6)
    assert params["interior_medium.phase_function.g"] == pytest.approx(0.3)
    params = mi.traverse(mi.load_string(mitsuba3_xml(GRAY, ext_ior=1.2, to_world=np.eye(4))))
    assert params["bsdf.eta"] == pytest.approx(1.4 / 1.2)
    assert params["interior_medium.sigma_t.value.value"] == pytest.approx(2.1)


def _affine(scale=(1.0, 1.0, 1.0), translate=(0.0, 0.0, 0.0), flip_z=False) -> np.ndarray:
    """4x4 matrix: scale, then (optionally) turn a camera to look down -z, then translate."""
    m = np.diag([*scale, 1.0])
    if flip_z:  # what look_at(origin, origin - z, up=y) gives: columns -x, +y, -z
        m = np.diag([-1.0, 1.0, -1.0, 1.0]) @ m
    m[:3, 3] = translate
    return m


def _slab_scene(mi, slab, thickness_mm: float, unit_mm: float, res: int, spp: int) -> dict:
    """Slab (any loaded/loadable shape, already sized) under a uniform sky; camera straight down.

    Transforms are given as matrices (``ScalarTransform4f(list)``), which every Mitsuba 3 accepts.
    """
    T = mi.ScalarTransform4f
    u = 1.0 / unit_mm  # scene units per mm
    return {
        "type": "scene",
        "integrator": {"type": "volpath", "max_depth": -1},
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": 1.0}},
        "slab": slab,
        "floor": {"type": "rectangle",  # black, 1 mm below the slab, 4 m wide
                  "to_world": T(_affine((u * 2e3, u * 2e3, 1.0),
                                        (0.0, 0.0, -u * (thickness_mm / 2 + 1.0))).tolist()),
                  "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": 0.0}}},
        "camera": {"type": "orthographic",  # a 2 mm window at the centre of the top face, looking down
                   "to_world": T(_affine((u * 1.0, u * 1.0, 1.0), (0.0, 0.0, u * (thickness_mm / 2 + 10.0)),
                                         flip_z=True).tolist()),
                   "sampler": {"type": "independent", "sample_count": spp},
                   "film": {"type": "hdrfilm", "width": res, "height": res, "pixel_format": "rgb",
                            "rfilter": {"type": "box"}}},
    }


def _render_R(mi, scene: dict) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.asarray(mi.render(mi.load_dict(scene), seed=7), dtype=float).reshape(-1, 3)
    return pixels.mean(axis=0), pixels.std(axis=0, ddof=1) / np.sqrt(len(pixels))


def _mc_R(medium: bssrdf.Medium, thickness_mm: float) -> tuple[float, float]:
    res = bssrdf.mc.simulate(bssrdf.Layer(medium, thickness_mm), 1_000_000, r_max=10.0, n_r=10,
                             seed=3, backend="cpu")
    return (res.R_specular + res.R_diffuse,
            float(np.hypot(res.stderr("R_specular"), res.stderr("R_diffuse"))))


def _check(R_mi, err_mi, R_mc, err_mc, label):
    sigma = np.hypot(err_mi, err_mc)
    msg = f"{label}: Mitsuba {R_mi:.5f}±{err_mi:.5f} vs MC {R_mc:.5f}±{err_mc:.5f}"
    assert abs(R_mi - R_mc) <= 4.0 * sigma, msg
    assert abs(R_mi - R_mc) <= 0.02 * R_mc, f"{label}: Mitsuba {R_mi:.5f} vs MC {R_mc:.5f} differ by over 2%"


def test_mitsuba_renders_dict_export_gray_slab(mi):
    """mm scene (scale 1): total reflectance of a 2 mm slab, τ = 4.2, η = 1.4, g = 0.5."""
    d = 2.0
    slab = mitsuba3_dict(GRAY, scale=1.0, to_world=_affine((100.0, 100.0, d / 2)))  # 200 mm × 200 mm × d
    R, err = _render_R(mi, _slab_scene(mi, slab, d, unit_mm=1.0, res=16, spp=4096))
    np.testing.assert_allclose(R, R[0], rtol=1e-6)  # a gray medium renders gray
    R_mc, err_mc = _mc_R(GRAY, d)
    _check(R[0], err[0], R_mc, err_mc, "gray")


def test_mitsuba_renders_xml_export_rgb_slab_in_cm(mi):
    """cm scene (0.1 scene units per mm; Mitsuba's scale 10): per-channel total R of a 1.5 mm slab, τ 4.5."""
    d, cm = 1.5, 10.0
    # a 20 cm × 20 cm × d slab
    text = mitsuba3_xml(RGB, scale=1 / cm, to_world=np.diag([10.0, 10.0, d / cm / 2, 1.0]))
    slab = mi.load_string(text)
    R, err = _render_R(mi, _slab_scene(mi, slab, d, unit_mm=cm, res=16, spp=2048))
    for c in range(3):
        R_mc, err_mc = _mc_R(RGB.channel(c), d)
        _check(R[c], err[c], R_mc, err_mc, "rgb"[c])
