"""``python -m bssrdf.export``: every format round-trips; bad input is one line, exit 2, no file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bssrdf import Layer, Medium, materials
from bssrdf.export import conventions as cv
from bssrdf.export import formats, save_medium
from bssrdf.export.__main__ import main
from bssrdf.profiles import layered

PROG = "bssrdf.export"


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def assert_error(status: int, out: str, err: str, match: str = "") -> str:
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{PROG}: error: ")
    assert match.lower() in lines[0].lower(), lines[0]
    assert out == ""
    return lines[0]


def test_help_mentions_formats_units_and_fit_results(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for word in ("table", "pbrt-v4", "mitsuba3", "blender", "openpbr", "renderman", "UNITS_PER_MM", "mm^-1",
                 "Fit results"):
        assert word in out


def test_pbrt_stdout_round_trip(capsys):
    status, out, err = run(capsys, "marble", "--format", "pbrt-v4", "--scale", "0.001")
    assert status == 0 and err == ""
    p = formats.parse_pbrt_v4(out)
    m = materials.get("marble")
    np.testing.assert_array_equal(p.sigma_a, m.sigma_a)
    np.testing.assert_array_equal(p.sigma_s, m.sigma_s)
    assert (p.scale, p.eta, p.g, p.name) == (1000.0, 1.5, 0.0, "marble")


@pytest.mark.parametrize("fmt, suffix", [("pbrt-v4", ".pbrt"), ("blender", ".py"), ("openpbr", ".mtlx"),
                                         ("renderman", ".rib"), ("mitsuba3", ".xml")])
def test_text_files_round_trip(capsys, tmp_path, fmt, suffix):
    out = tmp_path / f"skin1{suffix}"
    status, stdout, _ = run(capsys, "Skin1", "-f", fmt, "--out", str(out), "--scale", "0.1")
    assert status == 0 and out.is_file() and "wrote" in stdout
    text = out.read_text()
    m = materials.get("skin1")
    if fmt == "pbrt-v4":
        back = formats.parse_pbrt_v4(text).medium(0.1)
        np.testing.assert_allclose(back.sigma_a, m.sigma_a, rtol=1e-15)
    elif fmt == "blender":
        compile(text, str(out), "exec")
        assert formats.parse_blender_script(text) == formats.blender(m, 0.1)
    elif fmt == "openpbr":
        back = cv.medium_from_openpbr(formats.parse_openpbr_mtlx(text), m.eta, 0.1)
        np.testing.assert_allclose(back.sigma_a, m.sigma_a, rtol=1e-10)
        np.testing.assert_allclose(back.sigma_s, m.sigma_s, rtol=1e-10)
    elif fmt == "renderman":
        p = formats.parse_renderman_rib(text)
        mfp = p["subsurfaceDmfp"] * np.array(p["subsurfaceDmfpColor"])
        back = cv.medium_from_renderman(p["subsurfaceColor"], mfp, m.eta, units_per_mm=0.1)
        np.testing.assert_allclose(back.sigma_a, m.sigma_a, rtol=1e-10)
        np.testing.assert_allclose(back.sigma_s, m.sigma_s, rtol=1e-10)
    else:
        from bssrdf.export.mitsuba import parse_mitsuba3_xml

        parsed = parse_mitsuba3_xml(text)
        # read back in bssrdf's convention (scene units per mm); Mitsuba's own scale attribute is 10
        assert parsed.scale == pytest.approx(0.1, rel=1e-15)
        assert 'name="scale" value="10' in text
        np.testing.assert_allclose(parsed.medium.sigma_a, m.sigma_a, rtol=1e-12)
        np.testing.assert_allclose(parsed.medium.sigma_s, m.sigma_s, rtol=1e-12)


@pytest.mark.parametrize("fmt", ["blender", "openpbr", "renderman", "mitsuba3"])
def test_json_outputs(capsys, tmp_path, fmt):
    out = tmp_path / "x.json"
    status, _, _ = run(capsys, "apple", "-f", fmt, "-o", str(out))
    assert status == 0
    d = json.loads(out.read_text())
    m = materials.get("apple")
    if fmt == "mitsuba3":
        from bssrdf.export.mitsuba import parse_mitsuba3_dict

        np.testing.assert_allclose(parse_mitsuba3_dict(d).medium.sigma_t, m.sigma_t, rtol=1e-12)
    else:
        assert d == getattr(formats, fmt)(m, 1.0)


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_table(capsys, tmp_path, suffix):
    table = pytest.importorskip("bssrdf.export.table", reason="no bssrdf.export.table")
    out = tmp_path / f"marble{suffix}"
    status, _, err = run(capsys, "marble", "-f", "table", "-o", str(out), "--scale", "0.1")
    assert status == 0, err
    t = table.read_table(out)
    ref = table.profile_table(materials.get("marble")).scaled(0.1)
    np.testing.assert_array_equal(t.r, ref.r)
    np.testing.assert_array_equal(t.R, ref.R)


def test_medium_file_input_and_channel(capsys, tmp_path):
    path = tmp_path / "mine.json"
    save_medium(Medium([0.05, 0.1, 0.2], [5.0, 4.0, 3.0], g=0.3, eta=1.4), path)
    status, out, _ = run(capsys, str(path), "-f", "pbrt-v4")
    assert status == 0
    p = formats.parse_pbrt_v4(out)
    assert p.name == "mine" and p.g == 0.3 and p.eta == 1.4
    np.testing.assert_array_equal(p.sigma_s, [5.0, 4.0, 3.0])
    status, out, _ = run(capsys, str(path), "-f", "pbrt-v4", "--channel", "b", "--name", "blue")
    p = formats.parse_pbrt_v4(out)
    assert status == 0 and p.name == "blue"
    np.testing.assert_array_equal(p.sigma_a, [0.2, 0.2, 0.2])


def test_per_channel_g_warns_once(capsys):
    status, out, err = run(capsys, "regular_milk", "-f", "blender")
    assert status == 0 and out
    assert err.count(f"{PROG}: warning:") == 1 and "mean" in err


# -- bad input ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, match", [
    (["marble", "-f", "povray"], "invalid choice"),
    (["marble"], "required"),
    (["no_such_material", "-f", "pbrt-v4"], "unknown material"),
    (["marble", "-f", "pbrt-v4", "--scale", "0"], "--scale"),
    (["marble", "-f", "pbrt-v4", "--scale", "-2"], "--scale"),
    (["marble", "-f", "pbrt-v4", "--scale", "nan"], "--scale"),
    (["marble", "-f", "pbrt-v4", "--scale", "abc"], "--scale"),
    (["marble", "-f", "table"], "--out"),
    (["marble", "-f", "pbrt-v4", "--thickness", "1"], "table only"),
    (["spectralon", "-f", "renderman"], "sigma_a > 0"),
    (["missing.json", "-f", "pbrt-v4"], "does not exist"),
    (["result.h5", "-f", "pbrt-v4"], "not supported"),
])
def test_bad_input(capsys, args, match):
    assert_error(*run(capsys, *args), match=match)


@pytest.mark.parametrize("fmt, name", [("pbrt-v4", "x.pbrt"), ("table", "x.h5"), ("blender", "x.json")])
def test_unwritable_paths_leave_nothing(capsys, tmp_path, fmt, name):
    missing = tmp_path / "no" / "such" / name
    assert_error(*run(capsys, "marble", "-f", fmt, "-o", str(missing)), match="does not exist")
    assert_error(*run(capsys, "marble", "-f", fmt, "-o", str(tmp_path)), match="directory")
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            assert_error(*run(capsys, "marble", "-f", fmt, "-o", str(ro / name)), match="not writable")
            assert list(ro.iterdir()) == []
        finally:
            ro.chmod(0o700)
    assert not missing.parent.exists()


def test_bad_medium_file_and_table_suffix(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"sigma_a": [0.1], "sigma_s": [1.0], "g": 1.5}')
    assert_error(*run(capsys, str(bad), "-f", "pbrt-v4"), match="g must be")
    bad.write_text("{not json")
    assert_error(*run(capsys, str(bad), "-f", "pbrt-v4"), match="not a valid JSON")
    assert_error(*run(capsys, "marble", "-f", "table", "-o", str(tmp_path / "t.txt")), match=".h5")
    assert_error(*run(capsys, "marble", "-f", "pbrt-v4", "-o", str(tmp_path / "t.json")), match="text only")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_error_after_checks_leaves_no_file(capsys, tmp_path):
    out = tmp_path / "s.rib"
    assert_error(*run(capsys, "spectralon", "-f", "renderman", "-o", str(out)), match="sigma_a")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_subprocess_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bssrdf.export", "marble", "--format", "renderman"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert formats.parse_renderman_rib(proc.stdout) == formats.renderman(materials.get("marble"))["params"]
    proc = subprocess.run([sys.executable, "-m", "bssrdf.export", "marble", "--format", "x"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"{PROG}: error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


# -- layered stacks ------------------------------------------------------------------------------------------
# A stack file the Monte Carlo tracer reads too; HAND_LAYERS are its layers typed in by hand (marble's
# green channel from Jensen et al. 2001), the reference for the reader.
STACK_TOML = """\
photons = 1000        # the tracer's run keys: ignored by the export
r_max = 5.0
n_above = 1.0
n_below = 1.33

