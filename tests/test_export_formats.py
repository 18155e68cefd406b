"""Renderer conventions (bssrdf.export.conventions) and the pbrt-v4/Blender/OpenPBR/RenderMan formats.

References are independent of the code under test: the dipole closed form of bssrdf.profiles.dipole,
σtr computed here from the coefficients, RenderMan's published marble parameters, Cycles' own
inversion steps re-implemented here by bisection, and round trips.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from bssrdf import Medium, materials
from bssrdf.export import conventions as cv
from bssrdf.export import formats, load_medium, medium_from_dict, save_medium
from bssrdf.fresnel import A
from bssrdf.profiles import dipole

JENSEN = [n for n in materials.names() if materials.entry(n).table == "jensen2001"]
ABSORBING_JENSEN = [n for n in JENSEN if np.all(materials.get(n).sigma_a > 0)]
RTOL = 1e-10


def assert_medium_close(got: Medium, want: Medium, rtol: float = RTOL) -> None:
    for key in ("sigma_a", "sigma_s", "g", "eta"):
        np.testing.assert_allclose(getattr(got, key), getattr(want, key), rtol=rtol, atol=1e-300, err_msg=key)


def test_jensen_set_is_the_paper_table():
    assert len(JENSEN) == 12 and "spectralon" in JENSEN
    assert len(ABSORBING_JENSEN) == 11  # spectralon has sigma_a = 0


# -- RenderMan / appleseed: albedo = dipole R_d, mfp = 1/sigma_tr -------------------------------------
@pytest.mark.parametrize("name", ABSORBING_JENSEN)
def test_renderman_albedo_is_dipole_total_and_mfp_is_one_over_sigma_tr(name):
    m = materials.get(name)
    albedo, mfp = cv.renderman_albedo_mfp(m)
    np.testing.assert_allclose(albedo, dipole.total_R_d(m), rtol=1e-13)
    sa, ssp = m.sigma_a, m.sigma_s_prime  # sigma_tr from its definition, here
    np.testing.assert_allclose(mfp, 1.0 / np.sqrt(3.0 * sa * (sa + ssp)), rtol=1e-14)
    # scene units: a length in mm times units_per_mm
    _, mfp_cm = cv.renderman_albedo_mfp(m, units_per_mm=0.1)
    np.testing.assert_allclose(mfp_cm, 0.1 * mfp, rtol=1e-15)


def test_renderman_published_marble():
    """RenderMan's subsurface() example, marble: albedo (0.830, 0.791, 0.753), dmfp (8.51, 5.57, 3.95) mm."""
    albedo, mfp = cv.renderman_albedo_mfp(materials.get("marble"))
    np.testing.assert_allclose(albedo, [0.830, 0.791, 0.753], atol=0.0005)
    np.testing.assert_allclose(mfp, [8.51, 5.57, 3.95], atol=0.005)


@pytest.mark.parametrize("name", ABSORBING_JENSEN)
def test_renderman_round_trip(name):
    m = materials.get(name)
    for upm in (1.0, 0.001):
        albedo, mfp = cv.renderman_albedo_mfp(m, upm)
        assert_medium_close(cv.medium_from_renderman(albedo, mfp, m.eta, g=m.g, units_per_mm=upm), m)


def test_renderman_round_trip_all_absorbing_materials_with_g():
    for name in materials.names():
        m = materials.get(name)
        if np.any(m.sigma_a <= 0):
            continue
        albedo, mfp = cv.renderman_albedo_mfp(m)
        back = cv.medium_from_renderman(albedo, mfp, m.eta, g=m.g)
        np.testing.assert_allclose(back.sigma_a, m.sigma_a, rtol=RTOL)
        err = np.abs(back.sigma_s_prime - m.sigma_s_prime)  # sigma_s' = 0 in some channels (clear drinks)
        assert np.all(err <= RTOL * m.sigma_s_prime + 1e-12 * m.sigma_t_prime), name


