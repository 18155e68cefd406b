"""``python -m bssrdf.export``: every format round-trips; bad input is one line, exit 2, no file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bssrdf import Medium, materials
from bssrdf.export import conventions as cv
from bssrdf.export import formats, save_medium
from bssrdf.export.__main__ import main

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