[[layer]]
sigma_a = 0.3
sigma_s = 20.0
g = 0.8
eta = 1.4
thickness = 0.5

[[layer]]
material = "marble"
channel = "g"
thickness = 1.0

[[layer]]
sigma_a = 0.005
sigma_s = 8.0
g = 0.0
eta = 1.45
thickness = 3.0
"""
HAND_LAYERS = (Layer(Medium(0.3, 20.0, 0.8, 1.4), 0.5), Layer(Medium(0.0041, 2.62, 0.0, 1.5), 1.0),
               Layer(Medium(0.005, 8.0, 0.0, 1.45), 3.0))


def test_help_mentions_stack_files(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "stack file" in out and "[[layer]]" in out and "roughness_below" in out


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_stack_table_end_to_end(capsys, tmp_path, suffix):
    from bssrdf.export.table import LAYERED_MODEL, read_table

    src = tmp_path / "stack.toml"
    src.write_text(STACK_TOML)
    out = tmp_path / f"stack{suffix}"
    status, stdout, err = run(capsys, str(src), "-f", "table", "-o", str(out))
    assert status == 0 and "wrote" in stdout and err == "", err
    t = read_table(out)
    assert t.model == LAYERED_MODEL and t.layers == HAND_LAYERS and t.thickness == 4.5
    np.testing.assert_array_equal(t.n_below, [1.33])
    np.testing.assert_allclose(t.R[:, 0], layered.R(t.r, HAND_LAYERS, n_below=1.33), rtol=1e-12, atol=0)
    np.testing.assert_allclose(t.T[:, 0], layered.T(t.r, HAND_LAYERS, n_below=1.33), rtol=1e-12, atol=0)
    assert t.total_R[0] == pytest.approx(float(layered.total_R(HAND_LAYERS, n_below=1.33)), rel=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, out.name])


def test_stack_file_is_the_tracers(tmp_path):
    # one file for both: the Monte Carlo configuration reads the same layers and indices
    from bssrdf.export import load_stack
    from bssrdf.mc import config

    src = tmp_path / "stack.toml"
    src.write_text(STACK_TOML)
    cfg = config.resolve(str(src))
    stack = load_stack(src)
    assert cfg.layers == HAND_LAYERS == stack.layers
    assert (cfg.n_above, cfg.n_below) == (stack.n_above, stack.n_below) == (1.0, 1.33)


def test_stack_channels_scale_and_export_extensions(capsys, tmp_path):
    # per-channel lists, a material with all its channels, a scalar layer broadcast, roughness;
    # --channel picks one channel of every layer, --scale the scene units
    from bssrdf.export.table import read_table

    src = tmp_path / "rgb.toml"
    src.write_text('n_above = 1.2\nroughness_below = 0.1\n'
                   '[[layer]]\nsigma_a = [0.1, 0.2, 0.3]\nsigma_s = [10.0, 11.0, 12.0]\ng = 0.5\neta = 1.5\n'
                   'thickness = 0.6\n'
                   '[[layer]]\nmaterial = "marble"\nthickness = 2.0\nroughness = 0.2\n'
                   '[[layer]]\nsigma_a = 0.01\nsigma_s = 5.0\ng = 0.0\neta = 1.5\n')
    out = tmp_path / "rgb.csv"
    status, _, err = run(capsys, str(src), "-f", "table", "-o", str(out), "--channel", "b", "--scale", "0.1")
    assert status == 0, err
    t = read_table(out)
    hand = (Layer(Medium(0.3, 12.0, 0.5, 1.5), 0.6), Layer(Medium(0.0071, 3.0, 0.0, 1.5), 2.0, roughness=0.2),
            Layer(Medium(0.01, 5.0, 0.0, 1.5), float("inf")))
    assert t.layers == hand and t.roughness_below == 0.1 and t.T is None and t.scale == 0.1
    ref = layered.R(t.r / 0.1, hand, n_above=1.2, roughness_below=0.1)  # r in cm, R per cm^2
    np.testing.assert_allclose(t.R[:, 0] * 0.1**2, ref, rtol=1e-12, atol=0)


PLAIN = "[[layer]]\nsigma_a = 0.1\nsigma_s = 1.0\ng = 0.0\neta = 1.3\n"  # a semi-infinite layer


@pytest.mark.parametrize("text, args, match", [
    ("[[layer]\nsigma_a = ", [], "not a valid TOML"),
    ("[[layer]]\nsigma_a = 0.1\nsigma_s = 1.0\ng = 1.5\neta = 1.3\n", [], "[[layer]] 1: g must be"),
    ("[[layer]]\nsigma_a = 0.1\nsigma_z = 1.0\ng = 0.0\neta = 1.3\n", [], "unknown key 'sigma_z'"),
    ("[[layer]]\nsigma_a = 0.1\ng = 0.0\neta = 1.3\n", [], "missing sigma_s"),
    ("[[layers]]\nsigma_a = 0.1\nsigma_s = 1.0\ng = 0.0\neta = 1.3\n", [], "did you mean layer"),
    ("sigma_a = 0.1\n" + PLAIN, [], "belongs in a [[layer]]"),
    (PLAIN + PLAIN + "thickness = 1.0\n", [], "only the last layer"),
    ("[[layer]]\nsigma_a = [0.1, 0.2]\nsigma_s = 1.0\ng = 0.0\neta = 1.3\nthickness = 1.0\n"
     "[[layer]]\nmaterial = \"marble\"\n", [], "different channel counts"),
    ("[[layer]]\nsigma_a = [0.1, 0.2]\nsigma_s = [1.0, 2.0, 3.0]\ng = 0.0\neta = 1.3\n", [], "one length"),
    ("[[layer]]\nmaterial = \"no_such_material\"\n", [], "no_such_material"),
    ("n_above = 0.0\n" + PLAIN, [], "n_above"),
    (PLAIN + "roughness = 2.0\n", [], "roughness"),
    ("roughness_below = -1\n" + PLAIN, [], "roughness_below"),
    ("layer = []\n", [], "no layers"),
    (STACK_TOML, ["-f", "pbrt-v4"], "layered stack"),
    (STACK_TOML, ["-f", "renderman", "-o", "x.json"], "--format table only"),
    (STACK_TOML, ["--thickness", "1"], "--thickness does not apply"),
    (STACK_TOML, ["--channel", "b"], "1 channel(s)"),
])
def test_bad_stack_inputs(capsys, tmp_path, monkeypatch, text, args, match):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "bad.toml"
    src.write_text(text)
    if "-f" not in args:
        args = ["-f", "table", "-o", "out.h5"] + args
    assert_error(*run(capsys, str(src), *args), match=match)
    assert [p.name for p in tmp_path.iterdir()] == ["bad.toml"]


def test_stack_unwritable_or_missing(capsys, tmp_path):
    src = tmp_path / "stack.toml"
    src.write_text(STACK_TOML)
    missing = tmp_path / "no" / "such" / "s.h5"
    assert_error(*run(capsys, str(src), "-f", "table", "-o", str(missing)), match="does not exist")
    assert_error(*run(capsys, str(src), "-f", "table", "-o", str(tmp_path)), match="directory")
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            assert_error(*run(capsys, str(src), "-f", "table", "-o", str(ro / "s.h5")), match="not writable")
            assert list(ro.iterdir()) == []
        finally:
            ro.chmod(0o700)
    assert_error(*run(capsys, str(tmp_path / "nope.toml"), "-f", "table", "-o", str(tmp_path / "s.h5")),
                 match="does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ro", "stack.toml"] or os.geteuid() == 0


def test_fit_result_input(capsys, tmp_path):
    # python -m bssrdf.fit writes RESULT.json; the export takes its fitted medium: the pbrt block parses
    # back to the coefficients the fit reported (σs = σ's/(1 − g), g 0 here), and a channel the fit
    # flagged as poorly constrained warns.
    from bssrdf.fit.__main__ import main as fit_main

    res = tmp_path / "fit.json"
    assert fit_main(["totals", "--R", "0.4", "--T", "0.1", "--thickness", "1", "--eta", "1.0",
                     "--out", str(res), "--quiet"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    d = json.loads(res.read_text())
    status, out, err = run(capsys, str(res), "--format", "pbrt-v4")
    assert status == 0 and err == "", err
    p = formats.parse_pbrt_v4(out)
    # one channel is written as grey (three equal values)
    np.testing.assert_array_equal(p.sigma_a, np.full(3, d["medium"]["sigma_a"][0]))
    np.testing.assert_array_equal(p.sigma_s, np.full(3, d["medium"]["sigma_s"][0]))
    assert p.sigma_a[0] == pytest.approx(0.4673, rel=0.01)        # iad's example (issue 6)
    d["poorly_constrained"] = [True]
    bad = tmp_path / "poor.json"
    bad.write_text(json.dumps(d))
    status, out, err = run(capsys, str(bad), "--format", "pbrt-v4")
    assert status == 0 and "poorly constrained" in err
    d["format"] = "bssrdf.fit result 9"
    bad.write_text(json.dumps(d))
    assert_error(*run(capsys, str(bad), "--format", "pbrt-v4"), match="fit result format")