def test_dipole_inversion_recovers_reduced_albedo():
    ap = np.array([0.0, 1e-6, 0.02, 0.3, 0.5, 0.9, 0.999, 0.999973, 1 - 1e-9])
    for eta in (0.8, 1.0, 1.3, 1.5, 2.5):
        rd = dipole.total_R_d(Medium.from_reduced(1.0 - ap, ap, eta=eta))  # sigma_t' = 1
        back = cv.invert_dipole_total_reflectance(rd, eta)
        np.testing.assert_allclose(1.0 - back, 1.0 - ap, rtol=1e-7, atol=1e-15)
        np.testing.assert_allclose(cv.dipole_total_reflectance(back, eta), rd, rtol=1e-13, atol=1e-16)


def test_dipole_inversion_rejects_bad_albedo():
    for bad in (-0.1, 1.0, 1.2, float("nan")):
        with pytest.raises(ValueError, match="albedo"):
            cv.invert_dipole_total_reflectance(bad, 1.3)


def test_renderman_rejects_non_absorbing_medium():
    with pytest.raises(ValueError, match="sigma_a > 0"):
        cv.renderman_albedo_mfp(materials.get("spectralon"))


# -- pbrt --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", JENSEN)
def test_pbrt_sigma_scene_units_and_round_trip(name):
    m = materials.get(name)
    sa, ss, g = cv.pbrt_sigma(m, units_per_mm=0.1)  # a scene in cm: sigma per cm = 10 sigma per mm
    np.testing.assert_allclose(sa, 10.0 * m.sigma_a, rtol=1e-15)
    np.testing.assert_allclose(ss, 10.0 * m.sigma_s, rtol=1e-15)
    assert g == 0.0
    assert_medium_close(cv.medium_from_pbrt_sigma(sa, ss, g, m.eta, units_per_mm=0.1), m, rtol=1e-15)


@pytest.mark.parametrize("name", ABSORBING_JENSEN)
def test_pbrt_sigma_from_renderman_equals_original(name):
    """Conventions agree: RenderMan (albedo, mfp) -> medium -> pbrt sigma == pbrt sigma of the original."""
    m = materials.get(name)
    upm = 0.01
    albedo, mfp = cv.renderman_albedo_mfp(m, upm)
    sa, ss, _ = cv.pbrt_sigma(cv.medium_from_renderman(albedo, mfp, m.eta, units_per_mm=upm), upm)
    sa0, ss0, _ = cv.pbrt_sigma(m, upm)
    np.testing.assert_allclose(sa, sa0, rtol=RTOL)
    np.testing.assert_allclose(ss, ss0, rtol=RTOL)


def test_pbrt_mfp_is_one_over_sigma_t():
    m = materials.get("skin1")
    mfp, rho = cv.pbrt_mfp_albedo(m, units_per_mm=0.001)
    np.testing.assert_allclose(mfp, 0.001 / (m.sigma_a + m.sigma_s), rtol=1e-15)
    # pbrt's SubsurfaceFromDiffuse: sigma_s = rho/mfp, sigma_a = (1 - rho)/mfp (per scene unit)
    np.testing.assert_allclose(rho / mfp, m.sigma_s / 0.001, rtol=1e-14)
    np.testing.assert_allclose((1 - rho) / mfp, m.sigma_a / 0.001, rtol=1e-14)


def test_pbrt_per_channel_g_keeps_reduced_scattering():
    m = Medium([0.01, 0.02, 0.03], [10.0, 12.0, 14.0], g=[0.9, 0.8, 0.7], eta=1.33)
    with pytest.warns(cv.ExportWarning, match="mean"):
        sa, ss, g = cv.pbrt_sigma(m)
    assert g == pytest.approx(0.8)
    np.testing.assert_allclose(ss * (1 - g), m.sigma_s_prime, rtol=1e-14)
    np.testing.assert_array_equal(sa, m.sigma_a)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_scale_raises(bad):
    m = materials.get("marble")
    with pytest.raises(ValueError, match="scale"):
        cv.pbrt_sigma(m, bad)
    with pytest.raises(ValueError, match="scale"):
        formats.renderman(m, bad)


