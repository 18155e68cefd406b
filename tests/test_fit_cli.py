"""``python -m bssrdf.fit``: end to end, outputs, and one-line errors with exit status 2 and no files."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

import bssrdf
from bssrdf import backend
from bssrdf.export import load_medium
from bssrdf.fit.__main__ import main
from bssrdf.fit.mc_table import reference_profile

needs_cpu = pytest.mark.skipif(not backend.cpu_available(),
                               reason="needs the compiled extension bssrdf._core")

SA, SSP, ETA = np.array([0.02, 0.08, 0.2]), np.array([1.2, 1.6, 2.2]), 1.3


def _write_csv(path, r, values, errors=None, units="mm^-2"):
    cols = ["r_mm"]
    for c in "RGB":
        cols += [c] + ([f"{c}_err"] if errors is not None else [])
    lines = [f"# units: {units}", ",".join(cols)]
    for i in range(r.size):
        row = [r[i]]
        for c in range(3):
            row += [values[i, c]] + ([errors[i, c]] if errors is not None else [])
        lines.append(",".join(f"{x:.10g}" for x in row))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def profile_csv(tmp_path):
    r = np.linspace(0.05, 8.0, 120)
    clean = reference_profile(r, SA, SSP, ETA)
    rng = np.random.default_rng(2)
    noisy = clean * np.exp(0.02 * rng.standard_normal(clean.shape))
    return _write_csv(tmp_path / "profile.csv", r, noisy, 0.02 * clean)


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bssrdf.fit", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bssrdf.fit: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def test_profile_end_to_end(tmp_path, profile_csv):
    out, plot, med = tmp_path / "fit.json", tmp_path / "fit.png", tmp_path / "medium.json"
    proc = run("profile", profile_csv, "--eta", ETA, "--out", out, "--plot", plot, "--medium-out", med)
    assert proc.returncode == 0, proc.stderr
    assert "sigma_a" in proc.stdout and "reduced chi^2" in proc.stdout
    d = json.loads(out.read_text())
    assert d["format"] == "bssrdf.fit result 1" and d["kind"] == "profile"
    assert d["units"]["sigma_a"] == "mm^-1"
    for key in ("model", "estimates", "standard_errors", "correlation", "chi2_reduced", "medium",
                "parameters"):
        assert key in d
    est, se = np.array(d["estimates"]["sigma_a"]), np.array(d["standard_errors"]["sigma_a"])
    assert np.all(np.abs(est - SA) < 4 * se)
    assert np.array(d["correlation"]).shape == (6, 6)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    medium, _ = load_medium(med)          # a medium file python -m bssrdf.export reads
    np.testing.assert_allclose(medium.sigma_a, est)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.json", "fit.png", "medium.json", "profile.csv"]


@needs_cpu
def test_profile_from_monte_carlo_files_with_mc_model(tmp_path):
    paths = []
    for c in range(3):
        m = bssrdf.Medium(SA[c], SSP[c], g=0.0, eta=ETA)
        res = bssrdf.mc.simulate([bssrdf.Layer(m, math.inf)], 100_000, r_max=6.0, n_r=60, seed=c,
                                 backend="cpu", progress=False, n_threads=1)
        paths.append(res.save(tmp_path / f"{'rgb'[c]}.h5"))
    out = tmp_path / "fit.json"
    proc = run("profile", *paths, "--model", "mc", "--out", out)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(out.read_text())
    assert d["channels"] == ["r", "g", "b"]
    est, se = np.array(d["estimates"]["sigma_s_prime"]), np.array(d["standard_errors"]["sigma_s_prime"])
    assert np.all(np.abs(est - SSP) < 4 * se), proc.stdout


def test_relative_measurement_needs_a_scale(tmp_path):
    r = np.linspace(0.05, 8.0, 80)
    clean = reference_profile(r, SA, SSP, ETA) * np.array([3.0, 5.0, 7.0])     # arbitrary units per channel
    f = _write_csv(tmp_path / "rel.csv", r, clean, 0.02 * clean, units="arbitrary")
    assert_one_line_error(run("profile", f, "--eta", ETA), "arbitrary units", "--unknown-scale")
    out = tmp_path / "rel.json"
    proc = run("profile", f, "--eta", ETA, "--per-channel-scale", "--out", out)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(out.read_text())
    np.testing.assert_allclose(d["estimates"]["scale"], [3.0, 5.0, 7.0], rtol=1e-4)
    np.testing.assert_allclose(d["estimates"]["sigma_a"], SA, rtol=1e-4)


def test_totals_and_appearance(tmp_path):
    proc = run("totals", "--R", 0.4, "--T", 0.1, "--thickness", 1, "--eta", 1.0)
    assert proc.returncode == 0, proc.stderr
    assert "0.467" in proc.stdout and "3.93" in proc.stdout
    csv = tmp_path / "spectrum.csv"
    csv.write_text("wavelength_nm,R,T,R_err,T_err\n500,0.4,0.1,0.005,0.003\n600,0.35,0.15,0.005,0.003\n")
    out = tmp_path / "t.json"
    proc = run("totals", csv, "--thickness", 1, "--out", out, "-q")
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    d = json.loads(out.read_text())
    assert d["channels"] == ["500", "600"] and all(x > 0 for x in d["standard_errors"]["sigma_a"])
    proc = run("appearance", "--albedo", 0.830, 0.791, 0.753, "--mfp", 8.51, 5.57, 3.95, "--eta", 1.5,
               "--albedo-model", "dipole")
    assert proc.returncode == 0, proc.stderr
    assert "1/sigma_tr" in proc.stdout


def test_help():
    for sub in ((), ("profile",), ("totals",), ("appearance",)):
        proc = run(*sub, "--help")
        assert proc.returncode == 0 and "usage" in proc.stdout


@pytest.mark.parametrize("content, fragments", [
    ("", ("empty file",)),
    ("# units: mm^-2\nr_mm,R\n", ("no data rows",)),
    ("r_mm,R\n0.1,1.0\n-0.2,0.5\n0.3,0.2\n0.4,0.1\n0.5,0.05\n", ("negative radius",)),
    ("r_mm,R\n0.1,1.0\n0.2,nan\n0.3,0.2\n0.4,0.1\n0.5,0.05\n", ("NaN",)),
    ("r_mm,R\n0.1,1.0\n0.2,0.5\n0.3,0.2\n", ("too few points",)),
    ("r_mm,R\n0.1,1.0\n0.2,abc\n", ("not a number",)),
    ("x,R\n0.1,1.0\n", ("r_mm",)),
    ("# units: furlongs\nr_mm,R\n0.1,1.0\n", ("unknown unit",)),
])
def test_bad_profile_files(tmp_path, content, fragments):
    f = tmp_path / "bad.csv"
    f.write_text(content)
    out = tmp_path / "out.json"
    proc = run("profile", f, "--out", out, "--plot", tmp_path / "p.png")
    assert_one_line_error(proc, *fragments)
    assert not out.exists() and not (tmp_path / "p.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_other_errors(tmp_path, profile_csv):
    out = tmp_path / "out.json"
    assert_one_line_error(run("profile", tmp_path / "missing.csv", "--out", out), "no such file")
    assert_one_line_error(run("totals", "--R", 0.7, "--T", 0.4, "--thickness", 1, "--out", out), "R + T")
    assert_one_line_error(run("profile", profile_csv, "--model", "mc", "--eta", 2.0, "--out", out), "eta 2")
    assert_one_line_error(run("profile", profile_csv, "--out", tmp_path / "nodir" / "x.json"),
                          "does not exist")
    assert_one_line_error(run("profile", profile_csv, "--plot", tmp_path / "x.gif"), "plot format")
    assert_one_line_error(run("profile", profile_csv, "--thickness", 2), "multipole")
    assert_one_line_error(run("appearance", "--albedo", 0.5, 0.4, "--mfp", 1.0), "--mfp")
    assert_one_line_error(run("frobnicate"), "invalid choice")
    assert not out.exists()


def test_fit_that_does_not_converge(tmp_path, monkeypatch, capsys):
    """In-process, with the evaluation budget cut to one: one line, status 2, no file."""
    import bssrdf.fit.profile as fp

    r = np.linspace(0.05, 8.0, 50)
    clean = reference_profile(r, SA, SSP, ETA)
    f = _write_csv(tmp_path / "p.csv", r, clean)
    monkeypatch.setattr(fp, "MAX_NFEV", 1)
    out = tmp_path / "o.json"
    assert main(["profile", str(f), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did not converge" in err[0]
    assert not out.exists()


def test_bench_fit_prints_a_row_per_case(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bssrdf.bench", "fit", "--repeat", "1"], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for case in ("profile dipole", "profile multipole", "profile mc", "totals", "appearance mc"):
        rows = [line for line in proc.stdout.splitlines() if line.startswith(case + " ")]
        assert len(rows) == 1, proc.stdout
        assert re.search(r"\s\d+\.\d{3}\s", rows[0]), rows[0]     # the best wall time [s]