# -- Cycles --------------------------------------------------------------------------------------------
def cycles_sigma_t_prime(color, radius, ior, steps=200):
    """Cycles' bssrdf_setup_radius + subsurface_random_walk_remap, re-implemented by plain bisection.

    Cycles: F_dr = -1.440/eta^2 + 0.710/eta + 0.668 + 0.0636 eta, fourthirdA = 4/3 (1+F_dr)/(1-F_dr),
    alpha' by bisection of R_d(alpha') = color, d = radius * sqrt(3 (1 - alpha')), sigma_t' = 1/d.
    """
    f_dr = -1.440 / ior**2 + 0.710 / ior + 0.668 + 0.0636 * ior
    k = 4.0 / 3.0 * (1 + f_dr) / (1 - f_dr)
    out = []
    for c, r in zip(color, radius, strict=True):
        lo, hi = 0.0, 1.0
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            s = math.sqrt(3 * (1 - mid))
            if 0.5 * mid * (1 + math.exp(-k * s)) * math.exp(-s) < c:
                lo = mid
            else:
                hi = mid
        ap = 0.5 * (lo + hi)
        out.append((1.0 / (r * math.sqrt(3 * (1 - ap))), ap))
    return np.array(out).T


@pytest.mark.parametrize("name", ABSORBING_JENSEN)
def test_blender_skin_settings_give_back_sigma_t_prime_through_cycles_steps(name):
    m = materials.get(name)
    upm = 0.001  # a scene in metres
    d = formats.blender(m, upm)
    inputs = d["inputs"]
    radius = np.array(inputs["Subsurface Radius"]) * inputs["Subsurface Scale"]  # scene units
    sigma_t_prime_scene, ap = cycles_sigma_t_prime(inputs["Base Color"][:3], radius, inputs["Subsurface IOR"])
    np.testing.assert_allclose(sigma_t_prime_scene * upm, m.sigma_t_prime, rtol=1e-9)
    np.testing.assert_allclose(ap, m.albedo_prime, rtol=1e-9)
    assert d["subsurface_method"] == "RANDOM_WALK_SKIN"
    assert max(inputs["Subsurface Radius"]) == 1.0


@pytest.mark.parametrize("name", ABSORBING_JENSEN)
def test_cycles_skin_round_trip_and_agreement_with_renderman(name):
    m = materials.get(name)
    color, radius = cv.cycles_skin_color_radius(m, 0.1)
    albedo, mfp = cv.renderman_albedo_mfp(m, 0.1)
    np.testing.assert_array_equal(color, albedo)
    np.testing.assert_array_equal(radius, mfp)
    assert_medium_close(cv.medium_from_cycles_skin(color, radius, m.eta, g=m.g, units_per_mm=0.1), m)


def test_cycles_fixed_radius():
    m = materials.get("skin1")
    r = cv.cycles_fixed_radius(m, 0.001)
    # Cycles: d = radius * 0.25/pi is the reduced mean free path 1/sigma_t'
    np.testing.assert_allclose(r * 0.25 / np.pi / 0.001, 1.0 / m.sigma_t_prime, rtol=1e-14)
    back = cv.sigma_t_prime_from_cycles_fixed_radius(r, 0.001)
    np.testing.assert_allclose(back, m.sigma_t_prime, rtol=1e-14)
    # against the skin radius: ratio 4 pi sqrt(3 (1 - alpha'))
    _, skin = cv.cycles_skin_color_radius(m, 0.001)
    np.testing.assert_allclose(r / skin, 4 * np.pi * np.sqrt(3 * (1 - m.albedo_prime)), rtol=1e-13)


# -- OpenPBR ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ABSORBING_JENSEN)
def test_openpbr_round_trip_and_agreement(name):
    m = materials.get(name)
    d = formats.openpbr(m, 0.1)["inputs"]
    albedo, mfp = cv.renderman_albedo_mfp(m, 0.1)
    np.testing.assert_allclose(d["subsurface_color"], albedo, rtol=1e-15)
    radius = d["subsurface_radius"] * np.array(d["subsurface_radius_scale"])
    np.testing.assert_allclose(radius, mfp, rtol=1e-15)
    assert max(d["subsurface_radius_scale"]) == 1.0
    assert d["subsurface_scatter_anisotropy"] == 0.0 and d["specular_ior"] == float(m.eta[0])
    assert_medium_close(cv.medium_from_openpbr(d, m.eta, 0.1), m)


def test_openpbr_mtlx_parses_back():
    import xml.etree.ElementTree as ET

    m = materials.get("ketchup")
    text = formats.openpbr_mtlx(m, 0.01, name="ketchup")
    ET.fromstring(text)  # well-formed
    assert formats.parse_openpbr_mtlx(text) == formats.openpbr(m, 0.01)["inputs"]


# -- format round trips ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", JENSEN + ["regular_milk"])
@pytest.mark.parametrize("upm", [1.0, 0.001, 0.1])
def test_pbrt_block_parses_back(name, upm):
    m = materials.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cv.ExportWarning)  # per-channel g of Narasimhan media
        for label in (None, name):
            p = formats.parse_pbrt_v4(formats.pbrt_v4(m, upm, name=label))
            assert p.name == label
            np.testing.assert_array_equal(p.sigma_a, m.sigma_a)
            if np.all(m.g == m.g[0]):
                np.testing.assert_array_equal(p.sigma_s, m.sigma_s)
            np.testing.assert_allclose(p.sigma_s * (1 - p.g), m.sigma_s_prime, rtol=1e-15)
            assert p.eta == float(m.eta[0])
            assert p.scale == 1.0 / upm
            # the coefficients pbrt uses: sigma * scale per scene unit = sigma_mm / units_per_mm
            np.testing.assert_allclose(p.sigma_a * p.scale, m.sigma_a / upm, rtol=1e-15)
            back = p.medium(upm)
            np.testing.assert_allclose(back.sigma_a, m.sigma_a, rtol=1e-15)


def test_pbrt_block_syntax():
    text = formats.pbrt_v4(materials.get("marble"), 1.0, name="marble")
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert lines[0] == 'MakeNamedMaterial "marble"'
    assert lines[1].split() == ['"string', 'type"', "[", '"subsurface"', "]"]
    for key in ('"rgb sigma_a"', '"rgb sigma_s"', '"float scale"', '"float eta"', '"float g"'):
        assert sum(ln.strip().startswith(key + " [") and ln.endswith("]") for ln in lines) == 1
    assert formats.pbrt_v4(materials.get("marble")).splitlines()[4] == 'Material "subsurface"'


def test_pbrt_parser_defaults_and_errors():
    p = formats.parse_pbrt_v4('Material "subsurface" "rgb sigma_a" [1 2 3] "rgb sigma_s" [4 5 6] # c\n')
    assert (p.g, p.eta, p.scale) == (0.0, 1.33, 1.0)  # pbrt-v4 defaults
    with pytest.raises(ValueError, match="no pbrt-v4 subsurface"):
        formats.parse_pbrt_v4('Material "diffuse"')
    with pytest.raises(ValueError, match="sigma_a"):
        formats.parse_pbrt_v4('Material "subsurface" "rgb sigma_s" [4 5 6]')


def test_pbrt_rejects_per_channel_eta_and_two_channels():
    with pytest.raises(ValueError, match="eta"):
        formats.pbrt_v4(Medium([0.1, 0.1, 0.1], [1, 1, 1], eta=[1.3, 1.4, 1.5]))
    with pytest.raises(ValueError, match="channel"):
        formats.pbrt_v4(Medium([0.1, 0.1], [1, 1]))


def test_single_channel_is_grey():
    m = materials.get("marble").channel(0)
    p = formats.parse_pbrt_v4(formats.pbrt_v4(m))
    np.testing.assert_array_equal(p.sigma_a, [0.0021] * 3)
    assert formats.renderman(m)["params"]["subsurfaceDmfpColor"] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("name", ["marble", "skin1", "ketchup"])
def test_blender_script_compiles_and_parses_back(name):
    m = materials.get(name)
    text = formats.blender_script(m, 0.001, name=name)
    compile(text, "bssrdf_blender.py", "exec")
    settings = formats.parse_blender_script(text)
    assert settings == formats.blender(m, 0.001)
    assert set(settings["inputs"]) >= {"Base Color", "Subsurface Weight", "Subsurface Radius",
                                       "Subsurface Scale", "Subsurface IOR", "Subsurface Anisotropy"}
    assert len(settings["inputs"]["Base Color"]) == 4


def test_blender_warns_outside_cycles_clamps():
    m = Medium([0.01] * 3, [10.0] * 3, g=0.95, eta=1.33)
    with pytest.warns(cv.ExportWarning, match="Anisotropy"):
        formats.blender(m)


@pytest.mark.parametrize("name", ["marble", "skin2", "cream"])
def test_renderman_rib_parses_back(name):
    m = materials.get(name)
    d = formats.renderman(m, 0.1)
    assert formats.parse_renderman_rib(formats.renderman_rib(m, 0.1, name=name)) == d["params"]
    albedo, mfp = cv.renderman_albedo_mfp(m, 0.1)
    np.testing.assert_array_equal(d["params"]["subsurfaceColor"], albedo)
    dmfp = d["params"]["subsurfaceDmfp"] * np.array(d["params"]["subsurfaceDmfpColor"])
    np.testing.assert_allclose(dmfp, mfp, rtol=1e-15)


def test_json_round_trip_of_dicts():
    import json

    m = materials.get("apple")
    for producer in (formats.blender, formats.openpbr, formats.renderman):
        d = producer(m, 0.001)
        assert json.loads(formats.to_json(d)) == d


# -- medium files -----------------------------------------------------------------------------------------
def test_medium_file_round_trip(tmp_path):
    m = Medium([0.1, 0.2, 0.3], [1.0, 2.0, 3.0], g=[0.1, 0.2, 0.3], eta=1.4)
    path = tmp_path / "m.json"
    save_medium(m, path, name="thing")
    back, name = load_medium(path)
    assert back == m and name == "thing"
    toml = tmp_path / "m.toml"
    toml.write_text('sigma_a = [0.1, 0.2, 0.3]\nsigma_s = [1.0, 2.0, 3.0]\ng = 0.5\neta = 1.3\n'
                    'units = "mm^-1"\n')
    back, name = load_medium(toml)
    assert back == Medium([0.1, 0.2, 0.3], [1.0, 2.0, 3.0], 0.5, 1.3) and name is None


@pytest.mark.parametrize("d, match", [
    ({"sigma_a": 1}, "missing sigma_s"),
    ({"sigma_a": 1, "sigma_s": 1, "colour": 2}, "unknown key"),
    ({"sigma_a": 1, "sigma_s": 1, "units": "m^-1"}, "units"),
    ({"sigma_a": -1, "sigma_s": 1}, "sigma_a"),
    ({"sigma_a": 1, "sigma_s": 1, "g": 1.0}, "g"),
    ([1, 2], "expected"),
])
def test_medium_dict_errors(d, match):
    with pytest.raises(ValueError, match=match):
        medium_from_dict(d)


def test_fresnel_A_used_by_conventions_is_the_papers():
    # R_d(alpha' = 1) = 1 for any eta, and the A in the closed form is bssrdf.fresnel.A
    assert cv.dipole_total_reflectance(1.0, 1.3) == 1.0
    s = math.sqrt(3 * 0.5)
    want = 0.25 * (1 + math.exp(-4 / 3 * float(A(1.3)) * s)) * math.exp(-s)
    assert cv.dipole_total_reflectance(0.5, 1.3) == pytest.approx(want, rel=1e-15)
